package delivery

import (
	"encoding/json"
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/platform/collection"
)

// TestNotifyBody: which events a session's notify_url is told of, and in
// which shape.
func TestNotifyBody(t *testing.T) {
	url := "https://shop.example/ipn"
	fee, net := int64(77), int64(2473)
	sess := func(status, payment, format string, notify *string) *adminv1.CheckoutSession {
		return &adminv1.CheckoutSession{Id: "cs_1", Status: status, PaymentStatus: payment, Currency: "USD", AmountTotal: 2550,
			NotifyUrl: notify, NotifyFormat: format, ProcessingFee: &fee, NetAmount: &net}
	}
	event := []byte(`{"id":"evt_1"}`)
	for _, tc := range []struct {
		name string
		typ  string
		cs   *adminv1.CheckoutSession
		want string // "" none, "event", or the collection status
	}{
		{"no notify_url", "checkout.session.completed", sess("complete", "paid", "event", nil), ""},
		{"completed, event format", "checkout.session.completed", sess("complete", "paid", "event", &url), "event"},
		{"expired, event format", "checkout.session.expired", sess("expired", "unpaid", "event", &url), "event"},
		{"a payment event is not told", "payment.succeeded", sess("complete", "paid", "event", &url), ""},
		{"completed, collection", "checkout.session.completed", sess("complete", "paid", collection.NotifyFormat, &url), collection.StatusCompleted},
		{"completed unpaid, collection: not yet", "checkout.session.completed", sess("complete", "unpaid", collection.NotifyFormat, &url), ""},
		{"async success, collection", "checkout.session.async_payment_succeeded", sess("complete", "paid", collection.NotifyFormat, &url), collection.StatusCompleted},
		{"async failure, collection", "checkout.session.async_payment_failed", sess("complete", "unpaid", collection.NotifyFormat, &url), collection.StatusFailed},
		{"expired, collection", "checkout.session.expired", sess("expired", "unpaid", collection.NotifyFormat, &url), collection.StatusExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &eventsv1.Event{Id: "evt_1", Type: tc.typ, Object: &eventsv1.Event_CheckoutSession{CheckoutSession: tc.cs}}
			body, err := notifyBody(ev, event)
			if err != nil {
				t.Fatal(err)
			}
			switch tc.want {
			case "":
				if body != nil {
					t.Fatalf("told: %s", body)
				}
			case "event":
				if string(body) != string(event) {
					t.Fatalf("body %s, want the event's", body)
				}
			default:
				var c map[string]any
				if err := json.Unmarshal(body, &c); err != nil || c["status"] != tc.want || c["collectionId"] != "cs_1" {
					t.Fatalf("body %s, want a collection %s", body, tc.want)
				}
			}
		})
	}
}
