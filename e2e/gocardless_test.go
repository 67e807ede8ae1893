package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tillpoint/tillpoint/services/platform/provider/gocardless"
)

// gcAPI is the GoCardless the stack calls (GOCARDLESS_API_BASE, admin-api's
// check of the token and the runtime's payments): it answers
// with the response bodies GoCardless publishes in its Go client library's
// testdata (billing request BRQ123, flow BRF123, payment PM123), the billing
// request's status being what the payer did on GoCardless's page, and it
// keeps the flow's redirect_uri as GoCardless would, to send the payer back.
var gcAPI = &gcFixtureAPI{status: gocardless.BillingRequestPending}

type gcFixtureAPI struct {
	mu          sync.Mutex
	status      string
	redirectURI string
	bodies      map[string][]byte // "METHOD /path" → fixture body
}

// start serves the fixtures on a loopback port.
func (g *gcFixtureAPI) start() (url string, stop func(), err error) {
	g.bodies = map[string][]byte{}
	for route, src := range map[string][2]string{
		"POST /billing_requests":       {"billing_requests", "create"},
		"POST /billing_request_flows":  {"billing_request_flows", "create"},
		"GET /billing_requests/BRQ123": {"billing_requests", "get"},
		"GET /creditors":               {"creditors", "list"}, // admin-api's check of the token
	} {
		raw, err := os.ReadFile("../services/platform/provider/gocardless/testdata/" + src[0] + ".json")
		if err != nil {
			return "", nil, err
		}
		var all map[string]json.RawMessage
		if err := json.Unmarshal(raw, &all); err != nil {
			return "", nil, err
		}
		var entry struct {
			Body json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(all[src[1]], &entry); err != nil {
			return "", nil, fmt.Errorf("%s %s: %w", src[0], src[1], err)
		}
		g.bodies[route] = entry.Body
	}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	return srv.URL, srv.Close, nil
}

func (g *gcFixtureAPI) serve(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	body, ok := g.bodies[route]
	if !ok || r.Header.Get("GoCardless-Version") != "2015-07-06" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sandbox_") {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":404,"type":"invalid_api_usage","message":"not found","errors":[{"reason":"resource_not_found"}]}}`))
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch route {
	case "POST /billing_request_flows":
		var in struct {
			Flow struct {
				RedirectURI string `json:"redirect_uri"`
			} `json:"billing_request_flows"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		g.redirectURI = in.Flow.RedirectURI
	case "GET /billing_requests/BRQ123":
		var env map[string]map[string]any
		_ = json.Unmarshal(body, &env)
		env["billing_requests"]["status"] = g.status
		body, _ = json.Marshal(env)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// payerAuthorises is the payer finishing GoCardless's page: the billing
// request is fulfilled; it returns where GoCardless sends them back.
func (g *gcFixtureAPI) payerAuthorises() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.status = gocardless.BillingRequestFulfilled
	return g.redirectURI
}

// TestGoCardlessDirectDebitThroughTheStack: a site with a GoCardless account
// offers Direct Debit for a GBP session; paying sends the payer to the
// billing request flow; back on the page, the session is complete and
// unpaid and the page says "processing"; GoCardless's signed webhook
// (payments confirmed) makes it paid, and the merchant gets
// checkout.session.async_payment_succeeded. A bad signature is 498.
func TestGoCardlessDirectDebitThroughTheStack(t *testing.T) {
	const secret = "E2eGoCardlessEndpointSecret42"
	status, acct := api(t, "POST", "/v1/provider_accounts", map[string]any{"provider": "gocardless", "name": "Direct Debit",
		"credentials": map[string]any{"secret_key": "sandbox_E2eGoCardlessToken42", "webhook_secret": secret}})
	if status != http.StatusCreated {
		t.Fatalf("connect GoCardless: %d %v", status, acct)
	}
	status, site := api(t, "POST", "/v1/sites", map[string]any{"name": "Direct debit shop", "default_currency": "GBP",
		"payment_method_types": []string{"card", "direct_debit"}, "provider_accounts": map[string]string{"direct_debit": acct["id"].(string)}})
	if status != http.StatusCreated {
		t.Fatalf("site: %d %v", status, site)
	}
	r := newReceiver(t, 0)
	_, whsec := createEndpoint(t, r.srv.URL+"/hooks", "checkout.session.completed", "checkout.session.async_payment_succeeded")
	status, s := api(t, "POST", "/v1/checkouts/"+site["id"].(string)+"/create", map[string]any{
		"line_items": []map[string]any{{"name": "Tea", "unit_amount": 1250, "quantity": 2}}, "currency": "GBP",
		"payment_method_types": []string{"card", "direct_debit"},
		"success_url":          "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}", "cancel_url": "https://shop.example/cart"})
	if status != http.StatusCreated {
		t.Fatalf("session: %d %v", status, s)
	}
	id, pageURL := s["id"].(string), s["url"].(string)

	c := newBrowser()
	html, csrf := open(t, c, pageURL)
	if !strings.Contains(html, `value="direct_debit"`) {
		t.Fatalf("the page does not offer Direct Debit:\n%s", html)
	}
	// In Chromium, with the page's script and CSP: choosing Direct Debit
	// shows its note and hides the card fields.
	browser := newChromium(t)
	shots := screenshotDir(t)
	tab := newTab(t, browser)
	do(t, tab, "choose Direct Debit", chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.ID("pay-form")),
		chromedp.Click(chromedp.ID("method-direct_debit")), chromedp.WaitVisible(chromedp.ID("dd-fields")),
		chromedp.WaitNotVisible(chromedp.ID("card-fields")))
	shot(t, tab, shots, "gocardless-open.png")
	resp, _, _ := post(t, c, pageURL+"/pay", billingForm(csrf, "direct_debit"), false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://monzo.com/abc-123-things" {
		t.Fatalf("pay: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	back := gcAPI.payerAuthorises()
	if !strings.HasPrefix(back, pageURL+"/return?payment_id=pay_") {
		t.Fatalf("the flow's redirect_uri is %q", back)
	}
	resp, err := c.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/checkout/"+id {
		t.Fatalf("return: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := session(t, id); got["status"] != "complete" || got["payment_status"] != "unpaid" {
		t.Fatalf("session after the return: %v", got)
	}
	html, _ = open(t, c, pageURL)
	if !strings.Contains(html, "Payment processing") || !strings.Contains(html, `id="direct-debit-note"`) || !strings.Contains(html, "payment of £") {
		t.Fatalf("the page after the return:\n%s", html)
	}
	// The processing state in Chromium, for the record.
	tab = newTab(t, browser)
	do(t, tab, "open the processing page", chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.ID("direct-debit-note")))
	shot(t, tab, shots, "gocardless-processing.png")

	payID := strings.TrimPrefix(back, pageURL+"/return?payment_id=")
	batch, _ := json.Marshal(map[string]any{"events": []map[string]any{{"id": "EV" + payID[4:16], "created_at": time.Now().UTC().Format(time.RFC3339),
		"resource_type": "payments", "action": "confirmed", "links": map[string]string{"payment": "PM123"},
		"details":           map[string]string{"origin": "gocardless", "cause": "payment_confirmed"},
		"resource_metadata": map[string]string{"tillpoint_payment": payID}}}})
	hook := func(sig string) int {
		req, _ := http.NewRequest("POST", acct["webhook_url"].(string), bytes.NewReader(batch))
		req.Header.Set("Webhook-Signature", sig)
		resp, err := merchant.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := hook(gocardless.Sign("someone-else", batch)); code != gocardless.StatusInvalidSignature {
		t.Errorf("bad signature: %d, want 498", code)
	}
	if got := session(t, id); got["payment_status"] != "unpaid" {
		t.Fatalf("a refused webhook paid the session: %v", got)
	}
	for range 2 { // GoCardless retries: the second is a duplicate
		if code := hook(gocardless.Sign(secret, batch)); code != http.StatusNoContent {
			t.Fatalf("signed webhook: %d", code)
		}
	}
	eventually(t, "checkout.session.async_payment_succeeded to arrive", 30*time.Second, func() bool {
		for _, e := range r.accepted(t, whsec, "checkout.session.async_payment_succeeded") {
			if obj := e["data"].(map[string]any)["object"].(map[string]any); obj["id"] == id && obj["payment_status"] == "paid" {
				return true
			}
		}
		return false
	})
	if got := session(t, id); got["status"] != "complete" || got["payment_status"] != "paid" {
		t.Fatalf("session after the webhook: %v", got)
	}
	n := 0
	for _, e := range r.accepted(t, whsec, "checkout.session.async_payment_succeeded") {
		if e["data"].(map[string]any)["object"].(map[string]any)["id"] == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d async_payment_succeeded events for the session, want 1", n)
	}
}
