package provideracct

import (
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name     string
		c        Credentials
		live     bool
		param    string // "" when valid
		provider string // "" is stripe
	}{
		{"test keys", Credentials{"sk_test_abc", "pk_test_abc", "whsec_abc"}, false, "", ""},
		{"restricted test key", Credentials{"rk_test_abc", "pk_test_abc", "whsec_abc"}, false, "", ""},
		{"live keys", Credentials{"sk_live_abc", "pk_live_abc", "whsec_abc"}, true, "", ""},
		{"restricted live key", Credentials{"rk_live_abc", "pk_live_abc", "whsec_a+b/c="}, true, "", ""},
		{"live secret in test mode", Credentials{"sk_live_abc", "pk_test_abc", "whsec_abc"}, false, ParamSecretKey, ""},
		{"test secret in live mode", Credentials{"sk_test_abc", "pk_live_abc", "whsec_abc"}, true, ParamSecretKey, ""},
		{"live publishable in test mode", Credentials{"sk_test_abc", "pk_live_abc", "whsec_abc"}, false, ParamPublishableKey, ""},
		{"test publishable in live mode", Credentials{"sk_live_abc", "pk_test_abc", "whsec_abc"}, true, ParamPublishableKey, ""},
		{"empty suffix", Credentials{"sk_test_", "pk_test_abc", "whsec_abc"}, false, ParamSecretKey, ""},
		{"space", Credentials{"sk_test_a b", "pk_test_abc", "whsec_abc"}, false, ParamSecretKey, ""},
		{"no webhook secret", Credentials{"sk_test_abc", "pk_test_abc", ""}, false, ParamWebhookSecret, ""},
		{"webhook secret shape", Credentials{"sk_test_abc", "pk_test_abc", "whsec_a b"}, false, ParamWebhookSecret, ""},
		{"too long", Credentials{"sk_test_" + strings.Repeat("x", 250), "pk_test_abc", "whsec_abc"}, false, ParamSecretKey, ""},
		{"gocardless sandbox token", Credentials{"sandbox_AbC-12_x", "", "my-endpoint-secret"}, false, "", "gocardless"},
		{"gocardless live token", Credentials{"live_AbC12", "", "s3cr3t!"}, true, "", "gocardless"},
		{"gocardless live token in test mode", Credentials{"live_AbC12", "", "s3cr3t"}, false, ParamSecretKey, "gocardless"},
		{"gocardless sandbox token in live mode", Credentials{"sandbox_AbC12", "", "s3cr3t"}, true, ParamSecretKey, "gocardless"},
		{"gocardless stripe key", Credentials{"sk_test_abc", "", "s3cr3t"}, false, ParamSecretKey, "gocardless"},
		{"gocardless publishable key", Credentials{"sandbox_abc", "pk_test_abc", "s3cr3t"}, false, ParamPublishableKey, "gocardless"},
		{"gocardless no endpoint secret", Credentials{"sandbox_abc", "", ""}, false, ParamWebhookSecret, "gocardless"},
		{"gocardless endpoint secret with a space", Credentials{"sandbox_abc", "", "a secret"}, false, ParamWebhookSecret, "gocardless"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.c.Validate(orStripe(c.provider), c.live)
			if c.param == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.Invalid || e.Param != c.param {
				t.Fatalf("got %v, want an error naming %s", err, c.param)
			}
			for _, v := range []string{c.c.SecretKey, c.c.WebhookSecret} {
				// Prefixes alone (sk_test_) are in the hints; a whole key never is.
				if len(v) > len("sk_test_") && strings.Contains(e.Message, v) {
					t.Fatalf("message echoes a secret: %s", e.Message)
				}
			}
		})
	}
}

func orStripe(p string) string {
	if p == "" {
		return "stripe"
	}
	return p
}

func TestValidatePaystack(t *testing.T) {
	for _, c := range []struct {
		name  string
		c     Credentials
		live  bool
		param string
	}{
		{"test key", Credentials{SecretKey: "sk_test_abc123"}, false, ""},
		{"live key", Credentials{SecretKey: "sk_live_abc123"}, true, ""},
		{"live key in test mode", Credentials{SecretKey: "sk_live_abc123"}, false, ParamSecretKey},
		{"restricted key", Credentials{SecretKey: "rk_test_abc123"}, false, ParamSecretKey},
		{"public key", Credentials{SecretKey: "pk_test_abc123"}, false, ParamSecretKey},
		{"missing", Credentials{}, false, ParamSecretKey},
		{"a webhook secret", Credentials{SecretKey: "sk_test_abc123", WebhookSecret: "whsec_x"}, false, ParamWebhookSecret},
		{"a publishable key", Credentials{SecretKey: "sk_test_abc123", PublishableKey: "pk_test_x"}, false, ParamPublishableKey},
	} {
		err := c.c.Validate("paystack", c.live)
		if c.param == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid || e.Param != c.param || strings.Contains(e.Message, c.c.SecretKey) && c.c.SecretKey != "" {
			t.Errorf("%s: got %v, want an error naming %s", c.name, err, c.param)
		}
	}
}

func TestLast4(t *testing.T) {
	if Last4("sk_test_abcd1234") != "1234" || Last4("abcd") != "" {
		t.Fatal("last4")
	}
}
