package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// newBrowser is a payer: a cookie jar, no redirect following (the tests look
// at each 303), and *.localhost dialled on loopback as browsers do.
func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		if strings.HasSuffix(host, ".localhost") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return d.DialContext(ctx, network, addr)
	}}
	return &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var merchant = newBrowser()

// adminCLI runs the stack's admin-api binary with args against its
// database, as an operator would, and returns what it printed.
func adminCLI(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, "admin-api"), args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+sys.DatabaseURL)
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// api calls the merchant API with the demo key.
func api(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return apiAs(t, sys.SecretKey, method, path, body)
}

// apiAs calls the merchant API with key; body is nil, a string of raw JSON,
// or a value to marshal.
func apiAs(t *testing.T, key, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var raw string
	switch b := body.(type) {
	case nil:
	case string:
		raw = b
	default:
		j, _ := json.Marshal(b)
		raw = string(j)
	}
	return request(t, key, method, path, raw, "")
}

// apiIdem posts a JSON body with an Idempotency-Key.
func apiIdem(t *testing.T, key, path, body, idem string) (int, map[string]any) {
	t.Helper()
	return request(t, key, "POST", path, body, idem)
}

// request sends one merchant-API call and decodes its JSON answer.
func request(t *testing.T, key, method, path, body, idem string) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, sys.AdminAPIURL+path, r)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := merchant.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// newSession creates a session for 3 × €4.50 + €12.99 with the given extras.
func newSession(t *testing.T, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{
		"line_items":  []map[string]any{{"name": "Tea", "unit_amount": 450, "quantity": 3}, {"name": "Cup", "unit_amount": 1299, "quantity": 1}},
		"currency":    "EUR",
		"success_url": "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url":  "https://shop.example/cart",
	}
	for k, v := range extra {
		body[k] = v
	}
	status, s := api(t, "POST", "/v1/checkouts/"+sys.SiteID+"/create", body)
	if status != http.StatusCreated {
		t.Fatalf("create session: %d %v", status, s)
	}
	return s
}

func session(t *testing.T, id string) map[string]any {
	t.Helper()
	_, s := api(t, "GET", "/v1/checkout/sessions/"+id, nil)
	return s
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// open loads the hosted page and returns its HTML and the form's CSRF token.
func open(t *testing.T, c *http.Client, pageURL string) (string, string) {
	t.Helper()
	resp, err := c.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", pageURL, resp.StatusCode, b)
	}
	m := csrfRE.FindSubmatch(b)
	if m == nil {
		return string(b), ""
	}
	return string(b), string(m[1])
}

// post submits a form to the page; asJSON asks for the JSON answer.
// declinedPage follows the 303 that a declined HTML post answers
// (Post/Redirect/Get) to the page, which shows the decline, and returns that
// page; any other answer fails the test.
func declinedPage(t *testing.T, c *http.Client, resp *http.Response) string {
	t.Helper()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.Query().Get("attempt"), "pay_") {
		t.Fatalf("declined post: %d to %v (%v), want 303 to the page with the attempt", resp.StatusCode, loc, err)
	}
	page, err := c.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	b, _ := io.ReadAll(page.Body)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("GET %s after the decline: %d", loc, page.StatusCode)
	}
	return string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, asJSON bool) (*http.Response, map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if asJSON {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if asJSON {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("POST %s: %d, not JSON: %q", u, resp.StatusCode, b)
		}
	}
	return resp, out, string(b)
}

// cardForm is a complete form for a card payment from France.
func cardForm(csrf, number string) url.Values {
	f := billingForm(csrf, "card")
	f.Set("card_number", number)
	f.Set("card_exp", "12/34")
	f.Set("card_cvc", "123")
	return f
}

// billingForm is the payment form with the billing details and no card
// field: a bank transfer's, or a Stripe card payment's before its token.
func billingForm(csrf, method string) url.Values {
	return url.Values{"csrf_token": {csrf}, "method": {method}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"},
		"country": {"FR"}, "postal_code": {"75001"}, "action": {"pay"}}
}

// eventually polls cond until it holds or the deadline passes: for effects
// that cross services asynchronously (callbacks through JetStream).
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %v", what, within)
		}
		<-tick.C
	}
}
