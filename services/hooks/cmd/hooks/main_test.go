package main

import (
	"strings"
	"testing"
)

// The bank feed's test secret must differ from its live one: the secret that
// verifies a callback decides which mode's payments it may settle.
func TestBankFeedSecretsMustDiffer(t *testing.T) {
	live := strings.Repeat("l", 40)
	t.Setenv("BANK_FEED_SECRET", live)
	t.Setenv("TEST_PROVIDER_SECRET", strings.Repeat("t", 40))
	for _, tc := range []struct {
		test, wantErr string
	}{
		{live, "BANK_FEED_TEST_SECRET: must differ"},
		{"short", "BANK_FEED_TEST_SECRET: must be at least 32"},
		{strings.Repeat("x", 40), ""},
		{"", ""},
	} {
		t.Setenv("BANK_FEED_TEST_SECRET", tc.test)
		cfg, err := loadConfig()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if has := strings.Contains(got, "BANK_FEED_TEST_SECRET"); (tc.wantErr != "") != has || !strings.Contains(got, tc.wantErr) {
			t.Errorf("BANK_FEED_TEST_SECRET=%q: %v; want %q", tc.test, err, tc.wantErr)
		}
		if tc.wantErr == "" {
			secrets := callbackSecrets(cfg)["bank_transfer"]
			if len(secrets.Live) != 1 || (tc.test == "") != (len(secrets.Test) == 0) {
				t.Errorf("BANK_FEED_TEST_SECRET=%q: secrets %d live, %d test", tc.test, len(secrets.Live), len(secrets.Test))
			}
		}
	}
}
