package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stackPort is the port of one of the stack's listeners: the dev stack lays
// them out from the admin API's port (tillpoint-dev's offsets).
func stackPort(t *testing.T, offset int) string {
	t.Helper()
	u, err := url.Parse(sys.AdminAPIURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(p - 1 + offset) // the admin API is at base+1
}

// Offsets of tillpoint-dev's listeners from its port base.
const offAdminHTTP, offAdminMetrics, offHooksMetrics = 1, 4, 24

// attempts are the recorded attempts of an endpoint's deliveries, as the
// merchant reads them.
func attempts(t *testing.T, epID string) []map[string]any {
	t.Helper()
	_, ds := api(t, "GET", "/v1/webhook_endpoints/"+epID+"/deliveries?limit=100", nil)
	var out []map[string]any
	data, _ := ds["data"].([]any)
	for _, d := range data {
		as, _ := d.(map[string]any)["attempts"].([]any)
		for _, a := range as {
			out = append(out, a.(map[string]any))
		}
	}
	return out
}

// TestOurListenersAreNeverWebhookTargets: the dev stack lets test-mode
// webhooks reach this machine, but not the stack's own listeners. Given as
// an address they are refused when the endpoint or notify_url is created;
// an endpoint that reaches one anyway (a name that resolves there, or one
// stored before) is refused at dial time, and the merchant reads neither
// our body nor our addresses.
func TestOurListenersAreNeverWebhookTargets(t *testing.T) {
	hooksMetrics := "http://127.0.0.1:" + stackPort(t, offHooksMetrics) + "/metrics"
	for _, u := range []string{hooksMetrics, "http://localhost:" + stackPort(t, offAdminMetrics) + "/metrics",
		"http://[::1]:" + stackPort(t, offAdminHTTP) + "/healthz", "http://0.0.0.0:" + stackPort(t, offHooksMetrics) + "/metrics"} {
		if status, out := api(t, "POST", "/v1/webhook_endpoints", map[string]any{"url": u}); status != http.StatusBadRequest || errParam(out) != "url" {
			t.Errorf("endpoint %s: %d %v; want 400 naming url", u, status, out)
		}
		body := map[string]any{"notify_url": u, "currency": "EUR", "amount": 100,
			"success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cart"}
		if status, out := api(t, "POST", "/v1/checkouts/"+sys.SiteID+"/create", body); status != http.StatusBadRequest || errParam(out) != "notify_url" {
			t.Errorf("notify_url %s: %d %v; want 400 naming notify_url", u, status, out)
		}
	}

	// Endpoints that reach our listeners only at dial time: stored with a
	// harmless URL, then pointed there behind the API's back.
	targets := map[string]string{}
	for _, u := range []string{hooksMetrics, "http://localhost:" + stackPort(t, offAdminMetrics) + "/metrics",
		"http://0.0.0.0:" + stackPort(t, offAdminHTTP) + "/v1/checkout/sessions"} {
		id, _ := createEndpoint(t, "http://localhost:1/placeholder", "payment.succeeded")
		var got string
		if err := queryRow(t, "UPDATE hooks.endpoints SET url = $2 WHERE id = $1 RETURNING id", id, u).Scan(&got); err != nil {
			t.Fatal(err)
		}
		targets[id] = u
	}
	// And one whose name does not resolve: the merchant learns that, not
	// which resolver we asked.
	dnsID, _ := createEndpoint(t, "https://nowhere.invalid/hooks", "payment.succeeded")

	paySession(t)
	for id, u := range targets {
		eventually(t, "the attempt to "+u, 30*time.Second, func() bool { return len(attempts(t, id)) > 0 })
		for _, a := range attempts(t, id) {
			if a["error"] != "refused: the address is one of this Tillpoint's own services" || a["response_excerpt"] != nil && a["response_excerpt"] != "" ||
				a["status_code"] != nil && a["status_code"] != 0.0 {
				t.Errorf("%s: attempt %v; want refused, with no status and no excerpt", u, a)
			}
		}
	}
	eventually(t, "the attempt to nowhere.invalid", 30*time.Second, func() bool { return len(attempts(t, dnsID)) > 0 })
	for _, a := range attempts(t, dnsID) {
		msg, _ := a["error"].(string)
		if !strings.HasPrefix(msg, "DNS lookup failed") || strings.Contains(msg, ":53") || strings.Contains(msg, " on ") {
			t.Errorf("nowhere.invalid: attempt error %q; want a fixed DNS text without our resolver", msg)
		}
	}
}

func errParam(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	p, _ := e["param"].(string)
	return p
}
