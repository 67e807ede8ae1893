package gocardless

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// BillingRequest is the part of a GoCardless billing request we read.
type BillingRequest struct {
	ID string `json:"id"` // BRQ…
	// Status: pending, ready_to_fulfil, fulfilling, fulfilled, cancelled.
	Status         string            `json:"status"`
	Metadata       map[string]string `json:"metadata"`
	PaymentRequest *struct {
		Amount   int64  `json:"amount"`
		Currency string `json:"currency"`
	} `json:"payment_request"`
	Links struct {
		PaymentRequestPayment string `json:"payment_request_payment"` // PM…, once fulfilled
		MandateRequestMandate string `json:"mandate_request_mandate"` // MD…, with a mandate request
		Customer              string `json:"customer"`
	} `json:"links"`
}

// Billing request statuses.
const (
	BillingRequestPending    = "pending"
	BillingRequestReady      = "ready_to_fulfil"
	BillingRequestFulfilling = "fulfilling"
	BillingRequestFulfilled  = "fulfilled"
	BillingRequestCancelled  = "cancelled"
)

// PaymentRequest is a billing request's one-off payment: amount in minor
// units of currency (GoCardless counts every currency in its minor unit).
type PaymentRequest struct {
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// MandateRequest asks for a reusable mandate besides the payment; Scheme
// may be empty (GoCardless picks it from the currency).
type MandateRequest struct {
	Scheme   string            `json:"scheme,omitempty"`
	Currency string            `json:"currency,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// BillingRequestParams create a billing request.
type BillingRequestParams struct {
	PaymentRequest PaymentRequest    `json:"payment_request"`
	MandateRequest *MandateRequest   `json:"mandate_request,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
}

// FlowParams create a billing request flow: the page GoCardless hosts for
// the payer. Both URIs are our page's return URL: GoCardless sends the payer
// to redirect_uri when done and to exit_uri when they leave.
type FlowParams struct {
	RedirectURI string `json:"redirect_uri"`
	ExitURI     string `json:"exit_uri"`
	Links       struct {
		BillingRequest string `json:"billing_request"`
	} `json:"links"`
}

// Flow is a billing request flow.
type Flow struct {
	ID               string `json:"id"`                // BRF…
	AuthorisationURL string `json:"authorisation_url"` // where the payer goes
}

// Payment is the part of a GoCardless payment we read.
type Payment struct {
	ID       string `json:"id"` // PM…
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	// Status: pending_customer_approval, pending_submission, submitted,
	// confirmed, paid_out, cancelled, customer_approval_denied, failed,
	// charged_back.
	Status         string            `json:"status"`
	AmountRefunded int64             `json:"amount_refunded"`
	Metadata       map[string]string `json:"metadata"`
}

// RefundParams create a refund of a payment.
type RefundParams struct {
	Amount int64 `json:"amount"`
	// TotalAmountConfirmation is the payment's refunded total after this
	// refund: GoCardless refuses the refund when it is not (a guard against
	// refunding twice by mistake).
	TotalAmountConfirmation int64             `json:"total_amount_confirmation,omitempty"`
	Metadata                map[string]string `json:"metadata,omitempty"`
	Links                   struct {
		Payment string `json:"payment"`
	} `json:"links"`
}

// Refund is the part of a GoCardless refund we read.
type Refund struct {
	ID       string `json:"id"` // RF…
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	// Status: created, pending_submission, submitted, paid, cancelled,
	// bounced, funds_returned.
	Status string `json:"status"`
}

// CreateBillingRequest creates a billing request. key is our payment id:
// a repeat with it answers the first billing request.
func (c *Client) CreateBillingRequest(ctx context.Context, p BillingRequestParams, key string) (BillingRequest, error) {
	var br BillingRequest
	err := c.call(ctx, http.MethodPost, "/billing_requests", "billing_requests", p, key, &br)
	if id := conflicting(err); id != "" {
		return c.GetBillingRequest(ctx, id)
	}
	return br, err
}

// CreateFlow creates the billing request flow the payer is sent to. A flow
// is only a link to GoCardless's page: a second one for the same billing
// request is harmless, so it takes no idempotency key.
func (c *Client) CreateFlow(ctx context.Context, p FlowParams) (Flow, error) {
	var f Flow
	err := c.call(ctx, http.MethodPost, "/billing_request_flows", "billing_request_flows", p, "", &f)
	return f, err
}

// GetBillingRequest reads a billing request.
func (c *Client) GetBillingRequest(ctx context.Context, id string) (BillingRequest, error) {
	var br BillingRequest
	err := c.call(ctx, http.MethodGet, "/billing_requests/"+url.PathEscape(id), "billing_requests", nil, "", &br)
	return br, err
}

// CancelBillingRequest cancels a billing request that is not fulfilled.
func (c *Client) CancelBillingRequest(ctx context.Context, id string) (BillingRequest, error) {
	var br BillingRequest
	err := c.call(ctx, http.MethodPost, "/billing_requests/"+url.PathEscape(id)+"/actions/cancel", "billing_requests", struct{}{}, "", &br)
	return br, err
}

// GetPayment reads a payment.
func (c *Client) GetPayment(ctx context.Context, id string) (Payment, error) {
	var p Payment
	err := c.call(ctx, http.MethodGet, "/payments/"+url.PathEscape(id), "payments", nil, "", &p)
	return p, err
}

// CancelPayment cancels a payment not yet submitted to the bank.
func (c *Client) CancelPayment(ctx context.Context, id string) (Payment, error) {
	var p Payment
	err := c.call(ctx, http.MethodPost, "/payments/"+url.PathEscape(id)+"/actions/cancel", "payments", struct{}{}, "", &p)
	return p, err
}

// CreateRefund refunds part of a payment. key is our refund id: a repeat
// with it answers the first refund.
func (c *Client) CreateRefund(ctx context.Context, p RefundParams, key string) (Refund, error) {
	var r Refund
	err := c.call(ctx, http.MethodPost, "/refunds", "refunds", p, key, &r)
	if id := conflicting(err); id != "" {
		return c.getRefund(ctx, id)
	}
	return r, err
}

func (c *Client) getRefund(ctx context.Context, id string) (Refund, error) {
	var r Refund
	err := c.call(ctx, http.MethodGet, "/refunds/"+url.PathEscape(id), "refunds", nil, "", &r)
	return r, err
}

// CheckToken makes the cheapest authenticated call, listing at most one
// creditor: nil when the access token works, ErrAuthentication when
// GoCardless refuses it.
func (c *Client) CheckToken(ctx context.Context) error {
	var creditors []json.RawMessage
	return c.call(ctx, http.MethodGet, "/creditors?limit=1", "creditors", nil, "", &creditors)
}

// conflicting returns the id of the resource a creation repeated: GoCardless
// answers a repeated Idempotency-Key with 409 idempotent_creation_conflict
// naming the first resource, which the caller then reads (as GoCardless's
// own client libraries do).
func conflicting(err error) string {
	var e *APIError
	if err == nil || !errors.As(err, &e) || e.Status != http.StatusConflict {
		return ""
	}
	for _, f := range e.Errors {
		if f.Reason == "idempotent_creation_conflict" {
			return f.Links.ConflictingResourceID
		}
	}
	return ""
}
