package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

// gocardlessAPI serves GET /creditors as GoCardless does: its published
// list fixture (gocardless-pro-go's testdata) for a sandbox token, and its
// 401 for a token that says "Revoked".
func gocardlessAPI(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../../platform/provider/gocardless/testdata/creditors.json")
	if err != nil {
		t.Fatal(err)
	}
	var fixtures map[string]struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(raw, &fixtures); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodGet || r.URL.Path != "/creditors" || r.Header.Get("GoCardless-Version") != "2015-07-06":
			http.NotFound(w, r)
		case !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer sandbox_") || strings.Contains(r.Header.Get("Authorization"), "Revoked"):
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":401,"type":"invalid_api_usage","message":"Access token not active","errors":[{"reason":"access_token_not_active"}]}}`))
		default:
			_, _ = w.Write(fixtures["list"].Body)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// GoCardless credentials, distinctive enough to be searched for.
const (
	gcToken  = "sandbox_AccessTokenCharlie0123456789"
	gcSecret = "EndpointSecretCharlie0123456789"
)

func gocardlessAccount(token, pk, secret string) map[string]any {
	creds := map[string]any{"secret_key": token, "webhook_secret": secret}
	if pk != "" {
		creds["publishable_key"] = pk
	}
	return map[string]any{"provider": "gocardless", "name": "Direct Debit", "credentials": creds}
}

// TestProviderAccountGoCardless: a GoCardless account is connected with its
// access token and webhook endpoint secret (shape and mode checked, never
// shown again), serves direct_debit on a site (not card), reaches the page
// as the site's direct-debit account without secrets, and hands its
// credentials over the internal API only.
func TestProviderAccountGoCardless(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, token, pk, secret, param string
	}{
		{"a live token in test mode", "live_AccessToken0123", "", gcSecret, "credentials[secret_key]"},
		{"a Stripe key", skA, "", gcSecret, "credentials[secret_key]"},
		{"a publishable key", gcToken, pkA, gcSecret, "credentials[publishable_key]"},
		{"no endpoint secret", gcToken, "", "", "credentials[webhook_secret]"},
		{"an endpoint secret with a space", gcToken, "", "a secret", "credentials[webhook_secret]"},
		{"a token GoCardless refuses", "sandbox_RevokedToken0123", "", gcSecret, "credentials[secret_key]"},
	} {
		status, body := e.do("POST", "/v1/provider_accounts", e.keyA, gocardlessAccount(c.token, c.pk, c.secret))
		if param, _, _ := apiError(body); status != http.StatusBadRequest || param != c.param {
			t.Errorf("%s: %d %v, want 400 naming %s", c.name, status, body, c.param)
		}
	}
	stripeMandate := stripeAccount(skA, pkA, whsecA)
	stripeMandate["reusable_mandate"] = true
	if status, body := e.do("POST", "/v1/provider_accounts", e.keyA, stripeMandate); status != http.StatusBadRequest || body["error"].(map[string]any)["param"] != "reusable_mandate" {
		t.Errorf("a Stripe account with a mandate: %d %v", status, body)
	}
	withMandate := gocardlessAccount(gcToken, "", gcSecret)
	withMandate["reusable_mandate"] = true
	status, body := e.do("POST", "/v1/provider_accounts", e.keyA, withMandate)
	if status != http.StatusCreated || body["reusable_mandate"] != true {
		t.Fatalf("create: %d %v", status, body)
	}
	id := body["id"].(string)
	creds := body["credentials"].(map[string]any)
	if body["provider"] != "gocardless" || body["webhook_url"] != "https://webhook.test/hooks/gocardless/"+id ||
		creds["secret_key_last4"] != gcToken[len(gcToken)-4:] || creds["webhook_secret_last4"] != gcSecret[len(gcSecret)-4:] {
		t.Errorf("account %v", body)
	}
	answer, _ := json.Marshal(body)
	for _, s := range []string{gcToken, gcSecret} {
		if strings.Contains(string(answer), s) {
			t.Fatalf("the answer holds a secret: %s", answer)
		}
	}
	var stored string
	if err := e.store.Pool.QueryRow(ctx, "SELECT credentials FROM admin.provider_accounts WHERE id = $1", id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "AccessTokenCharlie") || strings.Contains(stored, "EndpointSecretCharlie") {
		t.Fatal("the credentials are stored in clear")
	}

	if status, body := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"provider_accounts": map[string]string{"card": id}}); status != http.StatusBadRequest {
		t.Errorf("a GoCardless account for cards: %d %v", status, body)
	}
	if status, body := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"provider_accounts": map[string]string{"direct_debit": id}}); status != http.StatusOK {
		t.Fatalf("direct_debit account: %d %v", status, body)
	}
	sid, _ := e.newSession()
	co, err := e.internalClient(token).GetCheckout(ctx, &internalapiv1.GetCheckoutRequest{SessionId: sid})
	if err != nil {
		t.Fatal(err)
	}
	if dd := co.GetDirectDebitProviderAccount(); dd.GetId() != id || dd.GetProvider() != "gocardless" || co.GetCardProviderAccount() != nil {
		t.Fatalf("page accounts: direct debit %v, card %v", dd, co.GetCardProviderAccount())
	}
	if s := co.String(); strings.Contains(s, gcToken) || strings.Contains(s, gcSecret) {
		t.Fatal("GetCheckout holds a GoCardless secret")
	}
	got, err := e.credentialsClient(token).GetProviderAccountCredentials(ctx, credsReq(id))
	if err != nil || got.GetProvider() != "gocardless" || got.GetSecretKey() != gcToken || got.GetWebhookSecret() != gcSecret ||
		got.GetLivemode() || !got.GetReusableMandate() {
		t.Fatalf("internal credentials: %v %v", got, err)
	}
	// The setting changes alone; the credentials stay.
	if status, body := e.do("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"reusable_mandate": false}); status != http.StatusOK || body["reusable_mandate"] != false {
		t.Fatalf("update: %d %v", status, body)
	}
	if got, err = e.credentialsClient(token).GetProviderAccountCredentials(ctx, credsReq(id)); err != nil || got.GetReusableMandate() || got.GetSecretKey() != gcToken {
		t.Fatalf("after update: %v %v", got, err)
	}
}
