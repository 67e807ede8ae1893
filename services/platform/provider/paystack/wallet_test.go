package paystack

import "testing"

func TestParseWallet(t *testing.T) {
	for _, tc := range []struct {
		currency, phone, network string
		want, code               string
	}{
		{"GHS", "055 123 4987", "mtn", "+233551234987", ""},
		{"GHS", "+233 (0)20-123-4567", "vod", "", CodePhoneInvalid}, // (0) after the code is not a number we accept
		{"GHS", "+233 20 123 4567", "vod", "+233201234567", ""},
		{"GHS", "00233271234567", "atl", "+233271234567", ""},
		{"GHS", "233551234987", "mtn", "+233551234987", ""},
		{"GHS", "551234987", "mtn", "+233551234987", ""},
		{"GHS", "0551234987", "", "", CodeNetworkRequired},
		{"GHS", "0551234987", "mpesa", "", CodeNetworkInvalid},
		{"GHS", "", "mtn", "", CodePhoneRequired},
		{"GHS", "0301234567", "mtn", "", CodePhoneInvalid},  // a fixed line (3x)
		{"GHS", "055123498", "mtn", "", CodePhoneInvalid},   // 8 digits
		{"GHS", "05512349870", "mtn", "", CodePhoneInvalid}, // 10 digits
		{"GHS", "+254710000000", "mtn", "", CodePhoneInvalid},
		{"GHS", "055l234987", "mtn", "", CodePhoneInvalid},
		{"KES", "0710 000 000", "mpesa", "+254710000000", ""},
		{"KES", "+254110000000", "mpesa", "+254110000000", ""},
		{"KES", "0510000000", "mpesa", "", CodePhoneInvalid},
		{"KES", "0710000000", "mtn", "", CodeNetworkInvalid},
		{"NGN", "08031234567", "mtn", "", CodeCurrency},
	} {
		got, err := ParseWallet(tc.currency, tc.phone, tc.network)
		switch {
		case tc.code == "" && (err != nil || got != tc.want):
			t.Errorf("%s %q %q = %q, %v; want %q", tc.currency, tc.phone, tc.network, got, err, tc.want)
		case tc.code != "" && (err == nil || err.Code != tc.code || err.Message == ""):
			t.Errorf("%s %q %q = %q, %v; want error %s", tc.currency, tc.phone, tc.network, got, err, tc.code)
		}
	}
}

func TestPaystackPhone(t *testing.T) {
	if got := paystackPhone("GHS", "+233551234987"); got != "0551234987" {
		t.Errorf("GHS = %q", got)
	}
	if got := paystackPhone("KES", "+254710000000"); got != "+254710000000" {
		t.Errorf("KES = %q", got)
	}
}

func TestNetworks(t *testing.T) {
	if n := Networks("GHS"); len(n) != 3 || n[0].Code != "mtn" || n[1].Code != "vod" || n[2].Code != "atl" {
		t.Errorf("GHS networks = %v", n)
	}
	if n := Networks("KES"); len(n) != 1 || n[0].Code != "mpesa" {
		t.Errorf("KES networks = %v", n)
	}
	if Networks("USD") != nil || Supports("USD") {
		t.Error("USD offered")
	}
}
