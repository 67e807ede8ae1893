package server

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// skPaystack is a Paystack test secret key, distinctive enough to search for.
const skPaystack = "sk_test_PaystackSecretCharlie0123456789"

func paystackAccount(sk string) map[string]any {
	return map[string]any{"provider": "paystack", "name": "Mobile money", "credentials": map[string]any{"secret_key": sk}}
}

// TestProviderAccountPaystack: a Paystack account takes its secret key
// alone, sealed and never shown; its webhook URL is /hooks/paystack/{id};
// the internal API hands the key to hooks and the runtime; a site may use
// it for mobile money, never for cards.
func TestProviderAccountPaystack(t *testing.T) {
	e := newEnv(t)
	status, body := e.do("POST", "/v1/provider_accounts", e.keyA, paystackAccount(skPaystack))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	id := body["id"].(string)
	if body["provider"] != "paystack" || body["webhook_url"] != "https://webhook.test/hooks/paystack/"+id ||
		!reflect.DeepEqual(body["credentials"], map[string]any{"secret_key_last4": skPaystack[len(skPaystack)-4:], "webhook_secret_last4": "", "publishable_key": ""}) {
		t.Fatalf("created: %v", body)
	}
	var stored string
	if err := e.pool.QueryRow(context.Background(), `SELECT p::text FROM admin.provider_accounts p WHERE id = $1`, id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "PaystackSecretCharlie") {
		t.Fatalf("the key is stored in clear: %s", stored)
	}
	got, err := e.credentialsClient(token).GetProviderAccountCredentials(context.Background(), credsReq(id))
	if err != nil || got.GetProvider() != "paystack" || got.GetSecretKey() != skPaystack || got.GetWebhookSecret() != "" {
		t.Fatalf("internal credentials: %v, %v", got, err)
	}

	for _, tc := range []struct {
		name  string
		key   string
		body  map[string]any
		param string
	}{
		{"a live key in test mode", e.keyA, paystackAccount("sk_live_PaystackSecret0123"), "credentials[secret_key]"},
		{"a public key", e.keyA, paystackAccount("pk_test_PaystackPublic0123"), "credentials[secret_key]"},
		{"no key", e.keyA, paystackAccount(""), "credentials[secret_key]"},
		{"a webhook secret", e.keyA, map[string]any{"provider": "paystack", "credentials": map[string]any{"secret_key": skPaystack, "webhook_secret": "whsec_x"}}, "credentials[webhook_secret]"},
	} {
		status, body := e.do("POST", "/v1/provider_accounts", tc.key, tc.body)
		if param, _, _ := apiError(body); status != http.StatusBadRequest || param != tc.param {
			t.Errorf("%s: %d %v, want 400 naming %s", tc.name, status, body, tc.param)
		}
		if msg, _ := body["error"].(map[string]any)["message"].(string); strings.Contains(msg, "PaystackSecret") {
			t.Errorf("%s: the message echoes the key: %s", tc.name, msg)
		}
	}

	// The site's mobile-money account; a card account it cannot be.
	if status, body := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"provider_accounts": map[string]any{"mobile_money": id}}); status != http.StatusOK {
		t.Fatalf("site mobile money: %d %v", status, body)
	}
	status, body = e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"provider_accounts": map[string]any{"card": id}})
	if param, _, _ := apiError(body); status != http.StatusBadRequest || param != "provider_accounts[card]" {
		t.Fatalf("paystack for cards: %d %v", status, body)
	}
}
