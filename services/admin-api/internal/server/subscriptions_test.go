package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v82"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

// monthlyPrice creates a product with a monthly recurring price.
func (e *env) monthlyPrice(key string, amount int, currency string) string {
	e.t.Helper()
	prod := e.mustCreate("/v1/products", key, map[string]any{"name": "Club"})
	return e.mustCreate("/v1/prices", key, map[string]any{"product": prod["id"], "currency": currency, "unit_amount": amount,
		"recurring": map[string]any{"interval": "month"}})["id"].(string)
}

// subscriptionSession is a catalog session body with the given line items.
func subscriptionSession(items ...map[string]any) map[string]any {
	return map[string]any{"line_items": items, "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cart",
		"customer_email": "sub@example.com"}
}

// pay completes session id as paid, as the runtime does after a capture,
// with the reusable payment method it saved (optional).
func (e *env) pay(id string, savedPaymentMethod ...string) {
	e.t.Helper()
	_, s := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	req := &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA,
		Currency: s["currency"].(string), SessionId: id, PaymentId: "pay_" + id, Paid: true, AmountTotal: num(s["amount_total"])}
	if len(savedPaymentMethod) > 0 {
		req.SavedPaymentMethod = savedPaymentMethod[0]
	}
	if _, err := e.internalClient(token).CompleteSession(context.Background(), req); err != nil {
		e.t.Fatalf("complete %s: %v", id, err)
	}
}

func TestSubscriptionCheckoutValidation(t *testing.T) {
	e := newEnv(t)
	monthly := e.monthlyPrice(e.keyA, 900, "EUR")
	usdMonthly := e.monthlyPrice(e.keyA, 900, "USD")
	_, tea := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	line := func(price string) map[string]any { return map[string]any{"price_id": price, "quantity": 1} }
	for _, c := range []struct {
		name        string
		body        map[string]any
		param, code string
	}{
		{"mode payment with a recurring price", with(subscriptionSession(line(monthly)), "mode", "payment"), "mode", "parameter_invalid"},
		{"mode subscription without one", with(subscriptionSession(line(tea)), "mode", "subscription"), "mode", "parameter_invalid"},
		{"unknown mode", with(subscriptionSession(line(monthly)), "mode", "setup"), "mode", "parameter_invalid"},
		{"unknown customer_creation", with(subscriptionSession(line(tea)), "customer_creation", "never"), "customer_creation", "parameter_invalid"},
		{"recurring prices in two currencies", subscriptionSession(line(monthly), line(usdMonthly)), "line_items[1][price_id]", "currency_mismatch"},
		{"a merchant's own customer reference", with(subscriptionSession(line(monthly)), "customer", "crm-17"), "customer", "parameter_invalid"},
	} {
		status, body := e.createSession(e.keyA, c.body)
		wantError(t, c.name, status, body, http.StatusBadRequest, c.param, c.code)
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Fatalf("%d sessions written by refused requests", n)
	}
}

func with(body map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		body[kv[i].(string)] = kv[i+1]
	}
	return body
}

func TestSubscriptionCreatedByCheckout(t *testing.T) {
	e := newEnv(t)
	monthly := e.monthlyPrice(e.keyA, 900, "EUR")
	_, setup := e.productWithPrice(e.keyA, "Setup", 500, "EUR")
	coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 10, "duration": "repeating", "duration_in_months": 2})
	status, s := e.createSession(e.keyA, with(subscriptionSession(
		map[string]any{"price_id": monthly, "quantity": 2}, map[string]any{"price_id": setup, "quantity": 1}), "coupon_id", coupon))
	if status != http.StatusCreated || s["mode"] != "subscription" || s["customer_creation"] != "if_required" || s["subscription"] != nil {
		t.Fatalf("create: %d %v", status, s)
	}
	// 2 × 900 + 500 = 2300, 10 % off = 230.
	if num(s["amount_subtotal"]) != 2300 || num(s["amount_total"]) != 2070 {
		t.Fatalf("totals: %v", s)
	}
	before := time.Now().UTC().Truncate(time.Second)
	id := s["id"].(string)
	e.pay(id)
	e.pay(id) // a retried completion creates nothing more
	_, s = e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	subID, _ := s["subscription"].(string)
	customer, _ := s["customer"].(string)
	if subID == "" || customer == "" || s["payment_status"] != "paid" {
		t.Fatalf("paid session: %v", s)
	}
	if n := e.count("SELECT count(*) FROM admin.subscriptions"); n != 1 {
		t.Fatalf("%d subscriptions, want 1", n)
	}
	_, cus := e.do("GET", "/v1/customers/"+customer, e.keyA, nil)
	if cus["email"] != "sub@example.com" {
		t.Fatalf("created customer: %v", cus)
	}
	status, sub := e.do("GET", "/v1/subscriptions/"+subID, e.keyA, nil)
	if status != http.StatusOK || sub["object"] != "subscription" || sub["status"] != "active" || sub["customer"] != customer ||
		sub["currency"] != "EUR" || sub["checkout_session"] != id || sub["cancel_at_period_end"] != false {
		t.Fatalf("subscription: %d %v", status, sub)
	}
	items := sub["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["price"] != monthly || num(items[0].(map[string]any)["quantity"]) != 2 {
		t.Fatalf("items (the one-time price is not subscribed): %v", items)
	}
	start, _ := time.Parse(time.RFC3339, sub["current_period_start"].(string))
	end, _ := time.Parse(time.RFC3339, sub["current_period_end"].(string))
	if start.Before(before) || !end.Equal(start.AddDate(0, 1, 0)) && start.Day() <= 28 {
		t.Fatalf("period [%s, %s) after %s", start, end, before)
	}
	d := sub["discount"].(map[string]any)
	wantEnd := start.AddDate(0, 2, 0)
	if d["coupon"] != coupon || d["duration"] != "repeating" || start.Day() <= 28 && d["end"] != wantEnd.Format(time.RFC3339) {
		t.Fatalf("discount: %v", d)
	}
	inID := sub["latest_invoice"].(string)
	_, in := e.do("GET", "/v1/invoices/"+inID, e.keyA, nil)
	if in["status"] != "paid" || in["subscription"] != subID || in["payment"] != "pay_"+id || in["billing_reason"] != "subscription_create" ||
		num(in["amount_subtotal"]) != 2300 || num(in["amount_discount"]) != 230 || num(in["amount_tax"]) != 0 || num(in["amount_total"]) != 2070 ||
		len(in["lines"].([]any)) != 2 || in["period_start"] != sub["current_period_start"] || in["period_end"] != sub["current_period_end"] {
		t.Fatalf("first invoice: %v", in)
	}
	for subject, want := range map[string]int{"events.customer.subscription.created": 1, "events.invoice.paid": 1, "events.checkout.session.completed": 1} {
		if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = $1", subject); n != want {
			t.Errorf("%s: %d events, want %d", subject, n, want)
		}
	}
	// Lists and their filters.
	for path, want := range map[string]int{
		"/v1/subscriptions": 1, "/v1/subscriptions?customer=" + customer: 1, "/v1/subscriptions?status=active": 1,
		"/v1/subscriptions?status=canceled": 0, "/v1/subscriptions?customer=cus_other": 0,
		"/v1/invoices": 1, "/v1/invoices?subscription=" + subID: 1, "/v1/invoices?customer=" + customer: 1,
		"/v1/invoices?status=open": 0, "/v1/invoices?status=paid": 1,
	} {
		status, list := e.do("GET", path, e.keyA, nil)
		if status != http.StatusOK || len(list["data"].([]any)) != want {
			t.Errorf("GET %s: %d %v, want %d", path, status, list, want)
		}
	}
	status, body := e.do("GET", "/v1/subscriptions?status=late", e.keyA, nil)
	wantError(t, "unknown status", status, body, http.StatusBadRequest, "status", "parameter_invalid")
	status, body = e.do("GET", "/v1/invoices?status=draft", e.keyA, nil)
	wantError(t, "unknown invoice status", status, body, http.StatusBadRequest, "status", "parameter_invalid")

	// Another organization, or the live mode, sees none of it.
	for _, key := range []string{e.keyB, e.liveKeyA} {
		for _, path := range []string{"/v1/subscriptions/" + subID, "/v1/invoices/" + inID} {
			status, body := e.do("GET", path, key, nil)
			wantError(t, "other tenant "+path, status, body, http.StatusNotFound, "id", "resource_missing")
		}
		status, body := e.do("DELETE", "/v1/subscriptions/"+subID, key, nil)
		wantError(t, "other tenant cancel", status, body, http.StatusNotFound, "id", "resource_missing")
		status, body = e.do("POST", "/v1/subscriptions/"+subID, key, map[string]any{"cancel_at_period_end": true})
		wantError(t, "other tenant update", status, body, http.StatusNotFound, "id", "resource_missing")
		for _, path := range []string{"/v1/subscriptions", "/v1/invoices"} {
			if _, list := e.do("GET", path, key, nil); len(list["data"].([]any)) != 0 {
				t.Errorf("other tenant lists %s: %v", path, list)
			}
		}
	}

	// cancel_at_period_end and metadata, then cancel now.
	status, up := e.do("POST", "/v1/subscriptions/"+subID, e.keyA, map[string]any{"cancel_at_period_end": true, "metadata": map[string]string{"plan": "gold"}})
	if status != http.StatusOK || up["cancel_at_period_end"] != true || up["metadata"].(map[string]any)["plan"] != "gold" || up["status"] != "active" {
		t.Fatalf("update: %d %v", status, up)
	}
	status, up = e.do("POST", "/v1/subscriptions/"+subID, e.keyA, map[string]any{"metadata": map[string]string{"plan": ""}})
	if status != http.StatusOK || up["cancel_at_period_end"] != true || len(up["metadata"].(map[string]any)) != 0 {
		t.Fatalf("metadata removal keeps cancel_at_period_end: %d %v", status, up)
	}
	status, canceled := e.do("DELETE", "/v1/subscriptions/"+subID, e.keyA, nil)
	if status != http.StatusOK || canceled["status"] != "canceled" || canceled["canceled_at"] == nil {
		t.Fatalf("cancel: %d %v", status, canceled)
	}
	status, body = e.do("DELETE", "/v1/subscriptions/"+subID, e.keyA, nil)
	wantError(t, "cancel twice", status, body, http.StatusBadRequest, "id", "subscription_canceled")
	for subject, want := range map[string]int{"events.customer.subscription.updated": 2, "events.customer.subscription.deleted": 1} {
		if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = $1", subject); n != want {
			t.Errorf("%s: %d events, want %d", subject, n, want)
		}
	}
}

func TestCustomerCreationAlways(t *testing.T) {
	e := newEnv(t)
	status, s := e.createSession(e.keyA, sessionWith("customer_creation", "always", "customer_email", "once@example.com"))
	if status != http.StatusCreated || s["mode"] != "payment" || s["customer_creation"] != "always" {
		t.Fatalf("create: %d %v", status, s)
	}
	e.pay(s["id"].(string))
	_, s = e.do("GET", "/v1/checkout/sessions/"+s["id"].(string), e.keyA, nil)
	cus, _ := s["customer"].(string)
	if _, c := e.do("GET", "/v1/customers/"+cus, e.keyA, nil); c["email"] != "once@example.com" || s["subscription"] != nil {
		t.Fatalf("customer %q: %v (session %v)", cus, c, s)
	}
	// if_required (the default) creates none for a payment.
	_, plain := e.createSession(e.keyA, validSession())
	e.pay(plain["id"].(string))
	if n := e.count("SELECT count(*) FROM admin.customers"); n != 1 {
		t.Fatalf("%d customers, want 1", n)
	}
}

func TestStripeSDKSubscriptionCheckout(t *testing.T) {
	e := newEnv(t)
	monthly := e.monthlyPrice(e.keyA, 900, "EUR")
	sc := e.stripeClient(e.keyA)
	p := &stripe.CheckoutSessionCreateParams{Mode: stripe.String("subscription"), CustomerEmail: stripe.String("sdk@example.com"),
		SuccessURL: stripe.String("https://shop.example/ok"),
		LineItems:  []*stripe.CheckoutSessionCreateLineItemParams{{Price: stripe.String(monthly), Quantity: stripe.Int64(1)}}}
	cs, err := sc.V1CheckoutSessions.Create(context.Background(), p)
	if err != nil || cs.Mode != stripe.CheckoutSessionModeSubscription || cs.Subscription != nil || cs.AmountTotal != 900 {
		t.Fatalf("create: %+v %v", cs, err)
	}
	e.pay(cs.ID, "pm_sdk")
	cs, err = sc.V1CheckoutSessions.Retrieve(context.Background(), cs.ID, nil)
	if err != nil || cs.Subscription == nil || cs.Customer == nil {
		t.Fatalf("retrieve: %+v %v", cs, err)
	}
	if _, sub := e.do("GET", "/v1/subscriptions/"+cs.Subscription.ID, e.keyA, nil); sub["customer"] != cs.Customer.ID || sub["status"] != "active" {
		t.Fatalf("subscription: %v", sub)
	}
	_, err = sc.V1CheckoutSessions.Create(context.Background(), &stripe.CheckoutSessionCreateParams{Mode: stripe.String("setup"),
		SuccessURL: stripe.String("https://shop.example/ok")})
	if se, ok := err.(*stripe.Error); !ok || se.Param != "mode" {
		t.Fatalf("mode=setup: %v", err)
	}
}

// TestSubscriptionForACustomerDeletedMeanwhile: a session made for a
// customer deleted before it is paid still creates its subscription (the
// money is taken), for that customer.
func TestSubscriptionForACustomerDeletedMeanwhile(t *testing.T) {
	e := newEnv(t)
	monthly := e.monthlyPrice(e.keyA, 900, "EUR")
	cus := e.mustCreate("/v1/customers", e.keyA, map[string]any{"email": "gone@example.com"})["id"].(string)
	_, s := e.createSession(e.keyA, with(subscriptionSession(map[string]any{"price_id": monthly, "quantity": 1}), "customer_id", cus))
	if status, _ := e.do("DELETE", "/v1/customers/"+cus, e.keyA, nil); status != http.StatusOK {
		t.Fatal("delete customer")
	}
	e.pay(s["id"].(string), "pm_x")
	_, s = e.do("GET", "/v1/checkout/sessions/"+s["id"].(string), e.keyA, nil)
	if _, sub := e.do("GET", "/v1/subscriptions/"+s["subscription"].(string), e.keyA, nil); sub["customer"] != cus || sub["status"] != "active" {
		t.Fatalf("subscription: %v", sub)
	}
}
