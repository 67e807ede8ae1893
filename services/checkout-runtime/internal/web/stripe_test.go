package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// stripeCheckout is a session whose site's card account is a Stripe account.
func stripeCheckout(id string, livemode bool, methods ...string) *internalapiv1.GetCheckoutResponse {
	co := liveCheckout(id, methods...)
	co.CheckoutSession.Livemode, co.Site.Livemode = livemode, livemode
	co.CardProviderAccount = &internalapiv1.CardProviderAccount{Id: "pa_1", Provider: provider.NameStripe, PublishableKey: "pk_test_abc123"}
	return co
}

// The CSP sources Stripe documents for Stripe.js and the Payment Element.
const (
	stripeScripts = "script-src 'nonce-%s' https://js.stripe.com https://*.js.stripe.com; "
	stripeFrames  = "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com; "
	stripeConnect = "connect-src 'self' https://api.stripe.com; "
)

var cspNonce = regexp.MustCompile(`script-src 'nonce-([^']+)'`)

// TestStripePage: a session whose site has a Stripe account, live or test,
// renders the Payment Element container and Stripe.js with the page's
// nonce, no card input of ours and no test-card table, and a CSP widened by
// exactly Stripe's documented sources, first render and cached alike. A
// session without one keeps today's policy and loads nothing from Stripe.
func TestStripePage(t *testing.T) {
	live, test, plain := ids.New("cs"), ids.New("cs"), ids.New("cs")
	plainCo := liveCheckout(plain, "card", "bank_transfer")
	plainCo.CheckoutSession.Livemode = false
	h, routes := newTestHandler(t, adminClient(t, &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{
		live: stripeCheckout(live, true, "card", "bank_transfer"), test: stripeCheckout(test, false, "card", "bank_transfer"), plain: plainCo}}))
	h.Store = store.New(testkit.NewDatabase(t, migrations.Set))
	for _, id := range []string{live, test} {
		for _, pass := range []string{"first", "cached"} {
			w := do(routes, "GET", "/checkout/"+id, nil, nil)
			csp, page := w.Header().Get("Content-Security-Policy"), w.Body.String()
			m := cspNonce.FindStringSubmatch(csp)
			if w.Code != http.StatusOK || m == nil {
				t.Fatalf("%s (%s): %d, CSP %q", id, pass, w.Code, csp)
			}
			nonce := m[1]
			for _, want := range []string{strings.ReplaceAll(stripeScripts, "%s", nonce), stripeFrames, stripeConnect, "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s (%s): CSP %q lacks %q", id, pass, csp, want)
				}
			}
			for _, want := range []string{`id="payment-element"`, `data-key="pk_test_abc123"`, `data-amount="1000"`, `data-currency="eur"`,
				`<script nonce="` + nonce + `" src="https://js.stripe.com/v3/"></script>`, `<noscript><p class="note" id="stripe-noscript">`,
				`value="card"`, `id="bank-fields"`} {
				if !strings.Contains(page, want) {
					t.Errorf("%s (%s): page lacks %q", id, pass, want)
				}
			}
			for _, bad := range []string{`name="card_number"`, `name="card_exp"`, `name="card_cvc"`, `autocomplete="cc-`, "4242 4242 4242 4242"} {
				if strings.Contains(page, bad) {
					t.Errorf("%s (%s): page contains %q", id, pass, bad)
				}
			}
		}
	}
	w := do(routes, "GET", "/checkout/"+plain, nil, nil)
	csp, page := w.Header().Get("Content-Security-Policy"), w.Body.String()
	if strings.Contains(csp, "stripe") || strings.Contains(csp, "frame-src") || strings.Contains(page, "stripe.com") ||
		!strings.Contains(page, `name="card_number"`) {
		t.Errorf("page without a Stripe account: CSP %q, Stripe in page %t", csp, strings.Contains(page, "stripe.com"))
	}
	if !strings.Contains(csp, "; connect-src 'self'; form-action") {
		t.Errorf("page without a Stripe account: CSP %q", csp)
	}
	// The quote tells a Stripe page the Element's amount; others get none.
	for id, want := range map[string]bool{test: true, plain: false} {
		var q map[string]any
		_ = json.Unmarshal(do(routes, "GET", "/checkout/"+id+"/quote?country=FR", nil, nil).Body.Bytes(), &q)
		if got, ok := q["stripe_amount"]; ok != want || (want && got != 1000.0) {
			t.Errorf("quote of %s: %v", id, q)
		}
	}
}

// TestStripePayRefusesCardFields: a card field posted for a Stripe session,
// test mode included, is refused as live pages refuse it; a card payment
// without a confirmation token (JavaScript off) is a 400 naming it.
func TestStripePayRefusesCardFields(t *testing.T) {
	id := ids.New("cs")
	h, routes := newTestHandler(t, adminClient(t, &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{
		id: stripeCheckout(id, false, "card", "bank_transfer")}}))
	for _, field := range cardFields {
		form, hdr := signedForm(h, id, url.Values{field: {"4242424242424242"}, "method": {"card"}, "confirmation_token": {"ctoken_1"}})
		hdr["Accept"] = "application/json"
		w := do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
		var body struct{ Error struct{ Code, Param string } }
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != http.StatusBadRequest || body.Error.Param != field || body.Error.Code != "card_entry_not_available" ||
			strings.Contains(w.Body.String(), "4242") {
			t.Errorf("%s: %d %s", field, w.Code, w.Body.String())
		}
	}
	for _, tok := range []string{"", "tok_visa", "ctoken_1 OR 1", "ctoken_" + strings.Repeat("a", 300)} {
		form, hdr := signedForm(h, id, url.Values{"method": {"card"}, "confirmation_token": {tok}})
		hdr["Accept"] = "application/json"
		w := do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
		var body struct {
			Error struct{ Param, Message string }
		}
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != http.StatusBadRequest || body.Error.Param != "confirmation_token" || !strings.Contains(body.Error.Message, "JavaScript") {
			t.Errorf("token %.20q: %d %s", tok, w.Code, w.Body.String())
		}
	}
	// Resume needs the CSRF token and a payment id of this session.
	form, hdr := signedForm(h, id, url.Values{"payment_id": {"cs_x"}})
	if w := do(routes, "POST", "/checkout/"+id+"/resume", form, hdr); w.Code != http.StatusNotFound {
		t.Errorf("resume with a bad payment id: %d", w.Code)
	}
	if w := do(routes, "GET", "/checkout/"+id+"/return?payment_id=cs_x", nil, nil); w.Code != http.StatusNotFound {
		t.Errorf("return with a bad payment id: %d", w.Code)
	}
	form.Set("csrf_token", "forged")
	if w := do(routes, "POST", "/checkout/"+id+"/resume", form, hdr); w.Code != http.StatusForbidden {
		t.Errorf("resume with a forged token: %d", w.Code)
	}
}

// TestStripeTrialPage: a subscription checkout that charges nothing today
// (a free trial) through a Stripe account mounts the Payment Element in
// setup mode (the server confirms a SetupIntent), offers the card alone
// (only a card is saved without a payment) and no card input of ours; a
// charged one keeps the payment mode and its other methods.
func TestStripeTrialPage(t *testing.T) {
	trial, charged := ids.New("cs"), ids.New("cs")
	trialCo, chargedCo := stripeCheckout(trial, false, "card", "bank_transfer"), stripeCheckout(charged, false, "card", "bank_transfer")
	trialCo.CheckoutSession.Mode, chargedCo.CheckoutSession.Mode = "subscription", "subscription"
	trialCo.CheckoutSession.AmountSubtotal, trialCo.CheckoutSession.AmountTotal = 0, 0
	h, routes := newTestHandler(t, adminClient(t, &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{
		trial: trialCo, charged: chargedCo}}))
	h.Store = store.New(testkit.NewDatabase(t, migrations.Set))
	page := do(routes, "GET", "/checkout/"+trial, nil, nil).Body.String()
	for _, want := range []string{`id="payment-element"`, `data-setup="1"`, `data-currency="eur"`, `value="card"`} {
		if !strings.Contains(page, want) {
			t.Errorf("trial page lacks %q", want)
		}
	}
	for _, bad := range []string{`id="bank-fields"`, `name="card_number"`} {
		if strings.Contains(page, bad) {
			t.Errorf("trial page has %q", bad)
		}
	}
	page = do(routes, "GET", "/checkout/"+charged, nil, nil).Body.String()
	if !strings.Contains(page, `data-amount="1000"`) || strings.Contains(page, `data-setup`) || !strings.Contains(page, `id="bank-fields"`) {
		t.Errorf("charged subscription page: setup %t, bank fields %t", strings.Contains(page, `data-setup`), strings.Contains(page, `id="bank-fields"`))
	}
}
