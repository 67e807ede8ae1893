package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCreateOnEveryRoute(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/v1/checkouts/" + e.siteA + "/create", "/api/v1/checkouts/" + e.siteA + "/create", "/v1/checkout/sessions"} {
		body := validSession()
		if path == "/v1/checkout/sessions" {
			body["site_id"] = e.siteA
		}
		status, s := e.do("POST", path, e.keyA, body)
		if status != http.StatusCreated {
			t.Fatalf("%s: %d %v", path, status, s)
		}
		id := s["id"].(string)
		want := map[string]any{
			"object": "checkout.session", "status": "open", "payment_status": "unpaid", "currency": "EUR",
			"amount_subtotal": 450.0*3 + 1299 + 99*2, "amount_total": 450.0*3 + 1299 + 99*2, "amount_tax": 0.0,
			"url": checkoutBase + "/checkout/" + id, "livemode": false, "site_id": e.siteA, "payment": nil,
			"success_url": "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
		}
		for k, v := range want {
			if s[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", path, k, s[k], v)
			}
		}
		if !strings.HasPrefix(id, "cs_") || len(id) < 27 {
			t.Errorf("id %q is not a cs_ id with ≥ 128 random bits", id)
		}
		status, got := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
		if status != http.StatusOK || got["id"] != id || got["reference"] != s["reference"] {
			t.Errorf("retrieve: %d %v", status, got)
		}
	}
}

func TestCreateAcceptsCamelCaseAndSeedAliases(t *testing.T) {
	e := newEnv(t)
	status, s := e.do("POST", "/api/v1/checkouts/"+e.siteA+"/create", e.keyA,
		`{"amount": 5000, "currency": "ghs", "returnUrl": "https://shop.example/r", "cancelUrl": "https://shop.example/c", "customerEmail": "a@b.example", "orderId": "ORD-1", "expiresInHours": 48}`)
	if status != http.StatusCreated {
		t.Fatalf("%d %v", status, s)
	}
	if s["success_url"] != "https://shop.example/r" || s["customer_email"] != "a@b.example" || s["order_id"] != "ORD-1" || s["amount"] != 5000.0 || s["currency"] != "GHS" {
		t.Fatalf("aliases not applied: %v", s)
	}
	exp, _ := time.Parse(time.RFC3339, s["expires_at"].(string))
	created, _ := time.Parse(time.RFC3339, s["created_at"].(string))
	if d := exp.Sub(created); d < 47*time.Hour || d > 49*time.Hour {
		t.Fatalf("expires_in_hours=48 gave %v", d)
	}
}

func TestCreateRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	path := "/v1/checkouts/" + e.siteA + "/create"
	with := func(k string, v any) map[string]any { b := validSession(); b[k] = v; return b }
	cases := []struct {
		name   string
		body   any
		status int
		param  string
	}{
		{"malformed JSON", `{"amount": `, 400, ""},
		{"not an object", `[1,2]`, 400, ""},
		{"amount as text", `{"amount": "lots"}`, 400, "amount"},
		{"amount fractional", `{"amount": 10.5}`, 400, "amount"},
		{"unknown field", with("colour", "red"), 400, "colour"},
		{"metadata not strings", with("metadata", map[string]any{"n": 1}), 400, "metadata[n]"},
		{"line item quantity text", `{"line_items":[{"name":"a","unit_amount":1,"quantity":"x"}]}`, 400, "line_items[0][quantity]"},
		{"no amount", map[string]any{"currency": "EUR"}, 400, "amount"},
		{"bad currency", with("currency", "EURO"), 400, "currency"},
		{"relative url", with("success_url", "/ok"), 400, "success_url"},
		{"bad email", with("customer_email", "x"), 400, "customer_email"},
		{"expiry too short", with("expires_in_minutes", 1), 400, "expires_in_minutes"},
		{"expires_at not a time", with("expires_at", 12), 400, "expires_at"},
		{"long order id", with("order_id", strings.Repeat("o", 101)), 400, "order_id"},
		{"huge body", `{"description":"` + strings.Repeat("x", 2<<20) + `"}`, 413, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := e.do("POST", path, e.keyA, c.body)
			param, typ, _ := apiError(body)
			if status != c.status || param != c.param || typ != "invalid_request_error" {
				t.Fatalf("got %d param=%q type=%q %v; want %d param=%q", status, param, typ, body, c.status, c.param)
			}
		})
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Fatalf("rejected requests wrote %d sessions", n)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ name, header, code string }{
		{"missing", "", "api_key_missing"},
		{"not bearer", "Basic abc", "api_key_invalid"},
		{"malformed", "Bearer sk_test_short", "api_key_invalid"},
		{"unknown", "Bearer sk_test_" + strings.Repeat("a", 40), "api_key_invalid"},
	} {
		resp := e.raw("GET", "/v1/checkout/sessions", "", nil, "Authorization", c.header)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", c.name, resp.StatusCode)
		}
	}
	// A revoked key stops working at once.
	status, k := e.do("POST", "/v1/api_keys", e.keyA, map[string]any{"name": "temp"})
	if status != http.StatusCreated || !strings.HasPrefix(k["secret"].(string), "sk_test_") {
		t.Fatalf("create key: %d %v", status, k)
	}
	secret := k["secret"].(string)
	if status, _ := e.do("GET", "/v1/checkout/sessions", secret, nil); status != http.StatusOK {
		t.Fatalf("new key: %d", status)
	}
	if status, _ := e.do("POST", "/v1/api_keys/"+k["id"].(string)+"/revoke", e.keyA, nil); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	status, body := e.do("GET", "/v1/checkout/sessions", secret, nil)
	if _, typ, code := apiError(body); status != http.StatusUnauthorized || typ != "authentication_error" || code != "api_key_revoked" {
		t.Fatalf("revoked key: %d %v", status, body)
	}
	// The list shows keys without secrets.
	_, list := e.do("GET", "/v1/api_keys", e.keyA, nil)
	for _, item := range list["data"].([]any) {
		if s := item.(map[string]any)["secret"]; s != nil {
			t.Fatalf("list shows a secret: %v", item)
		}
	}
}

func TestTenantAndModeIsolation(t *testing.T) {
	e := newEnv(t)
	_, s := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, validSession())
	id := s["id"].(string)
	for name, key := range map[string]string{"other organization": e.keyB, "live key": e.liveKeyA} {
		if status, body := e.do("GET", "/v1/checkout/sessions/"+id, key, nil); status != http.StatusNotFound {
			t.Errorf("%s reads the session: %d %v", name, status, body)
		}
		if status, _ := e.do("POST", "/v1/checkout/sessions/"+id+"/expire", key, nil); status != http.StatusNotFound {
			t.Errorf("%s expires the session: %d", name, status)
		}
		if status, _ := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", key, validSession()); status != http.StatusNotFound {
			t.Errorf("%s creates on the site: %d", name, status)
		}
		if status, _ := e.do("GET", "/v1/sites/"+e.siteA, key, nil); status != http.StatusNotFound {
			t.Errorf("%s reads the site: %d", name, status)
		}
		_, list := e.do("GET", "/v1/checkout/sessions", key, nil)
		if n := len(list["data"].([]any)); n != 0 {
			t.Errorf("%s lists %d sessions", name, n)
		}
	}
	// Live mode objects say so, and live mode requires https URLs.
	body := validSession()
	body["success_url"] = "http://shop.example/ok"
	if status, b := e.do("POST", "/v1/checkouts/"+e.liveSiteA+"/create", e.liveKeyA, body); status != 400 {
		t.Fatalf("live http url: %d %v", status, b)
	}
	status, live := e.do("POST", "/v1/checkouts/"+e.liveSiteA+"/create", e.liveKeyA, validSession())
	if status != http.StatusCreated || live["livemode"] != true {
		t.Fatalf("live session: %d %v", status, live)
	}
}

func TestOrderIDIsUniquePerSiteAndMode(t *testing.T) {
	e := newEnv(t)
	body := validSession()
	body["order_id"] = "ORD-42"
	if status, _ := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, body); status != http.StatusCreated {
		t.Fatal(status)
	}
	status, dup := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, body)
	if param, _, code := apiError(dup); status != http.StatusConflict || param != "order_id" || code != "resource_already_exists" {
		t.Fatalf("duplicate order_id: %d %v", status, dup)
	}
	if status, _ := e.do("POST", "/v1/checkouts/"+e.liveSiteA+"/create", e.liveKeyA, body); status != http.StatusCreated {
		t.Fatalf("same order_id in live mode: %d", status)
	}
}

func TestIdempotencyUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	path := "/v1/checkouts/" + e.siteA + "/create"
	const n = 20
	var wg sync.WaitGroup
	statuses := make([]int, n)
	ids := make([]string, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body := e.do("POST", path, e.keyA, validSession(), "Idempotency-Key", "order-1234-attempt")
			statuses[i] = status
			if id, ok := body["id"].(string); ok {
				ids[i] = id
			} else if _, typ, _ := apiError(body); typ != "idempotency_error" {
				t.Errorf("request %d: %d %v", i, status, body)
			}
		}()
	}
	close(start)
	wg.Wait()
	if c := e.count("SELECT count(*) FROM admin.checkout_sessions"); c != 1 {
		t.Fatalf("%d sessions created by 20 identical requests, want 1 (statuses %v)", c, statuses)
	}
	first := ""
	for i, id := range ids {
		switch {
		case id == "" && statuses[i] != http.StatusConflict:
			t.Errorf("request %d: status %d without a session", i, statuses[i])
		case id != "" && first == "":
			first = id
		case id != "" && id != first:
			t.Errorf("request %d got session %s, another got %s", i, id, first)
		}
	}
	// After the first finished, the key replays it, marked as such.
	resp := e.raw("POST", path, e.keyA, validSession(), "Idempotency-Key", "order-1234-attempt")
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v", resp.StatusCode, resp.Header)
	}
	// The same key with other parameters is refused.
	other := validSession()
	other["currency"] = "USD"
	status, body := e.do("POST", path, e.keyA, other, "Idempotency-Key", "order-1234-attempt")
	if _, typ, _ := apiError(body); status != http.StatusBadRequest || typ != "idempotency_error" {
		t.Fatalf("reuse with other params: %d %v", status, body)
	}
	// Validation errors are replayed too, and write nothing.
	bad := validSession()
	bad["currency"] = "XXXX"
	for range 2 {
		if status, body := e.do("POST", path, e.keyA, bad, "Idempotency-Key", "bad-one"); status != 400 {
			t.Fatalf("invalid request: %d %v", status, body)
		}
	}
}

func TestExpire(t *testing.T) {
	e := newEnv(t)
	_, s := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, validSession())
	id := s["id"].(string)
	status, exp := e.do("POST", "/v1/checkout/sessions/"+id+"/expire", e.keyA, nil)
	if status != http.StatusOK || exp["status"] != "expired" {
		t.Fatalf("expire: %d %v", status, exp)
	}
	if n := e.count("SELECT count(*) FROM admin.outbox WHERE subject = 'events.checkout.session.expired'"); n != 1 {
		t.Fatalf("%d expired events in the outbox, want 1", n)
	}
	status, again := e.do("POST", "/v1/checkout/sessions/"+id+"/expire", e.keyA, nil)
	if _, _, code := apiError(again); status != http.StatusBadRequest || code != "checkout_session_not_open" {
		t.Fatalf("expire twice: %d %v", status, again)
	}
	if status, _ := e.do("POST", "/v1/checkout/sessions/cs_nope/expire", e.keyA, nil); status != http.StatusNotFound {
		t.Fatalf("expire unknown: %d", status)
	}
}

func TestListPaginationAndFilters(t *testing.T) {
	e := newEnv(t)
	const total = 250
	for i := range total {
		body := validSession()
		body["customer"] = fmt.Sprintf("cus_%d", i%5)
		body["order_id"] = fmt.Sprintf("ORD-%d", i)
		if status, b := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, body); status != http.StatusCreated {
			t.Fatalf("create %d: %d %v", i, status, b)
		}
	}
	// Walk forward 100 at a time, then back with ending_before.
	var ids []string
	after := ""
	for {
		q := "/v1/checkout/sessions?limit=100"
		if after != "" {
			q += "&starting_after=" + after
		}
		_, page := e.do("GET", q, e.keyA, nil)
		data := page["data"].([]any)
		for _, d := range data {
			ids = append(ids, d.(map[string]any)["id"].(string))
		}
		if page["has_more"] != true {
			break
		}
		after = ids[len(ids)-1]
	}
	if len(ids) != total {
		t.Fatalf("paged through %d sessions, want %d", len(ids), total)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("%s listed twice", id)
		}
		seen[id] = true
	}
	_, back := e.do("GET", "/v1/checkout/sessions?limit=10&ending_before="+ids[20], e.keyA, nil)
	data := back["data"].([]any)
	if len(data) != 10 || data[0].(map[string]any)["id"] != ids[10] || data[9].(map[string]any)["id"] != ids[19] || back["has_more"] != true {
		t.Fatalf("ending_before page is not the ten before: %v", back)
	}

	filters := map[string]int{
		"customer=cus_3":     total / 5,
		"order_id=ORD-7":     1,
		"status=open":        total,
		"status=expired":     0,
		"site_id=" + e.siteA: total,
		"site_id=site_other": 0,
		"created[gte]=" + fmt.Sprint(time.Now().Add(-time.Hour).Unix()): total,
		"created[lt]=2020-01-01T00:00:00Z":                              0,
		"payment=pay_none":                                              0,
	}
	for f, want := range filters {
		got := 0
		after := ""
		for {
			q := "/v1/checkout/sessions?limit=100&" + f
			if after != "" {
				q += "&starting_after=" + after
			}
			status, page := e.do("GET", q, e.keyA, nil)
			if status != http.StatusOK {
				t.Fatalf("%s: %d %v", f, status, page)
			}
			data := page["data"].([]any)
			got += len(data)
			if page["has_more"] != true {
				break
			}
			after = data[len(data)-1].(map[string]any)["id"].(string)
		}
		if got != want {
			t.Errorf("filter %s: %d sessions, want %d", f, got, want)
		}
	}
	for _, q := range []string{"limit=0", "limit=101", "status=paid", "starting_after=cs_nope", "created[gte]=yesterday", "sort=asc"} {
		if status, body := e.do("GET", "/v1/checkout/sessions?"+q, e.keyA, nil); status/100 != 4 {
			t.Errorf("%s: %d, want a 4xx (%v)", q, status, body["error"])
		}
	}
}

func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t)
	status, doc := e.do("GET", "/v1/openapi.json", "", nil)
	if status != http.StatusOK {
		t.Fatalf("openapi.json: %d", status)
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/checkouts/{site_id}/create", "/v1/checkout/sessions", "/v1/checkout/sessions/{id}",
		"/v1/checkout/sessions/{id}/expire", "/v1/sites", "/v1/sites/{id}", "/v1/api_keys", "/v1/api_keys/{id}/revoke"} {
		if paths[p] == nil {
			t.Errorf("openapi.json lacks %s", p)
		}
	}
	comps, _ := doc["components"].(map[string]any)
	defs, _ := comps["schemas"].(map[string]any)
	session, _ := defs["v1CheckoutSession"].(map[string]any)
	if session["examples"] == nil || defs["v1ErrorResponse"] == nil {
		t.Errorf("openapi.json lacks the session example or the error schema")
	}
}

// TestDocsServed: admin-api serves the API reference at /docs without a key,
// as HTML under its own strict CSP.
func TestDocsServed(t *testing.T) {
	e := newEnv(t)
	resp := e.raw("GET", "/docs", "", nil)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		!strings.Contains(string(body), "/v1/checkout/sessions/{id}/expire") {
		t.Fatalf("/docs: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestListAmountAndCurrencyFilters: amount_gte and amount_lte bound
// amount_total in minor units, inclusive, with currency; bad values are a
// 400 naming the parameter.
func TestListAmountAndCurrencyFilters(t *testing.T) {
	e := newEnv(t)
	for _, s := range []struct {
		amount   int
		currency string
	}{{500, "EUR"}, {1000, "EUR"}, {1500, "EUR"}, {2000, "EUR"}, {1000, "JPY"}} {
		body := map[string]any{"amount": s.amount, "currency": s.currency,
			"success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cart"}
		if status, b := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, body); status != http.StatusCreated {
			t.Fatalf("create %v: %d %v", s, status, b)
		}
	}
	for q, want := range map[string][]float64{
		"currency=eur&amount_gte=1000&amount_lte=1500": {1500, 1000},
		"amount_gte=1000&amount_lte=1000":              {1000, 1000},
		"currency=JPY":                                 {1000},
		"currency=EUR&amount_gte=2001":                 {},
		"currency=EUR&amount_lte=500":                  {500},
	} {
		status, page := e.do("GET", "/v1/checkout/sessions?limit=100&"+q, e.keyA, nil)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %v", q, status, page)
		}
		var got []float64
		for _, d := range page["data"].([]any) {
			got = append(got, d.(map[string]any)["amount_total"].(float64))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: amounts %v, want %v", q, got, want)
		}
	}
	for q, param := range map[string]string{
		"amount_gte=-1":                "amount_gte",
		"amount_gte=12.50":             "amount_gte",
		"amount_lte=-5":                "amount_lte",
		"amount_gte=100&amount_lte=99": "amount_lte",
		"currency=EURO":                "currency",
		"currency=XYZ&amount_gte=1":    "currency",
	} {
		status, out := e.do("GET", "/v1/checkout/sessions?"+q, e.keyA, nil)
		if got, _, _ := apiError(out); status != http.StatusBadRequest || got != param {
			t.Errorf("%s: %d %v, want a 400 naming %s", q, status, out, param)
		}
	}
}
