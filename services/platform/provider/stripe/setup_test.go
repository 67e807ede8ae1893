package stripe

import (
	"context"
	"errors"
	"net/http"
	"testing"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

func testSetup() Setup {
	return Setup{SetupID: "setup_contract1", ConfirmationToken: "ctoken_1Abc", Email: "ada@example.com",
		ReturnURL: "https://secure.example.com/checkout/cs_1/return?payment_id=setup_contract1"}
}

// TestStripeMockSetsUpACard: a trial's card is saved by a Customer and a
// SetupIntent confirmed with the page's ConfirmationToken, off-session
// usage, cards only; the resume reads the SetupIntent with its payment
// method. stripe-mock validates each request against Stripe's OpenAPI
// specification (200 = the shape is Stripe's).
func TestStripeMockSetsUpACard(t *testing.T) {
	c, rec := mockClient(t)
	ctx := context.Background()
	res, err := c.SetupCard(ctx, testSetup())
	if err != nil {
		t.Fatalf("SetupCard: %v", err)
	}
	rec.mu.Lock()
	customer, setup := rec.reqs[len(rec.reqs)-2], rec.reqs[len(rec.reqs)-1]
	rec.mu.Unlock()
	for _, s := range []sent{customer, setup} {
		wantCommon(t, s)
	}
	if customer.Method != http.MethodPost || customer.Path != "/v1/customers" || customer.Header.Get("Idempotency-Key") != "tillpoint-customer-setup_contract1" {
		t.Errorf("customer: %s %s %q", customer.Method, customer.Path, customer.Header.Get("Idempotency-Key"))
	}
	wantForm(t, customer, map[string]string{"email": "ada@example.com", "metadata[tillpoint_setup_id]": "setup_contract1"})
	if setup.Method != http.MethodPost || setup.Path != "/v1/setup_intents" || setup.Header.Get("Idempotency-Key") != "tillpoint-setup-setup_contract1" {
		t.Errorf("setup intent: %s %s %q", setup.Method, setup.Path, setup.Header.Get("Idempotency-Key"))
	}
	if setup.Form.Get("customer") == "" || setup.Form.Has("amount") || setup.Form.Has("capture_method") {
		t.Errorf("setup intent form: %v", setup.Form)
	}
	wantForm(t, setup, map[string]string{"usage": "off_session", "confirm": "true", "confirmation_token": "ctoken_1Abc",
		"payment_method_types[0]": "card", "return_url": testSetup().ReturnURL,
		"metadata[tillpoint_setup_id]": "setup_contract1", "expand[0]": "payment_method"})
	// stripe-mock answers its fixture (requires_payment_method): a decline.
	if res.IntentID == "" || res.Outcome != provider.Declined || res.SavedToken != "" {
		t.Errorf("SetupCard = %+v, want the fixture's setup intent, declined", res)
	}

	if _, err := c.ResumeSetup(ctx, "seti_contract1"); err != nil {
		t.Fatalf("ResumeSetup: %v", err)
	}
	s := rec.last(t)
	wantCommon(t, s)
	if s.Method != http.MethodGet || s.Path != "/v1/setup_intents/seti_contract1" || s.Query.Get("expand[0]") != "payment_method" {
		t.Errorf("ResumeSetup sent %s %s?%s", s.Method, s.Path, s.Query.Encode())
	}

	// The adapter resumes a SetupIntent by its id, a PaymentIntent by its.
	a := &Adapter{c: c}
	if _, err := a.Resume(ctx, "seti_contract2"); err != nil || rec.last(t).Path != "/v1/setup_intents/seti_contract2" {
		t.Errorf("adapter resume of a setup intent: %v, sent %s", err, rec.last(t).Path)
	}
	if _, err := a.Resume(ctx, "pi_contract2"); err != nil || rec.last(t).Path != "/v1/payment_intents/pi_contract2" {
		t.Errorf("adapter resume of a payment intent: %v, sent %s", err, rec.last(t).Path)
	}
}

// TestSetupRefusedBeforeSending: a setup no Stripe account could take, or
// card data, is refused before anything is sent; Stripe refusing a
// parameter is ErrInvalidRequest, not retryable.
func TestSetupRefusedBeforeSending(t *testing.T) {
	c, rec := mockClient(t)
	ctx := context.Background()
	for name, edit := range map[string]func(*Setup){
		"no setup id":       func(s *Setup) { s.SetupID = "" },
		"payment method id": func(s *Setup) { s.ConfirmationToken = "pm_card_visa" },
		"live setup":        func(s *Setup) { s.Livemode = true },
		"relative return":   func(s *Setup) { s.ReturnURL = "/checkout/cs_1" },
	} {
		in := testSetup()
		edit(&in)
		if _, err := c.SetupCard(ctx, in); !errors.Is(err, provider.ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
	if _, err := c.ResumeSetup(ctx, "pi_1"); !errors.Is(err, provider.ErrInvalidRequest) {
		t.Errorf("resume of a payment intent id as a setup: %v", err)
	}
	a := &Adapter{c: c}
	if _, err := a.SetupCard(ctx, provider.SetupRequest{SetupID: "setup_1", Card: &provider.Card{Number: "4242424242424242"}}); !errors.Is(err, provider.ErrInvalidRequest) {
		t.Errorf("card data: %v", err)
	}
	if n := rec.count(); n != 0 {
		t.Fatalf("%d requests were sent", n)
	}
	c.params = func(p *stripeapi.Params) { p.AddExtra("not_a_stripe_parameter", "1") }
	if _, err := c.ResumeSetup(ctx, "seti_1"); !errors.Is(err, provider.ErrInvalidRequest) || Retryable(err) || rec.last(t).Status != http.StatusBadRequest {
		t.Errorf("refused parameter: %v, stripe-mock %d", err, rec.last(t).Status)
	}
}

// TestSetupIntentOutcomes maps each SetupIntent status the flow meets.
func TestSetupIntentOutcomes(t *testing.T) {
	c := &Client{}
	visa := &stripeapi.PaymentMethod{ID: "pm_1", Card: &stripeapi.PaymentMethodCard{Brand: "visa", Last4: "3155"}}
	res, err := c.setupResult(&stripeapi.SetupIntent{ID: "seti_1", Status: stripeapi.SetupIntentStatusSucceeded,
		Customer: &stripeapi.Customer{ID: "cus_1"}, PaymentMethod: visa})
	if err != nil || res.Outcome != provider.Authorized || res.SavedToken != "cus_1/pm_1" || res.IntentID != "seti_1" || res.Last4 != "3155" {
		t.Errorf("succeeded: %+v %v", res, err)
	}
	res, err = c.setupResult(&stripeapi.SetupIntent{ID: "seti_2", Status: stripeapi.SetupIntentStatusRequiresAction, ClientSecret: "seti_2_secret_x"})
	if err != nil || res.Outcome != provider.ChallengeRequired || res.ClientSecret != "seti_2_secret_x" || res.SavedToken != "" {
		t.Errorf("requires_action: %+v %v", res, err)
	}
	res, err = c.setupResult(&stripeapi.SetupIntent{ID: "seti_3", Status: stripeapi.SetupIntentStatusRequiresPaymentMethod,
		LastSetupError: &stripeapi.Error{Code: "setup_intent_authentication_failure"}})
	if err != nil || res.Outcome != provider.Declined || res.DeclineCode != provider.DeclineAuthenticationFailed {
		t.Errorf("failed authentication: %+v %v", res, err)
	}
	for name, si := range map[string]*stripeapi.SetupIntent{
		"succeeded without customer": {ID: "seti_4", Status: stripeapi.SetupIntentStatusSucceeded, PaymentMethod: visa},
		"processing":                 {ID: "seti_5", Status: stripeapi.SetupIntentStatusProcessing},
		"other mode":                 {ID: "seti_6", Status: stripeapi.SetupIntentStatusSucceeded, Livemode: true},
	} {
		if res, err := c.setupResult(si); !errors.Is(err, provider.ErrInvalidRequest) {
			t.Errorf("%s: %+v %v, want ErrInvalidRequest", name, res, err)
		}
	}
	res, ok := declineOf(&stripeapi.Error{Type: stripeapi.ErrorTypeCard, Code: "card_declined", DeclineCode: "insufficient_funds",
		SetupIntent: &stripeapi.SetupIntent{ID: "seti_7", PaymentMethod: visa}})
	if !ok || res.Outcome != provider.Declined || res.DeclineCode != provider.DeclineInsufficientFunds || res.IntentID != "seti_7" || res.Brand != "visa" {
		t.Errorf("card error: %+v %v", res, ok)
	}
}
