// Package provideracct checks a merchant's provider credentials: their shape
// and mode locally, then, for Stripe, one cheap authenticated call.
// GoCardless accounts hold an access token (secret_key) and the webhook
// endpoint's secret; the token is checked by listing one creditor.
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
	"github.com/tillpoint/tillpoint/services/platform/provider/gocardless"
)

// Providers lists the providers an account can be for, with the payment
// methods each serves.
var Providers = map[string][]string{"stripe": {"card"}, "gocardless": {"direct_debit"}, "paystack": {"mobile_money"}, ProviderTest: {"card"}}

// ProviderTest is an account of the built-in test provider: test mode
// only, without credentials. Two of them on a route show a cascade
// (docs/routing.md) without any provider's sandbox.
const ProviderTest = "test"

// CheckTestAccount refuses a test-provider account in live mode, or with
// credentials (it has none).
func CheckTestAccount(live, credentialsGiven bool) error {
	switch {
	case live:
		return errs.Param("provider", "parameter_invalid", "Test-provider accounts exist in test mode only.")
	case credentialsGiven:
		return errs.Param("credentials", "parameter_invalid", "A test-provider account has no credentials.")
	}
	return nil
}

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
	// GoCardless access tokens are sandbox_… (test mode) or live_….
	accessTokenRE = regexp.MustCompile(`^(sandbox|live)_[A-Za-z0-9_-]+$`)
	// GoCardless lets the merchant choose an endpoint's secret: printable
	// ASCII without spaces.
	endpointSecretRE = regexp.MustCompile(`^[!-~]+$`)
	// Paystack's secret keys; Paystack signs webhooks with the same key, so
	// an account has no other secret.
	paystackKeyRE = regexp.MustCompile(`^sk_(test|live)_[A-Za-z0-9]+$`)
)

// Credentials are a provider account's keys: Stripe's three, GoCardless's
// access token (SecretKey) and webhook endpoint secret, or Paystack's secret
// key alone.
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
	// mode maps the regexp's last group to "test" or "live" (nil: the
	// group is the mode itself).
	mode map[string]string
}

// Validate checks the shape of each credential of a provider's account and
// that its mode is the caller's: test keys only in test mode, live keys only
// in live mode. Errors name the parameter and never echo the value.
func (c Credentials) Validate(providerName string, live bool) error {
	mode := "test"
	if live {
		mode = "live"
	}
	rules := []credentialRule{
		{ParamSecretKey, c.SecretKey, "a Stripe secret key", secretKeyRE, "sk_" + mode + "_… or rk_" + mode + "_…", nil},
		{ParamPublishableKey, c.PublishableKey, "a Stripe publishable key", publishableKeyRE, "pk_" + mode + "_…", nil},
		{ParamWebhookSecret, c.WebhookSecret, "a Stripe webhook signing secret", webhookSecretRE, "whsec_…", nil},
	}
	if providerName == "gocardless" {
		if c.PublishableKey != "" {
			return errs.Param(ParamPublishableKey, "parameter_invalid", "GoCardless accounts have no publishable key: leave it out.")
		}
		tokenPrefix := map[bool]string{false: "sandbox_…", true: "live_…"}[live]
		rules = []credentialRule{
			{ParamSecretKey, c.SecretKey, "a GoCardless access token", accessTokenRE, tokenPrefix, map[string]string{"sandbox": "test", "live": "live"}},
			{ParamWebhookSecret, c.WebhookSecret, "a GoCardless webhook endpoint secret", endpointSecretRE, "printable characters without spaces", nil},
		}
	}
	if providerName == "paystack" {
		for param, v := range map[string]string{ParamPublishableKey: c.PublishableKey, ParamWebhookSecret: c.WebhookSecret} {
			if v != "" {
				return errs.Param(param, "parameter_unknown", "A Paystack account takes its secret key only (Paystack signs webhooks with it).")
			}
		}
		rules = []credentialRule{{ParamSecretKey, c.SecretKey, "a Paystack secret key", paystackKeyRE, "sk_" + mode + "_…", nil}}
	}
	for _, f := range rules {
		m := f.re.FindStringSubmatch(f.value)
		keyMode := ""
		if len(m) > 1 {
			keyMode = m[len(m)-1]
			if f.mode != nil {
				keyMode = f.mode[keyMode]
			}
		}
		switch {
		case f.value == "":
			return errs.Missing(f.param)
		case len(f.value) > maxKeyLen || m == nil:
			return errs.Param(f.param, "parameter_invalid", "Not %s: expected %s.", f.what, f.prefixes)
		case keyMode != "" && keyMode != mode:
			return errs.Param(f.param, "parameter_invalid",
				"This is a %s-mode key, and the request was made in %s mode: use %s (a %s key connects a %s-mode account).",
				keyMode, mode, f.prefixes, mode, mode)
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

// GoCardless checks access tokens against GoCardless's API.
type GoCardless struct {
	// Base overrides the API's base URL for both modes (GOCARDLESS_API_BASE,
	// for tests); empty means the mode's: live or sandbox.
	Base string
	// HTTPClient makes the calls (one with checkTimeout when nil).
	HTTPClient *http.Client
}

// Check lists one creditor with the token: GoCardless's 401/403 is a 400
// `credentials_invalid` naming the secret key; an unreachable or failing
// GoCardless is a 503. The mode is the token's own (Validate checked it
// matches): a sandbox token is asked of the sandbox.
func (g GoCardless) Check(ctx context.Context, token string, live bool) error {
	hc := g.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: checkTimeout}
	}
	c, err := gocardless.New(gocardless.Config{BaseURL: gocardless.BaseURL(g.Base, live), AccessToken: token, HTTPClient: hc})
	if err != nil {
		return errs.Param(ParamSecretKey, "parameter_invalid", "Not a GoCardless access token.")
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	switch err := c.CheckToken(ctx); {
	case err == nil:
		return nil
	case errors.Is(err, gocardless.ErrAuthentication):
		return &errs.Error{Kind: errs.Invalid, Code: "credentials_invalid", Param: ParamSecretKey,
			Message: "GoCardless refused this access token: check that it is the account's current read-write token and not revoked."}
	default:
		return &errs.Error{Kind: errs.Unavailable, Code: "provider_unavailable",
			Message: "GoCardless could not check the credentials just now; try again.", Err: err}
	}
}
