package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

// cascadeSession is validSession (2847 EUR) with two fallback tiers: a
// catalog price (1 × 1500) on the session's route, and an inline item
// (2 × 450) on its own route.
func (e *env) cascadeSession(standard string) map[string]any {
	return sessionWith("cascade_line_items", []map[string]any{
		{"line_items": []map[string]any{{"price_id": standard, "quantity": 1}}, "processor_route_id": nil},
		{"line_items": []map[string]any{{"name": "Basic", "unit_amount": 450, "quantity": 2}}, "processor_route_id": "proute_dev_fallback"},
	})
}

func TestCascadeLineItemsAtCreation(t *testing.T) {
	e := newEnv(t)
	_, standard := e.productWithPrice(e.keyA, "Standard", 1500, "EUR")
	_, dollars := e.productWithPrice(e.keyA, "Dollars", 1500, "USD")
	tier := func(items ...map[string]any) map[string]any { return map[string]any{"line_items": items} }
	inline := map[string]any{"name": "Basic", "unit_amount": 450, "quantity": 1}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		param string
		code  string
	}{
		{"a price in another currency", sessionWith("cascade_line_items", []any{tier(inline), tier(map[string]any{"price_id": dollars, "quantity": 1})}),
			"cascade_line_items[1][line_items][0][price_id]", "currency_mismatch"},
		{"an unknown price", sessionWith("cascade_line_items", []any{tier(map[string]any{"price_id": "price_nope", "quantity": 1})}),
			"cascade_line_items[0][line_items][0][price_id]", "resource_missing"},
		{"a bad quantity", sessionWith("cascade_line_items", []any{tier(map[string]any{"name": "Basic", "unit_amount": 450, "quantity": 0})}),
			"cascade_line_items[0][line_items][0][quantity]", "parameter_invalid"},
		{"no line items", sessionWith("cascade_line_items", []any{tier()}), "cascade_line_items[0][line_items]", "parameter_missing"},
		{"too many tiers", sessionWith("cascade_line_items", []any{tier(inline), tier(inline), tier(inline), tier(inline), tier(inline), tier(inline)}),
			"cascade_line_items", "parameter_invalid"},
		{"with a discount", sessionWith("cascade_line_items", []any{tier(inline)}, "allow_promotion_codes", true), "cascade_line_items", "parameter_invalid"},
		{"an empty route", sessionWith("cascade_line_items", []any{map[string]any{"line_items": []any{inline}, "processor_route_id": " "}}),
			"cascade_line_items[0][processor_route_id]", "parameter_invalid"},
	} {
		status, body := e.createSession(e.keyA, tc.body)
		want := http.StatusBadRequest
		if tc.code == "resource_missing" {
			want = http.StatusNotFound
		}
		wantError(t, tc.name, status, body, want, tc.param, tc.code)
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Fatalf("%d sessions written by refused requests", n)
	}
	status, s := e.createSession(e.keyA, e.cascadeSession(standard))
	if status != http.StatusCreated || num(s["amount_subtotal"]) != 2847 || s["cascade_tier"] != 0.0 {
		t.Fatalf("create: %d %v", status, s)
	}
	tiers := s["cascade_line_items"].([]any)
	t0, t1 := tiers[0].(map[string]any), tiers[1].(map[string]any)
	item := t0["line_items"].([]any)[0].(map[string]any)
	if len(tiers) != 2 || num(t0["amount_subtotal"]) != 1500 || t0["processor_route_id"] != nil || item["name"] != "Standard" || item["price_id"] != standard ||
		num(t1["amount_subtotal"]) != 900 || t1["processor_route_id"] != "proute_dev_fallback" {
		t.Fatalf("tiers: %v", tiers)
	}
}

func TestSwitchCascadeTier(t *testing.T) {
	e := newEnv(t)
	_, standard := e.productWithPrice(e.keyA, "Standard", 1500, "EUR")
	c := e.internalClient(token)
	ctx := context.Background()
	_, s := e.createSession(e.keyA, e.cascadeSession(standard))
	id := s["id"].(string)
	switchTo := func(tier int32) (*internalapiv1.SwitchCascadeTierResponse, error) {
		return c.SwitchCascadeTier(ctx, &internalapiv1.SwitchCascadeTierRequest{SessionId: id, Tier: tier, PaymentId: fmt.Sprintf("pay_declined_%d", tier)})
	}
	unavailable := func(what string, err error) {
		t.Helper()
		if code, r := reason(err); code != codes.FailedPrecondition || r != "cascade_tier_unavailable" {
			t.Errorf("%s: %v", what, err)
		}
	}
	_, err := switchTo(2)
	unavailable("skipping a tier", err)
	_, err = switchTo(0)
	unavailable("back to the primary", err)

	got, err := switchTo(1)
	cs := got.GetCheckoutSession()
	if err != nil || cs.GetCascadeTier() != 1 || cs.GetAmountSubtotal() != 1500 || cs.GetAmountTotal() != 1500 ||
		len(cs.GetLineItems()) != 1 || cs.GetLineItems()[0].GetPriceId() != standard || cs.GetId() != id {
		t.Fatalf("to tier 1: %v %v", cs, err)
	}
	_, err = switchTo(1)
	unavailable("tier 1 again", err)
	// The decline that moved the session cannot move it again.
	_, err = c.SwitchCascadeTier(ctx, &internalapiv1.SwitchCascadeTierRequest{SessionId: id, Tier: 2, PaymentId: "pay_declined_1"})
	unavailable("the same decline twice", err)
	if got, err = switchTo(2); err != nil || got.GetCheckoutSession().GetAmountTotal() != 900 || got.GetCheckoutSession().GetLineItems()[0].GetQuantity() != 2 {
		t.Fatalf("to tier 2: %v %v", got, err)
	}
	// No tier left: the session stays on its last one.
	_, err = switchTo(3)
	unavailable("past the last tier", err)
	_, g := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if g["cascade_tier"] != 2.0 || g["cascade_payment"] != "pay_declined_2" || num(g["amount_total"]) != 900 || num(g["amount_subtotal"]) != 900 {
		t.Fatalf("after the last tier: %v", g)
	}
	// A payment authorised for an earlier tier's total no longer completes it.
	if _, err := c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id,
		PaymentId: "pay_old", Paid: true, AmountTotal: 1500}); err == nil {
		t.Fatal("a payment for tier 1's total completed the session on tier 2")
	}

	// A paid session cannot switch.
	_, s = e.createSession(e.keyA, e.cascadeSession(standard))
	id = s["id"].(string)
	if _, err := c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id,
		PaymentId: "pay_1", Paid: true, AmountTotal: 2847}); err != nil {
		t.Fatal(err)
	}
	_, err = switchTo(1)
	if code, _ := reason(err); code != codes.FailedPrecondition {
		t.Errorf("a paid session: %v", err)
	}
	_, g = e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if g["cascade_tier"] != 0.0 || num(g["amount_total"]) != 2847 || g["payment_status"] != "paid" {
		t.Errorf("the paid session changed: %v", g)
	}
}
