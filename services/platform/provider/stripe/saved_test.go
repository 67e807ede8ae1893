package stripe

import (
	"context"
	"errors"
	"net/http"
	"testing"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// TestStripeMockSavesAndChargesOffSession: a subscription checkout's
// intent creates a Customer and asks for setup_future_usage=off_session; a
// renewal's is off_session and confirmed with the saved Customer and
// payment method. stripe-mock validates each request against Stripe's
// OpenAPI specification (200 = the shape is Stripe's).
func TestStripeMockSavesAndChargesOffSession(t *testing.T) {
	c, rec := mockClient(t)
	ctx := context.Background()
	in := testIntent()
	in.SaveForOffSession, in.Email = true, "ada@example.com"
	if _, err := c.Authorize(ctx, in); err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	rec.mu.Lock()
	customer, intent := rec.reqs[len(rec.reqs)-2], rec.reqs[len(rec.reqs)-1]
	rec.mu.Unlock()
	for _, s := range []sent{customer, intent} {
		wantCommon(t, s)
	}
	if customer.Method != http.MethodPost || customer.Path != "/v1/customers" || customer.Header.Get("Idempotency-Key") != "tillpoint-customer-pay_contract1" {
		t.Errorf("customer: %s %s %q", customer.Method, customer.Path, customer.Header.Get("Idempotency-Key"))
	}
	wantForm(t, customer, map[string]string{"email": "ada@example.com", "metadata[tillpoint_payment_id]": "pay_contract1"})
	if intent.Path != "/v1/payment_intents" || intent.Form.Get("customer") == "" {
		t.Errorf("intent: %s %v", intent.Path, intent.Form)
	}
	wantForm(t, intent, map[string]string{"setup_future_usage": "off_session", "capture_method": "manual", "confirm": "true",
		"confirmation_token": "ctoken_1Abc"})

	// stripe-mock answers its fixture intent (requires_payment_method): a decline.
	res, err := c.ChargeSaved(ctx, SavedCharge{PaymentID: "pay_renewal1", Amount: 1099, Currency: "EUR", Token: "cus_123/pm_456"})
	if err != nil {
		t.Fatalf("ChargeSaved: %v", err)
	}
	s := rec.last(t)
	wantCommon(t, s)
	if s.Method != http.MethodPost || s.Path != "/v1/payment_intents" || s.Header.Get("Idempotency-Key") != "tillpoint-authorize-pay_renewal1" {
		t.Errorf("ChargeSaved sent %s %s %q", s.Method, s.Path, s.Header.Get("Idempotency-Key"))
	}
	wantForm(t, s, map[string]string{"amount": "1099", "currency": "eur", "customer": "cus_123", "payment_method": "pm_456",
		"off_session": "true", "confirm": "true", "capture_method": "manual", "metadata[tillpoint_payment_id]": "pay_renewal1"})
	if s.Form.Has("confirmation_token") || s.Form.Has("setup_future_usage") || s.Form.Has("return_url") {
		t.Errorf("an off-session charge sent on-session parameters: %v", s.Form)
	}
	if res.Outcome != provider.Declined || res.IntentID == "" {
		t.Errorf("ChargeSaved = %+v, want the fixture's intent, declined", res)
	}

	n := rec.count()
	for _, bad := range []SavedCharge{
		{PaymentID: "pay_1", Amount: 1, Currency: "EUR", Token: "pm_456"},
		{PaymentID: "pay_1", Amount: 1, Currency: "EUR", Token: "cus_123/card_1"},
		{PaymentID: "pay_1", Amount: 1, Currency: "EUR", Token: "cus_123/pm_456", Livemode: true},
	} {
		if _, err := c.ChargeSaved(ctx, bad); !errors.Is(err, provider.ErrInvalidRequest) {
			t.Errorf("ChargeSaved(%+v) = %v, want ErrInvalidRequest", bad, err)
		}
	}
	if rec.count() != n {
		t.Error("a refused charge reached Stripe")
	}
}

// TestSavedTokenOfAnAuthorisedIntent: the token is the intent's Customer and
// payment method, for an authorised intent that asked to save the card
// (now or after Resume), and nothing without both.
func TestSavedTokenOfAnAuthorisedIntent(t *testing.T) {
	c := &Client{}
	pi := &stripeapi.PaymentIntent{ID: "pi_1", Status: stripeapi.PaymentIntentStatusRequiresCapture, Amount: 1099, Currency: "eur",
		SetupFutureUsage: stripeapi.PaymentIntentSetupFutureUsageOffSession,
		Customer:         &stripeapi.Customer{ID: "cus_1"}, PaymentMethod: &stripeapi.PaymentMethod{ID: "pm_1"}}
	if res, err := c.result(pi); err != nil || res.Outcome != provider.Authorized || res.SavedToken != "cus_1/pm_1" {
		t.Fatalf("authorised: %+v %v", res, err)
	}
	pi.SetupFutureUsage = ""
	if res, err := c.result(pi); err != nil || res.SavedToken != "" {
		t.Fatalf("not asked to save: %+v %v", res, err)
	}
	if got := savedToken(pi); got != "cus_1/pm_1" {
		t.Fatalf("token %q", got)
	}
	if cus, pm, err := parseSavedToken(savedToken(pi)); err != nil || cus != "cus_1" || pm != "pm_1" {
		t.Fatalf("parse: %q %q %v", cus, pm, err)
	}
	pi.Customer = nil
	if got := savedToken(pi); got != "" {
		t.Fatalf("token without a customer: %q", got)
	}
}
