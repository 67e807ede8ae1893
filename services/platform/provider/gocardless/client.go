package gocardless

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

// Base URLs of GoCardless's API: live access tokens work only on the first,
// sandbox tokens only on the second.
const (
	LiveBaseURL    = "https://api.gocardless.com"
	SandboxBaseURL = "https://api-sandbox.gocardless.com"
)

// apiVersion is the GoCardless-Version header every request carries: the
// only version GoCardless has published, and the one the official client
// libraries send.
const apiVersion = "2015-07-06"

// requestTimeout bounds one call when the caller's HTTPClient has none:
// the payer waits on Authorize and Resume, and GoCardless answers in well
// under a second.
const requestTimeout = 30 * time.Second

// maxResponse bounds a response body: GoCardless's resources are a few
// kilobytes (a billing request with all its parts is about 5 KB).
const maxResponse = 1 << 20

// Errors of the calls besides the provider package's. Each is wrapped with
// detail (test with errors.Is); none carries the access token.
var (
	// ErrUnavailable: GoCardless could not be reached, answered 5xx or
	// 429, or is busy with the same idempotency key (409
	// idempotent_creation_conflict is not one: it answers with the first
	// resource). Retrying the same call is safe.
	ErrUnavailable = errors.New("gocardless: unavailable")
	// ErrAuthentication: GoCardless refused the access token (401) or it
	// may not do this (403). The merchant must fix the provider account.
	ErrAuthentication = errors.New("gocardless: the account's access token was refused")
)

// Config is one GoCardless account's connection.
type Config struct {
	// BaseURL is the API's base URL: LiveBaseURL or SandboxBaseURL, or a
	// test server.
	BaseURL string
	// AccessToken is the account's access token (sandbox_… or live_…).
	AccessToken string
	// HTTPClient makes the requests; nil means one with requestTimeout.
	HTTPClient *http.Client
}

// Client talks to one GoCardless account. It is safe for concurrent use.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// New returns a client for the account cfg describes.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("gocardless: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.AccessToken == "" || strings.ContainsAny(cfg.AccessToken, " \t\r\n") {
		return nil, errors.New("gocardless: the access token is empty or contains white space")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: requestTimeout}
	}
	return &Client{base: strings.TrimRight(cfg.BaseURL, "/"), token: cfg.AccessToken, hc: hc}, nil
}

// APIError is GoCardless's error envelope: {"error": {…}}.
type APIError struct {
	Status    int          `json:"code"` // the HTTP status, which GoCardless repeats as "code"
	Type      string       `json:"type"` // invalid_api_usage, invalid_state, validation_failed, gocardless
	Message   string       `json:"message"`
	RequestID string       `json:"request_id"`
	Errors    []FieldError `json:"errors"`
}

// FieldError is one entry of APIError.Errors: a field and what is wrong
// with it, or a reason (for invalid_state errors).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Links   struct {
		ConflictingResourceID string `json:"conflicting_resource_id"`
	} `json:"links"`
}

// Error is the type, the first reason or field, and the request id: enough
// to look the request up in GoCardless's dashboard, nothing of the token.
func (e *APIError) Error() string {
	s := fmt.Sprintf("gocardless answered %d %s", e.Status, e.Type)
	if len(e.Errors) > 0 {
		f := e.Errors[0]
		switch {
		case f.Reason != "":
			s += " " + f.Reason
		case f.Field != "":
			s += " (" + f.Field + ": " + f.Message + ")"
		}
	}
	if e.RequestID != "" {
		s += ", request " + e.RequestID
	}
	return s
}

// reason reports whether e's errors carry reason.
func (e *APIError) reason(reason string) bool {
	for _, f := range e.Errors {
		if f.Reason == reason {
			return true
		}
	}
	return false
}

// call sends one request to path: body (nil for none) wrapped in
// {"<resource>": body} for a creation or {"data": body} for an action, with
// the idempotency key when one is given, and decodes the answer's
// {"<resource>": …} into out. Errors are classified (classify).
func (c *Client) call(ctx context.Context, method, path, resource string, body any, idempotencyKey string, out any) error {
	op := method + " " + path
	var rd io.Reader
	if body != nil {
		envelope := resource
		if strings.Contains(path, "/actions/") {
			envelope = "data"
		}
		b, err := json.Marshal(map[string]any{envelope: body})
		if err != nil {
			return fmt.Errorf("%w: %s: %v", provider.ErrInvalidRequest, op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", provider.ErrInvalidRequest, op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("GoCardless-Version", apiVersion)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		// No answer: the network, a timeout, a cancelled context (kept
		// for errors.Is).
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("%w: %s: reading the answer: %w", ErrUnavailable, op, err)
	}
	if resp.StatusCode/100 != 2 {
		return classify(op, resp.StatusCode, data)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(data, &env); err != nil || env[resource] == nil {
		return fmt.Errorf("%w: %s: the answer is not a %s object", ErrUnavailable, op, resource)
	}
	if err := json.Unmarshal(env[resource], out); err != nil {
		return fmt.Errorf("%w: %s: %s: %v", ErrUnavailable, op, resource, err)
	}
	return nil
}

// classify maps a non-2xx answer onto our errors: 5xx and 429 retryable
// (ErrUnavailable), 401/403 ErrAuthentication, 404 ErrUnknownReference, an
// invalid_state about a payment already taken ErrAlreadyCaptured, the rest
// (validation_failed, invalid_api_usage) ErrInvalidRequest: a request we
// made wrong, which retrying repeats.
func classify(op string, status int, body []byte) error {
	var env struct {
		Error *APIError `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || env.Error == nil {
		env.Error = &APIError{Type: "unknown"}
	}
	e := env.Error
	e.Status = status
	switch {
	case status >= 500, status == http.StatusTooManyRequests, e.Type == "gocardless":
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, e)
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return fmt.Errorf("%w: %s: %w", ErrAuthentication, op, e)
	case status == http.StatusNotFound:
		return fmt.Errorf("%w: %s: %w", provider.ErrUnknownReference, op, e)
	case e.reason("cancellation_failed"):
		// The payment was submitted to the bank already: it can no longer
		// be cancelled, only refunded.
		return fmt.Errorf("%w: %s: %w", provider.ErrAlreadyCaptured, op, e)
	}
	return fmt.Errorf("%w: %s: %w", provider.ErrInvalidRequest, op, e)
}

// Retryable reports whether err is worth retrying with the same call.
func Retryable(err error) bool { return errors.Is(err, ErrUnavailable) }
