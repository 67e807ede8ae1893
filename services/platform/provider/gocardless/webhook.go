package gocardless

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SignatureHeader carries a webhook's signature: the hex HMAC-SHA256 of the
// raw body keyed with the endpoint's secret.
const SignatureHeader = "Webhook-Signature"

// StatusInvalidSignature is what GoCardless expects for a webhook whose
// signature does not verify ("498 Token Invalid"; its client libraries
// answer it too).
const StatusInvalidSignature = 498

// MaxWebhookPayload bounds the body ParseWebhook reads: GoCardless batches
// at most 250 events of well under 1 KB each.
const MaxWebhookPayload = 1 << 20

// maxIDLen bounds ids we store: GoCardless's are about 14 characters.
const maxIDLen = 64

// Errors of ParseWebhook. None includes the secret or the signature.
var (
	ErrSignatureMissing    = errors.New("gocardless webhook: missing signature")
	ErrSignatureMismatched = errors.New("gocardless webhook: mismatched signature")
	// ErrMalformedEvent: the signature is good but the body is not a
	// batch of events we can read.
	ErrMalformedEvent = errors.New("gocardless webhook: malformed events")
)

// Event is one GoCardless event, as webhooks and GET /events carry it.
// GoCardless's events have no livemode: the account (and so the secret) that
// verified the webhook gives the mode.
type Event struct {
	ID           string    `json:"id"` // EV…: deduplicate by it
	CreatedAt    time.Time `json:"created_at"`
	ResourceType string    `json:"resource_type"` // payments, mandates, billing_requests, refunds, …
	Action       string    `json:"action"`        // confirmed, failed, fulfilled, …
	Links        struct {
		Payment               string `json:"payment,omitempty"`
		Mandate               string `json:"mandate,omitempty"`
		BillingRequest        string `json:"billing_request,omitempty"`
		PaymentRequestPayment string `json:"payment_request_payment,omitempty"`
		Refund                string `json:"refund,omitempty"`
	} `json:"links"`
	Details struct {
		Origin      string `json:"origin,omitempty"` // bank, api, gocardless, customer
		Cause       string `json:"cause,omitempty"`
		Scheme      string `json:"scheme,omitempty"`
		ReasonCode  string `json:"reason_code,omitempty"`
		Description string `json:"description,omitempty"`
	} `json:"details"`
	// ResourceMetadata is the metadata of the resource the event is about:
	// ours carry MetadataPayment.
	ResourceMetadata map[string]string `json:"resource_metadata,omitempty"`
}

// What an event means for a payment of ours (Event.Effect).
const (
	EffectNone            = ""                          // acknowledge and ignore
	EffectSucceeded       = "payment.succeeded"         // the money was collected
	EffectFailed          = "payment.failed"            // it will not be collected
	EffectChargedBack     = "payment.charged_back"      // the payer's bank took it back
	EffectFulfilled       = "billing_request.fulfilled" // the payer authorised: the payment exists
	EffectRequestCanceled = "billing_request.cancelled" // the payer's authorisation ended unfinished
	EffectMandateEnded    = "mandate.ended"             // the mandate can no longer be charged
	EffectRefundPaid      = "refund.paid"               // a refund of ours reached the payer
	EffectRefundFailed    = "refund.failed"             // a refund of ours did not
)

// Effect is what the event means for a payment:
//
//   - payments confirmed, paid_out: succeeded (confirmed is when GoCardless
//     has the money and it can no longer fail late but by a charge back);
//   - payments failed, cancelled, customer_approval_denied: failed;
//   - payments charged_back: a dispute on a succeeded payment;
//   - billing_requests fulfilled / cancelled; mandates cancelled, failed,
//     expired: recorded;
//   - anything else (created, submitted, payouts, …): none.
func (e Event) Effect() string {
	switch e.ResourceType + "." + e.Action {
	case "payments.confirmed", "payments.paid_out":
		return EffectSucceeded
	case "payments.failed", "payments.cancelled", "payments.customer_approval_denied":
		return EffectFailed
	case "payments.charged_back":
		return EffectChargedBack
	case "billing_requests.fulfilled":
		return EffectFulfilled
	case "billing_requests.cancelled":
		return EffectRequestCanceled
	case "mandates.cancelled", "mandates.failed", "mandates.expired":
		return EffectMandateEnded
	case "refunds.paid":
		return EffectRefundPaid
	case "refunds.failed", "refunds.bounced":
		return EffectRefundFailed
	}
	return EffectNone
}

// PaymentID is our payment id from the resource's metadata, or "".
func (e Event) PaymentID() string { return e.ResourceMetadata[MetadataPayment] }

// RefundID is our refund id from a refund's metadata, or "".
func (e Event) RefundID() string { return e.ResourceMetadata[MetadataRefund] }

// Message is what hooks publishes to checkout-runtime for one verified
// GoCardless event, on provider.gocardless.<mode>: the provider account
// whose webhook secret verified it, and the event.
type Message struct {
	ProviderAccount string `json:"provider_account"`
	Event           Event  `json:"event"`
}

// Sign returns the Webhook-Signature of body under secret, as GoCardless
// computes it: hex HMAC-SHA256.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// ParseWebhook verifies body against the Webhook-Signature value with the
// endpoint's secret (in constant time) and returns its batch of events. It
// does not deduplicate: the caller drops an Event.ID it has seen.
func ParseWebhook(body []byte, signature, secret string) ([]Event, error) {
	if secret == "" {
		return nil, errors.New("gocardless webhook: no endpoint secret configured")
	}
	sig, err := hex.DecodeString(signature)
	if err != nil || len(sig) == 0 {
		return nil, ErrSignatureMissing
	}
	want, _ := hex.DecodeString(Sign(secret, body))
	if !hmac.Equal(sig, want) {
		return nil, ErrSignatureMismatched
	}
	if len(body) > MaxWebhookPayload {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrMalformedEvent, MaxWebhookPayload)
	}
	var batch struct {
		Events []Event `json:"events"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&batch); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrMalformedEvent)
	}
	for i, e := range batch.Events {
		if e.ID == "" || len(e.ID) > maxIDLen || e.ResourceType == "" || e.Action == "" {
			return nil, fmt.Errorf("%w: events[%d]: id, resource_type and action are required", ErrMalformedEvent, i)
		}
	}
	return batch.Events, nil
}
