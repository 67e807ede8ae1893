// Package provideracct checks a merchant's provider credentials: their shape
// and mode locally, then, for Stripe, one cheap authenticated call.
package provideracct

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// Providers lists the providers an account can be for, with the payment
// methods each serves.
var Providers = map[string][]string{"stripe": {"card"}, "paystack": {"mobile_money"}}

// DefaultStripeAPIBase is Stripe's API (STRIPE_API_BASE overrides it, for
// stripe-mock).
const DefaultStripeAPIBase = "https://api.stripe.com"

// checkTimeout bounds the call made while the merchant waits for its answer.
const checkTimeout = 10 * time.Second

// maxKeyLen: Stripe documents keys of up to 255 characters.
const maxKeyLen = 255

// Params of the credentials, in the API's param style.
const (
	ParamSecretKey      = "credentials[secret_key]"
	ParamPublishableKey = "credentials[publishable_key]"
	ParamWebhookSecret  = "credentials[webhook_secret]"
)

var (
	secretKeyRE      = regexp.MustCompile(`^(sk|rk)_(test|live)_[A-Za-z0-9]+$`)
	publishableKeyRE = regexp.MustCompile(`^pk_(test|live)_[A-Za-z0-9]+$`)
	webhookSecretRE  = regexp.MustCompile(`^whsec_[A-Za-z0-9+/=_-]+$`)
	// Paystack's secret keys; Paystack signs webhooks with the same key, so
	// an account has no other secret.
	paystackKeyRE = regexp.MustCompile(`^sk_(test|live)_[A-Za-z0-9]+$`)
)

// Credentials are a provider account's keys: a Stripe account's three, a
// Paystack account's secret key alone.
type Credentials struct {
	SecretKey      string `json:"secret_key"`
	PublishableKey string `json:"-"` // stored in clear: it is public
	WebhookSecret  string `json:"webhook_secret"`
}

// credentialRule is one credential's expected shape.
type credentialRule struct {
	param, value, what string
	re                 *regexp.Regexp
	prefixes           string
}

// Validate checks the shape of each credential provider takes and that its
// mode is the caller's: test keys only in test mode, live keys only in live
// mode; a credential the provider does not take must be empty. Errors name
// the parameter and never echo the value.
func (c Credentials) Validate(provider string, live bool) error {
	mode := "test"
	if live {
		mode = "live"
	}
	var rules []credentialRule
	switch provider {
	case "paystack":
		for param, v := range map[string]string{ParamPublishableKey: c.PublishableKey, ParamWebhookSecret: c.WebhookSecret} {
			if v != "" {
				return errs.Param(param, "parameter_unknown", "A Paystack account takes its secret key only (Paystack signs webhooks with it).")
			}
		}
		rules = []credentialRule{{ParamSecretKey, c.SecretKey, "a Paystack secret key", paystackKeyRE, "sk_" + mode + "_…"}}
	default:
		rules = []credentialRule{
			{ParamSecretKey, c.SecretKey, "a Stripe secret key", secretKeyRE, "sk_" + mode + "_… or rk_" + mode + "_…"},
			{ParamPublishableKey, c.PublishableKey, "a Stripe publishable key", publishableKeyRE, "pk_" + mode + "_…"},
			{ParamWebhookSecret, c.WebhookSecret, "a Stripe webhook signing secret", webhookSecretRE, "whsec_…"},
		}
	}
	for _, f := range rules {
		switch m := f.re.FindStringSubmatch(f.value); {
		case f.value == "":
			return errs.Missing(f.param)
		case len(f.value) > maxKeyLen || m == nil:
			return errs.Param(f.param, "parameter_invalid", "Not %s: expected %s.", f.what, f.prefixes)
		case len(m) > 1 && m[len(m)-1] != mode:
			return errs.Param(f.param, "parameter_invalid",
				"This is a %s-mode key, and the request was made in %s mode: use %s (a %s key connects a %s-mode account).",
				m[len(m)-1], mode, f.prefixes, mode, mode)
		}
	}
	return nil
}

// Last4 is the end of a secret, shown to recognise it.
func Last4(s string) string {
	if len(s) <= 4 {
		return ""
	}
	return s[len(s)-4:]
}

// Stripe checks keys against Stripe's API (or stripe-mock).
type Stripe struct {
	// Base is the API's base URL (DefaultStripeAPIBase when empty).
	Base string
	// HTTPClient makes the calls (one with checkTimeout when nil).
	HTTPClient *http.Client
}

// Check retrieves the balance with the secret key: the cheapest call every
// account may make. Stripe's 401 is a 400 `credentials_invalid` naming the
// secret key; a 403 (a restricted key without balance access) still proves
// the key authentic; an unreachable or failing Stripe is a 503. A key whose
// account answers in the other mode is refused too. Nothing of the key or
// of Stripe's message (which may echo the key) is kept in the errors.
func (s Stripe) Check(ctx context.Context, secretKey string, live bool) error {
	base := s.Base
	if base == "" {
		base = DefaultStripeAPIBase
	}
	hc := s.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: checkTimeout}
	}
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL: stripe.String(base), HTTPClient: hc,
		// The merchant is waiting: one try, and the merchant can retry.
		MaxNetworkRetries: stripe.Int64(0),
		// stripe-go logs failed requests; ours say what is needed.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	sc := stripe.NewClient(secretKey, stripe.WithBackends(&stripe.Backends{API: backend, Connect: backend, Uploads: backend, MeterEvents: backend}))
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	bal, err := sc.V1Balance.Retrieve(ctx, &stripe.BalanceRetrieveParams{})
	if err == nil {
		if bal.Livemode != live {
			return errs.Param(ParamSecretKey, "credentials_invalid", "Stripe says this key's account is in the other mode.")
		}
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		switch se.HTTPStatusCode {
		case http.StatusUnauthorized:
			return &errs.Error{Kind: errs.Invalid, Code: "credentials_invalid", Param: ParamSecretKey,
				Message: "Stripe refused this secret key (401 Unauthorized): check that it is the account's current key and not revoked."}
		case http.StatusForbidden:
			return nil
		}
		return &errs.Error{Kind: errs.Unavailable, Code: "provider_unavailable",
			Message: "Stripe could not check the credentials just now; try again.",
			Err:     fmt.Errorf("stripe balance: http %d, type %s, code %s", se.HTTPStatusCode, se.Type, se.Code)}
	}
	cause := "request failed"
	if ue, ok := errors.AsType[*url.Error](err); ok {
		cause = ue.Err.Error()
	}
	return &errs.Error{Kind: errs.Unavailable, Code: "provider_unavailable",
		Message: "Stripe could not be reached to check the credentials; try again.",
		Err:     fmt.Errorf("stripe balance: %s", cause)}
}
