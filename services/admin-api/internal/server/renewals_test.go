package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/subscription"
)

// scriptedCharger stands in for the runtime's off-session charges (its
// own tests cover the provider path): each payment method answers from a
// script of outcomes (true: succeeds), the last repeated, and a repeated
// idempotency key gets the first answer without a new charge.
type scriptedCharger struct {
	mu      sync.Mutex
	scripts map[string][]bool
	byKey   map[string]subscription.ChargeResult
	charges []subscription.ChargeRequest
}

func (c *scriptedCharger) ChargeOffSession(_ context.Context, req subscription.ChargeRequest) (subscription.ChargeResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if res, ok := c.byKey[req.IdempotencyKey]; ok {
		return res, nil
	}
	script := c.scripts[req.PaymentMethod]
	ok := script[0]
	if len(script) > 1 {
		c.scripts[req.PaymentMethod] = script[1:]
	}
	res := subscription.ChargeResult{PaymentID: fmt.Sprintf("pay_r%d", len(c.charges)), Succeeded: ok}
	if !ok {
		res = subscription.ChargeResult{PaymentID: res.PaymentID, DeclineCode: "card_declined"}
	}
	c.charges = append(c.charges, req)
	c.byKey[req.IdempotencyKey] = res
	return res, nil
}

// subscribe creates and pays a subscription checkout of 2 × 900 EUR a
// month, with body's extra parameters, saving paymentMethod; it returns
// the subscription.
func (e *env) subscribe(paymentMethod string, kv ...any) map[string]any {
	e.t.Helper()
	monthly := e.monthlyPrice(e.keyA, 900, "EUR")
	status, s := e.createSession(e.keyA, with(subscriptionSession(map[string]any{"price_id": monthly, "quantity": 2}), kv...))
	if status != http.StatusCreated {
		e.t.Fatalf("create: %d %v", status, s)
	}
	e.pay(s["id"].(string), paymentMethod)
	_, s = e.do("GET", "/v1/checkout/sessions/"+s["id"].(string), e.keyA, nil)
	_, sub := e.do("GET", "/v1/subscriptions/"+s["subscription"].(string), e.keyA, nil)
	return sub
}

func rfc3339(t *testing.T, v any) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, v.(string))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// invoices lists a subscription's invoices, oldest first.
func (e *env) invoices(subID string) []map[string]any {
	e.t.Helper()
	_, list := e.do("GET", "/v1/invoices?limit=100&subscription="+subID, e.keyA, nil)
	data := list["data"].([]any)
	out := make([]map[string]any, len(data))
	for i, d := range data {
		out[len(data)-1-i] = d.(map[string]any)
	}
	return out
}

func TestRenewalsWithARepeatingCoupon(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_ok": {true}}, byKey: map[string]subscription.ChargeResult{}}
	r := &subscription.Renewer{Store: e.store, Charger: ch}
	coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 10, "duration": "repeating", "duration_in_months": 2})
	sub := e.subscribe("pm_ok", "coupon_id", coupon)
	id := sub["id"].(string)
	anchor := rfc3339(t, sub["current_period_start"])
	ctx := context.Background()
	// Nothing is due before the period ends.
	if n, err := r.RunDue(ctx, anchor.Add(time.Hour), nil); err != nil || n != 0 {
		t.Fatalf("early run: %d %v", n, err)
	}
	_, end1, _ := subscription.PeriodBounds(anchor, "month", 1, 0)
	_, end2, _ := subscription.PeriodBounds(anchor, "month", 1, 1)
	_, end3, _ := subscription.PeriodBounds(anchor, "month", 1, 2)
	// Two periods later at once: both renewals run, in order.
	if n, err := r.RunDue(ctx, end2.Add(time.Second), nil); err != nil || n != 2 {
		t.Fatalf("run: %d %v", n, err)
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	if sub["status"] != "active" || !rfc3339(t, sub["current_period_start"]).Equal(end2) || !rfc3339(t, sub["current_period_end"]).Equal(end3) {
		t.Fatalf("after two renewals: %v", sub)
	}
	ins := e.invoices(id)
	if len(ins) != 3 {
		t.Fatalf("%d invoices, want 3", len(ins))
	}
	// Period 1 starts before the coupon's end (anchor + 2 months): 1800 − 10 %;
	// period 2 starts at its end: full price.
	for i, want := range []struct {
		discount, total int64
		start, end      time.Time
		coupon          any
	}{{180, 1620, anchor, end1, coupon}, {180, 1620, end1, end2, coupon}, {0, 1800, end2, end3, nil}} {
		in := ins[i]
		if in["status"] != "paid" || num(in["amount_subtotal"]) != 1800 || num(in["amount_discount"]) != want.discount ||
			num(in["amount_total"]) != want.total || !rfc3339(t, in["period_start"]).Equal(want.start) ||
			!rfc3339(t, in["period_end"]).Equal(want.end) || in["discount_coupon"] != want.coupon {
			t.Errorf("invoice %d: %v", i, in)
		}
	}
	if ins[1]["billing_reason"] != "subscription_cycle" || ins[1]["payment"] != "pay_r0" || len(ch.charges) != 2 ||
		ch.charges[0].Amount != 1620 || ch.charges[1].Amount != 1800 || ch.charges[0].PaymentMethod != "pm_ok" ||
		ch.charges[0].IdempotencyKey != ins[1]["id"].(string)+"/1" {
		t.Fatalf("charges %+v, invoice %v", ch.charges, ins[1])
	}
	// Running again at the same time does nothing more.
	if n, err := r.RunDue(ctx, end2.Add(time.Second), nil); err != nil || n != 0 || len(ch.charges) != 2 {
		t.Fatalf("rerun: %d %v", n, err)
	}
	for subject, want := range map[string]int{"events.invoice.paid": 3, "events.customer.subscription.updated": 2} {
		if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = $1", subject); n != want {
			t.Errorf("%s: %d events, want %d", subject, n, want)
		}
	}
}

func TestFailedRenewalRecoversOnRetry(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_once": {false, true}}, byKey: map[string]subscription.ChargeResult{}}
	r := &subscription.Renewer{Store: e.store, Charger: ch}
	sub := e.subscribe("pm_once")
	id := sub["id"].(string)
	end1 := rfc3339(t, sub["current_period_end"])
	ctx := context.Background()
	if n, err := r.RunDue(ctx, end1, nil); err != nil || n != 1 {
		t.Fatalf("renewal: %d %v", n, err)
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	in := e.invoices(id)[1]
	retry := end1.Add(24 * time.Hour)
	if sub["status"] != "past_due" || in["status"] != "open" || num(in["attempt_count"]) != 1 ||
		!rfc3339(t, in["next_payment_attempt"]).Equal(retry) || sub["latest_invoice"] != in["id"] {
		t.Fatalf("after a failure: %v %v", sub, in)
	}
	_, open := e.do("GET", "/v1/subscriptions?status=past_due", e.keyA, nil)
	if len(open["data"].([]any)) != 1 {
		t.Fatalf("past_due filter: %v", open)
	}
	// Not before the retry is due.
	if n, err := r.RunDue(ctx, retry.Add(-time.Second), nil); err != nil || n != 0 {
		t.Fatalf("early retry: %d %v", n, err)
	}
	if n, err := r.RunDue(ctx, retry, nil); err != nil || n != 1 {
		t.Fatalf("retry: %d %v", n, err)
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	_, in = e.do("GET", "/v1/invoices/"+in["id"].(string), e.keyA, nil)
	if sub["status"] != "active" || !rfc3339(t, sub["current_period_start"]).Equal(end1) || in["status"] != "paid" ||
		num(in["attempt_count"]) != 2 || in["next_payment_attempt"] != nil || in["payment"] != "pay_r1" {
		t.Fatalf("recovered: %v %v", sub, in)
	}
	for subject, want := range map[string]int{"events.invoice.payment_failed": 1, "events.invoice.paid": 2, "events.customer.subscription.updated": 2} {
		if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = $1", subject); n != want {
			t.Errorf("%s: %d events, want %d", subject, n, want)
		}
	}
}

func TestCanceledAfterTheLastRetry(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_fails": {false}}, byKey: map[string]subscription.ChargeResult{}}
	r := &subscription.Renewer{Store: e.store, Charger: ch}
	sub := e.subscribe("pm_fails")
	id := sub["id"].(string)
	end1 := rfc3339(t, sub["current_period_end"])
	// Six days on: the renewal and its three retries (+1, +3, +5 days) run in turn.
	if n, err := r.RunDue(context.Background(), end1.Add(6*24*time.Hour), nil); err != nil || n != 4 {
		t.Fatalf("run: %d %v", n, err)
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	in := e.invoices(id)[1]
	if sub["status"] != "canceled" || in["status"] != "uncollectible" || num(in["attempt_count"]) != 4 || len(ch.charges) != 4 {
		t.Fatalf("after the last retry: %v %v (%d charges)", sub, in, len(ch.charges))
	}
	for subject, want := range map[string]int{"events.invoice.payment_failed": 4, "events.customer.subscription.deleted": 1} {
		if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = $1", subject); n != want {
			t.Errorf("%s: %d events, want %d", subject, n, want)
		}
	}
	// A canceled subscription is not renewed again.
	if n, err := r.RunDue(context.Background(), end1.AddDate(1, 0, 0), nil); err != nil || n != 0 {
		t.Fatalf("after cancel: %d %v", n, err)
	}
}

func TestCancelAtPeriodEnd(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_ok": {true}}, byKey: map[string]subscription.ChargeResult{}}
	r := &subscription.Renewer{Store: e.store, Charger: ch}
	sub := e.subscribe("pm_ok")
	id := sub["id"].(string)
	e.do("POST", "/v1/subscriptions/"+id, e.keyA, map[string]any{"cancel_at_period_end": true})
	end := rfc3339(t, sub["current_period_end"])
	if n, err := r.RunDue(context.Background(), end, nil); err != nil || n != 1 {
		t.Fatalf("run: %d %v", n, err)
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	if sub["status"] != "canceled" || !rfc3339(t, sub["canceled_at"]).Equal(end) || len(ch.charges) != 0 || len(e.invoices(id)) != 1 {
		t.Fatalf("canceled at period end: %v, %d charges", sub, len(ch.charges))
	}
}

func TestRenewalsKeepTheCheckoutsTaxRate(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_ok": {true}}, byKey: map[string]subscription.ChargeResult{}}
	r := &subscription.Renewer{Store: e.store, Charger: ch}
	coupon := e.createCoupon(e.keyA, map[string]any{"amount_off": 333, "currency": "EUR", "duration": "forever"})
	monthly := e.monthlyPrice(e.keyA, 900, "EUR")
	_, s := e.createSession(e.keyA, with(subscriptionSession(map[string]any{"price_id": monthly, "quantity": 2}), "coupon_id", coupon))
	id := s["id"].(string)
	// The page charged VAT at 20 % on 1800 − 333 = 1467: 293.4, rounded half up to 293.
	if _, err := e.internalClient(token).CompleteSession(context.Background(), &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA,
		Currency: "EUR", SessionId: id, PaymentId: "pay_" + id, Paid: true, AmountTax: 293, AmountTotal: 1760,
		SavedPaymentMethod: "pm_ok", TaxBps: 2000}); err != nil {
		t.Fatal(err)
	}
	_, s = e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	_, sub := e.do("GET", "/v1/subscriptions/"+s["subscription"].(string), e.keyA, nil)
	if n, err := r.RunDue(context.Background(), rfc3339(t, sub["current_period_end"]), nil); err != nil || n != 1 {
		t.Fatalf("renewal: %d %v", n, err)
	}
	ins := e.invoices(sub["id"].(string))
	for i, in := range ins {
		if num(in["amount_subtotal"]) != 1800 || num(in["amount_discount"]) != 333 || num(in["amount_tax"]) != 293 || num(in["amount_total"]) != 1760 {
			t.Errorf("invoice %d: %v", i, in)
		}
	}
	if len(ins) != 2 || ch.charges[0].Amount != 1760 || ch.charges[0].AmountTax != 293 {
		t.Fatalf("charges %+v", ch.charges)
	}
}

func TestConcurrentRenewalWorkersChargeOnce(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_ok": {true}}, byKey: map[string]subscription.ChargeResult{}}
	var ends []time.Time
	for range 5 {
		ends = append(ends, rfc3339(t, e.subscribe("pm_ok")["current_period_end"]))
	}
	due := ends[len(ends)-1].Add(time.Second)
	// Four replicas' workers at once.
	var wg sync.WaitGroup
	ran := make([]int, 4)
	errs := make([]error, 4)
	for i := range ran {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ran[i], errs[i] = (&subscription.Renewer{Store: e.store, Charger: ch}).RunDue(context.Background(), due, nil)
		}()
	}
	wg.Wait()
	total := 0
	for i := range ran {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		total += ran[i]
	}
	if total != 5 || len(ch.charges) != 5 || e.count("SELECT count(*) FROM admin.invoices WHERE billing_reason = 'subscription_cycle' AND status = 'paid'") != 5 {
		t.Fatalf("%d renewals, %d charges for 5 subscriptions", total, len(ch.charges))
	}
}

// lostAnswer charges through next but loses the first answer, as a worker
// that crashes after the runtime charged.
type lostAnswer struct {
	next subscription.Charger
	lost bool
}

func (l *lostAnswer) ChargeOffSession(ctx context.Context, req subscription.ChargeRequest) (subscription.ChargeResult, error) {
	res, err := l.next.ChargeOffSession(ctx, req)
	if !l.lost {
		l.lost = true
		return subscription.ChargeResult{}, fmt.Errorf("connection reset")
	}
	return res, err
}

func TestRenewalAfterALostAnswerChargesOnce(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_ok": {true}}, byKey: map[string]subscription.ChargeResult{}}
	r := &subscription.Renewer{Store: e.store, Charger: &lostAnswer{next: ch}}
	sub := e.subscribe("pm_ok")
	end := rfc3339(t, sub["current_period_end"])
	if _, err := r.RunDue(context.Background(), end, nil); err == nil {
		t.Fatal("lost answer not reported")
	}
	// Within the lease nobody takes it again; after it, the same attempt is
	// charged again with the same key: the runtime answers the first charge.
	if n, err := r.RunDue(context.Background(), end.Add(subscription.DefaultLease-time.Second), nil); err != nil || n != 0 {
		t.Fatalf("within the lease: %d %v", n, err)
	}
	if n, err := r.RunDue(context.Background(), end.Add(subscription.DefaultLease), nil); err != nil || n != 1 {
		t.Fatalf("after the lease: %d %v", n, err)
	}
	in := e.invoices(sub["id"].(string))[1]
	if len(ch.charges) != 1 || in["status"] != "paid" || num(in["attempt_count"]) != 1 || in["payment"] != "pay_r0" {
		t.Fatalf("%d charges, invoice %v", len(ch.charges), in)
	}
}

// duringCharge runs hook while a charge is under way.
type duringCharge struct {
	next subscription.Charger
	hook func()
}

func (d duringCharge) ChargeOffSession(ctx context.Context, req subscription.ChargeRequest) (subscription.ChargeResult, error) {
	d.hook()
	return d.next.ChargeOffSession(ctx, req)
}

// TestCanceledWhileChargingKeepsThePayment: a subscription canceled while
// its renewal is being charged stays canceled, and the money taken pays
// the invoice.
func TestCanceledWhileChargingKeepsThePayment(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_ok": {true}}, byKey: map[string]subscription.ChargeResult{}}
	sub := e.subscribe("pm_ok")
	id := sub["id"].(string)
	r := &subscription.Renewer{Store: e.store, Charger: duringCharge{next: ch, hook: func() {
		if status, _ := e.do("DELETE", "/v1/subscriptions/"+id, e.keyA, nil); status != http.StatusOK {
			t.Errorf("cancel during the charge: %d", status)
		}
	}}}
	if _, err := r.RunDue(context.Background(), rfc3339(t, sub["current_period_end"]), nil); err != nil {
		t.Fatal(err)
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	in := e.invoices(id)[1]
	if sub["status"] != "canceled" || in["status"] != "paid" || in["payment"] != "pay_r0" || sub["current_period_start"] == in["period_start"] {
		t.Fatalf("canceled during the charge: %v %v", sub, in)
	}
}
