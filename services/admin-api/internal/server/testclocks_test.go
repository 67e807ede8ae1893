package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/subscription"
)

// clockSubscription creates a test clock at start, a customer on it, and
// a paid subscription of 2 × 900 EUR a month for the customer (with kv's
// extra session parameters), saving paymentMethod.
func (e *env) clockSubscription(start, paymentMethod string, kv ...any) (clock string, sub map[string]any) {
	e.t.Helper()
	clock = e.mustCreate("/v1/test_helpers/test_clocks", e.keyA, map[string]any{"frozen_time": start, "name": "billing run"})["id"].(string)
	cus := e.mustCreate("/v1/customers", e.keyA, map[string]any{"email": "clock@example.com", "test_clock": clock})
	if cus["test_clock"] != clock {
		e.t.Fatalf("customer: %v", cus)
	}
	sub = e.subscribe(paymentMethod, append([]any{"customer_id", cus["id"]}, kv...)...)
	return clock, sub
}

// advance moves clock to at and returns it.
func (e *env) advance(clock, at string) map[string]any {
	e.t.Helper()
	status, c := e.do("POST", "/v1/test_helpers/test_clocks/"+clock+"/advance", e.keyA, map[string]any{"frozen_time": at})
	if status != http.StatusOK || c["frozen_time"] != at || c["status"] != "ready" {
		e.t.Fatalf("advance to %s: %d %v", at, status, c)
	}
	return c
}

func TestTestClockRenewsTwice(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_ok": {true}}, byKey: map[string]subscription.ChargeResult{}}
	e.api.Renewer.Charger = ch
	coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 10, "duration": "repeating", "duration_in_months": 2})
	// January 31st: the periods end on February 28th, then March 31st (the
	// calendar-month rule), and the coupon ends on March 31st.
	clock, sub := e.clockSubscription("2027-01-31T10:00:00Z", "pm_ok", "coupon_id", coupon)
	id := sub["id"].(string)
	if sub["test_clock"] != clock || sub["current_period_start"] != "2027-01-31T10:00:00Z" || sub["current_period_end"] != "2027-02-28T10:00:00Z" ||
		sub["discount"].(map[string]any)["end"] != "2027-03-31T10:00:00Z" {
		t.Fatalf("subscription on the clock: %v", sub)
	}
	// The real-time worker leaves clock subscriptions alone.
	if n, err := e.api.Renewer.RunDue(context.Background(), time.Now().AddDate(5, 0, 0), nil); err != nil || n != 0 {
		t.Fatalf("real-time worker: %d %v", n, err)
	}
	e.advance(clock, "2027-02-28T09:59:59Z")
	if len(e.invoices(id)) != 1 {
		t.Fatal("renewed before the period's end")
	}
	e.advance(clock, "2027-02-28T10:00:00Z")
	e.advance(clock, "2027-03-31T10:00:00Z")
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	if sub["status"] != "active" || sub["current_period_start"] != "2027-03-31T10:00:00Z" || sub["current_period_end"] != "2027-04-30T10:00:00Z" {
		t.Fatalf("after two renewals: %v", sub)
	}
	ins := e.invoices(id)
	if len(ins) != 3 {
		t.Fatalf("%d invoices, want 3", len(ins))
	}
	for i, want := range []struct {
		start, end string
		total      int64
	}{{"2027-01-31T10:00:00Z", "2027-02-28T10:00:00Z", 1620}, {"2027-02-28T10:00:00Z", "2027-03-31T10:00:00Z", 1620}, {"2027-03-31T10:00:00Z", "2027-04-30T10:00:00Z", 1800}} {
		in := ins[i]
		if in["status"] != "paid" || in["period_start"] != want.start || in["period_end"] != want.end || num(in["amount_total"]) != want.total {
			t.Errorf("invoice %d: %v, want %+v", i, in, want)
		}
	}
	if ins[1]["paid_at"] != "2027-02-28T10:00:00Z" || ins[2]["created_at"] != "2027-03-31T10:00:00Z" {
		t.Errorf("invoices follow the clock: %v %v", ins[1], ins[2])
	}
	// Canceling now happens at the clock's time.
	_, canceled := e.do("DELETE", "/v1/subscriptions/"+id, e.keyA, nil)
	if canceled["canceled_at"] != "2027-03-31T10:00:00Z" {
		t.Fatalf("cancel on the clock: %v", canceled)
	}
}

func TestTestClockDunning(t *testing.T) {
	e := newEnv(t)
	e.api.Renewer.Charger = &scriptedCharger{scripts: map[string][]bool{"pm_once": {false, true}}, byKey: map[string]subscription.ChargeResult{}}
	clock, sub := e.clockSubscription("2027-03-15T00:00:00Z", "pm_once")
	id := sub["id"].(string)
	e.advance(clock, "2027-04-15T00:00:00Z")
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	if in := e.invoices(id)[1]; sub["status"] != "past_due" || in["status"] != "open" || in["next_payment_attempt"] != "2027-04-16T00:00:00Z" {
		t.Fatalf("past due: %v %v", sub, in)
	}
	e.advance(clock, "2027-04-16T00:00:00Z")
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	if in := e.invoices(id)[1]; sub["status"] != "active" || sub["current_period_end"] != "2027-05-15T00:00:00Z" || in["status"] != "paid" || in["paid_at"] != "2027-04-16T00:00:00Z" {
		t.Fatalf("recovered: %v %v", sub, in)
	}
	// Canceled while past due: its open invoice is no longer retried.
	_, sub = e.clockSubscription("2027-03-15T00:00:00Z", "pm_declined")
	id = sub["id"].(string)
	e.api.Renewer.Charger.(*scriptedCharger).scripts["pm_declined"] = []bool{false}
	clock = sub["test_clock"].(string)
	e.advance(clock, "2027-04-15T00:00:00Z")
	if status, c := e.do("DELETE", "/v1/subscriptions/"+id, e.keyA, nil); status != http.StatusOK || c["status"] != "canceled" {
		t.Fatalf("cancel past due: %d %v", status, c)
	}
	e.advance(clock, "2027-05-15T00:00:00Z")
	if in := e.invoices(id)[1]; in["status"] != "open" || in["next_payment_attempt"] != nil || num(in["attempt_count"]) != 1 {
		t.Fatalf("open invoice of a canceled subscription: %v", in)
	}
}

func TestTestClockValidation(t *testing.T) {
	e := newEnv(t)
	status, body := e.do("POST", "/v1/test_helpers/test_clocks", e.liveKeyA, map[string]any{"frozen_time": "2027-01-01T00:00:00Z"})
	wantError(t, "live key", status, body, http.StatusBadRequest, "", "livemode_unsupported")
	status, body = e.do("POST", "/v1/test_helpers/test_clocks", e.keyA, map[string]any{})
	wantError(t, "no time", status, body, http.StatusBadRequest, "frozen_time", "parameter_missing")
	clock := e.mustCreate("/v1/test_helpers/test_clocks", e.keyA, map[string]any{"frozen_time": "2027-01-01T00:00:00Z"})["id"].(string)
	status, body = e.do("POST", "/v1/test_helpers/test_clocks/"+clock+"/advance", e.keyA, map[string]any{"frozen_time": "2026-12-31T00:00:00Z"})
	wantError(t, "backwards", status, body, http.StatusBadRequest, "frozen_time", "parameter_invalid")
	for _, key := range []string{e.keyB, e.liveKeyA} {
		status, body = e.do("GET", "/v1/test_helpers/test_clocks/"+clock, key, nil)
		wantError(t, "other tenant", status, body, http.StatusNotFound, "id", "resource_missing")
		status, body = e.do("POST", "/v1/test_helpers/test_clocks/"+clock+"/advance", key, map[string]any{"frozen_time": "2027-02-01T00:00:00Z"})
		wantError(t, "other tenant advance", status, body, http.StatusNotFound, "id", "resource_missing")
	}
	status, body = e.do("POST", "/v1/customers", e.keyB, map[string]any{"test_clock": clock})
	wantError(t, "another organization's clock", status, body, http.StatusNotFound, "test_clock", "resource_missing")
	status, body = e.do("POST", "/v1/customers", e.liveKeyA, map[string]any{"test_clock": clock})
	wantError(t, "live customer on a clock", status, body, http.StatusBadRequest, "test_clock", "parameter_invalid")
	if _, c := e.do("GET", "/v1/test_helpers/test_clocks/"+clock, e.keyA, nil); c["frozen_time"] != "2027-01-01T00:00:00Z" {
		t.Fatalf("refused advances changed the clock: %v", c)
	}
}
