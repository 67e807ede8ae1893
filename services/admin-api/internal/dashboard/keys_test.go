package dashboard_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/apikey"
)

var secretField = regexp.MustCompile(`id="key-secret" value="([^"]+)"`)

// TestAPIKeys: a developer creates a key, sees its secret once (the one the
// database holds the hash of), finds it listed without the secret, and
// revokes it after confirming.
func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["developer"])
	_, _, nav := b.get("/dashboard/checkouts")
	contains(t, "the header", nav, `href="/dashboard/developers/api-keys"`)

	status, _, page := b.get("/dashboard/developers/api-keys")
	if status != http.StatusOK {
		t.Fatalf("list: %d", status)
	}
	contains(t, "the empty list", page, `id="no-keys"`, `id="key-form"`)
	form := url.Values{"csrf_token": {csrf}, "name": {"Shop <server>"}, "idempotency_key": {"create-1"}}
	status, _, page = b.post("/dashboard/developers/api-keys", form)
	if status != http.StatusCreated {
		t.Fatalf("create: %d\n%s", status, page)
	}
	contains(t, "the created page", page, "Shop &lt;server&gt;", `data-copy="key-secret"`)
	m := secretField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no secret on the created page:\n%s", page)
	}
	secret := html.UnescapeString(m[1])
	if !strings.HasPrefix(secret, "sk_test_") {
		t.Errorf("secret %q is not a test key", secret)
	}
	var id string
	var hash []byte
	var live bool
	if err := e.pool.QueryRow(context.Background(), `SELECT id, secret_hash, livemode FROM admin.api_keys WHERE organization_id = $1`, e.orgA).Scan(&id, &hash, &live); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hash, apikey.Hash(secret)) || live {
		t.Errorf("the key shown is not the key stored (live %v)", live)
	}
	// Sending the form twice makes one key.
	if s, _, _ := b.post("/dashboard/developers/api-keys", form); s != http.StatusCreated {
		t.Errorf("second submit: %d", s)
	}
	var n int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM admin.api_keys WHERE organization_id = $1`, e.orgA).Scan(&n)
	if n != 1 {
		t.Errorf("a double submit made %d keys", n)
	}

	_, _, list := b.get("/dashboard/developers/api-keys")
	contains(t, "the list", list, `id="row-`+id+`"`, "Shop &lt;server&gt;", "Never", `href="/dashboard/developers/api-keys/`+id+`/revoke"`)
	if strings.Contains(list, secret) {
		t.Error("the list shows the secret")
	}

	// An empty name is asked for again, and nothing is made.
	if s, _, bad := b.post("/dashboard/developers/api-keys", url.Values{"csrf_token": {csrf}, "name": {" "}, "idempotency_key": {"create-2"}}); s != http.StatusBadRequest {
		t.Errorf("empty name: %d", s)
	} else {
		contains(t, "the refused form", bad, `id="errors"`, `aria-invalid="true"`)
	}

	status, _, confirm := b.get("/dashboard/developers/api-keys/" + id + "/revoke")
	if status != http.StatusOK {
		t.Fatalf("confirm: %d", status)
	}
	contains(t, "the confirmation", confirm, `action="/dashboard/developers/api-keys/`+id+`/revoke"`, `name="csrf_token"`)
	status, loc, _ := b.post("/dashboard/developers/api-keys/"+id+"/revoke", url.Values{"csrf_token": {csrf}})
	if status != http.StatusSeeOther || loc != "/dashboard/developers/api-keys?notice=revoked" {
		t.Fatalf("revoke: %d %q", status, loc)
	}
	_, _, list = b.get(loc)
	contains(t, "the list after revoking", list, `id="notice"`, "Revoked ")
	if strings.Contains(list, `/api-keys/`+id+`/revoke"`) {
		t.Error("a revoked key still offers Revoke")
	}
	if s, _, _ := b.get("/dashboard/developers/api-keys/" + id + "/revoke"); s != http.StatusNotFound {
		t.Errorf("confirm a revoked key: %d, want 404", s)
	}
	// In French.
	fr := &http.Request{Method: http.MethodGet, Header: http.Header{"Accept-Language": {"fr"}}}
	fr.URL, _ = url.Parse(e.url + "/dashboard/developers/api-keys")
	resp, err := b.c.Do(fr)
	if err != nil {
		t.Fatal(err)
	}
	_, _, frPage := read(t, resp)
	contains(t, "the French page", frPage, "Clés d’API", "Révoquée le ")
}

// TestAPIKeysIsolation: another organization's key, or the other mode's,
// is a 404 to confirm and to revoke, stays unrevoked, and is not listed.
func TestAPIKeysIsolation(t *testing.T) {
	e := newEnv(t)
	mine := e.createKey(e.orgA, false, "mine")
	theirs := e.createKey(e.orgB, false, "theirs")
	live := e.createKey(e.orgA, true, "live one")
	b := e.browser()
	csrf := b.login(e.users["owner"])
	for _, id := range []string{theirs, live, "key_unknown"} {
		if s, _, _ := b.get("/dashboard/developers/api-keys/" + id + "/revoke"); s != http.StatusNotFound {
			t.Errorf("confirm %s: %d, want 404", id, s)
		}
		if s, _, _ := b.post("/dashboard/developers/api-keys/"+id+"/revoke", url.Values{"csrf_token": {csrf}}); s != http.StatusNotFound {
			t.Errorf("revoke %s: %d, want 404", id, s)
		}
	}
	var revoked int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM admin.api_keys WHERE revoked_at IS NOT NULL`).Scan(&revoked)
	if revoked != 0 {
		t.Errorf("%d keys were revoked", revoked)
	}
	_, _, list := b.get("/dashboard/developers/api-keys")
	contains(t, "org A's test keys", list, mine)
	for _, other := range []string{theirs, live, "live one"} {
		if strings.Contains(list, other) {
			t.Errorf("the list shows %s", other)
		}
	}
	// A key made in live mode is a live key.
	if s, _, _ := b.post("/dashboard/mode", url.Values{"csrf_token": {csrf}, "mode": {"live"}}); s != http.StatusSeeOther {
		t.Fatalf("switch to live: %d", s)
	}
	_, _, page := b.post("/dashboard/developers/api-keys", url.Values{"csrf_token": {csrf}, "name": {"live two"}, "idempotency_key": {"l"}})
	if m := secretField.FindStringSubmatch(page); m == nil || !strings.HasPrefix(m[1], "sk_live_") {
		t.Errorf("the key made in live mode is not live:\n%s", page)
	}
	_, _, list = b.get("/dashboard/developers/api-keys")
	contains(t, "org A's live keys", list, live, "live two")
}

// TestAPIKeysCSRF: the create and revoke forms without the session's token
// are refused and do nothing.
func TestAPIKeysCSRF(t *testing.T) {
	e := newEnv(t)
	key := e.createKey(e.orgA, false, "keep")
	b := e.browser()
	csrf := b.login(e.users["owner"])
	for name, tok := range map[string][]string{"no token": nil, "wrong token": {forged(csrf)}} {
		if s, _, _ := b.post("/dashboard/developers/api-keys", url.Values{"csrf_token": tok, "name": {"forged"}}); s != http.StatusForbidden {
			t.Errorf("create with %s: %d, want 403", name, s)
		}
		if s, _, _ := b.post("/dashboard/developers/api-keys/"+key+"/revoke", url.Values{"csrf_token": tok}); s != http.StatusForbidden {
			t.Errorf("revoke with %s: %d, want 403", name, s)
		}
	}
	var n int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM admin.api_keys WHERE name = 'forged' OR revoked_at IS NOT NULL`).Scan(&n)
	if n != 0 {
		t.Errorf("forged posts changed %d keys", n)
	}
}

// TestDevelopersRoles: support and viewers are refused every Developers
// page and form (before any call to hooks), and have no Developers link;
// owners and developers have it.
func TestDevelopersRoles(t *testing.T) {
	e := newEnv(t)
	gets := []string{"/dashboard/developers/api-keys", "/dashboard/developers/api-keys/key_x/revoke",
		"/dashboard/developers/webhooks", "/dashboard/developers/webhooks/we_x", "/dashboard/developers/events",
		"/dashboard/developers/events/evt_x"}
	posts := []string{"/dashboard/developers/api-keys", "/dashboard/developers/api-keys/key_x/revoke",
		"/dashboard/developers/webhooks", "/dashboard/developers/webhooks/we_x/rotate",
		"/dashboard/developers/webhooks/we_x/status", "/dashboard/developers/webhooks/we_x/resend"}
	for _, role := range []string{"support", "viewer"} {
		b := e.browser()
		csrf := b.login(e.users[role])
		for _, p := range gets {
			if s, _, _ := b.get(p); s != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", role, p, s)
			}
		}
		for _, p := range posts {
			if s, _, _ := b.post(p, url.Values{"csrf_token": {csrf}, "name": {"x"}, "url": {"https://x.example"}, "enabled_events": {"*"}}); s != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", role, p, s)
			}
		}
		if _, _, page := b.get("/dashboard/checkouts"); strings.Contains(page, "nav-developers") {
			t.Errorf("%s sees the Developers link", role)
		}
	}
	for _, role := range []string{"owner", "developer"} {
		b := e.browser()
		b.login(e.users[role])
		if _, _, page := b.get("/dashboard/checkouts"); !strings.Contains(page, `id="nav-developers"`) {
			t.Errorf("%s lacks the Developers link", role)
		}
	}
}
