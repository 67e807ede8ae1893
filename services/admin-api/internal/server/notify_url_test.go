package server

import (
	"net/http"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// internalHosts are the notify_url targets a review found accepted in live
// mode although webhook endpoints refuse them.
var internalHosts = []string{"https://127.0.0.1/ipn", "https://169.254.169.254/latest/meta-data", "https://[::1]/ipn", "https://foo.localhost/ipn"}

// TestNotifyURLFollowsTheWebhookPolicy: notify_url is called by our servers,
// so it passes the same policy as webhook endpoints, with the same message,
// naming notify_url; nothing is written for a refused one.
func TestNotifyURLFollowsTheWebhookPolicy(t *testing.T) {
	e := newEnv(t)
	for _, mode := range []struct {
		name, key, site string
		live            bool
	}{{"live", e.liveKeyA, e.liveSiteA, true}, {"test", e.keyA, e.siteA, false}} {
		for _, u := range internalHosts {
			t.Run(mode.name+" "+u, func(t *testing.T) {
				status, body := e.do("POST", "/v1/checkouts/"+mode.site+"/create", mode.key, withNotify(u))
				param, typ, code := apiError(body)
				want := webhook.TargetPolicy{}.CheckURL(u, e.orgA, mode.live)
				if status != http.StatusBadRequest || param != "notify_url" || typ != "invalid_request_error" || code != "url_invalid" {
					t.Fatalf("got %d %v; want 400 url_invalid naming notify_url", status, body)
				}
				if msg := body["error"].(map[string]any)["message"]; want == nil || msg != want.Error() {
					t.Fatalf("message %q; want the webhook endpoints' %q", msg, want)
				}
			})
		}
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Fatalf("refused requests wrote %d sessions", n)
	}
	if status, body := e.do("POST", "/v1/checkouts/"+e.liveSiteA+"/create", e.liveKeyA, withNotify("https://shop.example/ipn")); status != http.StatusCreated {
		t.Fatalf("a public https notify_url: %d %v", status, body)
	}
}

// TestNotifyURLWithPrivateTargetsInTestMode: with the dev stack's policy a
// test-mode notify_url may be on this machine, but not one of our own
// listeners, and live mode stays as strict as in production.
func TestNotifyURLWithPrivateTargetsInTestMode(t *testing.T) {
	deny, err := webhook.ParseDenyList(":9100", "127.0.0.1:9090")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, webhook.TargetPolicy{PrivateInTestMode: true, Deny: deny})
	cases := []struct {
		key, site, notify string
		status            int
	}{
		{e.keyA, e.siteA, "http://127.0.0.1:8000/ipn", http.StatusCreated},
		{e.keyA, e.siteA, "http://localhost:8000/ipn", http.StatusCreated},
		{e.keyA, e.siteA, "http://127.0.0.1:9100/metrics", http.StatusBadRequest},
		{e.keyA, e.siteA, "http://localhost:9100/metrics", http.StatusBadRequest},
		{e.keyA, e.siteA, "http://[::1]:9090/", http.StatusBadRequest},
		{e.keyA, e.siteA, "http://0.0.0.0:9090/", http.StatusBadRequest},
		{e.liveKeyA, e.liveSiteA, "https://127.0.0.1:8000/ipn", http.StatusBadRequest},
		{e.liveKeyA, e.liveSiteA, "http://shop.example/ipn", http.StatusBadRequest},
	}
	for _, c := range cases {
		status, body := e.do("POST", "/v1/checkouts/"+c.site+"/create", c.key, withNotify(c.notify))
		if param, _, _ := apiError(body); status != c.status || (status == http.StatusBadRequest && param != "notify_url") {
			t.Errorf("%s: got %d %v; want %d", c.notify, status, body, c.status)
		}
	}
}

func withNotify(u string) map[string]any {
	b := validSession()
	b["notify_url"] = u
	return b
}
