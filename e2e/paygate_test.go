package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// paygateCurlBody is seed 001's create example, byte for byte.
const paygateCurlBody = `{
"amount": 5000,
"currency": "GHS",
"success_url": "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
"cancel_url": "https://yoursite.com/cancel",
"customer_email": "customer@example.com",
"metadata": {
"order_id": "1234"
}
}`

// TestPayGateSeedVerbatim runs seed 001's examples as written: create with
// the curl body (no site_id: the organization's default site), the
// URL-parameters example (no currency either: the site's), pay, the Express
// example's verification, the list call and expire.
func TestPayGateSeedVerbatim(t *testing.T) {
	status, s := request(t, sys.SecretKey, "POST", "/v1/checkout/sessions", paygateCurlBody, "")
	if status != http.StatusCreated {
		t.Fatalf("the seed's curl: %d %v", status, s)
	}
	id, _ := s["id"].(string)
	// The seed's object, field by field.
	want := map[string]any{"object": "checkout.session", "status": "open", "url": sys.CheckoutURL + "/checkout/" + id,
		"amount": 5000.0, "currency": "GHS", "payment": nil, "payment_status": "unpaid", "customer": nil,
		"customer_email": "customer@example.com", "success_url": "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url": "https://yoursite.com/cancel", "site_id": sys.SiteID}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("create: %s = %#v, want %#v", k, s[k], v)
		}
	}
	if !strings.HasPrefix(id, "cs_") {
		t.Errorf("id %q", id)
	}
	if m, _ := s["metadata"].(map[string]any); len(m) != 1 || m["order_id"] != "1234" {
		t.Errorf("metadata %v", s["metadata"])
	}
	created, err1 := time.Parse(time.RFC3339, s["created_at"].(string))
	expires, err2 := time.Parse(time.RFC3339, s["expires_at"].(string))
	if err1 != nil || err2 != nil || expires.Sub(created) != 24*time.Hour {
		t.Errorf("created_at %v, expires_at %v: want RFC 3339 times 24 h apart", s["created_at"], s["expires_at"])
	}

	// The URL-parameters example: amount and the two URLs only.
	status, minimal := api(t, "POST", "/v1/checkout/sessions", map[string]any{"amount": 5000,
		"success_url": "https://yoursite.com/success?session_id={CHECKOUT_SESSION_ID}", "cancel_url": "https://yoursite.com/cancel"})
	if status != http.StatusCreated || minimal["currency"] != "EUR" || minimal["site_id"] != sys.SiteID || minimal["amount"] != 5000.0 {
		t.Fatalf("the URL-parameters example: %d %v", status, minimal)
	}

	// Retrieve answers the same object.
	if status, got := api(t, "GET", "/v1/checkout/sessions/"+id, nil); status != http.StatusOK || got["id"] != id || got["url"] != s["url"] || got["customer_email"] != "customer@example.com" {
		t.Errorf("retrieve: %d %v", status, got)
	}

	// The customer pays at session.url and comes back with the id in place
	// of {CHECKOUT_SESSION_ID}.
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	resp, _, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), false)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Host != "yoursite.com" || loc.Path != "/success" || loc.Query().Get("session_id") != id {
		t.Fatalf("after paying: %d to %v", resp.StatusCode, loc)
	}

	// The Express example's /verify-session.
	_, paid := api(t, "GET", "/v1/checkout/sessions/"+loc.Query().Get("session_id"), nil)
	if m, _ := paid["metadata"].(map[string]any); paid["status"] != "complete" || paid["payment_status"] != "paid" || m["order_id"] != "1234" ||
		!strings.HasPrefix(paid["payment"].(string), "pay_") {
		t.Fatalf("verify-session: %v", paid)
	}

	// The list example: ?status=complete&limit=10.
	status, list := api(t, "GET", "/v1/checkout/sessions?status=complete&limit=10", nil)
	data, _ := list["data"].([]any)
	if status != http.StatusOK || list["object"] != "list" || len(data) == 0 || len(data) > 10 {
		t.Fatalf("list: %d %v", status, list)
	}
	found := false
	for _, d := range data {
		found = found || d.(map[string]any)["id"] == id
		if d.(map[string]any)["status"] != "complete" {
			t.Errorf("list ?status=complete holds %v", d)
		}
	}
	if !found {
		t.Errorf("the paid session is not in the list: %v", list)
	}

	// Expire the unpaid one; a paid one cannot be.
	if status, got := api(t, "POST", "/v1/checkout/sessions/"+minimal["id"].(string)+"/expire", nil); status != http.StatusOK || got["status"] != "expired" {
		t.Errorf("expire: %d %v", status, got)
	}
	if status, got := api(t, "POST", "/v1/checkout/sessions/"+id+"/expire", nil); status != http.StatusBadRequest {
		t.Errorf("expire a complete session: %d %v", status, got)
	}
}

// TestPayGateWithoutAnySite: an organization with no site gets a 400 naming
// site_id, then a session on its first site once it has one.
func TestPayGateWithoutAnySite(t *testing.T) {
	org, err := adminCLI("orgs", "create", "--name", "e2e no site")
	if err != nil {
		t.Fatal(err)
	}
	key, err := adminCLI("keys", "create", "--org", org, "--mode", "test", "--name", "e2e")
	if err != nil {
		t.Fatal(err)
	}
	status, body := request(t, key, "POST", "/v1/checkout/sessions", paygateCurlBody, "")
	wantAPIError(t, "no site", status, body, http.StatusBadRequest, "site_id", "parameter_missing")
	first := createSite(t, key)
	second := createSite(t, key)
	if status, s := request(t, key, "POST", "/v1/checkout/sessions", paygateCurlBody, ""); status != http.StatusCreated || s["site_id"] != first {
		t.Fatalf("first site: %d %v", status, s)
	}
	if status, s := apiAs(t, key, "POST", "/v1/sites/"+second, map[string]any{"default": true}); status != http.StatusOK || s["default"] != true {
		t.Fatalf("mark default: %d %v", status, s)
	}
	if status, s := request(t, key, "POST", "/v1/checkout/sessions", paygateCurlBody, ""); status != http.StatusCreated || s["site_id"] != second {
		t.Fatalf("marked default: %d %v", status, s)
	}
}
