package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

func TestCardPaymentSucceeds(t *testing.T) {
	s := newSession(t, nil)
	id := s["id"].(string)
	c := newBrowser()
	html, csrf := open(t, c, s["url"].(string))
	if csrf == "" || !strings.Contains(html, "Tea") {
		t.Fatalf("page lacks the form or the items:\n%s", html)
	}
	resp, _, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, "4242 4242 4242 4242"), false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Host != "shop.example" || loc.Query().Get("session_id") != id || !strings.HasPrefix(loc.Query().Get("transaction_id"), "pay_") {
		t.Fatalf("redirected to %s", loc)
	}
	got := session(t, id)
	// FR has 20 % VAT included in prices: the total is unchanged.
	if got["status"] != "complete" || got["payment_status"] != "paid" || got["payment"] != loc.Query().Get("transaction_id") || got["amount_total"] != 2649.0 {
		t.Fatalf("session after paying: %v", got)
	}
	// The page now shows the receipt; paying again is not possible.
	if html, _ := open(t, c, s["url"].(string)); !strings.Contains(html, `id="paid"`) {
		t.Fatalf("paid page:\n%s", html)
	}
}

func TestExclusiveTaxIsCharged(t *testing.T) {
	s := newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	form := cardForm(csrf, provider.TestCardSuccess)
	form.Set("country", "US")
	form.Set("region", "CA")
	form.Set("postal_code", "94103")
	_, out, _ := post(t, c, s["url"].(string)+"/pay", form, true)
	if out["status"] != "succeeded" {
		t.Fatalf("pay: %v", out)
	}
	got := session(t, s["id"].(string))
	// 2649 at 7.25 %: 192.05 rounds half up to 192.
	if got["amount_tax"] != 192.0 || got["amount_total"] != 2841.0 {
		t.Fatalf("tax not applied: %v %v", got["amount_tax"], got["amount_total"])
	}
}

func TestDeclinesAndRetry(t *testing.T) {
	s := newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	for number, code := range map[string]string{
		provider.TestCardDeclined: "card_declined", provider.TestCardInsufficientFunds: "insufficient_funds",
		"4111111111111111": "test_card_unknown",
	} {
		resp, out, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, number), true)
		e, _ := out["error"].(map[string]any)
		if resp.StatusCode != http.StatusPaymentRequired || out["status"] != "error" || e["code"] != code || e["message"] == "" {
			t.Errorf("%s: %d %v", number, resp.StatusCode, out)
		}
	}
	// The HTML answer sends the browser to the page (Post/Redirect/Get),
	// which shows the form with the message, for a retry.
	resp, _, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardDeclined), false)
	if html := declinedPage(t, c, resp); !strings.Contains(html, `id="errors"`) || !strings.Contains(html, `id="pay-form"`) {
		t.Fatalf("decline page: %s", html)
	}
	if got := session(t, s["id"].(string)); got["status"] != "open" {
		t.Fatalf("a decline changed the session: %v", got["status"])
	}
	if _, out, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), true); out["status"] != "succeeded" {
		t.Fatalf("retry after declines: %v", out)
	}
}

func TestChallenge(t *testing.T) {
	for _, decision := range []string{"fail", "approve"} {
		s := newSession(t, nil)
		c := newBrowser()
		_, csrf := open(t, c, s["url"].(string))
		_, out, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardChallenge), true)
		if out["status"] != "requires_action" {
			t.Fatalf("3220: %v", out)
		}
		html, _ := open(t, c, s["url"].(string))
		payID := between(html, `name="payment_id" value="`, `"`)
		if !strings.Contains(html, `id="approve"`) || payID == "" {
			t.Fatalf("challenge page:\n%s", html)
		}
		_, out, _ = post(t, c, s["url"].(string)+"/challenge", url.Values{"csrf_token": {csrf}, "payment_id": {payID}, "decision": {decision}}, true)
		want := map[string]string{"fail": "error", "approve": "succeeded"}[decision]
		if out["status"] != want {
			t.Fatalf("%s: %v", decision, out)
		}
	}
}

func TestAsyncCardSucceedsThroughTheProviderCallback(t *testing.T) {
	s := newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	_, out, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardPending), true)
	if out["status"] != "processing" {
		t.Fatalf("0077: %v", out)
	}
	if got := session(t, s["id"].(string)); got["status"] != "complete" || got["payment_status"] != "unpaid" {
		t.Fatalf("before the callback: %v %v", got["status"], got["payment_status"])
	}
	if html, _ := open(t, c, s["url"].(string)); !strings.Contains(html, `http-equiv="refresh"`) {
		t.Fatalf("processing page does not refresh itself")
	}
	// The test provider posts its signed callback to hooks, which stores it
	// and publishes it; the runtime captures; admin-api marks the session paid.
	eventually(t, "the session to be paid", 30*time.Second, func() bool {
		return session(t, s["id"].(string))["payment_status"] == "paid"
	})
}

func TestBankTransfer(t *testing.T) {
	s := newSession(t, nil)
	id, ref := s["id"].(string), s["reference"].(string)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	form := billingForm(csrf, "bank_transfer")
	_, out, _ := post(t, c, s["url"].(string)+"/pay", form, true)
	if out["status"] != "processing" {
		t.Fatalf("bank transfer: %v", out)
	}
	html, _ := open(t, c, s["url"].(string))
	if !strings.Contains(html, `id="bank-reference"`) || !strings.Contains(html, ref) || !strings.Contains(html, "26.49") {
		t.Fatalf("instructions lack the reference %s or the amount:\n%s", ref, html)
	}
	got := session(t, id)
	payID := got["payment"].(string)
	if got["status"] != "complete" || got["payment_status"] != "unpaid" {
		t.Fatalf("before funds: %v", got)
	}
	// A partial bank-feed credit is recorded but does not pay.
	sendBankFeed(t, ref, 1000, http.StatusOK)
	eventually(t, "the partial credit to be recorded", 20*time.Second, func() bool {
		var received int64
		_ = queryRow(t, "SELECT amount_received FROM runtime.payments WHERE id = $1", payID).Scan(&received)
		return received == 1000
	})
	if got := session(t, id); got["payment_status"] != "unpaid" {
		t.Fatalf("a partial credit paid the session")
	}
	// The merchant confirms the rest by hand.
	status, p := api(t, "POST", "/v1/payments/"+payID+"/confirm", map[string]any{})
	if status != http.StatusOK || p["status"] != "succeeded" || p["amount_received"] != 2649.0 {
		t.Fatalf("confirm: %d %v", status, p)
	}
	if got := session(t, id); got["payment_status"] != "paid" {
		t.Fatalf("after confirmation: %v", got["payment_status"])
	}
}

func TestConcurrentSubmissionsCaptureOnce(t *testing.T) {
	s := newSession(t, nil)
	id := s["id"].(string)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	const n = 20
	var wg sync.WaitGroup
	statuses := make([]string, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, out, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), true)
			statuses[i], _ = out["status"].(string)
		}()
	}
	close(start)
	wg.Wait()
	var captured, total int
	if err := queryRow(t, "SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*) FROM runtime.payments WHERE session_id = $1", id).Scan(&captured, &total); err != nil {
		t.Fatal(err)
	}
	if captured != 1 {
		t.Fatalf("%d captured payments for one session (of %d attempts, answers %v)", captured, total, statuses)
	}
	got := session(t, id)
	var winner string
	_ = queryRow(t, "SELECT id FROM runtime.payments WHERE session_id = $1 AND status = 'succeeded'", id).Scan(&winner)
	if got["payment"] != winner {
		t.Fatalf("session names %v, captured payment is %s", got["payment"], winner)
	}
	t.Logf("answers: %v; %d attempts recorded", statuses, total)
}

func TestExpiredSessionRefusesPayment(t *testing.T) {
	s := newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	if status, _ := api(t, "POST", "/v1/checkout/sessions/"+s["id"].(string)+"/expire", nil); status != http.StatusOK {
		t.Fatal("expire failed")
	}
	resp, out, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), true)
	if resp.StatusCode != http.StatusConflict || out["status"] != "closed" {
		t.Fatalf("paying an expired session: %d %v", resp.StatusCode, out)
	}
	var n int
	_ = queryRow(t, "SELECT count(*) FROM runtime.payments WHERE session_id = $1", s["id"]).Scan(&n)
	if n != 0 {
		t.Fatalf("%d payments recorded for an expired session", n)
	}
	if html, _ := open(t, c, s["url"].(string)); !strings.Contains(html, "shop.example/cart") {
		t.Fatalf("expired page lacks the way back")
	}
}

func TestFormDefences(t *testing.T) {
	s := newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	// Without the token, or with another session's, nothing is attempted.
	other := newSession(t, nil)
	_, otherCSRF := open(t, c, other["url"].(string))
	for _, tok := range []string{"", "forged", otherCSRF} {
		resp, _, _ := post(t, c, s["url"].(string)+"/pay", cardForm(tok, provider.TestCardSuccess), true)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("token %q: %d", tok, resp.StatusCode)
		}
	}
	// Bad fields are named.
	form := cardForm(csrf, "12")
	form.Set("email", "nope")
	resp, out, _ := post(t, c, s["url"].(string)+"/pay", form, true)
	if resp.StatusCode != http.StatusBadRequest || out["error"] == nil {
		t.Fatalf("bad fields: %d %v", resp.StatusCode, out)
	}
	// Card testing: after the per-session limit, attempts are refused.
	limited := false
	for i := 0; i < 12 && !limited; i++ {
		resp, _, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardDeclined), true)
		limited = resp.StatusCode == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("12 declined attempts on one session were never limited")
	}
	// Unknown sessions get a 404 page that says nothing else.
	resp2, err := c.Get(sys.CheckoutURL + "/checkout/cs_doesnotexist")
	if err != nil || resp2.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown session: %v %v", resp2.StatusCode, err)
	}
	resp2.Body.Close()
}

func TestPageHeaders(t *testing.T) {
	s := newSession(t, nil)
	resp, err := newBrowser().Get(s["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "script-src 'nonce-", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
}

func TestProviderCallbackEndpoint(t *testing.T) {
	body := provider.NewFundsReceived("TP-NOPE-NOPE", 100, "EUR").Encode()
	// Bad signature: 400. Unknown provider: 404.
	if code := postCallback(t, "bank_transfer", body, "t=1,v1=00"); code != http.StatusBadRequest {
		t.Fatalf("bad signature: %d", code)
	}
	if code := postCallback(t, "nope", body, provider.Sign([]byte(sys.BankFeedSecret), body, time.Now())); code != http.StatusNotFound {
		t.Fatalf("unknown provider: %d", code)
	}
	// Replays are acknowledged and stored once.
	sig := provider.Sign([]byte(sys.BankFeedSecret), body, time.Now())
	for range 2 {
		if code := postCallback(t, "bank_transfer", body, sig); code != http.StatusOK {
			t.Fatalf("valid callback: %d", code)
		}
	}
	var n int
	_ = queryRow(t, "SELECT count(*) FROM hooks.provider_events WHERE body = $1", body).Scan(&n)
	if n != 1 {
		t.Fatalf("callback stored %d times", n)
	}
	// The test feed is another sender: the same event id from it is its own
	// event, not a replay of the live one (nor could it shadow one).
	if code := postCallback(t, "bank_transfer", body, provider.Sign([]byte(sys.BankFeedTestSecret), body, time.Now())); code != http.StatusOK {
		t.Fatalf("test feed callback: %d", code)
	}
	_ = queryRow(t, "SELECT count(*) FROM hooks.provider_events WHERE body = $1", body).Scan(&n)
	if n != 2 {
		t.Fatalf("the same event id from the live and the test feed stored %d times, want 2", n)
	}
	// The test provider has no live mode: the live feed's secret does not
	// sign its callbacks.
	tb := provider.NewPaymentSucceeded("pay_nope", "", 0, "").Encode()
	if code := postCallback(t, "test", tb, provider.Sign([]byte(sys.BankFeedSecret), tb, time.Now())); code != http.StatusBadRequest {
		t.Fatalf("test provider callback signed with the live feed secret: %d", code)
	}
}

// sendBankFeed posts a test-mode bank-feed credit (signed with the test
// feed's secret: the demo key, and so every session here, is test mode).
func sendBankFeed(t *testing.T, reference string, amount int64, want int) {
	t.Helper()
	body := provider.NewFundsReceived(reference, amount, "EUR").Encode()
	if code := postCallback(t, "bank_transfer", body, provider.Sign([]byte(sys.BankFeedTestSecret), body, time.Now())); code != want {
		t.Fatalf("bank feed: %d, want %d", code, want)
	}
}

func postCallback(t *testing.T, name string, body []byte, sig string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", sys.HooksURL+"/hooks/"+name, strings.NewReader(string(body)))
	req.Header.Set(provider.SignatureHeader, sig)
	resp, err := merchant.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func queryRow(t *testing.T, sql string, args ...any) pgx.Row {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), sys.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn.QueryRow(context.Background(), sql, args...)
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return ""
}

// TestConcurrentDeclinesStopAtTheSessionLimit: the per-session attempt limit
// (10 by default) holds when the attempts come all at once (issue 10, item 2).
func TestConcurrentDeclinesStopAtTheSessionLimit(t *testing.T) {
	s := newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	const n = 30
	var wg sync.WaitGroup
	codes := make([]int, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, _, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardDeclined), true)
			codes[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	var recorded, limited int
	for _, code := range codes {
		if code == http.StatusTooManyRequests {
			limited++
		}
	}
	_ = queryRow(t, "SELECT count(*) FROM runtime.payments WHERE session_id = $1", s["id"]).Scan(&recorded)
	if recorded != 10 || limited != n-10 {
		t.Fatalf("%d attempts reached the provider, %d limited (answers %v); want 10 and %d", recorded, limited, codes, n-10)
	}
}
