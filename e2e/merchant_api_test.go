package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// rawAPI calls the merchant API with the demo key and a raw body, and
// returns the status, the Cache-Control header and the decoded answer.
func rawAPI(t *testing.T, method, path, body string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, sys.AdminAPIURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sys.SecretKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := merchant.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header.Get("Cache-Control"), out
}

// TestWebhookEndpointAnswersAreNotStored: the answers that carry an
// endpoint's signing secret (forwarded to hooks) say no-store, and a body
// that names another endpoint than the URL path is refused, not applied to
// the path's.
func TestWebhookEndpointAnswersAreNotStored(t *testing.T) {
	status, cc, ep := rawAPI(t, "POST", "/v1/webhook_endpoints", `{"url":"https://shop.example/hooks"}`)
	if status != http.StatusCreated || cc != "no-store" || !strings.HasPrefix(ep["secret"].(string), "whsec_") {
		t.Fatalf("create: %d, Cache-Control %q, %v", status, cc, ep)
	}
	id := ep["id"].(string)
	t.Cleanup(func() { rawAPI(t, "DELETE", "/v1/webhook_endpoints/"+id, "") })
	status, cc, rotated := rawAPI(t, "POST", "/v1/webhook_endpoints/"+id+"/rotate_secret", "")
	if status != http.StatusOK || cc != "no-store" || rotated["secret"] == ep["secret"] {
		t.Fatalf("rotate: %d, Cache-Control %q, %v", status, cc, rotated)
	}
	status, cc, body := rawAPI(t, "POST", "/v1/webhook_endpoints/"+id, `{"id":"we_other","url":"https://shop.example/moved"}`)
	if e, _ := body["error"].(map[string]any); status != http.StatusBadRequest || cc != "no-store" || e["param"] != "id" {
		t.Fatalf("update with another id in the body: %d, Cache-Control %q, %v", status, cc, body)
	}
	if _, _, got := rawAPI(t, "GET", "/v1/webhook_endpoints/"+id, ""); got["url"] != "https://shop.example/hooks" {
		t.Fatalf("a refused update changed the endpoint: %v", got)
	}
	// Odd bytes in forwarded routes' paths and queries are a 4xx naming them.
	for path, param := range map[string]string{
		"/v1/webhook_endpoints/%ff":                   "id",
		"/v1/events/%00":                              "id",
		"/v1/webhook_endpoints?starting_after=%c0%af": "starting_after",
		"/v1/events?type=%ff":                         "type",
	} {
		status, _, body := rawAPI(t, "GET", path, "")
		if e, _ := body["error"].(map[string]any); status != http.StatusBadRequest || e["param"] != param {
			t.Errorf("GET %s: %d %v, want 400 naming %s", path, status, body, param)
		}
	}
}
