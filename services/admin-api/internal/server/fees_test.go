package server

import (
	"context"
	"net/http"
	"testing"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

func TestFeeScheduleSetsTheFeeAtCompletion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.internalClient(token)

	if status, fs := e.do("GET", "/v1/fee_schedule", e.keyA, nil); status != http.StatusOK || fs["object"] != "fee_schedule" || len(fs["rules"].([]any)) != 0 {
		t.Fatalf("empty schedule: %d %v", status, fs)
	}
	status, bad := e.do("POST", "/v1/fee_schedule", e.keyA, map[string]any{"rules": []map[string]any{{"percent_bps": 100, "fixed_amount": 30}}})
	if status != http.StatusBadRequest || bad["error"].(map[string]any)["param"] != "rules[0].fixed_amount" {
		t.Fatalf("fixed amount without currency: %d %v", status, bad)
	}
	status, fs := e.do("POST", "/v1/fee_schedule", e.keyA, map[string]any{"rules": []map[string]any{
		{"percent_bps": 100},
		{"payment_method": "card", "currency": "eur", "percent_bps": 290, "fixed_amount": 30},
	}})
	if status != http.StatusOK || len(fs["rules"].([]any)) != 2 {
		t.Fatalf("set schedule: %d %v", status, fs)
	}
	if card := fs["rules"].([]any)[1].(map[string]any); card["currency"] != "EUR" || card["payment_method"] != "card" {
		t.Fatalf("card rule: %v", card)
	}
	// The live mode has a schedule of its own.
	if _, live := e.do("GET", "/v1/fee_schedule", e.liveKeyA, nil); len(live["rules"].([]any)) != 0 || live["livemode"] != true {
		t.Fatalf("live schedule: %v", live)
	}

	// Open sessions have no fee yet.
	id, total := e.newSession() // 28.47 EUR
	if _, s := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil); s["processing_fee"] != nil || s["net_amount"] != nil {
		t.Fatalf("open session shows a fee: %v", s)
	}
	// Card, EUR: 2.9 % of 2847 = 82.563 → 83, plus 30.
	done, err := c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id, PaymentId: "pay_1", Paid: true,
		AmountTotal: total, PaymentMethod: "card"})
	if err != nil || done.GetCheckoutSession().GetProcessingFee() != 113 || done.GetCheckoutSession().GetNetAmount() != total-113 {
		t.Fatalf("complete: %v %v", done.GetCheckoutSession(), err)
	}
	// A later schedule change leaves it as it was.
	if status, _ := e.do("POST", "/v1/fee_schedule", e.keyA, map[string]any{"rules": []map[string]any{{"percent_bps": 500}}}); status != http.StatusOK {
		t.Fatalf("change schedule: %d", status)
	}
	if _, s := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil); s["processing_fee"] != 113.0 || s["net_amount"] != float64(total-113) {
		t.Fatalf("after the change: %v %v", s["processing_fee"], s["net_amount"])
	}
	// The new default (5 %) applies to the next: 142.35 → 142.
	id2, total2 := e.newSession()
	done, err = c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id2, PaymentId: "pay_2", Paid: false,
		AmountTotal: total2, PaymentMethod: "bank_transfer"})
	if err != nil || done.GetCheckoutSession().GetProcessingFee() != 142 || done.GetCheckoutSession().GetNetAmount() != total2-142 {
		t.Fatalf("complete by bank transfer: %v %v", done.GetCheckoutSession(), err)
	}
	// The completion event carries it.
	var payload []byte
	if err := e.pool.QueryRow(ctx, "SELECT payload FROM admin.outbox WHERE subject = 'events.checkout.session.completed' ORDER BY seq LIMIT 1").Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var ev eventsv1.Event
	if err := proto.Unmarshal(payload, &ev); err != nil || ev.GetCheckoutSession().GetProcessingFee() != 113 || ev.GetCheckoutSession().GetNetAmount() != total-113 {
		t.Fatalf("completed event: %v %v", ev.GetCheckoutSession(), err)
	}
}
