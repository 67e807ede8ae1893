package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The example request of seed 004 (PayPorter), verbatim.
const payporterExample = `{
"orderId": "ORD-12345",
"amount": 100.50,
"currency": "TRY",
"description": "Product purchase",
"callback": "https://example.com/payment-callback",
"maxInstallmentCount": 6,
"interestPaidByCustomer": true
}`

// payporterMerchant is an organization of its own, so that its first site
// (the one PayPorter checkouts are made on) is a TRY site with installment
// plans: its key pair (id and secret) and a second key to revoke.
var payporterMerchant struct {
	sync.Once
	keyID, secret string
	err           error
}

func payporterKeys(t *testing.T) (keyID, secret string) {
	t.Helper()
	m := &payporterMerchant
	m.Do(func() {
		org, err := adminCLI("orgs", "create", "--name", "e2e payporter")
		if err != nil {
			m.err = err
			return
		}
		bootstrap, err := adminCLI("keys", "create", "--org", org, "--mode", "test", "--name", "e2e payporter")
		if err != nil {
			m.err = err
			return
		}
		// The TRY site: 2, 3 and 6 installments, 6 at 1.99 % a month.
		status, site := apiAs(t, bootstrap, "POST", "/v1/sites", map[string]any{"name": "Istanbul shop", "default_currency": "TRY",
			"installment_plans": []map[string]any{{"currency": "TRY", "count": 2, "monthly_interest_bps": 0},
				{"currency": "TRY", "count": 3, "monthly_interest_bps": 150}, {"currency": "TRY", "count": 6, "monthly_interest_bps": 199},
				{"currency": "TRY", "count": 9, "monthly_interest_bps": 210}}})
		if status != http.StatusCreated {
			t.Errorf("create site: %d %v", status, site)
		}
		m.keyID, m.secret = newKeyPair(t, bootstrap)
	})
	if m.err != nil || m.keyID == "" {
		t.Fatalf("PayPorter merchant: %v", m.err)
	}
	return m.keyID, m.secret
}

// newKeyPair creates an API key with key and returns its id and secret.
func newKeyPair(t *testing.T, key string) (string, string) {
	t.Helper()
	status, k := apiAs(t, key, "POST", "/v1/api_keys", map[string]any{"name": "payporter"})
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("create api key: %d %v", status, k)
	}
	return k["id"].(string), k["secret"].(string)
}

// payporter calls the PayPorter surface with X-API-KEY and X-API-SECRET.
func payporter(t *testing.T, keyID, secret, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, sys.AdminAPIURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-KEY", keyID)
	req.Header.Set("X-API-SECRET", secret)
	resp, err := merchant.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestPayPorterCheckoutWithInstallments is seed 004's flow: create with the
// document's example, pay on the hosted page in 6 installments, come back
// to the callback by POST, and read the status.
func TestPayPorterCheckoutWithInstallments(t *testing.T) {
	keyID, secret := payporterKeys(t)
	status, created := payporter(t, keyID, secret, "POST", "/api/checkout", payporterExample)
	if status != http.StatusOK {
		t.Fatalf("create: %d %v", status, created)
	}
	checkoutID, _ := created["checkoutId"].(string)
	redirectURL, _ := created["redirectUrl"].(string)
	if !uuidRE.MatchString(checkoutID) || !strings.HasPrefix(redirectURL, sys.CheckoutURL+"/checkout/cs_") || len(created) != 2 {
		t.Fatalf("create answered %v", created)
	}
	status, pending := payporter(t, keyID, secret, "GET", "/api/checkout/"+checkoutID, "")
	if status != http.StatusOK || pending["status"] != "PENDING" || pending["amount"] != 100.5 || pending["orderId"] != "ORD-12345" {
		t.Fatalf("status before payment: %d %v", status, pending)
	}

	// The page offers the plans up to 6 with the customer's interest:
	// 100.50 × 1.99 % × 6 = 12.00 (rounded half up), 112.50 in 6 × 18.75.
	payer := newBrowser()
	page, csrf := open(t, payer, redirectURL)
	for _, want := range []string{`name="installments" id="installments-6" value="6"`, `id="installments-3"`, `id="installments-2"`, "6 installments of"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="installments-9"`) {
		t.Fatal("the page offers 9 installments, above maxInstallmentCount")
	}
	// The options follow the billing address (the script asks the quote).
	if resp, err := payer.Get(redirectURL + "/quote?country=TR"); err != nil {
		t.Fatal(err)
	} else {
		var q map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&q)
		resp.Body.Close()
		if plans, _ := q["plans"].(map[string]any); !strings.Contains(fmt.Sprint(plans["6"]), "112.50") {
			t.Fatalf("quote plans: %v", q)
		}
	}
	payURL := redirectURL + "/pay"
	form := cardForm(csrf, "4242424242424242")
	form.Set("installments", "9")
	resp, out, _ := post(t, payer, payURL, form, true)
	if errObj, _ := out["error"].(map[string]any); resp.StatusCode != http.StatusBadRequest || errObj["param"] != "installments" {
		t.Fatalf("9 installments: %d %v", resp.StatusCode, out)
	}
	form.Set("installments", "6")
	resp, _, body := post(t, payer, payURL, form, false)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pay: %d\n%s", resp.StatusCode, body)
	}
	// The answer is the form that posts checkoutId to the callback: an
	// auto-submitting form whose button works without JavaScript, under the
	// page's CSP (a nonce'd script, the callback's origin in form-action).
	for _, want := range []string{`<form method="post" action="https://example.com/payment-callback" id="return-form">`,
		`<input type="hidden" name="checkoutId" value="` + checkoutID + `">`, `<button type="submit"`, `<script nonce="`} {
		if !strings.Contains(body, want) {
			t.Fatalf("the return page lacks %q:\n%s", want, body)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://example.com") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}

	status, paid := payporter(t, keyID, secret, "GET", "/api/checkout/"+checkoutID, "")
	want := map[string]any{"checkoutId": checkoutID, "status": "SUCCESS", "orderId": "ORD-12345", "amount": 100.5, "currency": "TRY",
		"installmentCount": 6.0, "installmentAmount": 18.75, "lastInstallmentAmount": 18.75, "interestAmount": 12.0,
		"totalAmount": 112.5, "paidAmount": 112.5, "maxInstallmentCount": 6.0, "interestPaidByCustomer": true}
	for k, v := range want {
		if paid[k] != v {
			t.Errorf("status %d: %s = %v, want %v (%v)", status, k, paid[k], v, paid)
		}
	}

	// The payment, on the core API (the pair works there too) and in its
	// payment.succeeded event, carries the plan.
	payID, _ := paid["paymentId"].(string)
	wantPlan := map[string]any{"count": 6.0, "monthly_interest_bps": 199.0, "interest_paid_by": "customer",
		"amount_interest": 1200.0, "amount_per_installment": 1875.0, "amount_last_installment": 1875.0}
	status, pay := payporter(t, keyID, secret, "GET", "/v1/payments/"+payID, "")
	if plan, _ := pay["installments"].(map[string]any); status != http.StatusOK || pay["amount"] != 11250.0 || !equalMaps(plan, wantPlan) {
		t.Errorf("payment: %d %v", status, pay)
	}
	eventually(t, "the payment.succeeded event with the plan", 30*time.Second, func() bool {
		_, events := payporter(t, keyID, secret, "GET", "/v1/events?type=payment.succeeded", "")
		data, _ := events["data"].([]any)
		for _, ev := range data {
			obj, _ := ev.(map[string]any)["data"].(map[string]any)["object"].(map[string]any)
			if plan, _ := obj["installments"].(map[string]any); obj["id"] == payID && equalMaps(plan, wantPlan) {
				return true
			}
		}
		return false
	})

	// Another organization's key does not find the session by its uuid.
	status, list := api(t, "GET", "/v1/checkout/sessions?uuid="+checkoutID, nil)
	if status != http.StatusOK {
		t.Fatalf("list by uuid: %d %v", status, list)
	}
	if data, _ := list["data"].([]any); len(data) != 0 {
		t.Fatalf("another organization's key found the session by uuid: %v", data)
	}
}

// TestPayPorterPostsBackOnCancel: the cancel link of a PayPorter checkout
// is a form posting checkoutId to the callback too.
func TestPayPorterPostsBackOnCancel(t *testing.T) {
	keyID, secret := payporterKeys(t)
	_, created := payporter(t, keyID, secret, "POST", "/api/checkout", `{"orderId":"ORD-cancel","amount":5,"currency":"TRY","callback":"https://example.com/cb"}`)
	page, _ := open(t, newBrowser(), created["redirectUrl"].(string))
	if !strings.Contains(page, `<form method="post" action="https://example.com/cb" class="back"><input type="hidden" name="checkoutId" value="`+created["checkoutId"].(string)+`">`) {
		t.Fatalf("no cancel form posting checkoutId:\n%s", page)
	}
}

func TestPayPorterRefusals(t *testing.T) {
	keyID, secret := payporterKeys(t)
	wrong := secret[:len(secret)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(secret, "a")]
	status, out := payporter(t, keyID, wrong, "POST", "/api/checkout", payporterExample)
	if status != http.StatusUnauthorized || out["code"] != "api_key_invalid" {
		t.Errorf("wrong secret: %d %v", status, out)
	}
	// The demo key's secret with this key's id: a real secret, not the pair.
	status, out = payporter(t, keyID, sys.SecretKey, "POST", "/api/checkout", payporterExample)
	if status != http.StatusUnauthorized || out["code"] != "api_key_invalid" {
		t.Errorf("mismatched pair: %d %v", status, out)
	}
	status, out = payporter(t, "", secret, "GET", "/api/checkout/123e4567-e89b-12d3-a456-426614174000", "")
	if status != http.StatusUnauthorized {
		t.Errorf("no key id: %d %v", status, out)
	}

	status, out = payporter(t, keyID, secret, "POST", "/api/checkout", strings.Replace(payporterExample, "100.50", "100.505", 1))
	if status != http.StatusBadRequest || out["field"] != "amount" || out["code"] != "amount_too_precise" {
		t.Errorf("100.505 TRY: %d %v", status, out)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"amount": 1, "currency": "TRY", "callback": "https://example.com/cb"}`, "orderId"},
		{`{"orderId": "o", "amount": "1.00", "currency": "TRY", "callback": "https://example.com/cb"}`, "amount"},
		{`{"orderId": "o", "amount": 1, "currency": "TRY", "callback": "not a url"}`, "callback"},
		{`{"orderId": "o", "amount": 1, "currency": "XTS", "callback": "https://example.com/cb"}`, "currency"},
		{`{"orderId": "o", "amount": 1, "currency": "TRY", "callback": "https://example.com/cb", "maxInstallmentCount": 13}`, "maxInstallmentCount"},
		{`{"orderId": "o", "amount": 1, "currency": "TRY", "callback": "https://example.com/cb", "tip": 1}`, "tip"},
	} {
		status, out = payporter(t, keyID, secret, "POST", "/api/checkout", tc.body)
		if status != http.StatusBadRequest || out["field"] != tc.field {
			t.Errorf("%s: %d %v, want 400 naming %s", tc.body, status, out, tc.field)
		}
	}
	status, out = payporter(t, keyID, secret, "GET", "/api/checkout/not-a-uuid", "")
	if status != http.StatusBadRequest || out["field"] != "checkoutId" {
		t.Errorf("odd checkoutId: %d %v", status, out)
	}
	status, out = payporter(t, keyID, secret, "GET", "/api/checkout/123e4567-e89b-42d3-a456-426614174000", "")
	if status != http.StatusNotFound || out["field"] != "checkoutId" {
		t.Errorf("unknown checkoutId: %d %v", status, out)
	}

	// A revoked key's pair is refused.
	id, sec := newKeyPair(t, secret)
	if status, out := payporter(t, id, sec, "POST", "/api/checkout", strings.Replace(payporterExample, "ORD-12345", "ORD-revoked", 1)); status != http.StatusOK {
		t.Fatalf("fresh key: %d %v", status, out)
	}
	if status, out := apiAs(t, secret, "POST", "/v1/api_keys/"+url.PathEscape(id)+"/revoke", nil); status != http.StatusOK {
		t.Fatalf("revoke: %d %v", status, out)
	}
	status, out = payporter(t, id, sec, "POST", "/api/checkout", payporterExample)
	if status != http.StatusUnauthorized || out["code"] != "api_key_revoked" {
		t.Errorf("revoked key: %d %v", status, out)
	}
}

func equalMaps(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// TestPayPorterFailedAndExpired: a declined attempt reads FAILED (the
// checkout stays payable), an expired checkout EXPIRED.
func TestPayPorterFailedAndExpired(t *testing.T) {
	keyID, secret := payporterKeys(t)
	_, created := payporter(t, keyID, secret, "POST", "/api/checkout", `{"orderId":"ORD-declined","amount":20,"currency":"TRY","callback":"https://example.com/cb"}`)
	checkoutID, redirectURL := created["checkoutId"].(string), created["redirectUrl"].(string)
	payer := newBrowser()
	_, csrf := open(t, payer, redirectURL)
	if resp, out, _ := post(t, payer, redirectURL+"/pay", cardForm(csrf, "4000000000000002"), true); resp.StatusCode != http.StatusPaymentRequired {
		t.Fatalf("decline: %d %v", resp.StatusCode, out)
	}
	if status, got := payporter(t, keyID, secret, "GET", "/api/checkout/"+checkoutID, ""); status != http.StatusOK || got["status"] != "FAILED" || got["failureCode"] == nil {
		t.Errorf("after a decline: %d %v", status, got)
	}

	_, created = payporter(t, keyID, secret, "POST", "/api/checkout", `{"orderId":"ORD-expired","amount":20,"currency":"TRY","callback":"https://example.com/cb"}`)
	checkoutID = created["checkoutId"].(string)
	_, list := payporter(t, keyID, secret, "GET", "/v1/checkout/sessions?uuid="+checkoutID, "")
	id := list["data"].([]any)[0].(map[string]any)["id"].(string)
	if status, out := payporter(t, keyID, secret, "POST", "/v1/checkout/sessions/"+id+"/expire", ""); status != http.StatusOK {
		t.Fatalf("expire: %d %v", status, out)
	}
	if status, got := payporter(t, keyID, secret, "GET", "/api/checkout/"+checkoutID, ""); status != http.StatusOK || got["status"] != "EXPIRED" {
		t.Errorf("expired: %d %v", status, got)
	}
}

// TestPayPorterJSONPayAnswer: a script paying with Accept: application/json
// (Stripe's) is sent to the session's page, not by GET to the callback; the
// answer describes the POST.
func TestPayPorterJSONPayAnswer(t *testing.T) {
	keyID, secret := payporterKeys(t)
	_, created := payporter(t, keyID, secret, "POST", "/api/checkout", `{"orderId":"ORD-json","amount":20,"currency":"TRY","callback":"https://example.com/cb"}`)
	redirectURL := created["redirectUrl"].(string)
	payer := newBrowser()
	_, csrf := open(t, payer, redirectURL)
	resp, out, _ := post(t, payer, redirectURL+"/pay", cardForm(csrf, "4242424242424242"), true)
	back, _ := out["return"].(map[string]any)
	form, _ := back["form"].(map[string]any)
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(redirectURL, fmt.Sprint(out["redirect_url"])) ||
		back["url"] != "https://example.com/cb" || back["method"] != "POST" || form["checkoutId"] != created["checkoutId"] {
		t.Fatalf("JSON answer: %d %v", resp.StatusCode, out)
	}
	// The page it is sent to offers the POST back.
	page, _ := open(t, payer, redirectURL)
	if !strings.Contains(page, `<form method="post" action="https://example.com/cb" class="back"><input type="hidden" name="checkoutId" value="`+created["checkoutId"].(string)+`">`) {
		t.Fatalf("the paid page lacks the POST back:\n%s", page)
	}
}
