package paystack

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// SignatureHeader carries Paystack's webhook signature.
const SignatureHeader = "X-Paystack-Signature"

// MaxWebhookPayload caps a webhook body we read: Paystack's charge events
// are a few kilobytes.
const MaxWebhookPayload = 64 << 10

// Webhook event types we act on; Paystack sends many more (transfers,
// subscriptions…), which are Ignorable.
const (
	EventChargeSuccess = "charge.success"
	EventChargeFailed  = "charge.failed"
)

// Errors of ParseWebhook.
var (
	// ErrSignature: the signature is missing, malformed or does not match.
	ErrSignature = errors.New("paystack: webhook signature invalid")
	// ErrMalformedEvent: a signed body that is not a Paystack event.
	ErrMalformedEvent = errors.New("paystack: malformed webhook event")
)

// Event is a verified Paystack webhook, reduced to what settles a payment.
// Its fields are hints: the payment is settled from Verify, never from them.
type Event struct {
	// ID deduplicates deliveries: Paystack sends no event id, so it is the
	// type, the transaction id and the reference (a retry repeats all three).
	ID        string `json:"id"`
	Type      string `json:"type"`
	Reference string `json:"reference"` // our payment id
	Livemode  bool   `json:"livemode"`  // data.domain == "live"
	Status    string `json:"status"`    // data.status, as the webhook said
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	// Ignorable: a type we do not act on (hooks answers 200 and drops it).
	Ignorable bool `json:"ignorable,omitempty"`
}

// Message is what hooks publishes for the runtime: the event and the
// provider account whose secret key verified it.
type Message struct {
	ProviderAccount string `json:"provider_account"`
	Event           Event  `json:"event"`
}

// Sign returns the x-paystack-signature of body: hex HMAC-SHA512 keyed with
// the secret key. Tests and our own senders use it.
func Sign(body []byte, secretKey string) string {
	m := hmac.New(sha512.New, []byte(secretKey))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks header against body in constant time.
func VerifySignature(body []byte, header, secretKey string) error {
	if secretKey == "" {
		return fmt.Errorf("%w: no secret key", ErrSignature)
	}
	got, err := hex.DecodeString(header)
	if err != nil || len(got) != sha512.Size {
		return fmt.Errorf("%w: not %d hex bytes", ErrSignature, sha512.Size)
	}
	m := hmac.New(sha512.New, []byte(secretKey))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("%w: mismatch", ErrSignature)
	}
	return nil
}

// webhookBody is Paystack's webhook: {"event": …, "data": {transaction}}.
type webhookBody struct {
	Event string `json:"event"`
	Data  struct {
		ID        json.Number `json:"id"`
		Domain    string      `json:"domain"`
		Status    string      `json:"status"`
		Reference string      `json:"reference"`
		Amount    int64       `json:"amount"`
		Currency  string      `json:"currency"`
	} `json:"data"`
}

// ParseWebhook verifies body's signature with the account's secret key,
// then decodes it. A bad signature is ErrSignature, checked before the body
// is read at all; a signed body that is not an event is ErrMalformedEvent.
func ParseWebhook(body []byte, signature, secretKey string) (Event, error) {
	if len(body) > MaxWebhookPayload {
		return Event{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformedEvent, MaxWebhookPayload)
	}
	if err := VerifySignature(body, signature, secretKey); err != nil {
		return Event{}, err
	}
	var w webhookBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	if w.Event == "" {
		return Event{}, fmt.Errorf("%w: no event type", ErrMalformedEvent)
	}
	ev := Event{Type: w.Event, Reference: w.Data.Reference, Livemode: w.Data.Domain == "live", Status: w.Data.Status,
		Amount: w.Data.Amount, Currency: w.Data.Currency}
	if ev.Type != EventChargeSuccess && ev.Type != EventChargeFailed {
		ev.Ignorable = true
		return ev, nil
	}
	if !validReference(ev.Reference) {
		return Event{}, fmt.Errorf("%w: data.reference missing or not a reference", ErrMalformedEvent)
	}
	if _, err := strconv.ParseInt(w.Data.ID.String(), 10, 64); err != nil {
		return Event{}, fmt.Errorf("%w: data.id is not a transaction id", ErrMalformedEvent)
	}
	ev.ID = ev.Type + ":" + w.Data.ID.String() + ":" + ev.Reference
	return ev, nil
}
