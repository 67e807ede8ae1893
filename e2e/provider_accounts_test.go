package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// A merchant connects a Stripe account through the running stack (admin-api
// checks the key with stripe-mock), points a site's cards at it, cannot
// delete it while in use, and never sees or leaves its secrets anywhere.
func TestProviderAccountsThroughTheStack(t *testing.T) {
	const (
		sk    = testkit.StripeMockKey + "E2eSecretKeyValue42"
		pk    = "pk_test_E2ePublishable42"
		whsec = "whsec_E2eSigningSecretValue42"
	)
	status, acct := api(t, "POST", "/v1/provider_accounts", map[string]any{"provider": "stripe", "name": "Shop Stripe",
		"credentials": map[string]any{"secret_key": sk, "publishable_key": pk, "webhook_secret": whsec}})
	if status != http.StatusCreated {
		t.Fatalf("connect: %d %v", status, acct)
	}
	id := acct["id"].(string)
	creds := acct["credentials"].(map[string]any)
	if acct["object"] != "provider_account" || acct["livemode"] != false || acct["webhook_url"] != sys.HooksURL+"/hooks/stripe/"+id ||
		creds["secret_key_last4"] != "ue42" || creds["webhook_secret_last4"] != "ue42" || creds["publishable_key"] != pk {
		t.Fatalf("account: %v", acct)
	}

	// A live key: stripe-mock plays only test-mode accounts and answers 401,
	// which the merchant sees as a 400 naming the key.
	status, body := apiAs(t, liveKey(t), "POST", "/v1/provider_accounts", map[string]any{"provider": "stripe",
		"credentials": map[string]any{"secret_key": "sk_live_E2eLiveSecret42", "publishable_key": "pk_live_x", "webhook_secret": whsec}})
	errObj, _ := body["error"].(map[string]any)
	if status != http.StatusBadRequest || errObj["code"] != "credentials_invalid" || errObj["param"] != "credentials[secret_key]" {
		t.Fatalf("live key refused by Stripe: %d %v", status, body)
	}
	// A test key with a live API key: refused before Stripe is asked.
	status, body = apiAs(t, liveKey(t), "POST", "/v1/provider_accounts", map[string]any{"provider": "stripe",
		"credentials": map[string]any{"secret_key": sk, "publishable_key": pk, "webhook_secret": whsec}})
	if errObj, _ = body["error"].(map[string]any); status != http.StatusBadRequest || errObj["param"] != "credentials[secret_key]" {
		t.Fatalf("test key in live mode: %d %v", status, body)
	}

	status, site := api(t, "POST", "/v1/sites", map[string]any{"name": "Stripe shop", "default_currency": "eur",
		"provider_accounts": map[string]string{"card": id}})
	if status != http.StatusCreated || site["provider_accounts"].(map[string]any)["card"] != id {
		t.Fatalf("site: %d %v", status, site)
	}
	status, body = api(t, "DELETE", "/v1/provider_accounts/"+id, nil)
	if errObj, _ = body["error"].(map[string]any); status != http.StatusBadRequest || errObj["code"] != "resource_in_use" ||
		!strings.Contains(errObj["message"].(string), site["id"].(string)) {
		t.Fatalf("delete in use: %d %v", status, body)
	}
	if status, body = api(t, "POST", "/v1/sites/"+site["id"].(string), map[string]any{"provider_accounts": map[string]string{}}); status != http.StatusOK {
		t.Fatalf("detach: %d %v", status, body)
	}
	if status, body = api(t, "DELETE", "/v1/provider_accounts/"+id, nil); status != http.StatusOK || body["deleted"] != true {
		t.Fatalf("delete: %d %v", status, body)
	}

	logs, err := os.ReadFile(filepath.Join(binDir, "stack.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), "/v1/provider_accounts") {
		t.Fatal("the stack logged none of the calls: the search below would prove nothing")
	}
	for _, secret := range []string{sk, whsec, "E2eSecretKeyValue42", "E2eSigningSecretValue42", "E2eLiveSecret42"} {
		if strings.Contains(string(logs), secret) {
			t.Fatalf("the stack's logs hold the secret %q", secret)
		}
	}
}
