package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// clockCheckout pays, on the hosted page with test card number, a
// subscription checkout of 900 EUR a month for a customer on a new test
// clock at start; it returns the clock, the customer and the subscription.
func clockCheckout(t *testing.T, start, number string) (clock, customer string, sub map[string]any) {
	t.Helper()
	prod := created(t, "/v1/products", map[string]any{"name": "Tea club"})
	price := created(t, "/v1/prices", map[string]any{"product": prod["id"], "currency": "EUR", "unit_amount": 900,
		"recurring": map[string]any{"interval": "month"}})
	clock = created(t, "/v1/test_helpers/test_clocks", map[string]any{"frozen_time": start})["id"].(string)
	customer = created(t, "/v1/customers", map[string]any{"email": "club@example.com", "test_clock": clock})["id"].(string)
	s := created(t, "/v1/checkout/sessions", map[string]any{"customer_id": customer,
		"line_items":  []any{map[string]any{"price_id": price["id"], "quantity": 1}},
		"success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart"})
	if s["mode"] != "subscription" {
		t.Fatalf("session: %v", s)
	}
	payer := newBrowser()
	page, csrf := open(t, payer, s["url"].(string))
	if !strings.Contains(page, "4000 0000 0000 0341") {
		t.Errorf("the subscription page's test cards lack the one whose renewals fail")
	}
	resp, _, _ := post(t, payer, s["url"].(string)+"/pay", cardForm(csrf, number), false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %d", resp.StatusCode)
	}
	_, paid := api(t, "GET", "/v1/checkout/sessions/"+s["id"].(string), nil)
	subID, _ := paid["subscription"].(string)
	status, sub := api(t, "GET", "/v1/subscriptions/"+subID, nil)
	if status != http.StatusOK || sub["status"] != "active" || sub["customer"] != customer || sub["current_period_start"] != start {
		t.Fatalf("subscription of %v: %d %v", paid, status, sub)
	}
	return clock, customer, sub
}

// advanceClock moves a test clock; the due renewals have run when it answers.
func advanceClock(t *testing.T, clock, at string) {
	t.Helper()
	status, c := api(t, "POST", "/v1/test_helpers/test_clocks/"+clock+"/advance", map[string]any{"frozen_time": at})
	if status != http.StatusOK || c["frozen_time"] != at {
		t.Fatalf("advance to %s: %d %v", at, status, c)
	}
}

// subscriptionInvoices lists a subscription's invoices, oldest first.
func subscriptionInvoices(t *testing.T, sub string) []map[string]any {
	t.Helper()
	_, list := api(t, "GET", "/v1/invoices?subscription="+sub, nil)
	data := list["data"].([]any)
	out := make([]map[string]any, len(data))
	for i, d := range data {
		out[len(data)-1-i] = d.(map[string]any)
	}
	return out
}

// TestSubscriptionRenewedWithTestClock: a subscription created by a card
// checkout on the hosted page is renewed twice by advancing its test clock
// (January 31st → February 28th → March 31st), each renewal a payment made
// by checkout-runtime off-session with the card saved at checkout.
func TestSubscriptionRenewedWithTestClock(t *testing.T) {
	r := newReceiver(t, 0)
	_, secret := createEndpoint(t, r.srv.URL+"/billing", "customer.subscription.created", "invoice.paid")
	clock, _, sub := clockCheckout(t, "2027-01-31T10:00:00Z", provider.TestCardSuccess)
	id := sub["id"].(string)
	advanceClock(t, clock, "2027-02-28T10:00:00Z")
	advanceClock(t, clock, "2027-03-31T10:00:00Z")
	_, sub = api(t, "GET", "/v1/subscriptions/"+id, nil)
	if sub["status"] != "active" || sub["current_period_end"] != "2027-04-30T10:00:00Z" {
		t.Fatalf("after two renewals: %v", sub)
	}
	ins := subscriptionInvoices(t, id)
	if len(ins) != 3 || ins[0]["billing_reason"] != "subscription_create" {
		t.Fatalf("invoices: %v", ins)
	}
	for i, start := range []string{"2027-02-28T10:00:00Z", "2027-03-31T10:00:00Z"} {
		in := ins[i+1]
		if in["status"] != "paid" || in["period_start"] != start || in["amount_total"] != 900.0 {
			t.Fatalf("renewal %d: %v", i+1, in)
		}
		status, p := api(t, "GET", fmt.Sprintf("/v1/payments/%s", in["payment"]), nil)
		if status != http.StatusOK || p["status"] != "succeeded" || p["amount"] != 900.0 || p["currency"] != "EUR" ||
			p["invoice"] != in["id"] || p["checkout_session"] != "" {
			t.Fatalf("renewal %d payment: %d %v", i+1, status, p)
		}
	}
	// The merchant is told, by signed webhooks carrying the whole objects.
	ofSub := func(typ, field string) int {
		n := 0
		for _, e := range r.accepted(t, secret, typ) {
			if e["data"].(map[string]any)["object"].(map[string]any)[field] == id {
				n++
			}
		}
		return n
	}
	eventually(t, "the subscription's webhooks", 30*time.Second, func() bool {
		return ofSub("customer.subscription.created", "id") == 1 && ofSub("invoice.paid", "subscription") == 3
	})
}

// TestSubscriptionDunningThroughTheStack: 4000 0000 0000 0341 pays the
// checkout but declines off-session, so the renewal fails (past_due) and,
// after the last retry, the subscription is canceled.
func TestSubscriptionDunningThroughTheStack(t *testing.T) {
	clock, _, sub := clockCheckout(t, "2027-05-10T08:00:00Z", provider.TestCardOffSessionDeclined)
	id := sub["id"].(string)
	advanceClock(t, clock, "2027-06-10T08:00:00Z")
	_, sub = api(t, "GET", "/v1/subscriptions/"+id, nil)
	in := subscriptionInvoices(t, id)[1]
	if sub["status"] != "past_due" || in["status"] != "open" || in["attempt_count"] != 1.0 || in["next_payment_attempt"] != "2027-06-11T08:00:00Z" {
		t.Fatalf("past due: %v %v", sub, in)
	}
	advanceClock(t, clock, "2027-06-16T08:00:00Z")
	_, sub = api(t, "GET", "/v1/subscriptions/"+id, nil)
	in = subscriptionInvoices(t, id)[1]
	if sub["status"] != "canceled" || in["status"] != "uncollectible" || in["attempt_count"] != 4.0 {
		t.Fatalf("after the last retry: %v %v", sub, in)
	}
}

// TestSubscriptionTrialThroughTheStack: a trial-only subscription checkout
// asks nothing today: the hosted page takes the card, the runtime saves it
// without a payment, and the session is paid with amount_total 0; the
// subscription is trialing and the first charge, off-session with the
// saved card, is at the trial's end.
func TestSubscriptionTrialThroughTheStack(t *testing.T) {
	prod := created(t, "/v1/products", map[string]any{"name": "Trial club"})
	price := created(t, "/v1/prices", map[string]any{"product": prod["id"], "currency": "EUR", "unit_amount": 1200,
		"recurring": map[string]any{"interval": "month"}})
	clock := created(t, "/v1/test_helpers/test_clocks", map[string]any{"frozen_time": "2027-08-01T12:00:00Z"})["id"].(string)
	customer := created(t, "/v1/customers", map[string]any{"email": "trial@example.com", "test_clock": clock})["id"].(string)
	s := created(t, "/v1/checkout/sessions", map[string]any{"customer_id": customer,
		"line_items": []any{map[string]any{"price_id": price["id"], "quantity": 1}}, "subscription_data": map[string]any{"trial_period_days": 10},
		"success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart"})
	if s["amount_total"] != 0.0 {
		t.Fatalf("trial session: %v", s)
	}
	payer := newBrowser()
	_, csrf := open(t, payer, s["url"].(string))
	resp, _, _ := post(t, payer, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), false)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "https://shop.example/thanks") {
		t.Fatalf("pay: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, paid := api(t, "GET", "/v1/checkout/sessions/"+s["id"].(string), nil)
	if paid["status"] != "complete" || paid["payment_status"] != "paid" || paid["payment"] != nil {
		t.Fatalf("session after the trial's checkout: %v", paid)
	}
	_, sub := api(t, "GET", "/v1/subscriptions/"+paid["subscription"].(string), nil)
	if sub["status"] != "trialing" || sub["trial_end"] != "2027-08-11T12:00:00Z" {
		t.Fatalf("subscription: %v", sub)
	}
	if _, list := api(t, "GET", "/v1/payments?limit=100", nil); strings.Contains(fmt.Sprint(list), s["id"].(string)) {
		t.Fatal("the trial's checkout made a payment")
	}
	advanceClock(t, clock, "2027-08-11T12:00:00Z")
	ins := subscriptionInvoices(t, sub["id"].(string))
	if len(ins) != 2 || ins[1]["status"] != "paid" || ins[1]["amount_total"] != 1200.0 || ins[1]["period_start"] != "2027-08-11T12:00:00Z" {
		t.Fatalf("invoices: %v", ins)
	}
	status, p := api(t, "GET", fmt.Sprintf("/v1/payments/%s", ins[1]["payment"]), nil)
	if status != http.StatusOK || p["status"] != "succeeded" || p["amount"] != 1200.0 {
		t.Fatalf("the first charge: %d %v", status, p)
	}
}
