package e2e

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/e2e/internal/process"
)

// rawRequest sends one request as a client would, the path exactly as given
// (percent-escapes included), and returns the status, headers and body.
func rawRequest(t *testing.T, c *http.Client, method, u string, form url.Values, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	if form == nil {
		return send(t, c, method, u, "", hdr)
	}
	withType := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	maps.Copy(withType, hdr)
	return send(t, c, method, u, form.Encode(), withType)
}

// sessionRoutes are the hosted page's routes of one session.
var sessionRoutes = []struct{ method, suffix string }{
	{"GET", ""}, {"POST", "/pay"}, {"GET", "/quote"}, {"POST", "/challenge"},
}

// TestOddSessionIDsGetTheNotFoundPage: ids that are not UTF-8, hold a NUL,
// or are not the shape of a session id get the same 404 page as an unknown
// id, on every route (they answered 500).
func TestOddSessionIDsGetTheNotFoundPage(t *testing.T) {
	c := newBrowser()
	for _, rt := range sessionRoutes {
		for _, id := range []string{"%00", "%ff", "%c0%af", "cs_%00", "cs_%ff", "%ed%a0%80", "cs_a%2Fb", "..%2F..%2Fetc"} {
			for _, accept := range []string{"text/html", "application/json"} {
				code, _, body := rawRequest(t, c, rt.method, sys.CheckoutURL+"/checkout/"+id+rt.suffix, url.Values{"name": {"x"}},
					map[string]string{"Accept": accept})
				if code != http.StatusNotFound || !strings.Contains(body, "Page not found") {
					t.Errorf("%s /checkout/%s%s (%s): %d %.200q", rt.method, id, rt.suffix, accept, code, body)
				}
			}
		}
	}
}

// TestOddPathValuesOnTheAPIs: the same inputs in admin-api's path
// parameters (its own and those it forwards to hooks and checkout-runtime)
// and in hooks' provider callback route are a 4xx, never a 500.
func TestOddPathValuesOnTheAPIs(t *testing.T) {
	for _, name := range []string{"%00", "%ff", "%c0%af", "test%00"} {
		code, _, body := rawRequest(t, merchant, "POST", sys.HooksURL+"/hooks/"+name, url.Values{}, nil)
		if code != http.StatusNotFound {
			t.Errorf("POST /hooks/%s: %d %s", name, code, body)
		}
	}
	for _, path := range []string{"/v1/checkout/sessions/", "/v1/sites/", "/v1/webhook_endpoints/", "/v1/events/", "/v1/payments/"} {
		for _, id := range []string{"%00", "%ff", "%c0%af"} {
			code, _, body := rawRequest(t, merchant, "GET", sys.AdminAPIURL+path+id, nil, map[string]string{"Authorization": "Bearer " + sys.SecretKey})
			if code < 400 || code >= 500 {
				t.Errorf("GET %s%s: %d %s", path, id, code, body)
			}
		}
	}
}

// TestPayFormRefusesUnstorableText: a billing field with invalid UTF-8 or a
// NUL is a 400 naming it (the billing name reached PostgreSQL: 500), and a
// challenge for such a payment id is a 404.
func TestPayFormRefusesUnstorableText(t *testing.T) {
	s := newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	for _, field := range []string{"name", "email", "postal_code", "region", "country", "method"} {
		for _, bad := range []string{"\xff", "Ada\x00", "\xc0\xaf"} {
			form := cardForm(csrf, "4242 4242 4242 4242")
			form.Set(field, bad)
			resp, out, _ := post(t, c, s["url"].(string)+"/pay", form, true)
			e, _ := out["error"].(map[string]any)
			if resp.StatusCode != http.StatusBadRequest || e["param"] != field {
				t.Errorf("%s=%q: %d %v", field, bad, resp.StatusCode, out)
			}
			resp, _, page := post(t, c, s["url"].(string)+"/pay", form, false)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="errors"`) {
				t.Errorf("%s=%q (HTML): %d", field, bad, resp.StatusCode)
			}
		}
	}
	for _, bad := range []string{"\xff", "pay_\x00", "pay_\xc0\xaf"} {
		resp, _, _ := post(t, c, s["url"].(string)+"/challenge", url.Values{"csrf_token": {csrf}, "payment_id": {bad}, "decision": {"approve"}}, true)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("challenge payment_id=%q: %d", bad, resp.StatusCode)
		}
	}
	if got := session(t, s["id"].(string)); got["status"] != "open" {
		t.Errorf("session after refused posts: %v", got)
	}
}

var liveKeyOnce struct {
	sync.Once
	key string
	err error
}

// liveKey makes a live secret key for the demo organization with admin-api's
// own command, as an operator would.
func liveKey(t *testing.T) string {
	t.Helper()
	liveKeyOnce.Do(func() {
		liveKeyOnce.key, liveKeyOnce.err = adminCLI("keys", "create", "--org", sys.OrganizationID, "--mode", "live", "--name", "e2e live")
	})
	if liveKeyOnce.err != nil || !strings.HasPrefix(liveKeyOnce.key, "sk_live_") {
		t.Fatalf("live key: %v %q", liveKeyOnce.err, liveKeyOnce.key)
	}
	return liveKeyOnce.key
}

// liveSession creates a live site offering methods, and an open session on it.
func liveSession(t *testing.T, methods ...string) map[string]any {
	t.Helper()
	key := liveKey(t)
	code, site := apiAs(t, key, "POST", "/v1/sites", map[string]any{"name": "Live shop", "default_currency": "EUR",
		"payment_method_types": methods, "bank_transfer_instructions": "IBAN FR76 3000 6000 0112 3456 7890 189",
		"default_success_url": "https://shop.example/success", "default_cancel_url": "https://shop.example/cart"})
	if code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("live site: %d %v", code, site)
	}
	code, s := apiAs(t, key, "POST", "/v1/checkouts/"+site["id"].(string)+"/create", map[string]any{
		"line_items": []map[string]any{{"name": "Tea", "unit_amount": 450, "quantity": 3}}, "currency": "EUR",
		"success_url": "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}", "cancel_url": "https://shop.example/cart"})
	if code != http.StatusCreated || s["livemode"] != true {
		t.Fatalf("live session: %d %v", code, s)
	}
	return s
}

// cardInputs are the markers of raw card entry on a page.
var cardInputs = []string{`name="card_number"`, `name="card_exp"`, `name="card_cvc"`, `autocomplete="cc-`, `id="card-fields"`, `value="card"`}

// TestLivePageTakesNoCardData: a live session's page renders no card input
// and offers bank transfer; a posted card field is refused, naming it,
// before any payment exists; a live session with no method that works live
// says that payment is not yet available.
func TestLivePageTakesNoCardData(t *testing.T) {
	s := liveSession(t, "card", "bank_transfer")
	c := newBrowser()
	page, csrf := open(t, c, s["url"].(string))
	for _, m := range cardInputs {
		if strings.Contains(page, m) {
			t.Errorf("the live page renders %s", m)
		}
	}
	if csrf == "" || !strings.Contains(page, `name="method" value="bank_transfer"`) || strings.Contains(page, `id="test-mode"`) {
		t.Fatalf("the live page does not offer bank transfer:\n%s", page)
	}
	for _, field := range []string{"card_number", "card_exp", "card_cvc"} {
		form := url.Values{"csrf_token": {csrf}, "method": {"card"}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"},
			"country": {"FR"}, "postal_code": {"75001"}, "action": {"pay"}, field: {"4242424242424242"}}
		resp, out, _ := post(t, c, s["url"].(string)+"/pay", form, true)
		e, _ := out["error"].(map[string]any)
		if resp.StatusCode != http.StatusBadRequest || e["param"] != field || e["code"] != "card_entry_not_available" {
			t.Errorf("posting %s: %d %v", field, resp.StatusCode, out)
		}
		resp, _, html := post(t, c, s["url"].(string)+"/pay", form, false)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(html, "4242") || strings.Contains(html, `name="card_number"`) {
			t.Errorf("posting %s (HTML): %d", field, resp.StatusCode)
		}
	}
	var n int
	if err := queryRow(t, `SELECT count(*) FROM runtime.payments WHERE session_id = $1`, s["id"]).Scan(&n); err != nil || n != 0 {
		t.Errorf("payments after refused card posts: %d %v", n, err)
	}
	// Bank transfer works live.
	resp, out, _ := post(t, c, s["url"].(string)+"/pay", url.Values{"csrf_token": {csrf}, "method": {"bank_transfer"},
		"name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "country": {"FR"}, "postal_code": {"75001"}, "action": {"pay"}}, true)
	if resp.StatusCode != http.StatusOK || out["status"] != "processing" {
		t.Errorf("live bank transfer: %d %v", resp.StatusCode, out)
	}

	cardOnly := liveSession(t, "card")
	page, _ = open(t, c, cardOnly["url"].(string))
	if strings.Contains(page, `id="pay-form"`) || !strings.Contains(page, `id="no-methods"`) {
		t.Errorf("a live card-only page:\n%s", page)
	}
	for _, m := range cardInputs {
		if strings.Contains(page, m) {
			t.Errorf("the live card-only page renders %s", m)
		}
	}
}

// pause stops a service's process (SIGSTOP: it holds its connections and
// answers nothing, like a hung or restarting service) until the test ends.
// It returns once every thread has stopped: kill returns before that, and a
// service only signalled could still answer the test's first request.
func pause(t *testing.T, service string) (resume func()) {
	t.Helper()
	pid := servicePID(t, service)
	if err := process.Stop(pid, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	resume = func() { once.Do(func() { _ = syscall.Kill(pid, syscall.SIGCONT) }) }
	t.Cleanup(resume)
	return resume
}

// TestPageWhileAdminAPIIsDown: with admin-api not answering, the page and
// the pay endpoint answer 503 with Retry-After — a "try again" page, or JSON
// temporarily_unavailable (they answered 500 "internal") — and work again
// once it is back.
func TestPageWhileAdminAPIIsDown(t *testing.T) {
	paid, unseen := newSession(t, nil), newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, paid["url"].(string))
	form := url.Values{"csrf_token": {csrf}, "method": {"bank_transfer"}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"},
		"country": {"FR"}, "postal_code": {"75001"}, "action": {"pay"}}
	resume := pause(t, "admin-api")

	code, hdr, body := rawRequest(t, c, "GET", unseen["url"].(string), nil, map[string]string{"Accept-Language": "fr"})
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, "Service momentanément indisponible") ||
		!strings.Contains(body, `id="retry"`) {
		t.Errorf("page: %d Retry-After %q\n%s", code, hdr.Get("Retry-After"), body)
	}
	code, hdr, body = rawRequest(t, c, "POST", paid["url"].(string)+"/pay", form, map[string]string{"Accept": "application/json"})
	var out struct {
		Status string
		Error  struct{ Code string }
	}
	_ = json.Unmarshal([]byte(body), &out)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || out.Status != "error" || out.Error.Code != "temporarily_unavailable" {
		t.Errorf("pay (JSON): %d Retry-After %q %s", code, hdr.Get("Retry-After"), body)
	}
	code, _, body = rawRequest(t, c, "POST", paid["url"].(string)+"/pay", form, nil)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "Temporarily unavailable") {
		t.Errorf("pay (HTML): %d\n%s", code, body)
	}

	resume()
	if code, _, body := rawRequest(t, c, "GET", unseen["url"].(string), nil, nil); code != http.StatusOK {
		t.Errorf("page after admin-api is back: %d\n%s", code, body)
	}
	resp, res, _ := post(t, c, paid["url"].(string)+"/pay", form, true)
	if resp.StatusCode != http.StatusOK || res["status"] != "processing" {
		t.Errorf("pay after admin-api is back: %d %v", resp.StatusCode, res)
	}
}

// TestMerchantAPIWhileHooksIsDown: a route admin-api forwards to hooks
// answers 503 with Retry-After while hooks does not answer (it answered 500).
// The caller's Grpc-Timeout header bounds the wait.
func TestMerchantAPIWhileHooksIsDown(t *testing.T) {
	resume := pause(t, "hooks")
	code, hdr, body := rawRequest(t, merchant, "GET", sys.AdminAPIURL+"/v1/webhook_endpoints", nil,
		map[string]string{"Authorization": "Bearer " + sys.SecretKey, "Grpc-Timeout": "2S"})
	var out struct{ Error struct{ Type, Code string } }
	_ = json.Unmarshal([]byte(body), &out)
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || out.Error.Type != "api_error" || out.Error.Code != "unavailable" {
		t.Errorf("GET /v1/webhook_endpoints with hooks down: %d Retry-After %q %s", code, hdr.Get("Retry-After"), body)
	}
	resume()
	if code, _ := api(t, "GET", "/v1/webhook_endpoints", nil); code != http.StatusOK {
		t.Errorf("after hooks is back: %d", code)
	}
}
