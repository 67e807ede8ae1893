package e2e

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dashUser makes a dashboard user with role in org through the admin-api
// binary and returns a signed-in client and its CSRF token.
func dashUser(t *testing.T, org, role string) (*http.Client, string) {
	t.Helper()
	email := role + "-" + strings.ToLower(time.Now().Format("150405.000000")) + "@e2e.example"
	out, err := adminCLI("users", "create", "--email", email, "--org", org, "--role", role)
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("users create: %v %s", err, out)
	}
	c := newBrowser()
	_, page := dashGet(t, c, "/dashboard/login")
	form := url.Values{"csrf_token": {dashToken(t, page)}, "email": {email}, "password": {m[1]}}
	if s, _ := dashPost(t, c, "/dashboard/login", form); s != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", role, s)
	}
	_, page = dashGet(t, c, "/dashboard/checkouts")
	return c, dashToken(t, page)
}

func dashGet(t *testing.T, c *http.Client, path string) (int, string) {
	t.Helper()
	resp, err := c.Get(sys.DashboardURL + strings.TrimPrefix(path, "/dashboard/"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func dashPost(t *testing.T, c *http.Client, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(sys.DashboardURL+strings.TrimPrefix(path, "/dashboard/"), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var dashCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func dashToken(t *testing.T, page string) string {
	t.Helper()
	m := dashCSRF.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token in:\n%s", page)
	}
	return m[1]
}

// TestDashboardDevelopers is a developer in the Admin Panel on the running
// stack: they add a webhook endpoint for checkout.session.expired (its
// secret shown once, and the one deliveries are signed with), see the
// delivery of an expired session in the endpoint's log and resend it, find
// the event in Events with its JSON, rotate the secret, disable and enable
// the endpoint. Support is refused the pages, and another organization's
// owner gets 404 for the endpoint and the event.
func TestDashboardDevelopers(t *testing.T) {
	dev, csrf := dashUser(t, sys.OrganizationID, "developer")
	rcv := newReceiver(t, 0)
	form := url.Values{"csrf_token": {csrf}, "url": {rcv.srv.URL + "/dash"}, "enabled_events": {"checkout.session.expired"},
		"signature_format": {"standard"}, "description": {"<e2e>"}, "idempotency_key": {"e2e-dev-" + csrf[:8]}}
	// Refusals come back on the form, the API's own message included, and
	// make nothing.
	for name, c := range map[string]struct {
		change url.Values
		want   string
	}{
		"no events":  {url.Values{"enabled_events": nil}, "Choose at least one event."},
		"no URL":     {url.Values{"url": {""}}, "Enter the endpoint&#39;s URL."},
		"bad scheme": {url.Values{"url": {"ftp://shop.example/hooks"}}, "is not supported, use https"},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		for k, v := range c.change {
			f[k] = v
		}
		f.Set("idempotency_key", "e2e-bad-"+name+csrf[:8])
		if st, page := dashPost(t, dev, "/dashboard/developers/webhooks", f); st != http.StatusBadRequest || !strings.Contains(page, `id="errors"`) || !strings.Contains(page, c.want) {
			t.Errorf("%s: %d, want 400 saying %q", name, st, c.want)
		}
	}
	status, page := dashPost(t, dev, "/dashboard/developers/webhooks", form)
	if status != http.StatusCreated {
		t.Fatalf("create endpoint: %d\n%s", status, page)
	}
	m := regexp.MustCompile(`action="/dashboard/developers/webhooks/(we_[^/"]+)/rotate"`).FindStringSubmatch(page)
	s := regexp.MustCompile(`id="endpoint-secret" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil || s == nil {
		t.Fatalf("the created page lacks the endpoint or its secret:\n%s", page)
	}
	id, secret := m[1], html.UnescapeString(s[1])
	t.Cleanup(func() { api(t, "DELETE", "/v1/webhook_endpoints/"+id, nil) })
	if !strings.Contains(page, "&lt;e2e&gt;") {
		t.Error("the description is not shown escaped")
	}
	if _, list := dashGet(t, dev, "/dashboard/developers/webhooks"); !strings.Contains(list, `href="/dashboard/developers/webhooks/`+id+`"`) || strings.Contains(list, secret) {
		t.Error("the list lacks the endpoint, or shows its secret")
	}
	if _, again := dashGet(t, dev, "/dashboard/developers/webhooks/"+id); strings.Contains(again, secret) {
		t.Error("the endpoint's page shows the secret again")
	}

	sess := newSession(t, nil)
	if st, out := api(t, "POST", "/v1/checkout/sessions/"+sess["id"].(string)+"/expire", nil); st != http.StatusOK {
		t.Fatalf("expire: %d %v", st, out)
	}
	eventually(t, "the expired event's delivery", 30*time.Second, func() bool {
		return len(rcv.accepted(t, secret, "checkout.session.expired")) == 1
	})
	var evt string
	eventually(t, "the delivery in the endpoint's log", 30*time.Second, func() bool {
		_, page = dashGet(t, dev, "/dashboard/developers/webhooks/"+id)
		if m := regexp.MustCompile(`name="event" value="(evt_[^"]+)"`).FindStringSubmatch(page); m != nil {
			evt = m[1]
		}
		return evt != "" && strings.Contains(page, "checkout.session.expired")
	})
	if st, _ := dashPost(t, dev, "/dashboard/developers/webhooks/"+id+"/resend", url.Values{"csrf_token": {csrf}, "event": {evt}}); st != http.StatusSeeOther {
		t.Errorf("resend: %d", st)
	}
	eventually(t, "the resent delivery", 30*time.Second, func() bool {
		return len(rcv.accepted(t, secret, "checkout.session.expired")) == 2
	})

	if st, list := dashGet(t, dev, "/dashboard/developers/events?type=checkout.session.expired"); st != http.StatusOK || !strings.Contains(list, evt) {
		t.Errorf("events filtered by type: %d, has %s: %v", st, evt, strings.Contains(list, evt))
	}
	if _, list := dashGet(t, dev, "/dashboard/developers/events?type=refund.failed"); strings.Contains(list, evt) {
		t.Error("the refund.failed filter lists an expired event")
	}
	st, ev := dashGet(t, dev, "/dashboard/developers/events/"+evt)
	if st != http.StatusOK || !strings.Contains(ev, `&#34;type&#34;: &#34;checkout.session.expired&#34;`) || !strings.Contains(ev, sess["id"].(string)) {
		t.Errorf("event page: %d\n%s", st, ev)
	}

	st, page = dashPost(t, dev, "/dashboard/developers/webhooks/"+id+"/rotate", url.Values{"csrf_token": {csrf}})
	s = regexp.MustCompile(`id="endpoint-secret" value="([^"]+)"`).FindStringSubmatch(page)
	if st != http.StatusOK || s == nil || html.UnescapeString(s[1]) == secret {
		t.Errorf("rotate: %d, a new secret shown: %v", st, s != nil)
	}
	for _, to := range []string{"disabled", "enabled"} {
		if st, _ := dashPost(t, dev, "/dashboard/developers/webhooks/"+id+"/status", url.Values{"csrf_token": {csrf}, "status": {to}}); st != http.StatusSeeOther {
			t.Errorf("set %s: %d", to, st)
		}
		_, out := api(t, "GET", "/v1/webhook_endpoints/"+id, nil)
		if out["status"] != to {
			t.Errorf("after %s the endpoint is %v", to, out["status"])
		}
	}
	// A form without the session's token does nothing.
	if st, _ := dashPost(t, dev, "/dashboard/developers/webhooks/"+id+"/status", url.Values{"status": {"disabled"}}); st != http.StatusForbidden {
		t.Errorf("status without CSRF: %d", st)
	}

	support, supportCSRF := dashUser(t, sys.OrganizationID, "support")
	for _, p := range []string{"/dashboard/developers/webhooks", "/dashboard/developers/webhooks/" + id, "/dashboard/developers/events", "/dashboard/developers/events/" + evt} {
		if st, _ := dashGet(t, support, p); st != http.StatusForbidden {
			t.Errorf("support GET %s: %d, want 403", p, st)
		}
	}
	if st, _ := dashPost(t, support, "/dashboard/developers/webhooks/"+id+"/rotate", url.Values{"csrf_token": {supportCSRF}}); st != http.StatusForbidden {
		t.Errorf("support rotate: %d, want 403", st)
	}

	org, err := adminCLI("orgs", "create", "--name", "e2e dashboard other")
	if err != nil {
		t.Fatal(err)
	}
	other, otherCSRF := dashUser(t, org, "owner")
	for _, p := range []string{"/dashboard/developers/webhooks/" + id, "/dashboard/developers/events/" + evt} {
		if st, _ := dashGet(t, other, p); st != http.StatusNotFound {
			t.Errorf("another organization GET %s: %d, want 404", p, st)
		}
	}
	for _, p := range []string{"/rotate", "/status", "/resend"} {
		f := url.Values{"csrf_token": {otherCSRF}, "status": {"disabled"}, "event": {evt}}
		if st, _ := dashPost(t, other, "/dashboard/developers/webhooks/"+id+p, f); st != http.StatusNotFound {
			t.Errorf("another organization POST %s: %d, want 404", p, st)
		}
	}
	if _, list := dashGet(t, other, "/dashboard/developers/webhooks"); strings.Contains(list, id) {
		t.Error("another organization's list shows the endpoint")
	}
	if _, out := api(t, "GET", "/v1/webhook_endpoints/"+id, nil); out["status"] != "enabled" {
		t.Errorf("another organization changed the endpoint: %v", out["status"])
	}
}
