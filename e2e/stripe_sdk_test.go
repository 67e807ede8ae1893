package e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v82"
	stripesession "github.com/stripe/stripe-go/v82/checkout/session"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// useStripeGo points stripe-go's global client, as a merchant's existing
// integration sets it up, at the stack: stripe.Key and the API backend's
// URL are the only changes (the HTTP client only dials *.localhost on
// loopback, which Go's resolver does not).
// It returns the number of requests stripe-go has made.
func useStripeGo(t *testing.T) *atomic.Int64 {
	t.Helper()
	counting := &countingTransport{base: merchant.Transport}
	client := &http.Client{Transport: counting, Timeout: merchant.Timeout}
	stripe.Key = sys.SecretKey
	stripe.SetBackend(stripe.APIBackend, stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL: stripe.String(sys.AdminAPIURL), HTTPClient: client, MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}))
	t.Cleanup(func() { stripe.Key = ""; stripe.SetBackend(stripe.APIBackend, nil) })
	return &counting.n
}

// countingTransport counts the requests it carries.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// teaSession is a Stripe creation of 3 × €4.50 + €12.99.
func teaSession() *stripe.CheckoutSessionParams {
	line := func(name string, amount, qty int64) *stripe.CheckoutSessionLineItemParams {
		return &stripe.CheckoutSessionLineItemParams{Quantity: stripe.Int64(qty), PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
			Currency: stripe.String(string(stripe.CurrencyEUR)), UnitAmount: stripe.Int64(amount),
			ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(name)}}}
	}
	p := &stripe.CheckoutSessionParams{
		Mode:               stripe.String(string(stripe.CheckoutSessionModePayment)),
		LineItems:          []*stripe.CheckoutSessionLineItemParams{line("Tea", 450, 3), line("Cup", 1299, 1)},
		SuccessURL:         stripe.String("https://shop.example/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:          stripe.String("https://shop.example/cart"),
		CustomerEmail:      stripe.String("ada@example.com"),
		ClientReferenceID:  stripe.String("cart_42"),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Locale:             stripe.String("en"),
		ExpiresAt:          stripe.Int64(time.Now().Add(time.Hour).Unix()),
	}
	p.AddMetadata("order", "42")
	return p
}

// TestStripeGoCheckoutSessions: stripe-go, unmodified, creates, retrieves,
// lists with auto-pagination over several pages and expires sessions.
func TestStripeGoCheckoutSessions(t *testing.T) {
	requests := useStripeGo(t)
	start := time.Now().Unix() - 1
	params := teaSession()
	params.AddExpand("line_items")
	cs, err := stripesession.New(params)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if cs.AmountTotal != 2649 || cs.Currency != stripe.CurrencyEUR || cs.Status != stripe.CheckoutSessionStatusOpen ||
		cs.PaymentStatus != stripe.CheckoutSessionPaymentStatusUnpaid || cs.ClientReferenceID != "cart_42" || cs.URL == "" ||
		cs.Metadata["order"] != "42" || cs.ExpiresAt != *params.ExpiresAt || cs.LineItems == nil || len(cs.LineItems.Data) != 2 ||
		cs.LineItems.Data[1].Description != "Cup" || cs.LineItems.Data[1].AmountTotal != 1299 {
		t.Fatalf("created: %+v", cs)
	}
	got, err := stripesession.Get(cs.ID, nil)
	if err != nil || got.ID != cs.ID || got.AmountSubtotal != 2649 || got.CustomerEmail != "ada@example.com" {
		t.Fatalf("retrieve: %v %+v", err, got)
	}

	created := map[string]bool{cs.ID: true}
	for range 4 {
		s, err := stripesession.New(teaSession())
		if err != nil {
			t.Fatal(err)
		}
		created[s.ID] = true
	}
	// This test's sessions (not the many of earlier tests), two to a page.
	lp := &stripe.CheckoutSessionListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: start}}
	lp.Limit = stripe.Int64(2)
	before := requests.Load()
	seen := map[string]bool{}
	it := stripesession.List(lp)
	for it.Next() {
		s := it.CheckoutSession()
		if seen[s.ID] {
			t.Fatalf("%s listed twice", s.ID)
		}
		seen[s.ID] = true
	}
	if err := it.Err(); err != nil {
		t.Fatalf("list: %v", err)
	}
	for id := range created {
		if !seen[id] {
			t.Fatalf("auto-pagination missed %s (saw %d sessions)", id, len(seen))
		}
	}
	// Sessions of other tests made in the same second may be listed too.
	if pages, want := requests.Load()-before, int64(len(seen)+1)/2; pages != want {
		t.Fatalf("%d pages for %d sessions, two to a page; want %d", pages, len(seen), want)
	}

	expired, err := stripesession.Expire(cs.ID, nil)
	if err != nil || expired.Status != stripe.CheckoutSessionStatusExpired || expired.URL != "" {
		t.Fatalf("expire: %v %+v", err, expired)
	}
}

// TestStripeGoBadInput: refused input comes back as stripe-go's own error
// type, with Stripe's status, type and parameter.
func TestStripeGoBadInput(t *testing.T) {
	useStripeGo(t)
	for param, change := range map[string]func(*stripe.CheckoutSessionParams){
		"mode":                                   func(p *stripe.CheckoutSessionParams) { p.Mode = stripe.String("subscription") },
		"line_items[1][price_data][unit_amount]": func(p *stripe.CheckoutSessionParams) { p.LineItems[1].PriceData.UnitAmount = stripe.Int64(-5) },
		"success_url":                            func(p *stripe.CheckoutSessionParams) { p.SuccessURL = stripe.String("not a url") },
		// Checked as the JSON API checks it, before the core is called.
		"Idempotency-Key": func(p *stripe.CheckoutSessionParams) { p.IdempotencyKey = stripe.String("clé-1") },
	} {
		p := teaSession()
		change(p)
		_, err := stripesession.New(p)
		var se *stripe.Error
		if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusBadRequest || se.Type != stripe.ErrorTypeInvalidRequest || se.Param != param {
			t.Errorf("%s: %v", param, err)
		}
	}
	// An unknown catalog price is not found, named as sent.
	p := teaSession()
	p.LineItems[0].PriceData, p.LineItems[0].Price = nil, stripe.String("price_1")
	_, err := stripesession.New(p)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusNotFound || se.Param != "line_items[0][price]" {
		t.Errorf("unknown price: %v", err)
	}
}

// payStripeSession pays a session made through stripe-go on the hosted
// page, as the payer's browser does.
func payStripeSession(t *testing.T, cs *stripe.CheckoutSession) {
	t.Helper()
	c := newBrowser()
	_, csrf := open(t, c, cs.URL)
	if _, out, _ := post(t, c, cs.URL+"/pay", cardForm(csrf, provider.TestCardSuccess), true); out["status"] != "succeeded" {
		t.Fatalf("pay: %v", out)
	}
}

// stripeDelivery pays a session created through stripe-go on a fresh
// Stripe-format endpoint and returns its checkout.session.completed
// delivery (body and Stripe-Signature header), the endpoint's secret and
// the session.
func stripeDelivery(t *testing.T) (body []byte, signature, secret string, cs *stripe.CheckoutSession) {
	t.Helper()
	useStripeGo(t)
	r := newReceiver(t, 0)
	status, ep := api(t, "POST", "/v1/webhook_endpoints", map[string]any{"url": r.srv.URL + "/stripe",
		"signature_format": "stripe", "api_version": stripe.APIVersion})
	if status != http.StatusCreated || ep["signature_format"] != "stripe" || ep["api_version"] != stripe.APIVersion {
		t.Fatalf("create endpoint: %d %v", status, ep)
	}
	t.Cleanup(func() { api(t, "DELETE", "/v1/webhook_endpoints/"+ep["id"].(string), nil) })
	cs, err := stripesession.New(teaSession())
	if err != nil {
		t.Fatal(err)
	}
	payStripeSession(t, cs)
	eventually(t, "the Stripe-format checkout.session.completed to arrive", 30*time.Second, func() bool {
		for _, d := range r.deliveries() {
			var ev struct {
				Type string `json:"type"`
				Data struct {
					Object struct {
						ID string `json:"id"`
					} `json:"object"`
				} `json:"data"`
			}
			if json.Unmarshal(d.body, &ev) == nil && ev.Type == "checkout.session.completed" && ev.Data.Object.ID == cs.ID {
				body, signature = d.body, d.header.Get("Stripe-Signature")
				return true
			}
		}
		return false
	})
	return body, signature, ep["secret"].(string), cs
}

// TestStripeGoVerifiesWebhooks: a session made with stripe-go and paid on
// the hosted page is reported to a Stripe-format endpoint by an event that
// stripe-go's webhook.ConstructEvent verifies and decodes.
func TestStripeGoVerifiesWebhooks(t *testing.T) {
	body, signature, secret, cs := stripeDelivery(t)
	ev, err := webhook.ConstructEvent(body, signature, secret)
	if err != nil {
		t.Fatalf("ConstructEvent: %v\n%s", err, body)
	}
	var paid stripe.CheckoutSession
	if err := json.Unmarshal(ev.Data.Raw, &paid); err != nil {
		t.Fatal(err)
	}
	if ev.Type != stripe.EventTypeCheckoutSessionCompleted || ev.Livemode || paid.ID != cs.ID ||
		paid.Status != stripe.CheckoutSessionStatusComplete || paid.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid ||
		paid.PaymentIntent == nil || paid.AmountTotal != 2649 || paid.ClientReferenceID != "cart_42" || paid.Metadata["order"] != "42" {
		t.Fatalf("event %+v with session %+v", ev, paid)
	}
	// The SDK reads the same session back, paid, with its payment.
	got, err := stripesession.Get(cs.ID, nil)
	if err != nil || got.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid || got.PaymentIntent.ID != paid.PaymentIntent.ID {
		t.Fatalf("retrieve paid: %v %+v", err, got)
	}
	if _, err := webhook.ConstructEvent(body, signature, "whsec_not_the_secret"); err == nil {
		t.Fatal("another secret verifies")
	}
}

// TestStripeFormatEndpointValidation: a Stripe-format endpoint takes only
// the events Stripe has a shape for, and a well-formed api_version.
func TestStripeFormatEndpointValidation(t *testing.T) {
	for _, tc := range []struct {
		body  map[string]any
		param string
	}{
		{map[string]any{"url": "https://shop.example/h", "signature_format": "stripe", "enabled_events": []string{"payment.succeeded"}}, "enabled_events[0]"},
		{map[string]any{"url": "https://shop.example/h", "signature_format": "stripe", "enabled_events": []string{"*"}}, "enabled_events[0]"},
		{map[string]any{"url": "https://shop.example/h", "signature_format": "stripe", "api_version": "basil"}, "api_version"},
		{map[string]any{"url": "https://shop.example/h", "api_version": stripe.APIVersion}, "api_version"},
		{map[string]any{"url": "https://shop.example/h", "signature_format": "svix"}, "signature_format"},
	} {
		status, out := api(t, "POST", "/v1/webhook_endpoints", tc.body)
		wantAPIError(t, "create endpoint", status, out, http.StatusBadRequest, tc.param, "parameter_invalid")
	}
}

// TestStripeGoVerifiesSubscriptionWebhooks: a Stripe-format endpoint (its
// default events) gets a subscription checkout's customer.subscription.created
// and invoice.paid in Stripe's shapes: stripe-go verifies them and decodes
// them into stripe.Subscription and stripe.Invoice.
func TestStripeGoVerifiesSubscriptionWebhooks(t *testing.T) {
	r := newReceiver(t, 0)
	status, ep := api(t, "POST", "/v1/webhook_endpoints", map[string]any{"url": r.srv.URL + "/stripe-billing",
		"signature_format": "stripe", "api_version": stripe.APIVersion})
	if status != http.StatusCreated {
		t.Fatalf("create endpoint: %d %v", status, ep)
	}
	t.Cleanup(func() { api(t, "DELETE", "/v1/webhook_endpoints/"+ep["id"].(string), nil) })
	_, customer, sub := clockCheckout(t, "2027-09-01T09:00:00Z", provider.TestCardSuccess)
	var (
		created stripe.Subscription
		paid    stripe.Invoice
	)
	eventually(t, "the Stripe-format subscription and invoice events", 30*time.Second, func() bool {
		for _, d := range r.deliveries() {
			ev, err := webhook.ConstructEvent(d.body, d.header.Get("Stripe-Signature"), ep["secret"].(string))
			if err != nil {
				continue
			}
			switch ev.Type {
			case stripe.EventTypeCustomerSubscriptionCreated:
				var s stripe.Subscription
				if json.Unmarshal(ev.Data.Raw, &s) == nil && s.ID == sub["id"] {
					created = s
				}
			case stripe.EventTypeInvoicePaid:
				var in stripe.Invoice
				if json.Unmarshal(ev.Data.Raw, &in) == nil && in.Parent != nil && in.Parent.SubscriptionDetails.Subscription.ID == sub["id"] {
					paid = in
				}
			}
		}
		return created.ID != "" && paid.ID != ""
	})
	if created.Customer.ID != customer || created.Status != stripe.SubscriptionStatusActive || len(created.Items.Data) != 1 ||
		created.Items.Data[0].Price.UnitAmount != 900 || created.Items.Data[0].CurrentPeriodEnd != created.StartDate+30*24*3600 {
		t.Fatalf("subscription %+v", created)
	}
	if paid.Status != stripe.InvoiceStatusPaid || paid.AmountPaid != 900 || paid.Currency != stripe.CurrencyEUR || paid.Customer.ID != customer {
		t.Fatalf("invoice %+v", paid)
	}
}
