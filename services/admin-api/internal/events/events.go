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

// ForSession builds the outbox message for a change of session s, whose
// event sequence the change has already incremented.
func ForSession(typ, orgID string, sequence int64, s *adminv1.CheckoutSession) (outbox.Message, error) {
	ev := &eventsv1.Event{
		Id: ids.New("evt"), Type: typ, Created: timestamppb.New(time.Now()), Livemode: s.GetLivemode(),
		OrganizationId: orgID, ObjectId: s.GetId(), Sequence: sequence,
		Object: &eventsv1.Event_CheckoutSession{CheckoutSession: s},
	}
	b, err := proto.Marshal(ev)
	if err != nil {
		return outbox.Message{}, fmt.Errorf("marshal event: %w", err)
	}
	return outbox.Message{ID: ev.Id, Subject: natsx.EventSubject(typ), Payload: b}, nil
}
