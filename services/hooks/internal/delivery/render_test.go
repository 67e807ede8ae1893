package delivery

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
)

func TestRenderEnvelopeAndObject(t *testing.T) {
	placeholder := `"data":{"object":null}`
	created := timestamppb.New(time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC))
	session := &adminv1.CheckoutSession{Id: "cs_1", Object: "checkout.session", Status: "complete",
		// Text that looks like the envelope's placeholder must not confuse it.
		Description: &placeholder, Metadata: map[string]string{"order": "42"}}
	payment := &adminv1.Payment{Id: "pay_1", Object: "payment", CheckoutSession: "cs_1", Amount: 3949, Status: "succeeded"}
	reason := "requested_by_customer"
	refund := &adminv1.Refund{Id: "re_1", Object: "refund", Payment: "pay_1", Amount: 1000, Currency: "EUR", Status: "succeeded",
		Reason: &reason, Metadata: map[string]string{"ticket": "7"}, CreatedAt: created}
	refunded := &adminv1.Payment{Id: "pay_1", Object: "payment", CheckoutSession: "cs_1", Amount: 3949, Status: "succeeded",
		AmountRefunded: 1000, Refunds: []*adminv1.Refund{refund}}
	sub := &adminv1.Subscription{Id: "sub_1", Object: "subscription", Customer: "cus_1", Status: "past_due",
		Items: []*adminv1.SubscriptionItem{{Price: "price_1", Quantity: 2, UnitAmount: 900}}, CurrentPeriodEnd: created}
	invoice := &adminv1.Invoice{Id: "in_1", Object: "invoice", Subscription: "sub_1", Status: "open", AmountTotal: 1800, AttemptCount: 1}
	for _, c := range []struct {
		ev  *eventsv1.Event
		obj proto.Message
	}{
		{&eventsv1.Event{Id: "evt_6", Type: "customer.subscription.updated", Created: created, Sequence: 4,
			Object: &eventsv1.Event_Subscription{Subscription: sub}}, sub},
		{&eventsv1.Event{Id: "evt_7", Type: "invoice.payment_failed", Created: created, Sequence: 1,
			Object: &eventsv1.Event_Invoice{Invoice: invoice}}, invoice},
		{&eventsv1.Event{Id: "evt_1", Type: "checkout.session.completed", Created: created, Sequence: 2,
			Object: &eventsv1.Event_CheckoutSession{CheckoutSession: session}}, session},
		{&eventsv1.Event{Id: "evt_2", Type: "payment.succeeded", Created: created, Livemode: true, Sequence: 1,
			Object: &eventsv1.Event_Payment{Payment: payment}}, payment},
		{&eventsv1.Event{Id: "evt_4", Type: "refund.succeeded", Created: created, Sequence: 2,
			Object: &eventsv1.Event_Refund{Refund: refund}}, refund},
		{&eventsv1.Event{Id: "evt_5", Type: "payment.refunded", Created: created, Sequence: 3,
			Object: &eventsv1.Event_Payment{Payment: refunded}}, refunded},
	} {
		body, err := Render(c.ev)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", c.ev.GetId(), err, body)
		}
		objJSON, _ := gateway.Marshal(c.obj)
		var wantObj any
		_ = json.Unmarshal(objJSON, &wantObj)
		want := map[string]any{"id": c.ev.GetId(), "object": "event", "type": c.ev.GetType(), "created": "2026-11-21T08:00:00Z",
			"livemode": c.ev.GetLivemode(), "sequence": float64(c.ev.GetSequence()), "data": map[string]any{"object": wantObj}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", c.ev.GetId(), got, want)
		}
	}
	if _, err := Render(&eventsv1.Event{Id: "evt_3"}); err == nil {
		t.Error("an event without an object rendered")
	}
}

// TestRenderCarriesCustomFields: a session event's object holds the
// session's custom field values (seed 002: "custom fields are included in
// webhooks"), as a plain key → value object.
func TestRenderCarriesCustomFields(t *testing.T) {
	fields, err := structpb.NewStruct(map[string]any{"order_id": "order_12345", "campaign": "halloween_sale"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := Render(&eventsv1.Event{Id: "evt_1", Type: "checkout.session.completed",
		Object: &eventsv1.Event_CheckoutSession{CheckoutSession: &adminv1.CheckoutSession{Id: "cs_1", CustomFields: fields}}})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Data struct {
			Object struct {
				CustomFields map[string]string `json:"custom_fields"`
			}
		}
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if cf := got.Data.Object.CustomFields; len(cf) != 2 || cf["order_id"] != "order_12345" || cf["campaign"] != "halloween_sale" {
		t.Errorf("custom_fields %v in %s", cf, body)
	}
}
