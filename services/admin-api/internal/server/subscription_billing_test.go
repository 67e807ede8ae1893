package server

import (
	"net/http"
	"testing"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/subscription"
)

// TestDunningEnd: the site's subscription_dunning_end decides what the
// last failed retry does — cancel (the default), unpaid or past_due (the
// invoice open, never retried, nothing more charged) — and paying or
// voiding that invoice makes the subscription active again.
func TestDunningEnd(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{
		"pm_cancel": {false}, "pm_unpaid": {false, false, false, false, true}, "pm_past_due": {false},
	}, byKey: map[string]subscription.ChargeResult{}}
	e.api.Renewer.Charger = ch
	site := "/v1/sites/" + e.siteA
	if _, s := e.do("GET", site, e.keyA, nil); s["subscription_dunning_end"] != "cancel" {
		t.Fatalf("default: %v", s["subscription_dunning_end"])
	}
	status, body := e.do("POST", site, e.keyA, map[string]any{"subscription_dunning_end": "delete"})
	wantError(t, "an unknown dunning end", status, body, http.StatusBadRequest, "subscription_dunning_end", "parameter_invalid")

	// The renewal on April 1st and its retries on the 2nd, 4th and 6th fail.
	for _, c := range []struct {
		end, subStatus, invoiceStatus string
		updated, deleted              int
	}{
		// past_due after the first failure, updated by the next two retries,
		// then deleted (cancel) or updated once more.
		{"cancel", "canceled", "uncollectible", 3, 1},
		{"unpaid", "unpaid", "open", 4, 0},
		{"past_due", "past_due", "open", 4, 0},
	} {
		if status, s := e.do("POST", site, e.keyA, map[string]any{"subscription_dunning_end": c.end}); status != http.StatusOK || s["subscription_dunning_end"] != c.end {
			t.Fatalf("set %s: %d %v", c.end, status, s)
		}
		charged := len(ch.charges)
		clock, sub := e.clockSubscription("2027-03-01T00:00:00Z", "pm_"+c.end)
		id := sub["id"].(string)
		e.advance(clock, "2027-04-07T00:00:00Z")
		_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
		in := e.invoices(id)[1]
		if sub["status"] != c.subStatus || in["status"] != c.invoiceStatus || num(in["attempt_count"]) != 4 ||
			in["next_payment_attempt"] != nil || len(ch.charges)-charged != 4 {
			t.Fatalf("%s: after the last retry: %v %v (%d charges)", c.end, sub, in, len(ch.charges)-charged)
		}
		// The subscription's own events (its id is in their payload).
		for subject, want := range map[string]int{"events.customer.subscription.updated": c.updated, "events.customer.subscription.deleted": c.deleted} {
			if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = $1 AND position(convert_to($2, 'UTF8') in payload) > 0", subject, id); n != want {
				t.Errorf("%s: %s: %d events, want %d", c.end, subject, n, want)
			}
		}
		// Months later: nothing more charged, no new invoice.
		e.advance(clock, "2027-06-15T00:00:00Z")
		_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
		if sub["status"] != c.subStatus || len(e.invoices(id)) != 2 || len(ch.charges)-charged != 4 {
			t.Fatalf("%s: months later: %v, %d invoices, %d charges", c.end, sub, len(e.invoices(id)), len(ch.charges)-charged)
		}
		switch c.end {
		case "unpaid":
			// Paid on request: active in the invoice's period; the periods
			// since then are renewed when the clock next moves.
			status, paid := e.do("POST", "/v1/invoices/"+in["id"].(string)+"/pay", e.keyA, map[string]any{})
			if status != http.StatusOK || paid["status"] != "paid" {
				t.Fatalf("pay: %d %v", status, paid)
			}
			_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
			if sub["status"] != "active" || sub["current_period_start"] != "2027-04-01T00:00:00Z" {
				t.Fatalf("after paying: %v", sub)
			}
			e.advance(clock, "2027-06-16T00:00:00Z")
			_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
			if sub["status"] != "active" || sub["current_period_start"] != "2027-06-01T00:00:00Z" || len(e.invoices(id)) != 4 {
				t.Fatalf("renewed after paying: %v, %d invoices", sub, len(e.invoices(id)))
			}
		case "past_due":
			if status, voided := e.do("POST", "/v1/invoices/"+in["id"].(string)+"/void", e.keyA, map[string]any{}); status != http.StatusOK || voided["status"] != "void" {
				t.Fatalf("void: %d %v", status, voided)
			}
			if _, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil); sub["status"] != "active" || sub["current_period_start"] != "2027-04-01T00:00:00Z" {
				t.Fatalf("after voiding: %v", sub)
			}
		}
	}
}

// TestProrationsCarryTheCoupon: proration lines are discounted by the
// subscription's coupon as it discounted the prorated period, and the next
// invoice takes their discount as it is, even when the coupon no longer
// applies to it (a once coupon: the credit then gives back more discount
// than the charge takes, and the invoice's discount is negative).
func TestProrationsCarryTheCoupon(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_ok": {true}}, byKey: map[string]subscription.ChargeResult{}}
	e.api.Renewer.Charger = ch
	coffee := e.monthlyPrice(e.keyA, 1001, "EUR")
	for _, c := range []struct {
		duration        string
		discount, total int64
	}{
		// May: 1001 − 100 (10 %), credit −900 + 90, charge 501 − 50:
		// discount 100 − 90 + 50 = 60, total 602 − 60.
		{"forever", 60, 542},
		// May has no coupon: only the prorations' −90 + 50.
		{"once", -40, 642},
	} {
		coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 10, "duration": c.duration})
		// April: 30 days. Half-way, 2 × 900 (discounted 180) become 1 ×
		// 1001 (discounted 100.1 → 100).
		clock, sub := e.clockSubscription("2027-04-01T00:00:00Z", "pm_ok", "coupon_id", coupon)
		id := sub["id"].(string)
		e.advance(clock, "2027-04-16T00:00:00Z")
		status, sub := e.do("POST", "/v1/subscriptions/"+id, e.keyA, map[string]any{"items": []any{map[string]any{"price": coffee, "quantity": 1}}})
		pending, _ := sub["pending_invoice_lines"].([]any)
		if status != http.StatusOK || len(pending) != 2 {
			t.Fatalf("%s: update: %d %v", c.duration, status, sub)
		}
		for i, want := range [][2]int64{{-900, -90}, {501, 50}} {
			l := pending[i].(map[string]any)
			if num(l["amount_subtotal"]) != want[0] || num(l["amount_discount"]) != want[1] {
				t.Errorf("%s: pending line %d: %v, want %v", c.duration, i, l, want)
			}
		}
		e.advance(clock, "2027-05-01T00:00:00Z")
		in := e.invoices(id)[1]
		if in["status"] != "paid" || num(in["amount_subtotal"]) != 602 || num(in["amount_discount"]) != c.discount ||
			num(in["amount_total"]) != c.total || in["discount_coupon"] != coupon {
			t.Fatalf("%s: invoice with discounted prorations: %v", c.duration, in)
		}
		var sum int64
		for _, l := range in["lines"].([]any) {
			sum += num(l.(map[string]any)["amount_discount"])
		}
		if sum != c.discount || ch.charges[len(ch.charges)-1].Amount != c.total {
			t.Fatalf("%s: line discounts add up to %d; charged %d", c.duration, sum, ch.charges[len(ch.charges)-1].Amount)
		}
	}
}
