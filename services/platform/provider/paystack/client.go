package paystack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// DefaultBaseURL is Paystack's API (PAYSTACK_API_BASE overrides it).
const DefaultBaseURL = "https://api.paystack.co"

// defaultTimeout bounds one call. A charge waits on the mobile operator's
// first answer (a prompt sent, a code sent); Paystack answers within
// seconds, and the page's POST must not hang longer than a payer waits.
const defaultTimeout = 30 * time.Second

// maxResponse caps a Paystack answer we read: a charge or a verification is
// a few kilobytes.
const maxResponse = 1 << 20

// Config is one Paystack account's connection.
type Config struct {
	// BaseURL is the API's base URL; empty means DefaultBaseURL. Tests
	// point it at Prism.
	BaseURL string
	// SecretKey is the account's secret key, sk_test_… or sk_live_…; its
	// mode is the mode of every payment made with it.
	SecretKey string
	// HTTPClient makes the requests; nil means a client with defaultTimeout.
	HTTPClient *http.Client
}

// Client talks to one Paystack account. It is safe for concurrent use.
type Client struct {
	base     string
	key      string
	livemode bool
	hc       *http.Client
}

// Errors of the Paystack calls besides the provider package's. Each is
// wrapped with detail (test with errors.Is); none carries the key.
var (
	// ErrUnavailable: Paystack could not be reached or answered 5xx or 429.
	// Retrying the same call is safe: the reference is the idempotency key.
	ErrUnavailable = errors.New("paystack: unavailable")
	// ErrAuthentication: Paystack refused the account's key (401/403).
	ErrAuthentication = errors.New("paystack: the account's key was refused")
)

// New returns a client for the account cfg describes.
func New(cfg Config) (*Client, error) {
	live, err := KeyMode(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("paystack: base URL %q is not an absolute http(s) URL", base)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{base: strings.TrimRight(base, "/"), key: cfg.SecretKey, livemode: live, hc: hc}, nil
}

// Livemode reports whether the client's key is a live key.
func (c *Client) Livemode() bool { return c.livemode }

// KeyMode checks the shape of a Paystack secret key and returns its mode.
// The key itself is never part of the error.
func KeyMode(key string) (live bool, err error) {
	switch {
	case strings.HasPrefix(key, "sk_live_"):
		live = true
	case strings.HasPrefix(key, "sk_test_"):
	default:
		return false, errors.New("paystack: the secret key must start with sk_test_ or sk_live_")
	}
	if len(key) <= len("sk_test_") || len(key) > 255 || strings.ContainsAny(key, " \t\r\n") {
		return false, errors.New("paystack: the secret key is empty after its prefix, too long, or contains white space")
	}
	return live, nil
}

// envelope is every Paystack answer: status false carries the reason in
// message (and, for a charge, data may still describe the transaction).
type envelope struct {
	Status  bool            `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	// Code is Paystack's machine-readable error code, where it sends one
	// ("transaction_not_found").
	Code string `json:"code"`
	// Meta is a list's paging (GET /refund); nil elsewhere.
	Meta *struct {
		PageCount int `json:"pageCount"`
	} `json:"meta"`
}

// call sends one request (body nil for a GET) and decodes the answer's data
// into out. A 4xx other than 401/403/404 is ErrInvalidRequest naming
// Paystack's message; 400 with a transaction in data is returned as
// (env, nil) for the caller, as Paystack answers a failed charge so.
func (c *Client) call(ctx context.Context, method, path string, body any, out any) (envelope, error) {
	op := method + " " + path
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return envelope{}, fmt.Errorf("%w: %s: %v", provider.ErrInvalidRequest, op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return envelope{}, fmt.Errorf("%w: %s: %v", provider.ErrInvalidRequest, op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// No answer: the network, a timeout, a cancelled context. The
		// error names the URL, never the key (it is in a header).
		return envelope{}, fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return envelope{}, fmt.Errorf("%w: %s: reading the answer: %w", ErrUnavailable, op, err)
	}
	var env envelope
	jsonErr := json.Unmarshal(raw, &env)
	detail := fmt.Sprintf("%s: Paystack answered %d", op, resp.StatusCode)
	switch {
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests:
		return env, fmt.Errorf("%w: %s", ErrUnavailable, detail)
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return env, fmt.Errorf("%w: %s", ErrAuthentication, detail)
	case resp.StatusCode == http.StatusNotFound:
		return env, fmt.Errorf("%w: %s: %s", provider.ErrUnknownReference, detail, truncate(env.Message))
	case jsonErr != nil:
		return env, fmt.Errorf("%w: %s: the answer is not Paystack's JSON: %v", ErrUnavailable, detail, jsonErr)
	case resp.StatusCode == http.StatusBadRequest && chargeInData(env.Data):
		// A charge Paystack refused (a failed status in data): the caller
		// maps it to a decline.
	case resp.StatusCode >= 400:
		return env, fmt.Errorf("%w: %s: %s", provider.ErrInvalidRequest, detail, truncate(env.Message))
	}
	if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return env, fmt.Errorf("%w: %s: data: %v", ErrUnavailable, detail, err)
		}
	}
	return env, nil
}

// chargeInData reports whether data describes a transaction (it has a
// status), as Paystack's 400 answers to a failed charge do.
func chargeInData(data json.RawMessage) bool {
	var probe struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.Status != ""
}

// truncate keeps Paystack's message short in our errors and logs.
func truncate(s string) string {
	const n = 200
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Retryable reports whether err is worth retrying with the same call.
func Retryable(err error) bool { return errors.Is(err, ErrUnavailable) }
