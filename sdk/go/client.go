// Package tillpoint is a Go client for Tillpoint's merchant API: checkout
// sessions, payments, refunds, webhook endpoints, events, the catalog
// (customers, products, prices, coupons, promotion codes) and billing
// (subscriptions, invoices, test clocks).
//
// It is written by hand, thin over the API's OpenAPI 3.1 description
// (GET /v1/openapi.json): the types mirror its schemas, with nullable fields
// as pointers, amounts as int64 minor units and timestamps as time.Time.
//
//	c := tillpoint.New("sk_test_…", tillpoint.WithBaseURL("http://api.localhost:27801"))
//	s, err := c.CheckoutSessions.Create(ctx, &tillpoint.CheckoutSessionParams{
//		SiteID: "site_demo", Amount: 5000, Currency: "EUR",
//	}, tillpoint.WithIdempotencyKey("order-1234"))
package tillpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DefaultBaseURL is the address used when no WithBaseURL option is given.
const DefaultBaseURL = "https://api.tillpoint.com"

// Version is this SDK's version, sent in the User-Agent.
const Version = "0.1.0"

// Client calls the merchant API with one secret key. It is safe for
// concurrent use.
type Client struct {
	baseURL string
	key     string
	http    *http.Client

	CheckoutSessions *CheckoutSessionService
	Payments         *PaymentService
	Refunds          *RefundService
	WebhookEndpoints *WebhookEndpointService
	Events           *EventService
	Customers        *CustomerService
	Products         *ProductService
	Prices           *PriceService
	Coupons          *CouponService
	PromotionCodes   *PromotionCodeService
	Subscriptions    *SubscriptionService
	Invoices         *InvoiceService
	// TestClocks are test mode's clocks (/v1/test_helpers/test_clocks).
	TestClocks *TestClockService
}

// Option configures a Client.
type Option func(*Client)

// WithBaseURL sets the API's address, e.g. "http://api.localhost:27801".
func WithBaseURL(u string) Option {
	return func(c *Client) { c.baseURL = strings.TrimRight(u, "/") }
}

// WithHTTPClient sets the HTTP client (timeouts, transport, proxies).
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) { c.http = h }
}

// New returns a client authenticated with a secret key (sk_test_… or sk_live_…).
func New(secretKey string, opts ...Option) *Client {
	c := &Client{baseURL: DefaultBaseURL, key: secretKey, http: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	c.CheckoutSessions = &CheckoutSessionService{c}
	c.Payments = &PaymentService{c}
	c.Refunds = &RefundService{c}
	c.WebhookEndpoints = &WebhookEndpointService{c}
	c.Events = &EventService{c}
	c.Customers = &CustomerService{c}
	c.Products = &ProductService{c}
	c.Prices = &PriceService{c}
	c.Coupons = &CouponService{c}
	c.PromotionCodes = &PromotionCodeService{c}
	c.Subscriptions = &SubscriptionService{c}
	c.Invoices = &InvoiceService{c}
	c.TestClocks = &TestClockService{c}
	return c
}

// RequestOption configures one request.
type RequestOption func(*http.Request)

// WithIdempotencyKey sends an Idempotency-Key: a retry of a POST with the
// same key and parameters gets the first answer again instead of acting
// twice (kept 24 hours).
func WithIdempotencyKey(key string) RequestOption {
	return func(r *http.Request) { r.Header.Set("Idempotency-Key", key) }
}

// WithExpand asks a GET for fields its answer leaves out by default, e.g.
// WithExpand("custom_fields") on a checkout session.
func WithExpand(fields ...string) RequestOption {
	return func(r *http.Request) {
		q := r.URL.Query()
		for _, f := range fields {
			q.Add("expand", f)
		}
		r.URL.RawQuery = q.Encode()
	}
}

// do sends one request: body (if any) as JSON, query parameters from
// query, and decodes a 2xx answer into out or any other into an *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any, opts []RequestOption) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("tillpoint: encoding the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tillpoint-go/"+Version)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return newError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("tillpoint: decoding the answer to %s %s: %w", method, path, err)
	}
	return nil
}

// id escapes an object id for a path.
func id(s string) string { return url.PathEscape(s) }
