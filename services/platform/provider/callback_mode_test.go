package provider

import (
	"errors"
	"testing"
	"time"
)

// The secret that verifies a callback gives its mode; a secret of neither
// mode verifies nothing.
func TestModeSecretsVerify(t *testing.T) {
	live, test, other := []byte("live-secret-live-secret-live-secret"), []byte("test-secret-test-secret-test-secret"), []byte("other-secret-other-secret-other-sec")
	now := time.Now()
	body := NewFundsReceived("TP-1", 100, "EUR").Encode()
	both := ModeSecrets{Live: [][]byte{live}, Test: [][]byte{test}}
	for _, tc := range []struct {
		secrets ModeSecrets
		signer  []byte
		want    string
	}{
		{both, live, ModeLive},
		{both, test, ModeTest},
		{both, other, ""},
		{ModeSecrets{Test: [][]byte{test}}, live, ""}, // the test provider has no live secret
		{ModeSecrets{Live: [][]byte{live}}, test, ""}, // no test feed configured
	} {
		mode, err := tc.secrets.Verify(Sign(tc.signer, body, now), body, now)
		if mode != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("signed with %q: mode %q, %v; want %q", tc.signer[:4], mode, err, tc.want)
		}
	}
	if _, err := (ModeSecrets{}).Verify(Sign(live, body, now), body, now); !errors.Is(err, ErrNoSecret) {
		t.Errorf("no secrets: %v", err)
	}
}

func TestCallbackSource(t *testing.T) {
	for _, key := range []string{"bank_transfer.live", "bank_transfer.test", "test.test"} {
		src, err := ParseCallbackSource(key)
		if err != nil || src.Key() != key {
			t.Errorf("%q: %+v %v", key, src, err)
		}
	}
	// Published before modes: the mode of the one secret of then.
	for key, want := range map[string]string{"bank_transfer": ModeLive, "test": ModeTest} {
		if src, err := ParseCallbackSource(key); err != nil || src.Mode != want {
			t.Errorf("%q: %+v %v, want mode %s", key, src, err, want)
		}
	}
	for _, key := range []string{"stripe", "bank_transfer.prod", ".live", "", "test.live.x"} {
		if _, err := ParseCallbackSource(key); !errors.Is(err, ErrInvalidCallback) {
			t.Errorf("%q: %v, want ErrInvalidCallback", key, err)
		}
	}
}

// Amounts are bounded by the largest session amount (issue 10, item 3).
func TestCallbackAmountIsBounded(t *testing.T) {
	if _, err := ParseCallback(NameBankTransfer, NewFundsReceived("TP-1", 99_999_999_999, "EUR").Encode()); err != nil {
		t.Errorf("the largest amount: %v", err)
	}
	for _, amount := range []int64{100_000_000_000, 99_999_999_999_999, 1<<63 - 1} {
		if _, err := ParseCallback(NameBankTransfer, NewFundsReceived("TP-1", amount, "EUR").Encode()); !errors.Is(err, ErrInvalidCallback) {
			t.Errorf("amount %d: %v", amount, err)
		}
	}
}
