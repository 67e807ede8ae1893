// Package events turns admin-api's state changes into domain events for the
// outbox: an events.v1.Event carrying the whole object, published on JetStream
// as protobuf under events.<type>.
package events

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/outbox"
)

// Session event types (docs/design.md §3).
const (
	SessionCompleted           = "checkout.session.completed"
	SessionExpired             = "checkout.session.expired"
	SessionAsyncPaymentSucceed = "checkout.session.async_payment_succeeded"
	SessionAsyncPaymentFailed  = "checkout.session.async_payment_failed"
)

// Subscription and invoice event types (docs/subscriptions.md).
const (
	SubscriptionCreated  = "customer.subscription.created"
	SubscriptionUpdated  = "customer.subscription.updated"
	SubscriptionDeleted  = "customer.subscription.deleted"
	InvoicePaid          = "invoice.paid"
	InvoicePaymentFailed = "invoice.payment_failed"
	InvoiceCreated       = "invoice.created"
	InvoiceVoided        = "invoice.voided"
)

// ForSession builds the outbox message for a change of session s, whose
// event sequence the change has already incremented.
func ForSession(typ, orgID string, sequence int64, s *adminv1.CheckoutSession) (outbox.Message, error) {
	return build(typ, orgID, s.GetId(), s.GetLivemode(), sequence, func(ev *eventsv1.Event) {
		ev.Object = &eventsv1.Event_CheckoutSession{CheckoutSession: s}
	})
}

// ForSubscription builds the outbox message for a change of subscription s.
func ForSubscription(typ, orgID string, sequence int64, s *adminv1.Subscription) (outbox.Message, error) {
	return build(typ, orgID, s.GetId(), s.GetLivemode(), sequence, func(ev *eventsv1.Event) {
		ev.Object = &eventsv1.Event_Subscription{Subscription: s}
	})
}

// ForInvoice builds the outbox message for a change of invoice in.
func ForInvoice(typ, orgID string, sequence int64, in *adminv1.Invoice) (outbox.Message, error) {
	return build(typ, orgID, in.GetId(), in.GetLivemode(), sequence, func(ev *eventsv1.Event) {
		ev.Object = &eventsv1.Event_Invoice{Invoice: in}
	})
}

// build marshals an event about one object, which setObject puts in it.
func build(typ, orgID, objectID string, live bool, sequence int64, setObject func(*eventsv1.Event)) (outbox.Message, error) {
	ev := &eventsv1.Event{
		Id: ids.New("evt"), Type: typ, Created: timestamppb.New(time.Now()), Livemode: live,
		OrganizationId: orgID, ObjectId: objectID, Sequence: sequence,
	}
	setObject(ev)
	b, err := proto.Marshal(ev)
	if err != nil {
		return outbox.Message{}, fmt.Errorf("marshal event: %w", err)
	}
	return outbox.Message{ID: ev.Id, Subject: natsx.EventSubject(typ), Payload: b}, nil
}
