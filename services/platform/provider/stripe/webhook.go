package stripe

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	stripeapi "github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// SignatureTolerance is how far a Stripe-Signature timestamp may be from our
// clock, either way: Stripe's recommended 300 s, which bounds how long a
// captured request can be replayed while leaving room for clock skew and
// Stripe's retries (each retry is signed anew).
const SignatureTolerance = webhook.DefaultTolerance

// MaxWebhookPayload bounds the body ParseWebhook reads: Stripe's events are
// a few kilobytes; the HTTP handler caps the request body at this too.
const MaxWebhookPayload = 1 << 20

// Errors of ParseWebhook. None includes the secret or the signature.
var (
	ErrSignatureMissing    = errors.New("stripe webhook: missing signature")
	ErrSignatureMalformed  = errors.New("stripe webhook: malformed signature header")
	ErrSignatureMismatched = errors.New("stripe webhook: mismatched signature")
	ErrSignatureStale      = errors.New("stripe webhook: stale signature")
	// ErrMalformedEvent: the signature is good but the body is not an event
	// we can read (Stripe never sends one; a wrong endpoint might).
	ErrMalformedEvent = errors.New("stripe webhook: malformed event")
)

// Event types ParseWebhook reads. Others parse as Ignorable.
const (
	// EventPaymentAuthorized is payment_intent.amount_capturable_updated:
	// a manual-capture intent that was processing is now authorised.
	EventPaymentAuthorized = "payment_intent.amount_capturable_updated"
	EventPaymentSucceeded  = "payment_intent.succeeded"
	EventPaymentFailed     = "payment_intent.payment_failed"
	EventPaymentCanceled   = "payment_intent.canceled"
	EventChargeRefunded    = "charge.refunded"
	EventDisputeCreated    = "charge.dispute.created"
)

// Event is a verified Stripe event, normalised.
type Event struct {
	ID       string // evt_…: deduplicate by it (Stripe delivers at least once)
	Type     string // Stripe's event type
	Livemode bool
	Created  time.Time
	// Ignorable: a type this package does not read; acknowledge it (2xx) and
	// do nothing. The fields below are empty then.
	Ignorable bool

	PaymentIntentID string // pi_…: our payment's provider reference
	// PaymentID is our payment id from the intent's (or charge's)
	// metadata; empty when the object does not carry it (charges and
	// disputes may not): find the payment by PaymentIntentID then.
	PaymentID string
	// Amount and Currency: the intent's, the charge's or the dispute's, in
	// our minor units and upper-case ISO 4217.
	Amount   int64
	Currency string
	// AmountReceived: payment_intent.succeeded only, what was captured.
	AmountReceived int64
	// FailureCode and FailureMessage: payment_intent.payment_failed, in
	// provider's decline codes and our payer-facing words.
	FailureCode, FailureMessage string
	// CancellationReason: payment_intent.canceled, Stripe's reason.
	CancellationReason string
	// ChargeID and AmountRefunded: charge.refunded (the total refunded so
	// far, not this refund's amount).
	ChargeID       string
	AmountRefunded int64
	Dispute        *Dispute // charge.dispute.created
}

// Dispute is a chargeback opened by the payer's bank.
type Dispute struct {
	ID     string // dp_… or du_…
	Reason string // Stripe's reason: fraudulent, product_not_received, …
	Status string // Stripe's status: warning_needs_response, needs_response, …
}

// Message is what hooks publishes to checkout-runtime for a verified Stripe
// event, on provider.stripe.<mode>: the provider account whose webhook
// secret verified it, and the event.
type Message struct {
	ProviderAccount string `json:"provider_account"`
	Event           Event  `json:"event"`
}

// ParseWebhook verifies payload against the Stripe-Signature header value
// with the endpoint's signing secret (whsec_…), checks that the signature's
// time is within SignatureTolerance of now, and returns the event. It does
// not deduplicate: the caller drops an Event.ID it has seen.
func ParseWebhook(payload []byte, sigHeader, secret string, now time.Time) (Event, error) {
	if sigHeader == "" {
		return Event{}, ErrSignatureMissing
	}
	if secret == "" {
		return Event{}, errors.New("stripe webhook: no signing secret configured")
	}
	if len(payload) > MaxWebhookPayload {
		return Event{}, fmt.Errorf("%w: body over %d bytes", ErrMalformedEvent, MaxWebhookPayload)
	}
	// stripe-go checks the header's form and the HMAC (in constant time);
	// its own time check uses the wall clock and only looks back, so it is
	// off here and done below, against now, both ways.
	switch err := webhook.ValidatePayloadIgnoringTolerance(payload, sigHeader, secret); {
	case errors.Is(err, webhook.ErrNotSigned):
		return Event{}, ErrSignatureMissing
	case errors.Is(err, webhook.ErrInvalidHeader):
		return Event{}, ErrSignatureMalformed
	case errors.Is(err, webhook.ErrNoValidSignature):
		return Event{}, ErrSignatureMismatched
	case err != nil:
		return Event{}, ErrSignatureMalformed
	}
	signed, ok := signatureTime(sigHeader)
	if !ok {
		return Event{}, ErrSignatureMalformed
	}
	// Times are compared, not subtracted: a far-off t would saturate a
	// Duration and could pass a check on it.
	if signed.Before(now.Add(-SignatureTolerance)) {
		return Event{}, fmt.Errorf("%w: signed more than %s ago", ErrSignatureStale, SignatureTolerance)
	} else if signed.After(now.Add(SignatureTolerance)) {
		return Event{}, fmt.Errorf("%w: signed more than %s in the future", ErrSignatureStale, SignatureTolerance)
	}
	return parseEvent(payload)
}

// signatureTime is the t= of a header stripe-go accepted (the last one, as
// stripe-go reads it).
func signatureTime(header string) (time.Time, bool) {
	var t time.Time
	found := false
	for _, pair := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(pair, "=")
		if k != "t" {
			continue
		}
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		t, found = time.Unix(sec, 0), true
	}
	return t, found
}

// parseEvent reads a verified payload.
func parseEvent(payload []byte) (Event, error) {
	var se stripeapi.Event
	if err := json.Unmarshal(payload, &se); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	if se.ID == "" || !printable(se.ID) || len(se.ID) > maxID || se.Type == "" || !printable(string(se.Type)) || len(se.Type) > maxID {
		return Event{}, fmt.Errorf("%w: no event id or type", ErrMalformedEvent)
	}
	ev := Event{ID: se.ID, Type: string(se.Type), Livemode: se.Livemode, Created: time.Unix(se.Created, 0).UTC()}
	var err error
	switch ev.Type {
	case EventPaymentAuthorized, EventPaymentSucceeded, EventPaymentFailed, EventPaymentCanceled:
		err = ev.readPaymentIntent(se.Data)
	case EventChargeRefunded:
		err = ev.readCharge(se.Data)
	case EventDisputeCreated:
		err = ev.readDispute(se.Data)
	default:
		ev.Ignorable = true
	}
	if err != nil {
		return Event{}, fmt.Errorf("%w: %s %s: %v", ErrMalformedEvent, ev.Type, ev.ID, err)
	}
	return ev, nil
}

func (ev *Event) readPaymentIntent(data *stripeapi.EventData) error {
	var pi stripeapi.PaymentIntent
	if err := readObject(data, "payment_intent", &pi); err != nil {
		return err
	}
	if pi.ID == "" {
		return errors.New("no payment intent id")
	}
	ev.PaymentIntentID, ev.PaymentID = pi.ID, metadataID(pi.Metadata)
	var err error
	if ev.Amount, ev.Currency, err = fromStripe(pi.Amount, string(pi.Currency)); err != nil {
		return err
	}
	switch ev.Type {
	case EventPaymentSucceeded:
		if ev.AmountReceived, _, err = fromStripe(pi.AmountReceived, ev.Currency); err != nil {
			return err
		}
	case EventPaymentFailed:
		ev.FailureCode = provider.DeclineCardDeclined
		if e := pi.LastPaymentError; e != nil {
			ev.FailureCode = declineCode(string(e.Code), string(e.DeclineCode))
		}
		ev.FailureMessage = provider.DeclineMessage(ev.FailureCode)
	case EventPaymentCanceled:
		ev.CancellationReason = string(pi.CancellationReason)
	}
	return checkRef(ev.PaymentIntentID, "pi_")
}

func (ev *Event) readCharge(data *stripeapi.EventData) error {
	var ch stripeapi.Charge
	if err := readObject(data, "charge", &ch); err != nil {
		return err
	}
	if ch.ID == "" || !printable(ch.ID) || len(ch.ID) > maxID {
		return errors.New("no charge id")
	}
	ev.ChargeID, ev.PaymentID = ch.ID, metadataID(ch.Metadata)
	if ch.PaymentIntent != nil {
		ev.PaymentIntentID = ch.PaymentIntent.ID
	}
	var err error
	if ev.Amount, ev.Currency, err = fromStripe(ch.Amount, string(ch.Currency)); err != nil {
		return err
	}
	if ev.AmountRefunded, _, err = fromStripe(ch.AmountRefunded, ev.Currency); err != nil {
		return err
	}
	return checkRef(ev.PaymentIntentID, "pi_")
}

func (ev *Event) readDispute(data *stripeapi.EventData) error {
	var dp stripeapi.Dispute
	if err := readObject(data, "dispute", &dp); err != nil {
		return err
	}
	ev.Dispute = &Dispute{ID: dp.ID, Reason: string(dp.Reason), Status: string(dp.Status)}
	if dp.Charge != nil {
		ev.ChargeID = dp.Charge.ID
	}
	if dp.PaymentIntent != nil {
		ev.PaymentIntentID = dp.PaymentIntent.ID
	}
	var err error
	if ev.Amount, ev.Currency, err = fromStripe(dp.Amount, string(dp.Currency)); err != nil {
		return err
	}
	if dp.ID == "" || !printable(dp.ID) || len(dp.ID) > maxID {
		return errors.New("no dispute id")
	}
	return checkRef(ev.PaymentIntentID, "pi_")
}

// readObject unmarshals the event's object, which must be of kind object.
func readObject(data *stripeapi.EventData, object string, into any) error {
	if data == nil || len(data.Raw) == 0 {
		return errors.New("no data.object")
	}
	var head struct {
		Object string `json:"object"`
	}
	if err := json.Unmarshal(data.Raw, &head); err != nil {
		return err
	}
	if head.Object != object {
		return fmt.Errorf("data.object is a %q, want a %q", head.Object, object)
	}
	return json.Unmarshal(data.Raw, into)
}

// metadataID is our payment id from metadata, or empty when it is missing
// or not an id we could have written (metadata is editable in Stripe's
// dashboard).
func metadataID(m map[string]string) string {
	id := m[MetadataPaymentID]
	if !printable(id) || len(id) > maxID {
		return ""
	}
	return id
}

// checkRef accepts an empty reference (a charge without an intent) or a
// printable id with the prefix: ids reach logs and database keys.
func checkRef(id, prefix string) error {
	if id == "" || (strings.HasPrefix(id, prefix) && printable(id) && len(id) <= maxID) {
		return nil
	}
	return fmt.Errorf("bad id %q", id)
}
