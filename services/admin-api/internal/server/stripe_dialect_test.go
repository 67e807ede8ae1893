package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v82"
)

// stripeClient is stripe-go, unmodified, with its API base set to e's.
func (e *env) stripeClient(key string) *stripe.Client {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL: stripe.String(e.url), MaxNetworkRetries: stripe.Int64(0), LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})
	return stripe.NewClient(key, stripe.WithBackends(&stripe.Backends{API: backend, Connect: backend, Uploads: backend, MeterEvents: backend}))
}

func stripeSessionParams() *stripe.CheckoutSessionCreateParams {
	p := &stripe.CheckoutSessionCreateParams{
		Mode:       stripe.String("payment"),
		SuccessURL: stripe.String("https://shop.example/ok?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:  stripe.String("https://shop.example/cart"),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency: stripe.String("eur"), UnitAmount: stripe.Int64(450),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("Tea")},
			},
			Quantity: stripe.Int64(3),
		}},
		CustomerEmail:      stripe.String("ada@example.com"),
		ClientReferenceID:  stripe.String("cart_9"),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		Locale:             stripe.String("fr"),
		ExpiresAt:          stripe.Int64(time.Now().Add(2 * time.Hour).Unix()),
	}
	p.AddMetadata("order", "1234")
	return p
}

// TestStripeDialectWithStripeGo drives the dialect with stripe-go itself:
// create (no site given: the default site), retrieve with expanded line
// items, list with auto-pagination, list line items, expire.
func TestStripeDialectWithStripeGo(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc := e.stripeClient(e.keyA)
	params := stripeSessionParams()
	params.AddExpand("line_items")
	params.SetIdempotencyKey("stripe-create-1")
	cs, err := sc.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(cs.ID, "cs_") || cs.Object != "checkout.session" || cs.AmountTotal != 1350 || cs.AmountSubtotal != 1350 ||
		cs.Currency != stripe.CurrencyEUR || cs.Status != stripe.CheckoutSessionStatusOpen || cs.PaymentStatus != stripe.CheckoutSessionPaymentStatusUnpaid ||
		cs.ClientReferenceID != "cart_9" || cs.CustomerEmail != "ada@example.com" || cs.Metadata["order"] != "1234" ||
		cs.Mode != stripe.CheckoutSessionModePayment || cs.URL != checkoutBase+"/checkout/"+cs.ID || cs.Livemode || cs.Locale != "fr" ||
		cs.ExpiresAt != *params.ExpiresAt || cs.Created == 0 || cs.PaymentIntent != nil {
		t.Fatalf("created session: %+v", cs)
	}
	if cs.LineItems == nil || len(cs.LineItems.Data) != 1 || cs.LineItems.Data[0].Description != "Tea" || cs.LineItems.Data[0].Quantity != 3 ||
		cs.LineItems.Data[0].Price.UnitAmount != 450 {
		t.Fatalf("expanded line items: %+v", cs.LineItems)
	}
	// It is the core's session, on the default site, with the same values.
	status, own := e.do("GET", "/v1/checkout/sessions/"+cs.ID, e.keyA, nil)
	if status != http.StatusOK || own["site_id"] != e.siteA || own["client_reference_id"] != "cart_9" || own["currency"] != "EUR" {
		t.Fatalf("own API: %d %v", status, own)
	}
	// Idempotency-Key is the core's: the same key replays the same session.
	again, err := sc.V1CheckoutSessions.Create(ctx, params)
	if err != nil || again.ID != cs.ID || again.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %v %+v", err, again)
	}

	got, err := sc.V1CheckoutSessions.Retrieve(ctx, cs.ID, &stripe.CheckoutSessionRetrieveParams{})
	if err != nil || got.ID != cs.ID || got.LineItems != nil || got.AmountTotal != 1350 {
		t.Fatalf("retrieve: %v %+v", err, got)
	}

	// Five more sessions; pages of two.
	ids := map[string]bool{cs.ID: true}
	for range 5 {
		s, err := sc.V1CheckoutSessions.Create(ctx, stripeSessionParams())
		if err != nil {
			t.Fatal(err)
		}
		ids[s.ID] = true
	}
	listParams := &stripe.CheckoutSessionListParams{}
	listParams.Limit = stripe.Int64(2)
	seen := map[string]bool{}
	for s, err := range sc.V1CheckoutSessions.List(ctx, listParams) {
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if seen[s.ID] {
			t.Fatalf("list returned %s twice", s.ID)
		}
		seen[s.ID] = true
	}
	if len(seen) != len(ids) {
		t.Fatalf("auto-pagination saw %d sessions, want %d", len(seen), len(ids))
	}

	var lines []*stripe.LineItem
	for li, err := range sc.V1CheckoutSessions.ListLineItems(ctx, &stripe.CheckoutSessionListLineItemsParams{Session: stripe.String(cs.ID)}) {
		if err != nil {
			t.Fatalf("list line items: %v", err)
		}
		lines = append(lines, li)
	}
	if len(lines) != 1 || lines[0].AmountTotal != 1350 {
		t.Fatalf("line items: %+v", lines)
	}

	expired, err := sc.V1CheckoutSessions.Expire(ctx, cs.ID, &stripe.CheckoutSessionExpireParams{})
	if err != nil || expired.Status != stripe.CheckoutSessionStatusExpired || expired.URL != "" {
		t.Fatalf("expire: %v %+v", err, expired)
	}
	_, err = sc.V1CheckoutSessions.Expire(ctx, cs.ID, &stripe.CheckoutSessionExpireParams{})
	if se := stripeError(t, err); se.HTTPStatusCode != http.StatusBadRequest || se.Type != stripe.ErrorTypeInvalidRequest {
		t.Fatalf("second expire: %+v", se)
	}
}

func stripeError(t *testing.T, err error) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *stripe.Error", err)
	}
	return se
}

// TestStripeDialectErrors: bad input gets Stripe's error shape with the
// parameter in Stripe's names, through stripe-go's own error type.
func TestStripeDialectErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sc := e.stripeClient(e.keyA)
	for _, tc := range []struct {
		name   string
		change func(*stripe.CheckoutSessionCreateParams)
		status int
		param  string
	}{
		// Refused by the translation.
		{"subscription", func(p *stripe.CheckoutSessionCreateParams) { p.Mode = stripe.String("subscription") }, 400, "mode"},
		// Refused by the catalog, named as sent.
		{"unknown catalog price", func(p *stripe.CheckoutSessionCreateParams) {
			p.LineItems[0].PriceData, p.LineItems[0].Price = nil, stripe.String("price_123")
		}, 404, "line_items[0][price]"},
		{"unknown customer", func(p *stripe.CheckoutSessionCreateParams) { p.Customer = stripe.String("cus_123") }, 404, "customer"},
		// Refused by the core, named in Stripe's terms.
		{"unknown coupon", func(p *stripe.CheckoutSessionCreateParams) {
			p.Discounts = []*stripe.CheckoutSessionCreateDiscountParams{{Coupon: stripe.String("nope")}}
		}, 400, "discounts[0][coupon]"},
		{"negative amount", func(p *stripe.CheckoutSessionCreateParams) { p.LineItems[0].PriceData.UnitAmount = stripe.Int64(-1) }, 400,
			"line_items[0][price_data][unit_amount]"},
		{"no name", func(p *stripe.CheckoutSessionCreateParams) {
			p.LineItems[0].PriceData.ProductData.Name = stripe.String(" ")
		}, 400,
			"line_items[0][price_data][product_data][name]"},
		{"bad currency", func(p *stripe.CheckoutSessionCreateParams) { p.LineItems[0].PriceData.Currency = stripe.String("xyz") }, 400,
			"line_items[0][price_data][currency]"},
		{"bad email", func(p *stripe.CheckoutSessionCreateParams) { p.CustomerEmail = stripe.String("nope") }, 400, "customer_email"},
		{"long reference", func(p *stripe.CheckoutSessionCreateParams) {
			p.ClientReferenceID = stripe.String(strings.Repeat("x", 201))
		}, 400,
			"client_reference_id"},
		{"unknown method", func(p *stripe.CheckoutSessionCreateParams) {
			p.PaymentMethodTypes = stripe.StringSlice([]string{"ideal"})
		}, 400,
			"payment_method_types[0]"},
	} {
		p := stripeSessionParams()
		tc.change(p)
		_, err := sc.V1CheckoutSessions.Create(ctx, p)
		se := stripeError(t, err)
		if se.HTTPStatusCode != tc.status || se.Param != tc.param || se.Type != stripe.ErrorTypeInvalidRequest || se.Msg == "" {
			t.Errorf("%s: %d %s %q %q, want %d about %s", tc.name, se.HTTPStatusCode, se.Type, se.Param, se.Msg, tc.status, tc.param)
		}
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Errorf("%d sessions written by refused requests", n)
	}
	_, err := sc.V1CheckoutSessions.Retrieve(ctx, "cs_nope", nil)
	if se := stripeError(t, err); se.HTTPStatusCode != http.StatusNotFound || se.Code != stripe.ErrorCodeResourceMissing {
		t.Errorf("retrieve unknown: %+v", se)
	}
	// Another organization's key sees nothing.
	cs, err := sc.V1CheckoutSessions.Create(ctx, stripeSessionParams())
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.stripeClient(e.keyB).V1CheckoutSessions.Retrieve(ctx, cs.ID, nil)
	if se := stripeError(t, err); se.HTTPStatusCode != http.StatusNotFound {
		t.Errorf("other org: %+v", se)
	}
	// Org B has no site to default to.
	_, err = e.stripeClient(e.keyB).V1CheckoutSessions.Create(ctx, stripeSessionParams())
	if se := stripeError(t, err); se.HTTPStatusCode != http.StatusBadRequest || se.Param != "site_id" {
		t.Errorf("no default site: %+v", se)
	}
	_, err = e.stripeClient("sk_test_wrong").V1CheckoutSessions.Retrieve(ctx, cs.ID, nil)
	if se := stripeError(t, err); se.HTTPStatusCode != http.StatusUnauthorized || se.Type != "authentication_error" {
		t.Errorf("bad key: %+v", se)
	}
}

// TestStripeDialectRule: the header chooses the dialect; without it the
// same path speaks Tillpoint's JSON, as before.
func TestStripeDialectRule(t *testing.T) {
	e := newEnv(t)
	form := "mode=payment&line_items[0][price_data][currency]=eur&line_items[0][price_data][unit_amount]=450" +
		"&line_items[0][price_data][product_data][name]=Tea&line_items[0][quantity]=3"
	resp := e.raw("POST", "/v1/checkout/sessions", e.keyA, form, "Content-Type", "application/x-www-form-urlencoded", "Stripe-Version", "2025-08-27.basil")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("form body with Stripe-Version: %d", resp.StatusCode)
	}
	status, body := e.do("POST", "/v1/checkout/sessions", e.keyA, form, "Content-Type", "application/x-www-form-urlencoded")
	if status != http.StatusBadRequest {
		t.Fatalf("form body without Stripe-Version: %d %v", status, body)
	}
	// Tillpoint's JSON, unchanged (without site_id: the default site).
	status, body = e.do("POST", "/v1/checkout/sessions", e.keyA, validSession())
	if status != http.StatusCreated || body["object"] != "checkout.session" || body["site_id"] != e.siteA || body["currency"] != "EUR" {
		t.Fatalf("JSON body without Stripe-Version: %d %v", status, body)
	}
	// JSON with Stripe-Version is refused, naming the rule.
	status, body = e.do("POST", "/v1/checkout/sessions", e.keyA, validSession(), "Stripe-Version", "2025-08-27.basil")
	if _, _, code := apiError(body); status != http.StatusBadRequest || code != "content_type_invalid" {
		t.Fatalf("JSON with Stripe-Version: %d %v", status, body)
	}
	// Routes the dialect lacks answer 404 in Stripe's shape.
	status, body = e.do("GET", "/v1/customers", e.keyA, nil, "Stripe-Version", "2025-08-27.basil")
	if _, typ, code := apiError(body); status != http.StatusNotFound || typ != "invalid_request_error" || code != "route_not_found" {
		t.Fatalf("unsupported route: %d %v", status, body)
	}
	// Stripe's curl examples: the key as the Basic user name.
	req, _ := http.NewRequest("GET", e.url+"/v1/checkout/sessions?limit=1", nil)
	req.SetBasicAuth(e.keyA, "")
	req.Header.Set("Stripe-Version", "2025-08-27.basil")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("basic auth: %d", resp.StatusCode)
	}
}
