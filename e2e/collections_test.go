package e2e

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// collectionsOrg is a fresh organization (its own fee schedule) with a site
// and a key pair for the collections API (seed 003): its secret key, the
// pair's id and secret, and an access token for the pair.
func collectionsOrg(t *testing.T) (key, clientID, clientSecret, token string) {
	t.Helper()
	org, err := adminCLI("orgs", "create", "--name", "e2e collections")
	if err != nil {
		t.Fatal(err)
	}
	if key, err = adminCLI("keys", "create", "--org", org, "--mode", "test", "--name", "e2e collections"); err != nil || !strings.HasPrefix(key, "sk_test_") {
		t.Fatalf("key: %v %q", err, key)
	}
	createSite(t, key)
	status, pair := apiAs(t, key, "POST", "/v1/api_keys", map[string]any{"name": "collections app"})
	if status != http.StatusCreated {
		t.Fatalf("key pair: %d %v", status, pair)
	}
	clientID, clientSecret = pair["id"].(string), pair["secret"].(string)
	return key, clientID, clientSecret, accessToken(t, clientID, clientSecret)
}

// accessToken is POST /auth/token as seed 003's clients call it.
func accessToken(t *testing.T, clientID, clientSecret string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"clientId": clientID, "clientSecret": clientSecret})
	resp, err := merchant.Post(sys.AdminAPIURL+"/auth/token", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok["tokenType"] != "Bearer" {
		t.Fatalf("token: %d %v %v", resp.StatusCode, tok, err)
	}
	return tok["accessToken"].(string)
}

// collectionCallbacks are the verified webhookUrl callbacks r received, by
// collection id and status.
func collectionCallbacks(t *testing.T, r *receiver, secret string) map[[2]string]map[string]any {
	t.Helper()
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]string]map[string]any{}
	for _, d := range r.deliveries() {
		if err := webhook.Verify(key, d.header, d.body, time.Now()); err != nil {
			t.Fatalf("callback %s does not verify: %v", d.header.Get("webhook-id"), err)
		}
		var c map[string]any
		if err := json.Unmarshal(d.body, &c); err != nil {
			t.Fatalf("callback is not JSON: %q", d.body)
		}
		id, _ := c["collectionId"].(string)
		status, _ := c["status"].(string)
		out[[2]string{id, status}] = c
	}
	return out
}

// TestCollectionsSeedFlow: seed 003 end to end — token, create with the
// seed's fields, pay on the page, back to callbackUrl with batch and status,
// the signed webhookUrl callback; then an expired one, and the errors.
func TestCollectionsSeedFlow(t *testing.T) {
	key, clientID, _, token := collectionsOrg(t)
	if status, fs := apiAs(t, key, "POST", "/v1/fee_schedule", map[string]any{"rules": []map[string]any{
		{"payment_method": "card", "currency": "USD", "percent_bps": 290, "fixed_amount": 30}}}); status != http.StatusOK {
		t.Fatalf("fee schedule: %d %v", status, fs)
	}
	_, ns := apiAs(t, key, "GET", "/v1/notify_secret", nil)
	notifySecret := ns["secret"].(string)
	r := newReceiver(t, 0)

	body := `{"amount": 25.50, "currency": "USD", "orderId": "INV-1001", "description": "Invoice INV-1001",
		"callbackUrl": "https://shop.example/paid", "webhookUrl": "` + r.srv.URL + `/ipn", "metadata": {"customer": "c_42"}}`
	status, col := request(t, token, "POST", "/api/v1/collections", body, "")
	if status != http.StatusCreated || col["status"] != "PENDING" || col["amount"] != 25.5 || col["fee"] != 1.04 || col["netAmount"] != 24.46 ||
		col["currency"] != "USD" || col["orderId"] != "INV-1001" || col["reference"] == "" {
		t.Fatalf("create: %d %v", status, col)
	}
	id := col["collectionId"].(string)
	if exp, err := time.Parse(time.RFC3339, col["expiresAt"].(string)); err != nil || time.Until(exp) < 58*time.Minute || time.Until(exp) > 61*time.Minute {
		t.Fatalf("expiresAt %v", col["expiresAt"])
	}

	// The page's cancel link goes back with CANCELLED.
	c := newBrowser()
	page, csrf := open(t, c, col["checkoutUrl"].(string))
	if want := "https://shop.example/paid?batch=" + id + "&status=CANCELLED"; !strings.Contains(html.UnescapeString(page), want) {
		t.Fatalf("page lacks the cancel link %s", want)
	}
	// A fee schedule change after creation does not change what is charged
	// but applies to the fee recorded at payment: 3 % of 25.50 = 0.765 → 0.77.
	if status, _ := apiAs(t, key, "POST", "/v1/fee_schedule", map[string]any{"rules": []map[string]any{
		{"payment_method": "card", "currency": "USD", "percent_bps": 300}}}); status != http.StatusOK {
		t.Fatalf("change fee schedule: %d", status)
	}
	resp, _, _ := post(t, c, col["checkoutUrl"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), false)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Host != "shop.example" || loc.Path != "/paid" ||
		loc.Query().Get("batch") != id || loc.Query().Get("status") != "COMPLETED" {
		t.Fatalf("pay: %d, back to %s", resp.StatusCode, loc)
	}
	var done map[string]any
	eventually(t, "the signed webhookUrl callback", 30*time.Second, func() bool {
		done = collectionCallbacks(t, r, notifySecret)[[2]string{id, "COMPLETED"}]
		return done != nil
	})
	if done["fee"] != 0.77 || done["netAmount"] != 24.73 || done["amount"] != 25.5 || done["orderId"] != "INV-1001" ||
		done["paymentId"] == nil || done["metadata"].(map[string]any)["customer"] != "c_42" {
		t.Fatalf("callback: %v", done)
	}
	if status, got := request(t, token, "GET", "/api/v1/collections/"+id, "", ""); status != http.StatusOK || got["status"] != "COMPLETED" || got["fee"] != 0.77 {
		t.Fatalf("get: %d %v", status, got)
	}
	// The payment carries the same processing fee, apart from the provider's.
	_, pay := apiAs(t, key, "GET", "/v1/payments/"+done["paymentId"].(string), nil)
	if pay["processing_fee"] != 77.0 || pay["net_amount"] != 2473.0 || pay["fee"] != 0.0 {
		t.Fatalf("payment: %v", pay)
	}

	// An expired collection is told as EXPIRED.
	status, col2 := request(t, token, "POST", "/api/v1/collections",
		`{"amount": 3, "orderId": "INV-1002", "description": "Invoice INV-1002", "callbackUrl": "https://shop.example/paid", "webhookUrl": "`+r.srv.URL+`/ipn"}`, "")
	if status != http.StatusCreated {
		t.Fatalf("second: %d %v", status, col2)
	}
	id2 := col2["collectionId"].(string)
	if status, s := apiAs(t, key, "POST", "/v1/checkout/sessions/"+id2+"/expire", nil); status != http.StatusOK {
		t.Fatalf("expire: %d %v", status, s)
	}
	eventually(t, "the EXPIRED callback", 30*time.Second, func() bool {
		return collectionCallbacks(t, r, notifySecret)[[2]string{id2, "EXPIRED"}] != nil
	})

	// Errors, in the surface's shape.
	for _, tc := range []struct {
		name, token, body string
		status            int
		field             string
	}{
		{"duplicate orderId", token, `{"amount": 5, "orderId": "INV-1001", "description": "again", "callbackUrl": "https://shop.example/paid"}`, http.StatusConflict, "orderId"},
		{"more decimals than USD has", token, `{"amount": 1.001, "orderId": "INV-1003", "description": "d"}`, http.StatusBadRequest, "amount"},
		{"tampered token", token[:len(token)-4] + "AAAA", `{"amount": 5, "orderId": "INV-1004", "description": "d"}`, http.StatusUnauthorized, ""},
		{"a client id as a token", clientID, `{"amount": 5, "orderId": "INV-1005", "description": "d"}`, http.StatusUnauthorized, ""},
	} {
		status, out := request(t, tc.token, "POST", "/api/v1/collections", tc.body, "")
		if status != tc.status || out["statusCode"] != float64(tc.status) || (tc.field != "" && out["field"] != tc.field) {
			t.Errorf("%s: %d %v", tc.name, status, out)
		}
	}
}
