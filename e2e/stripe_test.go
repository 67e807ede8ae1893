package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// stripeSite connects a Stripe account (checked by admin-api against
// stripe-mock) and makes a site whose cards it serves; it returns the site
// and the account's publishable key.
func stripeSite(t *testing.T) (siteID, publishable string) {
	t.Helper()
	publishable = "pk_test_E2eStripePage" + strings.ToLower(t.Name()[len(t.Name())-4:])
	status, acct := api(t, "POST", "/v1/provider_accounts", map[string]any{"provider": "stripe", "name": "Stripe page",
		"credentials": map[string]any{"secret_key": testkit.StripeMockKey + "E2ePageKey", "publishable_key": publishable,
			"webhook_secret": "whsec_E2ePageSecret"}})
	if status != http.StatusCreated {
		t.Fatalf("connect Stripe: %d %v", status, acct)
	}
	status, site := api(t, "POST", "/v1/sites", map[string]any{"name": "Stripe shop", "default_currency": "EUR",
		"payment_method_types": []string{"card", "bank_transfer"}, "bank_transfer_instructions": "IBAN FR76 3000 6000 0112 3456 7890 189",
		"provider_accounts": map[string]string{"card": acct["id"].(string)}})
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("site: %d %v", status, site)
	}
	return site["id"].(string), publishable
}

var nonceRE = regexp.MustCompile(`script-src 'nonce-([^']+)'`)

// TestStripeCardPaymentThroughTheStack: a session of a site with a Stripe
// account renders Stripe's Payment Element (Stripe.js with the page's nonce,
// the CSP widened by Stripe's sources, no card input of ours); a payment
// with a ConfirmationToken reaches stripe-mock, which accepts the
// PaymentIntent the runtime creates and confirms.
//
// stripe-mock is stateless and answers its fixture PaymentIntent, whose
// status is requires_payment_method: what Stripe answers when the card was
// refused. So the payment ends failed with card_declined (402 to the page)
// and the session stays open and unpaid, payable again. The authorise →
// complete → capture and cancel paths are proven in the runtime's tests
// (internal/payment/stripe_test.go), against stripe-mock too.
func TestStripeCardPaymentThroughTheStack(t *testing.T) {
	siteID, publishable := stripeSite(t)
	s := newSessionWithKey(t, sys.SecretKey, siteID)
	id := s["id"].(string)
	c := newBrowser()
	resp, err := c.Get(s["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	html, csrf := open(t, c, s["url"].(string))
	m := nonceRE.FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("CSP without a script nonce: %q", csp)
	}
	for _, want := range []string{"https://js.stripe.com https://*.js.stripe.com", "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com",
		"connect-src 'self' https://api.stripe.com;", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if !strings.Contains(html, `id="payment-element"`) || !strings.Contains(html, `data-key="`+publishable+`"`) ||
		!regexp.MustCompile(`<script nonce="[^"]+" src="https://js.stripe.com/v3/"></script>`).MatchString(html) {
		t.Fatalf("page lacks the Payment Element or Stripe.js:\n%s", html)
	}
	if strings.Contains(html, `name="card_number"`) || strings.Contains(html, "4242 4242") {
		t.Fatal("a Stripe page has card inputs of ours")
	}
	// A page of the demo site (no Stripe account) keeps today's policy.
	plain := newSession(t, nil)
	resp, err = c.Get(plain["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p := resp.Header.Get("Content-Security-Policy"); strings.Contains(p, "stripe") {
		t.Errorf("a page without Stripe has the widened CSP: %q", p)
	}

	// Card data for a Stripe session is refused, test mode included.
	form := cardForm(csrf, "4242424242424242")
	_, body, _ := post(t, c, s["url"].(string)+"/pay", form, true)
	if e, _ := body["error"].(map[string]any); e["code"] != "card_entry_not_available" {
		t.Errorf("card data posted: %v", body)
	}

	form = billingForm(csrf, "card")
	form.Set("confirmation_token", "ctoken_123")
	resp, body, _ = post(t, c, s["url"].(string)+"/pay", form, true)
	e, _ := body["error"].(map[string]any)
	if resp.StatusCode != http.StatusPaymentRequired || e["code"] != "card_declined" {
		t.Fatalf("pay with a confirmation token: %d %v", resp.StatusCode, body)
	}
	var (
		payID, provider, account, ref, status, code string
	)
	if err := queryRow(t, `SELECT id, provider, coalesce(provider_account, ''), coalesce(provider_ref, ''), status, coalesce(failure_code, '')
		FROM runtime.payments WHERE session_id = $1`, id).Scan(&payID, &provider, &account, &ref, &status, &code); err != nil {
		t.Fatal(err)
	}
	if provider != "stripe" || !strings.HasPrefix(account, "pa_") || !strings.HasPrefix(ref, "pi_") || status != "failed" || code != "card_declined" {
		t.Fatalf("payment %s: provider %s account %s ref %s status %s code %s", payID, provider, account, ref, status, code)
	}
	if got := session(t, id); got["status"] != "open" || got["payment_status"] != "unpaid" {
		t.Fatalf("session after the decline: %v", got)
	}
	// Bank transfer keeps working on the same page, without Stripe.
	form.Set("method", "bank_transfer")
	form.Del("confirmation_token")
	if resp, body, _ = post(t, c, s["url"].(string)+"/pay", form, true); resp.StatusCode != http.StatusOK || body["status"] != "processing" {
		t.Fatalf("bank transfer on a Stripe page: %d %v", resp.StatusCode, body)
	}
	// The runtime fetched the account's secret key to pay: it is in no log.
	logs, err := os.ReadFile(filepath.Join(binDir, "stack.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), "/pay") {
		t.Fatal("the stack logged none of the calls: the search below would prove nothing")
	}
	for _, secret := range []string{"E2ePageKey", "E2ePageSecret"} {
		if strings.Contains(string(logs), secret) {
			t.Fatalf("the stack's logs hold the secret %q", secret)
		}
	}
}

// TestStripeFreeTrialSavesTheCard: a trial-only subscription checkout of a
// site with a Stripe account renders the Payment Element in setup mode,
// with the card alone; a ConfirmationToken posted reaches stripe-mock as a
// Customer and a SetupIntent the runtime confirms. stripe-mock answers its
// fixture SetupIntent (requires_payment_method: a refused card), so the
// attempt is declined, nothing is saved or paid, and the session stays
// open; the succeeded and 3-D Secure paths are proven in the runtime's
// tests (internal/payment/stripe_setup_test.go). Such a session without
// the card among its methods is refused at creation, naming them.
func TestStripeFreeTrialSavesTheCard(t *testing.T) {
	siteID, _ := stripeSite(t)
	prod := created(t, "/v1/products", map[string]any{"name": "Stripe trial club"})
	price := created(t, "/v1/prices", map[string]any{"product": prod["id"], "currency": "EUR", "unit_amount": 1200,
		"recurring": map[string]any{"interval": "month"}})
	trial := func(methods ...string) (int, map[string]any) {
		body := map[string]any{"line_items": []any{map[string]any{"price_id": price["id"], "quantity": 1}},
			"subscription_data": map[string]any{"trial_period_days": 14}, "customer_email": "trial@example.com",
			"success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart"}
		if len(methods) > 0 {
			body["payment_method_types"] = methods
		}
		return api(t, "POST", "/v1/checkouts/"+siteID+"/create", body)
	}
	status, body := trial("bank_transfer")
	if e, _ := body["error"].(map[string]any); status != http.StatusBadRequest || e["param"] != "payment_method_types" {
		t.Fatalf("a free trial without the card: %d %v", status, body)
	}
	status, s := trial()
	if status != http.StatusCreated || s["amount_total"] != 0.0 {
		t.Fatalf("trial session: %d %v", status, s)
	}
	id := s["id"].(string)
	c := newBrowser()
	html, csrf := open(t, c, s["url"].(string))
	if !strings.Contains(html, `id="payment-element"`) || !strings.Contains(html, `data-setup="1"`) || strings.Contains(html, `id="bank-fields"`) {
		t.Fatalf("trial page: Element %t, setup mode %t, bank transfer %t", strings.Contains(html, `id="payment-element"`),
			strings.Contains(html, `data-setup="1"`), strings.Contains(html, `id="bank-fields"`))
	}
	form := billingForm(csrf, "card")
	form.Set("confirmation_token", "ctoken_123")
	resp, body, _ := post(t, c, s["url"].(string)+"/pay", form, true)
	if e, _ := body["error"].(map[string]any); resp.StatusCode != http.StatusPaymentRequired || e["code"] != "card_declined" {
		t.Fatalf("pay with a confirmation token: %d %v", resp.StatusCode, body)
	}
	var payments, methods int
	if err := queryRow(t, `SELECT (SELECT count(*) FROM runtime.payments WHERE session_id = $1),
		(SELECT count(*) FROM runtime.payment_methods WHERE session_id = $1)`, id).Scan(&payments, &methods); err != nil {
		t.Fatal(err)
	}
	if payments != 0 || methods != 0 {
		t.Fatalf("a refused setup made %d payments and %d saved methods", payments, methods)
	}
	if got := session(t, id); got["status"] != "open" || got["payment_status"] != "unpaid" {
		t.Fatalf("session after the refused setup: %v", got)
	}
}
