package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/platform/ratelimit"
)

// clock is a settable time for access tokens.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// seedCollection is seed 003's create body.
func seedCollection(orderID string) map[string]any {
	return map[string]any{"amount": 25.5, "currency": "USD", "orderId": orderID, "description": "Invoice 1001",
		"callbackUrl": "https://shop.example/return?from=tp", "webhookUrl": "https://shop.example/ipn",
		"metadata": map[string]any{"customer": "c_42", "attempt": 1}}
}

// collectionsEnv is the API with access tokens on, a key pair made for the
// collections API and a token for it.
func collectionsEnv(t *testing.T) (e *env, c *clock, keyID, secret, token string) {
	t.Helper()
	c = &clock{now: time.Now()}
	e = newGuardedEnv(t, Guard{Tokens: &auth.Tokens{Key: []byte(strings.Repeat("k", auth.MinTokenKeyLen)), Now: c.Now}})
	status, k := e.do("POST", "/v1/api_keys", e.keyA, map[string]any{"name": "collections"})
	if status != http.StatusCreated {
		t.Fatalf("create key: %d %v", status, k)
	}
	keyID, secret = k["id"].(string), k["secret"].(string)
	status, tok := e.do("POST", "/auth/token", "", map[string]any{"clientId": keyID, "clientSecret": secret})
	if status != http.StatusOK || tok["tokenType"] != "Bearer" || tok["expiresIn"] != 3600.0 {
		t.Fatalf("token: %d %v", status, tok)
	}
	return e, c, keyID, secret, tok["accessToken"].(string)
}

func TestCollectionsTokenExchange(t *testing.T) {
	e, c, keyID, secret, token := collectionsEnv(t)
	for name, body := range map[string]map[string]any{
		"another key's secret": {"clientId": keyID, "clientSecret": e.keyB},
		"unknown id":           {"clientId": "key_nope", "clientSecret": secret},
		"not a secret":         {"clientId": keyID, "clientSecret": "hunter2"},
	} {
		if status, out := e.do("POST", "/auth/token", "", body); status != http.StatusUnauthorized || out["statusCode"] != 401.0 {
			t.Errorf("%s: %d %v", name, status, out)
		}
	}
	if status, out := e.do("POST", "/auth/token", "", map[string]any{"clientId": keyID}); status != http.StatusBadRequest || out["field"] != "clientSecret" {
		t.Errorf("no secret: %d %v", status, out)
	}
	// The token reaches the merchant API as its key would.
	if status, out := e.do("GET", "/v1/fee_schedule", token, nil); status != http.StatusOK || out["livemode"] != false {
		t.Fatalf("token on the merchant API: %d %v", status, out)
	}
	// Tampered: another payload under the same signature.
	parts := strings.Split(token, ".")
	tampered := parts[0] + "." + strings.TrimRight(parts[1], "=") + "A." + parts[2]
	if status, _ := e.do("GET", "/api/v1/collections/cs_x", tampered, nil); status != http.StatusUnauthorized {
		t.Errorf("tampered token: %d", status)
	}
	// Signed with another key.
	other := &auth.Tokens{Key: []byte(strings.Repeat("x", auth.MinTokenKeyLen))}
	otherEnv := &auth.Authenticator{Store: e.store, Tokens: other}
	forged, _, err := otherEnv.Issue(t.Context(), keyID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if status, out := e.do("GET", "/api/v1/collections/cs_x", forged, nil); status != http.StatusUnauthorized || out["code"] != "access_token_invalid" {
		t.Errorf("token of another signing key: %d %v", status, out)
	}
	// Expired.
	c.advance(auth.TokenTTL + time.Second)
	if status, out := e.do("GET", "/api/v1/collections/cs_x", token, nil); status != http.StatusUnauthorized || out["code"] != "access_token_expired" {
		t.Errorf("expired token: %d %v", status, out)
	}
	c.advance(-auth.TokenTTL)
	// Revoking the key ends its tokens at once.
	if status, _ := e.do("POST", "/v1/api_keys/"+keyID+"/revoke", e.keyA, nil); status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	if status, out := e.do("GET", "/api/v1/collections/cs_x", token, nil); status != http.StatusUnauthorized || out["code"] != "api_key_revoked" {
		t.Errorf("token of a revoked key: %d %v", status, out)
	}
	if status, _ := e.do("POST", "/auth/token", "", map[string]any{"clientId": keyID, "clientSecret": secret}); status != http.StatusUnauthorized {
		t.Errorf("token for a revoked key: %d", status)
	}
}

func TestCollectionsCreateAndGet(t *testing.T) {
	e, _, _, _, token := collectionsEnv(t)
	if status, _ := e.do("POST", "/v1/fee_schedule", e.keyA, map[string]any{"rules": []map[string]any{
		{"payment_method": "card", "currency": "USD", "percent_bps": 290, "fixed_amount": 30}}}); status != http.StatusOK {
		t.Fatalf("fee schedule: %d", status)
	}
	before := time.Now()
	resp := e.raw("POST", "/api/v1/collections", token, seedCollection("ORD-1001"), "Idempotency-Key", "k-1001")
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var col map[string]any
	if err := json.Unmarshal(raw, &col); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, raw)
	}
	// Decimal dollars, exact: 2.9 % of 25.50 = 0.7395 → 0.74, + 0.30.
	for _, want := range []string{`"amount":25.50`, `"fee":1.04`, `"netAmount":24.46`, `"currency":"USD"`, `"status":"PENDING"`, `"orderId":"ORD-1001"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("answer lacks %s: %s", want, raw)
		}
	}
	id := col["collectionId"].(string)
	if col["checkoutUrl"] != checkoutBase+"/checkout/"+id || col["reference"] == "" {
		t.Errorf("checkoutUrl or reference: %v", col)
	}
	if exp, err := time.Parse(time.RFC3339, col["expiresAt"].(string)); err != nil || exp.Before(before.Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("expiresAt %v, want in 60 minutes", col["expiresAt"])
	}
	// The same session through the core API.
	_, cs := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if cs["amount_total"] != 2550.0 || cs["currency"] != "USD" || cs["order_id"] != "ORD-1001" || cs["notify_url"] != "https://shop.example/ipn" ||
		cs["notify_format"] != "collection" || cs["success_url"] != "https://shop.example/return?from=tp&batch={CHECKOUT_SESSION_ID}&status=COMPLETED" ||
		cs["cancel_url"] != "https://shop.example/return?from=tp&batch={CHECKOUT_SESSION_ID}&status=CANCELLED" {
		t.Errorf("core session: %v", cs)
	}
	if m := cs["metadata"].(map[string]any); m["customer"] != "c_42" || m["attempt"] != "1" {
		t.Errorf("metadata: %v", m)
	}
	// A retry with the same Idempotency-Key answers the same collection.
	retry := e.raw("POST", "/api/v1/collections", token, seedCollection("ORD-1001"), "Idempotency-Key", "k-1001")
	var again map[string]any
	_ = json.NewDecoder(retry.Body).Decode(&again)
	retry.Body.Close()
	if retry.StatusCode != http.StatusCreated || again["collectionId"] != id || retry.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("idempotent retry: %d %v %v", retry.StatusCode, again, retry.Header)
	}
	if status, got := e.do("GET", "/api/v1/collections/"+id, token, nil); status != http.StatusOK || got["collectionId"] != id || got["fee"] != 1.04 || got["status"] != "PENDING" {
		t.Errorf("get: %d %v", status, got)
	}
	// Another organization's key cannot see it.
	if status, out := e.do("GET", "/api/v1/collections/"+id, e.keyB, nil); status != http.StatusNotFound || out["statusCode"] != 404.0 {
		t.Errorf("other organization: %d %v", status, out)
	}
	// orderId is unique.
	if status, out := e.do("POST", "/api/v1/collections", token, seedCollection("ORD-1001")); status != http.StatusConflict || out["field"] != "orderId" {
		t.Errorf("duplicate orderId: %d %v", status, out)
	}
}

func TestCollectionsBadInput(t *testing.T) {
	e, _, _, _, token := collectionsEnv(t)
	with := func(k string, v any) map[string]any {
		b := seedCollection("ORD-BAD")
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"more decimals than USD has", `{"amount":1.001,"orderId":"o","description":"d"}`, "amount"},
		{"below one dollar", with("amount", 0.99), "amount"},
		{"negative", with("amount", -5), "amount"},
		{"exponent", `{"amount":1e2,"orderId":"o","description":"d"}`, "amount"},
		{"amount missing", with("amount", nil), "amount"},
		{"amount not a number", with("amount", true), "amount"},
		{"another currency", with("currency", "EUR"), "currency"},
		{"orderId missing", with("orderId", nil), "orderId"},
		{"orderId too long", with("orderId", strings.Repeat("o", 101)), "orderId"},
		{"description missing", with("description", nil), "description"},
		{"description too long", with("description", strings.Repeat("d", 101)), "description"},
		{"callbackUrl relative", with("callbackUrl", "/return"), "callbackUrl"},
		{"webhookUrl not a URL", with("webhookUrl", "ipn"), "webhookUrl"},
		{"metadata nested", with("metadata", map[string]any{"a": map[string]any{}}), "metadata.a"},
		{"unknown field", with("amountCents", 100), "amountCents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := e.do("POST", "/api/v1/collections", token, tc.body)
			if status != http.StatusBadRequest || out["field"] != tc.field || out["statusCode"] != 400.0 {
				t.Fatalf("%d %v, want 400 naming %s", status, out, tc.field)
			}
		})
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Fatalf("%d sessions written by bad requests", n)
	}
}

// TestTokenFailuresAreLimited: bad client secrets count against the
// address's failed-authentication limit, as bad keys do.
func TestTokenFailuresAreLimited(t *testing.T) {
	e := newGuardedEnv(t, Guard{Limits: auth.Limits{AuthFailuresPerAddr: ratelimit.New(noRefill, 2, 0)},
		Tokens: &auth.Tokens{Key: []byte(strings.Repeat("k", auth.MinTokenKeyLen))}})
	bad := map[string]any{"clientId": "key_x", "clientSecret": "sk_test_" + strings.Repeat("x", 40)}
	for i := range 2 {
		if status, out := e.do("POST", "/auth/token", "", bad); status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %v", i+1, status, out)
		}
	}
	if status, out := e.do("POST", "/auth/token", "", bad); status != http.StatusTooManyRequests || out["statusCode"] != 429.0 {
		t.Fatalf("third attempt: %d %v", status, out)
	}
}
