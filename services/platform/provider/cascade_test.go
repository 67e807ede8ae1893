package provider

import "testing"

func TestCascadeRetryable(t *testing.T) {
	for code, want := range map[string]bool{
		DeclineCardDeclined: true, DeclineInsufficientFunds: true,
		DeclineInvalidNumber: false, DeclineExpiredCard: false, DeclineInvalidExpiry: false, DeclineInvalidCVC: false,
		DeclineAuthenticationFailed: false, DeclineLiveModeNotSupported: false, DeclineTestCardUnknown: false, "": false,
	} {
		if got := CascadeRetryable(code); got != want {
			t.Errorf("CascadeRetryable(%q) = %v, want %v", code, got, want)
		}
	}
}
