// Package collection is seed 003's collection object (the USD collections
// API), rendered from a checkout session: one translation, shared by
// admin-api's collections surface (its answers) and hooks (the signed
// callbacks to a collection's webhookUrl), so that both show the same
// fields, units and status words.
//
// Amounts are decimal numbers of major units (dollars), exact to the
// currency's exponent (money.FormatDecimal), written as JSON numbers.
package collection

import (
	"encoding/json"
	"fmt"
	"time"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// NotifyFormat is the notify_format of sessions whose notify_url gets the
// collection object (Callback) rather than the event.
const NotifyFormat = "collection"

// The status words of collections.
const (
	// StatusPending: not paid yet (open, or a bank transfer on its way).
	StatusPending = "PENDING"
	// StatusCompleted: paid.
	StatusCompleted = "COMPLETED"
	// StatusFailed: the payment that completed the session failed later
	// (an asynchronous payment); a declined card leaves the payer on the
	// page to try again, so it is not a status of its own.
	StatusFailed = "FAILED"
	// StatusCancelled: the payer left by the page's cancel link (only on
	// the callbackUrl redirect; the collection stays PENDING until it
	// expires).
	StatusCancelled = "CANCELLED"
	// StatusExpired: not paid before expiresAt.
	StatusExpired = "EXPIRED"
)

// Object is a collection as the collections API shows it.
type Object struct {
	CollectionID string            `json:"collectionId"`
	Reference    string            `json:"reference"`
	OrderID      string            `json:"orderId"`
	Amount       json.Number       `json:"amount"`
	Fee          json.Number       `json:"fee"`
	NetAmount    json.Number       `json:"netAmount"`
	Currency     string            `json:"currency"`
	Status       string            `json:"status"`
	Description  string            `json:"description"`
	CheckoutURL  string            `json:"checkoutUrl"`
	ExpiresAt    string            `json:"expiresAt"`
	CreatedAt    string            `json:"createdAt"`
	CompletedAt  *string           `json:"completedAt"`
	PaymentID    *string           `json:"paymentId"`
	Metadata     map[string]string `json:"metadata"`
	Livemode     bool              `json:"livemode"`
}

// Status is the collection status of a session: EXPIRED, COMPLETED when
// paid, otherwise PENDING.
func Status(cs *adminv1.CheckoutSession) string {
	switch {
	case cs.GetStatus() == "expired":
		return StatusExpired
	case cs.GetPaymentStatus() == "paid":
		return StatusCompleted
	}
	return StatusPending
}

// Fees is what a collection shows as fee and netAmount, in minor units:
// those the session recorded when it completed; for an expired session,
// none (nothing was collected); otherwise quote, the fee the schedule in
// force would take (quote may be nil where no schedule is at hand: no fee).
func Fees(cs *adminv1.CheckoutSession, quote func() (fee, net int64, err error)) (fee, net int64, err error) {
	switch {
	case cs.ProcessingFee != nil && cs.NetAmount != nil:
		return cs.GetProcessingFee(), cs.GetNetAmount(), nil
	case cs.GetStatus() == "expired":
		return 0, 0, nil
	case quote == nil:
		return 0, cs.GetAmountTotal(), nil
	}
	return quote()
}

// FromSession renders cs as a collection with the given status word and
// fee and net amount (minor units; see Fees).
func FromSession(cs *adminv1.CheckoutSession, status string, fee, net int64) (Object, error) {
	cur, err := money.ParseCurrency(cs.GetCurrency())
	if err != nil {
		return Object{}, fmt.Errorf("session %s: %w", cs.GetId(), err)
	}
	dec := func(minor int64) json.Number { return json.Number(money.FormatDecimal(minor, cur)) }
	o := Object{CollectionID: cs.GetId(), Reference: cs.GetReference(), OrderID: cs.GetOrderId(),
		Amount: dec(cs.GetAmountTotal()), Fee: dec(fee), NetAmount: dec(net), Currency: cur.Code(), Status: status,
		Description: cs.GetDescription(), CheckoutURL: cs.GetUrl(), ExpiresAt: rfc3339(cs.GetExpiresAt().AsTime()),
		CreatedAt: rfc3339(cs.GetCreatedAt().AsTime()), PaymentID: cs.Payment, Metadata: cs.GetMetadata(), Livemode: cs.GetLivemode()}
	if o.Metadata == nil {
		o.Metadata = map[string]string{}
	}
	if cs.CompletedAt != nil {
		t := rfc3339(cs.GetCompletedAt().AsTime())
		o.CompletedAt = &t
	}
	return o, nil
}

// CallbackStatus is the status a webhookUrl callback reports for an event
// of type typ about cs, or "" when the event is not one a collection's
// webhookUrl is told of (a completion still waiting for its money).
func CallbackStatus(typ string, cs *adminv1.CheckoutSession) string {
	switch typ {
	case "checkout.session.async_payment_failed":
		return StatusFailed
	case "checkout.session.expired", "checkout.session.completed", "checkout.session.async_payment_succeeded":
		if s := Status(cs); s != StatusPending {
			return s
		}
	}
	return ""
}

// Callback is the body of a webhookUrl callback for an event of type typ
// about cs (nil when CallbackStatus is ""): the collection, with the event's
// status word.
func Callback(typ string, cs *adminv1.CheckoutSession) ([]byte, error) {
	status := CallbackStatus(typ, cs)
	if status == "" {
		return nil, nil
	}
	fee, net, err := Fees(cs, nil)
	if err != nil {
		return nil, err
	}
	if status == StatusFailed {
		fee, net = 0, 0 // nothing was collected
	}
	o, err := FromSession(cs, status, fee, net)
	if err != nil {
		return nil, err
	}
	return json.Marshal(o)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
