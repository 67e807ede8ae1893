package server

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// keyPair creates an API key with key and returns its id and secret.
func (e *env) keyPair(key string) (id, secret string) {
	e.t.Helper()
	status, k := e.do("POST", "/v1/api_keys", key, map[string]any{"name": "pair"})
	if status != http.StatusCreated {
		e.t.Fatalf("create key: %d %v", status, k)
	}
	return k["id"].(string), k["secret"].(string)
}

// pair calls the API with the key-pair headers and no Authorization.
func (e *env) pair(method, path, id, secret string, body any) (int, map[string]any) {
	e.t.Helper()
	return e.do(method, path, "", body, "X-API-KEY", id, "X-API-SECRET", secret)
}

// TestKeyPairAuthentication: X-API-KEY (the key's id) and X-API-SECRET (its
// secret) authenticate as the key itself, on every route; the pair must
// match, and a revoked key is refused.
func TestKeyPairAuthentication(t *testing.T) {
	e := newEnv(t)
	id, secret := e.keyPair(e.keyA)
	if status, body := e.pair("GET", "/v1/sites/"+e.siteA, id, secret, nil); status != http.StatusOK {
		t.Fatalf("pair on /v1: %d %v", status, body)
	}
	otherID, otherSecret := e.keyPair(e.keyB)
	for _, tc := range []struct {
		name, id, secret, code string
	}{
		{"no secret", id, "", "api_key_missing"},
		{"no id", "", secret, "api_key_missing"},
		{"wrong secret", id, otherLast(secret), "api_key_invalid"},
		{"malformed secret", id, "sk_test_short", "api_key_invalid"},
		{"another key's secret", id, otherSecret, "api_key_invalid"},
		{"another key's id", otherID, secret, "api_key_invalid"},
	} {
		status, body := e.pair("GET", "/api/checkout/123e4567-e89b-42d3-a456-426614174000", tc.id, tc.secret, nil)
		if status != http.StatusUnauthorized || body["code"] != tc.code {
			t.Errorf("%s: %d %v, want 401 %s", tc.name, status, body, tc.code)
		}
		if strings.Contains(body["message"].(string), tc.secret) && tc.secret != "" {
			t.Errorf("%s: the message repeats the secret: %v", tc.name, body)
		}
	}
	if status, _ := e.do("POST", "/v1/api_keys/"+id+"/revoke", e.keyA, nil); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	if status, body := e.pair("GET", "/v1/sites/"+e.siteA, id, secret, nil); status != http.StatusUnauthorized {
		t.Errorf("revoked pair on /v1: %d %v", status, body)
	}
}

// TestPayPorterSurface: a checkout made on the PayPorter routes is a
// session of the key's first site, found by its uuid, scoped to the key's
// organization and mode.
func TestPayPorterSurface(t *testing.T) {
	e := newEnv(t)
	id, secret := e.keyPair(e.keyA)
	status, created := e.pair("POST", "/api/checkout", id, secret, `{"orderId":"ORD-1","amount":13.50,"currency":"EUR",`+
		`"description":"Tea","callback":"https://shop.example/cb","customerId":"cus_1","maxInstallmentCount":3,"interestPaidByCustomer":true}`)
	if status != http.StatusOK || !uuidRE.MatchString(created["checkoutId"].(string)) {
		t.Fatalf("create: %d %v", status, created)
	}
	uuid := created["checkoutId"].(string)
	status, list := e.do("GET", "/v1/checkout/sessions?uuid="+strings.ToUpper(uuid), e.keyA, nil)
	data, _ := list["data"].([]any)
	if status != http.StatusOK || len(data) != 1 {
		t.Fatalf("list by uuid: %d %v", status, list)
	}
	s := data[0].(map[string]any)
	want := map[string]any{"uuid": uuid, "site_id": e.siteA, "amount_total": 1350.0, "currency": "EUR", "order_id": "ORD-1",
		"customer": "cus_1", "success_url": "https://shop.example/cb", "cancel_url": "https://shop.example/cb",
		"max_installment_count": 3.0, "installment_interest_paid_by": "customer", "return_method": "post", "url": created["redirectUrl"]}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("session %s = %v, want %v", k, s[k], v)
		}
	}
	// Idempotency-Key replays the first answer, as on every POST.
	idem := func() (int, map[string]any) {
		return e.do("POST", "/api/checkout", "", `{"orderId":"ORD-idem","amount":1,"currency":"EUR","callback":"https://shop.example/cb"}`,
			"X-API-KEY", id, "X-API-SECRET", secret, "Idempotency-Key", "pp-1")
	}
	_, first := idem()
	if status, again := idem(); status != http.StatusOK || again["checkoutId"] != first["checkoutId"] || first["checkoutId"] == nil {
		t.Errorf("idempotent replay: %d %v, first %v", status, again, first)
	}
	// (GET /api/checkout/{uuid} reads the payments from checkout-runtime:
	// e2e/payporter_test.go tests it on the running stack.)
	// The same orderId again is the core's 409, named in PayPorter's words.
	status, dup := e.pair("POST", "/api/checkout", id, secret, `{"orderId":"ORD-1","amount":1,"currency":"EUR","callback":"https://shop.example/cb"}`)
	if status != http.StatusConflict || dup["field"] != "orderId" {
		t.Errorf("duplicate orderId: %d %v", status, dup)
	}
	// Other organizations and modes do not see it.
	for name, key := range map[string]string{"other organization": e.keyB, "live key": e.liveKeyA} {
		otherID, otherSecret := e.keyPair(key)
		if status, body := e.pair("GET", "/api/checkout/"+uuid, otherID, otherSecret, nil); status != http.StatusNotFound || body["field"] != "checkoutId" {
			t.Errorf("%s: %d %v", name, status, body)
		}
	}
	status, body := e.do("GET", "/v1/checkout/sessions?uuid=nope", e.keyA, nil)
	if param, _, _ := apiError(body); status != http.StatusBadRequest || param != "uuid" {
		t.Errorf("list by a bad uuid: %d %v", status, body)
	}
}

// TestSessionInstallmentFields: the core API's installment and return
// fields, their defaults and their validation.
func TestSessionInstallmentFields(t *testing.T) {
	e := newEnv(t)
	status, s := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, validSession())
	if status != http.StatusCreated || s["max_installment_count"] != 1.0 || s["installment_interest_paid_by"] != "merchant" ||
		s["return_method"] != "redirect" || !uuidRE.MatchString(s["uuid"].(string)) {
		t.Fatalf("defaults: %d %v", status, s)
	}
	for _, tc := range []struct {
		field string
		value any
	}{
		{"max_installment_count", 0}, {"max_installment_count", 13}, {"installment_interest_paid_by", "bank"},
		{"return_method", "get"},
	} {
		body := validSession()
		body[tc.field] = tc.value
		status, out := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, body)
		if param, _, _ := apiError(out); status != http.StatusBadRequest || param != tc.field {
			t.Errorf("%s = %v: %d %v", tc.field, tc.value, status, out)
		}
	}
}

// otherLast is secret with its last character changed (to "0", or "1" if it
// was "0"): a well-formed secret that is not the key's.
func otherLast(secret string) string {
	last := "0"
	if strings.HasSuffix(secret, "0") {
		last = "1"
	}
	return secret[:len(secret)-1] + last
}
