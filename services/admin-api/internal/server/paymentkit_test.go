package server

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

// pkSession is a PaymentKit create body that needs no catalog.
func pkSession() map[string]any {
	return map[string]any{
		"line_items":       []map[string]any{{"name": "Tea", "unit_amount": 450, "quantity": 3}, {"name": "Cup", "unit_amount": 1299, "quantity": 1}},
		"currency":         "EUR",
		"success_url":      "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
		"return_url":       "https://yoursite.com/cancel",
		"expires_in_hours": 48,
	}
}

func TestPaymentKitCreateAndRetrieve(t *testing.T) {
	e := newEnv(t)
	path := "/api/" + e.orgA + "/checkout-sessions"
	status, s := e.do("POST", path, e.keyA, pkSession())
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, s)
	}
	id, secure := s["id"].(string), s["secure_token"].(string)
	want := map[string]any{"object": "checkout_session", "account_id": e.orgA, "status": "open", "payment_status": "unpaid",
		"currency": "EUR", "amount_subtotal": 2649.0, "amount_total": 2649.0, "url": checkoutBase + "/c/" + secure,
		"success_url": "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}", "return_url": "https://yoursite.com/cancel",
		"customer_id": nil, "payment_id": nil, "livemode": false}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("create: %s = %#v, want %#v", k, s[k], v)
		}
	}
	if !strings.HasPrefix(secure, "cst_") || len(secure) != 47 {
		t.Errorf("secure_token %q is not a cst_ token of 256 random bits", secure)
	}
	exp, _ := time.Parse(time.RFC3339, s["expires_at"].(string))
	created, _ := time.Parse(time.RFC3339, s["created_at"].(string))
	if d := exp.Sub(created); d < 47*time.Hour || d > 49*time.Hour {
		t.Errorf("expires_in_hours=48 gave %v", d)
	}
	// Only the token's hash is stored, on the session.
	hash := sha256.Sum256([]byte(secure))
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions WHERE id = $1 AND secure_token_hash = $2", id, hash[:]); n != 1 {
		t.Errorf("the session does not hold the token's hash")
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions s WHERE s::text LIKE '%' || $1 || '%'", secure); n != 0 {
		t.Errorf("the token is stored in clear")
	}

	// Retrieve: the same session, never the token again.
	status, got := e.do("GET", path+"/"+id, e.keyA, nil)
	if status != http.StatusOK || got["id"] != id || got["secure_token"] != nil || got["url"] != nil || got["return_url"] != "https://yoursite.com/cancel" {
		t.Errorf("retrieve: %d %v", status, got)
	}
	// One core: Tillpoint's own API sees the same session, return_url as its cancel_url.
	status, core := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if status != http.StatusOK || core["cancel_url"] != "https://yoursite.com/cancel" || core["success_url"] != want["success_url"] || core["site_id"] != e.siteA {
		t.Errorf("core view: %d %v", status, core)
	}

	// The hosted page's resolver knows the token, and only it.
	c := e.internalClient(token) // the internal API's own token
	res, err := c.ResolveSecureToken(context.Background(), &internalapiv1.ResolveSecureTokenRequest{SecureToken: secure})
	if err != nil || res.GetSessionId() != id {
		t.Fatalf("resolve: %v %v", res, err)
	}
	for _, bad := range []string{otherLast(secure), "cst_short", id, "", "cst_" + strings.Repeat("é", 43)} {
		if _, err := c.ResolveSecureToken(context.Background(), &internalapiv1.ResolveSecureTokenRequest{SecureToken: bad}); grpcstatus.Code(err) != codes.NotFound {
			t.Errorf("resolve %q: %v, want NotFound", bad, err)
		}
	}
}

func TestPaymentKitIdempotentCreateReplaysTheToken(t *testing.T) {
	e := newEnv(t)
	path := "/api/" + e.orgA + "/checkout-sessions"
	_, first := e.do("POST", path, e.keyA, pkSession(), "Idempotency-Key", "pk-1")
	resp := e.raw("POST", path, e.keyA, pkSession(), "Idempotency-Key", "pk-1")
	resp.Body.Close()
	status, again := e.do("POST", path, e.keyA, pkSession(), "Idempotency-Key", "pk-1")
	if status != http.StatusCreated || again["id"] != first["id"] || again["secure_token"] != first["secure_token"] || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v (first %v)", status, again, first)
	}
	changed := pkSession()
	changed["expires_in_hours"] = 2
	if status, body := e.do("POST", path, e.keyA, changed, "Idempotency-Key", "pk-1"); status != http.StatusBadRequest {
		t.Errorf("same key, other parameters: %d %v", status, body)
	}
}

// TestPaymentKitAccountIsScoped: another organization's account is a 404,
// never a 403, and nothing is written.
func TestPaymentKitAccountIsScoped(t *testing.T) {
	e := newEnv(t)
	_, s := e.do("POST", "/api/"+e.orgA+"/checkout-sessions", e.keyA, pkSession())
	id := s["id"].(string)
	before := e.count("SELECT count(*) FROM admin.checkout_sessions")
	for _, tc := range []struct{ method, path, key string }{
		{"POST", "/api/" + e.orgA + "/checkout-sessions", e.keyB},
		{"GET", "/api/" + e.orgA + "/checkout-sessions/" + id, e.keyB},
		{"POST", "/api/org_unknown/checkout-sessions", e.keyA},
		{"GET", "/api/org_unknown/checkout-sessions/" + id, e.keyA},
	} {
		status, body := e.do(tc.method, tc.path, tc.key, pkSession())
		if param, _, code := apiError(body); status != http.StatusNotFound || param != "account_id" || code != "resource_missing" {
			t.Errorf("%s %s: %d %v", tc.method, tc.path, status, body)
		}
	}
	if after := e.count("SELECT count(*) FROM admin.checkout_sessions"); after != before {
		t.Errorf("%d sessions written through another account", after-before)
	}
	if status, body := e.do("GET", "/api/"+e.orgA+"/checkout-sessions/cs_missing", e.keyA, nil); status != http.StatusNotFound || errParamOf(body) != "id" {
		t.Errorf("unknown session: %d %v", status, body)
	}
	if status, body := e.do("POST", "/api/"+e.orgA+"/checkout-sessions", "", pkSession()); status != http.StatusUnauthorized {
		t.Errorf("no key: %d %v", status, body)
	}
}

func TestPaymentKitRefusesWithItsParameterNames(t *testing.T) {
	e := newEnv(t)
	path := "/api/" + e.orgA + "/checkout-sessions"
	before := e.count("SELECT count(*) FROM admin.checkout_sessions")
	for _, tc := range []struct {
		edit  func(map[string]any)
		param string
	}{
		{func(b map[string]any) { b["promotion_code"] = "SAVE20" }, "promotion_code"},
		{func(b map[string]any) { b["coupon_id"] = "coupon_dev_abc123" }, "coupon_id"},
		// The site defines no custom fields.
		{func(b map[string]any) { b["custom_fields"] = map[string]any{"order_id": "order_12345"} }, "custom_fields[order_id]"},
		{func(b map[string]any) {
			b["params_for_sub"] = map[string]any{"custom_fields": map[string]any{"tier": "enterprise"}}
		}, "params_for_sub"},
		{func(b map[string]any) { b["processor_route_id"] = 5 }, "processor_route_id"},
		{func(b map[string]any) { b["cascade_line_items"] = "premium" }, "cascade_line_items"},
		// The service's rules, with this surface's names.
		{func(b map[string]any) { b["return_url"] = "/cancel" }, "return_url"},
		{func(b map[string]any) { b["success_url"] = "nope" }, "success_url"},
		{func(b map[string]any) { b["expires_in_hours"] = 721 }, "expires_in_hours"},
		{func(b map[string]any) { b["line_items"].([]map[string]any)[1]["quantity"] = 0 }, "line_items[1][quantity]"},
		{func(b map[string]any) { b["currency"] = "ZZZ" }, "currency"},
		{func(b map[string]any) { b["cancel_url"] = "https://yoursite.com/cancel" }, "cancel_url"},
	} {
		body := pkSession()
		tc.edit(body)
		status, got := e.do("POST", path, e.keyA, body)
		if param, typ, _ := apiError(got); status != http.StatusBadRequest || param != tc.param || typ != "invalid_request_error" {
			t.Errorf("%s: %d %v", tc.param, status, got)
		}
	}
	// A route that is not the organization's (or not in its mode): 404.
	body := pkSession()
	body["processor_route_id"] = "proute_dev_x7k9m2n4"
	if status, got := e.do("POST", path, e.keyA, body); status != http.StatusNotFound || errParamOf(got) != "processor_route_id" {
		t.Errorf("unknown processor_route_id: %d %v", status, got)
	}
	if after := e.count("SELECT count(*) FROM admin.checkout_sessions"); after != before {
		t.Errorf("%d sessions written by refused creates", after-before)
	}
}

func errParamOf(body map[string]any) string {
	param, _, _ := apiError(body)
	return param
}
