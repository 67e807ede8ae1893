package payment

import (
	"strings"
	"testing"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// stripeTrialAttempt is a card attempt on a subscription checkout that
// charges nothing today (a free trial), through the site's Stripe account.
func stripeTrialAttempt() Attempt {
	a := stripeAttempt()
	cs := a.Checkout.CheckoutSession
	cs.Mode, cs.AmountSubtotal, cs.AmountTotal = "subscription", 0, 0
	a.Checkout.Site = checkoutFor(cs.Id, "subscription").GetSite() // FR 20 %, for the renewals
	return a
}

// TestStripeTrialSetsUpTheCard: a free trial's checkout through a Stripe
// account saves the card with a Customer and an off-session SetupIntent
// confirmed with the page's token. A SetupIntent that needs 3-D Secure is
// answered requires_action with its client secret and resumed by the
// setup's id; once it succeeds, the Customer's payment method is saved for
// the session through that account, the session completes naming it, and
// the trial's end charges it off-session through the same account. No
// payment row is made for the setup. stripe-mock validates every call.
func TestStripeTrialSetsUpTheCard(t *testing.T) {
	rec := &savedRecorder{}
	s, proxy := stripeService(t, rec)
	ctx := t.Context()
	proxy.setStatus("requires_action")
	a := stripeTrialAttempt()
	sessionID := a.Checkout.GetCheckoutSession().GetId()
	res, err := s.Pay(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	setupID := res.Payment.ID
	if res.Payment.Status != StatusRequiresAction || !strings.HasPrefix(setupID, SetupPrefix+"_") || !strings.Contains(res.ClientSecret, "_secret_") {
		t.Fatalf("setup: %s %q, client secret %q", res.Payment.Status, setupID, res.ClientSecret)
	}
	wantCalls(t, proxy.paths(t), "POST /v1/customers", "POST /v1/setup_intents")
	customer, setup := proxy.calls[0], proxy.calls[1]
	if customer.Form.Get("email") != "ada@example.com" || customer.Form.Get("metadata[tillpoint_setup_id]") != setupID {
		t.Errorf("customer: %v", customer.Form)
	}
	for k, v := range map[string]string{"usage": "off_session", "confirm": "true", "confirmation_token": "ctoken_123",
		"payment_method_types[0]": "card", "metadata[tillpoint_setup_id]": setupID,
		"return_url": "https://secure.example.com/checkout/cs_x/return?payment_id=" + setupID} {
		if got := setup.Form.Get(k); got != v {
			t.Errorf("setup intent: %s = %q, want %q", k, got, v)
		}
	}
	if setup.Form.Get("customer") == "" || setup.Form.Has("amount") || setup.IdempotencyKey != "tillpoint-setup-"+setupID {
		t.Errorf("setup intent: customer %q, amount %q, key %q", setup.Form.Get("customer"), setup.Form.Get("amount"), setup.IdempotencyKey)
	}
	if len(rec.saved) != 0 {
		t.Fatalf("completed before the payer's action: %q", rec.saved)
	}

	if _, err := s.Resume(ctx, "cs_other", setupID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("resume from another session: %v, want NotFound", err)
	}
	proxy.setStatus("succeeded")
	res, err = s.Resume(ctx, sessionID, setupID)
	if err != nil || res.Payment.Status != StatusSucceeded || res.Session == nil || deref(res.Payment.CardLast4) == "" {
		t.Fatalf("resume: %+v %v", res, err)
	}
	wantCalls(t, proxy.paths(t), "POST /v1/customers", "POST /v1/setup_intents", "GET /v1/setup_intents/{seti}")
	if len(rec.saved) != 1 || rec.saved[0] == "" || rec.taxBps[0] != 2000 {
		t.Fatalf("completion: saved %q, tax %v (FR 20 %%, exclusive)", rec.saved, rec.taxBps)
	}
	var token, prov, account, status string
	var payments int
	if err := s.Store.Pool.QueryRow(ctx, `SELECT pm.provider_token, pm.provider, coalesce(pm.provider_account, ''), cs.status,
		(SELECT count(*) FROM runtime.payments) FROM runtime.payment_methods pm, runtime.card_setups cs
		WHERE pm.id = $1 AND pm.session_id = $2 AND cs.id = $3`, rec.saved[0], sessionID, setupID).Scan(&token, &prov, &account, &status, &payments); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "cus_") || !strings.Contains(token, "/pm_") || prov != provider.NameStripe || account != "pa_stripe" ||
		status != StatusSucceeded || payments != 0 {
		t.Fatalf("saved %q via %s (%s), setup %s, %d payments", token, prov, account, status, payments)
	}
	// A second resume (a double post) finds the setup done and calls nobody.
	n := len(proxy.paths(t))
	if res, err := s.Resume(ctx, sessionID, setupID); err != nil || res.Payment.Status != StatusSucceeded || len(proxy.paths(t)) != n {
		t.Errorf("second resume: %s %v, %d calls", res.Payment.Status, err, len(proxy.paths(t))-n)
	}

	// The trial's end: the saved card is charged off-session through the
	// same account, with the Customer and payment method of the setup.
	proxy.setStatus("requires_capture")
	p, err := s.ChargeOffSession(ctx, &internalapiv1.ChargeOffSessionRequest{OrganizationId: "org_1", PaymentMethod: rec.saved[0],
		InvoiceId: "in_trial_end", IdempotencyKey: "in_trial_end/1", Amount: 1800, Currency: "EUR"})
	if err != nil || p.Status != StatusSucceeded || deref(p.ProviderAccount) != "pa_stripe" {
		t.Fatalf("charge at the trial's end: %+v %v", p, err)
	}
	cus, pm, _ := strings.Cut(token, "/")
	charge := proxy.calls[len(proxy.calls)-2]
	if charge.Path != "/v1/payment_intents" || charge.Form.Get("customer") != cus || charge.Form.Get("payment_method") != pm ||
		charge.Form.Get("off_session") != "true" || charge.Form.Get("amount") != "1800" {
		t.Errorf("renewal charge: %s %v", charge.Path, charge.Form)
	}
	proxy.paths(t) // every call stripe-mock accepted
}

// TestStripeTrialDeclines: a SetupIntent Stripe refuses (stripe-mock's own,
// requires_payment_method) is a failed attempt and saves nothing; one
// refused after the payer's action fails its setup, and a later resume
// answers it failed without asking Stripe again.
func TestStripeTrialDeclines(t *testing.T) {
	rec := &savedRecorder{}
	s, proxy := stripeService(t, rec)
	ctx := t.Context()
	res, err := s.Pay(ctx, stripeTrialAttempt())
	if err != nil || res.Payment.Status != StatusFailed || deref(res.Payment.FailureCode) != provider.DeclineCardDeclined {
		t.Fatalf("refused setup: %+v %v", res, err)
	}
	proxy.setStatus("requires_action")
	a := stripeTrialAttempt()
	res, err = s.Pay(ctx, a)
	if err != nil || res.Payment.Status != StatusRequiresAction {
		t.Fatalf("setup: %+v %v", res, err)
	}
	proxy.setStatus("requires_payment_method")
	for range 2 {
		got, err := s.Resume(ctx, a.Checkout.GetCheckoutSession().GetId(), res.Payment.ID)
		if err != nil || got.Payment.Status != StatusFailed || deref(got.Payment.FailureCode) != provider.DeclineCardDeclined {
			t.Fatalf("refused after the action: %+v %v", got, err)
		}
	}
	wantCalls(t, proxy.paths(t), "POST /v1/customers", "POST /v1/setup_intents", "POST /v1/customers", "POST /v1/setup_intents",
		"GET /v1/setup_intents/{seti}")
	var methods int
	if err := s.Store.Pool.QueryRow(ctx, `SELECT count(*) FROM runtime.payment_methods`).Scan(&methods); err != nil || methods != 0 || len(rec.saved) != 0 {
		t.Fatalf("%d methods saved (%v), completions %q", methods, err, rec.saved)
	}
}

// TestStripeTrialThroughARoute: a free trial's checkout whose card route
// lists a Stripe account that is down, then one that answers, cascades as
// a payment does: the card is set up and saved through the second
// account, whose renewals then charge it.
func TestStripeTrialThroughARoute(t *testing.T) {
	rec := &savedRecorder{}
	s, proxy := stripeService(t, rec)
	proxy.setStatus("succeeded")
	downCalls := withDownStripeAccount(t, s, proxy)
	a := stripeTrialAttempt()
	a.Checkout.CardProviderAccount = nil
	a.Checkout.Routes = []*internalapiv1.CheckoutRoute{downThenUpRoute()}
	res, err := s.Pay(t.Context(), a)
	if err != nil || res.Payment.Status != StatusSucceeded || res.Session == nil || len(rec.saved) != 1 {
		t.Fatalf("setup through the route: %+v %v (saved %q)", res.Payment, err, rec.saved)
	}
	if downCalls.Load() == 0 {
		t.Fatal("the down account was never asked")
	}
	wantCalls(t, proxy.paths(t), "POST /v1/customers", "POST /v1/setup_intents")
	var account string
	if err := s.Store.Pool.QueryRow(t.Context(), `SELECT coalesce(provider_account, '') FROM runtime.payment_methods WHERE id = $1`,
		rec.saved[0]).Scan(&account); err != nil || account != "pa_stripe" {
		t.Fatalf("saved through %q, %v", account, err)
	}
}
