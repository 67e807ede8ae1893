package server

import (
	"context"
	"net/http"
	"testing"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/subscription"
)

// setUp completes session id without a payment, as the runtime does for a
// checkout that charges nothing (a free trial), with the card it saved.
func (e *env) setUp(id, savedPaymentMethod string) error {
	e.t.Helper()
	_, s := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	_, err := e.internalClient(token).CompleteSession(context.Background(), &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA,
		Currency: s["currency"].(string), SessionId: id, Paid: true, AmountTotal: num(s["amount_total"]), SavedPaymentMethod: savedPaymentMethod})
	return err
}

// trial is a free trial of days, as a session parameter.
func trial(days int) map[string]any { return map[string]any{"trial_period_days": days} }

func TestTrialCheckoutChargesNothingAndBillsAtTheTrialsEnd(t *testing.T) {
	e := newEnv(t)
	e.api.Renewer.Charger = &scriptedCharger{scripts: map[string][]bool{"pm_ok": {true}}, byKey: map[string]subscription.ChargeResult{}}
	monthly := e.monthlyPrice(e.keyA, 900, "EUR")
	clock := e.mustCreate("/v1/test_helpers/test_clocks", e.keyA, map[string]any{"frozen_time": "2027-01-10T00:00:00Z"})["id"].(string)
	cus := e.mustCreate("/v1/customers", e.keyA, map[string]any{"email": "trial@example.com", "test_clock": clock})["id"]
	status, s := e.createSession(e.keyA, with(subscriptionSession(map[string]any{"price_id": monthly, "quantity": 2}),
		"customer_id", cus, "subscription_data", trial(14)))
	if status != http.StatusCreated || num(s["amount_total"]) != 0 || num(s["amount_subtotal"]) != 0 || s["mode"] != "subscription" {
		t.Fatalf("trial session: %d %v", status, s)
	}
	id := s["id"].(string)
	// Nothing to charge: the runtime saves the card and completes it
	// without a payment; a retried completion answers the same.
	for range 2 {
		if err := e.setUp(id, "pm_ok"); err != nil {
			t.Fatalf("set up: %v", err)
		}
	}
	_, s = e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if s["status"] != "complete" || s["payment_status"] != "paid" || s["subscription"] == nil {
		t.Fatalf("completed trial session: %v", s)
	}
	if n := e.count("SELECT count(*) FROM admin.subscriptions"); n != 1 {
		t.Fatalf("%d subscriptions after a retried completion", n)
	}
	_, sub := e.do("GET", "/v1/subscriptions/"+s["subscription"].(string), e.keyA, nil)
	if sub["status"] != "trialing" || sub["trial_start"] != "2027-01-10T00:00:00Z" || sub["trial_end"] != "2027-01-24T00:00:00Z" ||
		sub["current_period_end"] != "2027-01-24T00:00:00Z" || num(sub["items"].([]any)[0].(map[string]any)["unit_amount"]) != 900 {
		t.Fatalf("trialing subscription: %v", sub)
	}
	subID := sub["id"].(string)
	ins := e.invoices(subID)
	if len(ins) != 1 || ins[0]["status"] != "paid" || num(ins[0]["amount_total"]) != 0 || ins[0]["payment"] != nil ||
		ins[0]["period_end"] != "2027-01-24T00:00:00Z" || ins[0]["billing_reason"] != "subscription_create" {
		t.Fatalf("the trial's invoice: %v", ins)
	}
	// The first charge is at the trial's end, for a whole period from it.
	e.advance(clock, "2027-01-23T23:59:59Z")
	if len(e.invoices(subID)) != 1 {
		t.Fatal("charged during the trial")
	}
	e.advance(clock, "2027-01-24T00:00:00Z")
	_, sub = e.do("GET", "/v1/subscriptions/"+subID, e.keyA, nil)
	ins = e.invoices(subID)
	if sub["status"] != "active" || sub["current_period_start"] != "2027-01-24T00:00:00Z" || sub["current_period_end"] != "2027-02-24T00:00:00Z" ||
		len(ins) != 2 || ins[1]["status"] != "paid" || num(ins[1]["amount_total"]) != 1800 || ins[1]["period_start"] != "2027-01-24T00:00:00Z" ||
		ins[1]["billing_reason"] != "subscription_cycle" {
		t.Fatalf("after the trial: %v %v", sub, ins)
	}
}

func TestTrialValidation(t *testing.T) {
	e := newEnv(t)
	monthly := e.monthlyPrice(e.keyA, 900, "EUR")
	_, tea := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	line := func(price string) map[string]any { return map[string]any{"price_id": price, "quantity": 1} }
	for _, c := range []struct {
		name string
		body map[string]any
	}{
		{"zero days", with(subscriptionSession(line(monthly)), "subscription_data", trial(0))},
		{"more than two years", with(subscriptionSession(line(monthly)), "subscription_data", trial(731))},
		{"a payment-mode session", with(subscriptionSession(line(tea)), "subscription_data", trial(7))},
	} {
		status, body := e.createSession(e.keyA, c.body)
		wantError(t, c.name, status, body, http.StatusBadRequest, "subscription_data[trial_period_days]", "parameter_invalid")
	}
	// A checkout without a trial still charges something.
	status, s := e.createSession(e.keyA, subscriptionSession(line(monthly)))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, s)
	}
	if err := e.setUp(s["id"].(string), "pm_ok"); err == nil {
		t.Fatal("a session with an amount completed without a payment")
	}
	// One-time prices are charged at a trial's checkout.
	status, s = e.createSession(e.keyA, with(subscriptionSession(line(monthly), line(tea)), "subscription_data", trial(7)))
	if status != http.StatusCreated || num(s["amount_total"]) != 450 {
		t.Fatalf("trial with a one-time price: %d %v", status, s)
	}
}

// pending completes subscription session id with its payment pending (an
// asynchronous card), then reports the payment's result.
func (e *env) pending(id string, succeeds bool) map[string]any {
	e.t.Helper()
	_, s := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	ctx := context.Background()
	client := e.internalClient(token)
	if _, err := client.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: s["currency"].(string),
		SessionId: id, PaymentId: "pay_" + id, AmountTotal: num(s["amount_total"]), SavedPaymentMethod: "pm_async"}); err != nil {
		e.t.Fatalf("complete: %v", err)
	}
	_, s = e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	_, sub := e.do("GET", "/v1/subscriptions/"+s["subscription"].(string), e.keyA, nil)
	in := e.invoices(sub["id"].(string))[0]
	if sub["status"] != "incomplete" || in["status"] != "open" || in["payment"] != "pay_"+id {
		e.t.Fatalf("pending: %v %v", sub, in)
	}
	// Nothing renews an incomplete subscription.
	if n := e.count("SELECT count(*) FROM admin.subscriptions WHERE id = $1 AND next_action_at IS NOT NULL", sub["id"]); n != 0 {
		e.t.Fatal("an incomplete subscription has a renewal due")
	}
	if _, err := client.RecordAsyncPayment(ctx, &internalapiv1.RecordAsyncPaymentRequest{SessionId: id, PaymentId: "pay_" + id,
		Succeeded: succeeds, SavedPaymentMethod: "pm_async"}); err != nil {
		e.t.Fatalf("record: %v", err)
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+sub["id"].(string), e.keyA, nil)
	return sub
}

func TestIncompleteSubscriptionFollowsItsFirstPayment(t *testing.T) {
	e := newEnv(t)
	monthly := e.monthlyPrice(e.keyA, 900, "EUR")
	session := func() string {
		status, s := e.createSession(e.keyA, subscriptionSession(map[string]any{"price_id": monthly, "quantity": 1}))
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, s)
		}
		return s["id"].(string)
	}
	sub := e.pending(session(), true)
	in := e.invoices(sub["id"].(string))[0]
	if sub["status"] != "active" || in["status"] != "paid" ||
		e.count("SELECT count(*) FROM admin.subscriptions WHERE id = $1 AND next_action_at = current_period_end", sub["id"]) != 1 {
		t.Fatalf("paid later: %v %v", sub, in)
	}
	sub = e.pending(session(), false)
	in = e.invoices(sub["id"].(string))[0]
	if sub["status"] != "incomplete_expired" || in["status"] != "void" || in["voided_at"] == nil {
		t.Fatalf("failed: %v %v", sub, in)
	}
	for subject, want := range map[string]int{"events.invoice.voided": 1, "events.invoice.created": 2, "events.invoice.paid": 1} {
		if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = $1", subject); n != want {
			t.Errorf("%s: %d events, want %d", subject, n, want)
		}
	}
}

func TestPayAndVoidInvoices(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_later": {false, true}, "pm_never": {false}}, byKey: map[string]subscription.ChargeResult{}}
	e.api.Renewer.Charger = ch
	clock, sub := e.clockSubscription("2027-03-01T00:00:00Z", "pm_later")
	id := sub["id"].(string)
	e.advance(clock, "2027-04-01T00:00:00Z") // the renewal is declined
	in := e.invoices(id)[1]
	if in["status"] != "open" || num(in["attempt_count"]) != 1 {
		t.Fatalf("declined renewal: %v", in)
	}
	// Paid on request: the next charge succeeds; again: the same answer, no charge.
	for range 2 {
		status, paid := e.do("POST", "/v1/invoices/"+in["id"].(string)+"/pay", e.keyA, map[string]any{})
		if status != http.StatusOK || paid["status"] != "paid" || num(paid["attempt_count"]) != 2 || paid["payment"] == nil {
			t.Fatalf("pay: %d %v", status, paid)
		}
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	if sub["status"] != "active" || sub["current_period_start"] != "2027-04-01T00:00:00Z" || len(ch.charges) != 2 ||
		ch.charges[1].IdempotencyKey != in["id"].(string)+"/2" {
		t.Fatalf("after paying: %v %+v", sub, ch.charges)
	}
	// A paid invoice cannot be voided.
	status, body := e.do("POST", "/v1/invoices/"+in["id"].(string)+"/void", e.keyA, map[string]any{})
	wantError(t, "void a paid invoice", status, body, http.StatusBadRequest, "id", "invoice_not_open")

	clock, sub = e.clockSubscription("2027-03-01T00:00:00Z", "pm_never")
	id = sub["id"].(string)
	e.advance(clock, "2027-04-01T00:00:00Z")
	in = e.invoices(id)[1]
	next := in["next_payment_attempt"]
	status, body = e.do("POST", "/v1/invoices/"+in["id"].(string)+"/pay", e.keyA, map[string]any{})
	wantError(t, "a declined charge", status, body, http.StatusBadRequest, "id", "invoice_payment_failed")
	_, in = e.do("GET", "/v1/invoices/"+in["id"].(string), e.keyA, nil)
	if in["status"] != "open" || num(in["attempt_count"]) != 2 || in["next_payment_attempt"] != next {
		t.Fatalf("after a declined charge on request: %v", in)
	}
	// Voided: the period is forgiven, the subscription active in it.
	for range 2 {
		status, voided := e.do("POST", "/v1/invoices/"+in["id"].(string)+"/void", e.keyA, map[string]any{})
		if status != http.StatusOK || voided["status"] != "void" || voided["voided_at"] == nil {
			t.Fatalf("void: %d %v", status, voided)
		}
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	if sub["status"] != "active" || sub["current_period_start"] != "2027-04-01T00:00:00Z" || sub["current_period_end"] != "2027-05-01T00:00:00Z" {
		t.Fatalf("after voiding: %v", sub)
	}
	status, body = e.do("POST", "/v1/invoices/"+in["id"].(string)+"/pay", e.keyA, map[string]any{})
	wantError(t, "pay a void invoice", status, body, http.StatusBadRequest, "id", "invoice_not_open")
	for _, key := range []string{e.keyB, e.liveKeyA} {
		status, _ := e.do("POST", "/v1/invoices/"+in["id"].(string)+"/void", key, map[string]any{})
		if status != http.StatusNotFound {
			t.Errorf("another organization's or mode's invoice: %d", status)
		}
	}
	if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = 'events.invoice.voided'"); n != 1 {
		t.Errorf("%d invoice.voided events", n)
	}
}

func TestUpdateItemsWithProration(t *testing.T) {
	e := newEnv(t)
	ch := &scriptedCharger{scripts: map[string][]bool{"pm_ok": {true}}, byKey: map[string]subscription.ChargeResult{}}
	e.api.Renewer.Charger = ch
	// April: 30 days. Half-way, 2 × 900 become 1 × 1001: a credit of
	// 900 and a charge of 500.5, rounded half up to 501.
	clock, sub := e.clockSubscription("2027-04-01T00:00:00Z", "pm_ok")
	id := sub["id"].(string)
	coffee := e.monthlyPrice(e.keyA, 1001, "EUR")
	_, tea := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	yearly := e.mustCreate("/v1/prices", e.keyA, map[string]any{"product": e.mustCreate("/v1/products", e.keyA, map[string]any{"name": "Y"})["id"],
		"currency": "EUR", "unit_amount": 9000, "recurring": map[string]any{"interval": "year"}})["id"]
	for _, c := range []struct {
		name        string
		body        map[string]any
		param, code string
	}{
		{"a one-time price", map[string]any{"items": []any{map[string]any{"price": tea}}}, "items[0][price]", "recurring_mismatch"},
		{"another interval", map[string]any{"items": []any{map[string]any{"price": yearly}}}, "items[0][price]", "recurring_mismatch"},
		{"quantity 0", map[string]any{"items": []any{map[string]any{"price": coffee, "quantity": 0}}}, "items[0][quantity]", "parameter_invalid"},
		{"unknown behaviour", map[string]any{"items": []any{map[string]any{"price": coffee}}, "proration_behavior": "always_invoice"}, "proration_behavior", "parameter_invalid"},
	} {
		status, body := e.do("POST", "/v1/subscriptions/"+id, e.keyA, c.body)
		wantError(t, c.name, status, body, http.StatusBadRequest, c.param, c.code)
	}
	e.advance(clock, "2027-04-16T00:00:00Z")
	status, sub := e.do("POST", "/v1/subscriptions/"+id, e.keyA, map[string]any{"items": []any{map[string]any{"price": coffee, "quantity": 1}}})
	pending, _ := sub["pending_invoice_lines"].([]any)
	if status != http.StatusOK || len(pending) != 2 || num(pending[0].(map[string]any)["amount_subtotal"]) != -900 ||
		num(pending[1].(map[string]any)["amount_subtotal"]) != 501 || pending[1].(map[string]any)["proration"] != true {
		t.Fatalf("update: %d %v", status, sub)
	}
	e.advance(clock, "2027-05-01T00:00:00Z")
	in := e.invoices(id)[1]
	if in["status"] != "paid" || num(in["amount_subtotal"]) != 1001-900+501 || num(in["amount_total"]) != 602 || len(in["lines"].([]any)) != 3 {
		t.Fatalf("invoice with prorations: %v", in)
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	if len(sub["pending_invoice_lines"].([]any)) != 0 {
		t.Fatalf("prorations left pending: %v", sub)
	}
	// A downgrade at once: the credit (1001 − 2 ≈ the whole period) is more
	// than the next invoice (2): it is brought to 0 and the rest carried.
	cheap := e.monthlyPrice(e.keyA, 2, "EUR")
	if status, sub = e.do("POST", "/v1/subscriptions/"+id, e.keyA, map[string]any{"items": []any{map[string]any{"price": cheap}}}); status != http.StatusOK {
		t.Fatalf("downgrade: %d %v", status, sub)
	}
	e.advance(clock, "2027-06-01T00:00:00Z")
	in = e.invoices(id)[2]
	if num(in["amount_total"]) != 0 || num(in["amount_subtotal"]) != 0 {
		t.Fatalf("invoice after the downgrade: %v", in)
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+id, e.keyA, nil)
	carried := sub["pending_invoice_lines"].([]any)
	// credit −1001 + charge 2 + the period's 2 = −997 carried.
	if len(carried) != 1 || num(carried[0].(map[string]any)["amount_subtotal"]) != -997 {
		t.Fatalf("carried credit: %v", sub)
	}
	// proration_behavior none: the change applies from the next period, no lines.
	if status, sub = e.do("POST", "/v1/subscriptions/"+id, e.keyA, map[string]any{"items": []any{map[string]any{"price": coffee}},
		"proration_behavior": "none"}); status != http.StatusOK || len(sub["pending_invoice_lines"].([]any)) != 1 {
		t.Fatalf("no proration: %d %v", status, sub)
	}
}

// TestSubscriptionCustomFields: seed 002's params_for_sub.custom_fields are
// checked against the site's subscription_custom_fields (not its session
// fields), carried on the subscription (with expand=custom_fields), its
// invoices and the events of both; PaymentKit's surface passes them on.
func TestSubscriptionCustomFields(t *testing.T) {
	e := newEnv(t)
	status, site := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"subscription_custom_fields": []map[string]any{
		{"key": "tier", "label": map[string]string{"en": "Tier"}, "type": "dropdown", "options": []map[string]any{
			{"value": "enterprise", "label": map[string]string{"en": "Enterprise"}}, {"value": "team", "label": map[string]string{"en": "Team"}}}},
		{"key": "region", "label": map[string]string{"en": "Region"}, "type": "text", "optional": true},
	}})
	if status != http.StatusOK || len(site["subscription_custom_fields"].([]any)) != 2 || len(site["custom_fields"].([]any)) != 0 {
		t.Fatalf("site: %d %v", status, site)
	}
	status, body := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"subscription_custom_fields": []map[string]any{{"key": "x", "type": "colour"}}})
	if param, _, _ := apiError(body); status != http.StatusBadRequest || param[:len("subscription_custom_fields[0]")] != "subscription_custom_fields[0]" {
		t.Fatalf("a bad definition: %d %v", status, body)
	}
	monthly := e.monthlyPrice(e.keyA, 900, "EUR")
	_, tea := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	line := func(price string) map[string]any { return map[string]any{"price_id": price, "quantity": 1} }
	fields := func(kv map[string]any) map[string]any { return map[string]any{"custom_fields": kv} }
	for _, c := range []struct {
		name, param string
		body        map[string]any
	}{
		{"an unknown key", "params_for_sub[custom_fields][seats]", with(subscriptionSession(line(monthly)), "params_for_sub", fields(map[string]any{"tier": "team", "seats": "3"}))},
		{"not an option", "params_for_sub[custom_fields][tier]", with(subscriptionSession(line(monthly)), "params_for_sub", fields(map[string]any{"tier": "gold"}))},
		{"a required field missing", "params_for_sub[custom_fields][tier]", with(subscriptionSession(line(monthly)), "params_for_sub", fields(map[string]any{"region": "eu"}))},
		{"no subscription", "params_for_sub", with(subscriptionSession(line(tea)), "params_for_sub", fields(map[string]any{"tier": "team"}))},
	} {
		status, body := e.createSession(e.keyA, c.body)
		if param, _, _ := apiError(body); status != http.StatusBadRequest || param != c.param {
			t.Errorf("%s: %d %v", c.name, status, body)
		}
	}
	// The seed's own example, through PaymentKit's surface.
	status, s := e.do("POST", "/api/"+e.orgA+"/checkout-sessions", e.keyA, map[string]any{
		"line_items": []any{map[string]any{"price_id": monthly, "quantity": 1}}, "params_for_sub": fields(map[string]any{"tier": "enterprise", "region": "us-east"}),
		"success_url": "https://yoursite.com/success", "return_url": "https://yoursite.com/cancel"})
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("PaymentKit create: %d %v", status, s)
	}
	e.pay(s["id"].(string), "pm_ok")
	_, cs := e.do("GET", "/v1/checkout/sessions/"+s["id"].(string), e.keyA, nil)
	subID := cs["subscription"].(string)
	_, sub := e.do("GET", "/v1/subscriptions/"+subID, e.keyA, nil)
	if sub["custom_fields"] != nil {
		t.Fatalf("custom fields without expand: %v", sub)
	}
	_, sub = e.do("GET", "/v1/subscriptions/"+subID+"?expand=custom_fields", e.keyA, nil)
	want := map[string]any{"tier": "enterprise", "region": "us-east"}
	if got, _ := sub["custom_fields"].(map[string]any); len(got) != 2 || got["tier"] != want["tier"] || got["region"] != want["region"] {
		t.Fatalf("expanded: %v", sub)
	}
	if in := e.invoices(subID)[0]; in["custom_fields"].(map[string]any)["tier"] != "enterprise" {
		t.Fatalf("invoice: %v", in)
	}
	status, body = e.do("GET", "/v1/subscriptions/"+subID+"?expand=items", e.keyA, nil)
	if param, _, _ := apiError(body); status != http.StatusBadRequest || param != "expand[0]" {
		t.Fatalf("expand=items: %d %v", status, body)
	}
	// The events carry them, on the subscription and on the invoice.
	for _, subject := range []string{"events.customer.subscription.created", "events.invoice.paid"} {
		var payload []byte
		if err := e.pool.QueryRow(context.Background(), "SELECT payload FROM admin.outbox WHERE subject = $1", subject).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var ev eventsv1.Event
		if err := proto.Unmarshal(payload, &ev); err != nil {
			t.Fatal(err)
		}
		fields := ev.GetSubscription().GetCustomFields()
		if fields == nil {
			fields = ev.GetInvoice().GetCustomFields()
		}
		if got := fields.AsMap(); got["tier"] != "enterprise" || got["region"] != "us-east" {
			t.Fatalf("%s custom fields: %v", subject, got)
		}
	}
}
