package stripe

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// DefaultBaseURL is Stripe's API.
const DefaultBaseURL = "https://api.stripe.com"

// networkRetries is how often stripe-go repeats a request that failed on the
// network, with a 409 (a concurrent request with the same idempotency key),
// or a 5xx, with backoff. Every POST carries an idempotency key, so a repeat
// never charges twice; two keeps a page's wait short (Stripe's default too).
const networkRetries = 2

// Config is one Stripe account's connection.
type Config struct {
	// BaseURL is the API's base URL; empty means DefaultBaseURL. Tests point
	// it at stripe-mock.
	BaseURL string
	// SecretKey is the account's secret (sk_…) or restricted (rk_…) key; its
	// mode (test or live) is the mode of every payment made with it.
	SecretKey string
	// HTTPClient makes the requests; nil means stripe-go's default client
	// (80 s timeout: Stripe's own choice, as a confirmation can wait on a
	// card network).
	HTTPClient *http.Client
}

// Client talks to one Stripe account. It is safe for concurrent use.
type Client struct {
	api      *stripeapi.Client
	livemode bool
	// params, when set, edits every request's parameters before it is sent:
	// a test hook that lets a test send what the package never would.
	params func(*stripeapi.Params)
}

// Errors of the Stripe calls besides the provider package's. Each is
// wrapped with detail (test with errors.Is); none carries a key.
var (
	// ErrUnavailable: Stripe could not be reached, answered 5xx or 429, or
	// was busy with the same idempotency key. Retrying the same call is
	// safe.
	ErrUnavailable = errors.New("stripe: unavailable")
	// ErrAuthentication: Stripe refused the account's key (401), or the key
	// may not do this (403). The merchant must fix the provider account.
	ErrAuthentication = errors.New("stripe: the account's key was refused")
)

// New returns a client for the account cfg describes.
func New(cfg Config) (*Client, error) {
	live, err := keyMode(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("stripe: base URL %q is not an absolute http(s) URL", base)
	}
	backend := stripeapi.GetBackendWithConfig(stripeapi.APIBackend, &stripeapi.BackendConfig{
		URL:               stripeapi.String(strings.TrimRight(base, "/")),
		HTTPClient:        cfg.HTTPClient,
		MaxNetworkRetries: stripeapi.Int64(networkRetries),
		// stripe-go logs to stderr by default; our callers log errors
		// themselves, with their context.
		LeveledLogger:   &stripeapi.LeveledLogger{Level: stripeapi.LevelNull},
		EnableTelemetry: stripeapi.Bool(false),
	})
	api := stripeapi.NewClient(cfg.SecretKey, stripeapi.WithBackends(&stripeapi.Backends{
		API: backend, Connect: backend, Uploads: backend, MeterEvents: backend,
	}))
	return &Client{api: api, livemode: live}, nil
}

// Livemode reports whether the client's key is a live-mode key.
func (c *Client) Livemode() bool { return c.livemode }

// keyMode checks the shape of a secret key and returns its mode. The key
// itself is never part of the error.
func keyMode(key string) (live bool, err error) {
	switch {
	case strings.HasPrefix(key, "sk_live_"), strings.HasPrefix(key, "rk_live_"):
		live = true
	case strings.HasPrefix(key, "sk_test_"), strings.HasPrefix(key, "rk_test_"):
	default:
		return false, errors.New("stripe: the secret key must start with sk_test_, sk_live_, rk_test_ or rk_live_")
	}
	if strings.ContainsAny(key, " \t\r\n") {
		return false, errors.New("stripe: the secret key contains white space")
	}
	return live, nil
}

// prepare applies the test hook, if any, to p.
func (c *Client) prepare(p *stripeapi.Params) {
	if c.params != nil {
		c.params(p)
	}
}

// classify turns a stripe-go error that is not a decline into one of ours.
// A card error must have been handled before (see declineOf).
func classify(op string, err error) error {
	var se *stripeapi.Error
	if !errors.As(err, &se) {
		// No answer from Stripe: the network, a timeout, a cancelled
		// context. The context's own error is kept for errors.Is.
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
	}
	detail := fmt.Sprintf("%s: Stripe answered %d", op, se.HTTPStatusCode)
	if se.Code != "" {
		detail += " " + string(se.Code)
	}
	if se.Param != "" {
		detail += " (param " + se.Param + ")"
	}
	if se.RequestID != "" {
		detail += ", request " + se.RequestID
	}
	switch {
	case se.HTTPStatusCode >= 500, se.HTTPStatusCode == http.StatusTooManyRequests,
		se.HTTPStatusCode == http.StatusConflict, se.Type == stripeapi.ErrorTypeAPI:
		return fmt.Errorf("%w: %s", ErrUnavailable, detail)
	case se.HTTPStatusCode == http.StatusUnauthorized, se.HTTPStatusCode == http.StatusForbidden:
		// Stripe's message for a bad key quotes part of it: left out.
		return fmt.Errorf("%w: %s", ErrAuthentication, detail)
	case se.Code == stripeapi.ErrorCodeResourceMissing, se.HTTPStatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s", provider.ErrUnknownReference, detail)
	}
	return fmt.Errorf("%w: %s: %s", provider.ErrInvalidRequest, detail, se.Msg)
}

// Retryable reports whether err is worth retrying with the same call.
func Retryable(err error) bool { return errors.Is(err, ErrUnavailable) }
