package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/bootstrap"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/dashboard"
	"github.com/tillpoint/tillpoint/services/platform/ratelimit"
)

// TestRoleTable is the permission table as the docs state it: every role ×
// every action.
func TestRoleTable(t *testing.T) {
	all := []dashboard.Action{dashboard.ActionViewCheckouts, dashboard.ActionViewSites, dashboard.ActionCreateCheckout, dashboard.ActionExpireCheckout,
		dashboard.ActionRefund, dashboard.ActionResendWebhook, dashboard.ActionManageSites, dashboard.ActionManageKeys, dashboard.ActionManageWebhooks,
		dashboard.ActionManageTeam, dashboard.ActionViewAudit, dashboard.ActionViewCatalog, dashboard.ActionManageCatalog,
		dashboard.ActionViewBilling, dashboard.ActionCancelSubscription, dashboard.ActionManageProviders}
	allowed := map[dashboard.Role][]dashboard.Action{
		dashboard.RoleOwner: all,
		dashboard.RoleDeveloper: {dashboard.ActionViewCheckouts, dashboard.ActionViewSites, dashboard.ActionResendWebhook, dashboard.ActionManageSites,
			dashboard.ActionManageKeys, dashboard.ActionManageWebhooks, dashboard.ActionViewCatalog, dashboard.ActionManageCatalog, dashboard.ActionViewBilling},
		dashboard.RoleSupport: {dashboard.ActionViewCheckouts, dashboard.ActionViewSites, dashboard.ActionCreateCheckout, dashboard.ActionExpireCheckout,
			dashboard.ActionRefund, dashboard.ActionResendWebhook, dashboard.ActionViewCatalog, dashboard.ActionViewBilling, dashboard.ActionCancelSubscription},
		dashboard.RoleViewer: {dashboard.ActionViewCheckouts, dashboard.ActionViewSites, dashboard.ActionViewCatalog, dashboard.ActionViewBilling},
	}
	for _, role := range append(dashboard.Roles, "intruder") {
		for _, a := range all {
			if got, want := dashboard.Allowed(role, a), slices.Contains(allowed[role], a); got != want {
				t.Errorf("%s may %s: %v, want %v", role, a, got, want)
			}
		}
	}
}

// TestRolesOnTheServer signs in as each role and tries each action that has
// a page: the answer follows the table, and a refused action changes nothing.
func TestRolesOnTheServer(t *testing.T) {
	e := newEnv(t)
	for _, role := range dashboard.Roles {
		t.Run(string(role), func(t *testing.T) {
			b := e.browser()
			csrf := b.login(e.users[string(role)])
			open := e.createSession(e.orgA, e.siteA, false, "")
			key := e.createKey(e.orgA, false, "to revoke by "+string(role))
			cases := []struct {
				action dashboard.Action
				do     func() int
				ok     int
			}{
				{dashboard.ActionViewCheckouts, func() int { s, _, _ := b.get("/dashboard/checkouts/" + open.GetId()); return s }, http.StatusOK},
				{dashboard.ActionViewCheckouts, func() int { s, _, _ := b.get("/dashboard/checkouts"); return s }, http.StatusOK},
				{dashboard.ActionCreateCheckout, func() int { s, _, _ := b.get("/dashboard/checkouts/new"); return s }, http.StatusOK},
				{dashboard.ActionCreateCheckout, func() int {
					s, _, _ := b.post("/dashboard/checkouts/new", e.createForm(csrf, e.siteA))
					return s
				}, http.StatusSeeOther},
				// Without checkout-runtime and hooks the session has no payments
				// or events, so a role that passes the check gets the 404 of
				// an unknown payment or event.
				{dashboard.ActionRefund, func() int {
					s, _, _ := b.post("/dashboard/checkouts/"+open.GetId()+"/payments/pay_unknown/refund", url.Values{"csrf_token": {csrf}})
					return s
				}, http.StatusNotFound},
				{dashboard.ActionResendWebhook, func() int {
					s, _, _ := b.post("/dashboard/checkouts/"+open.GetId()+"/events/evt_unknown/resend", url.Values{"csrf_token": {csrf}, "endpoint": {"we_x"}})
					return s
				}, http.StatusNotFound},
				{dashboard.ActionManageKeys, func() int { s, _, _ := b.get("/dashboard/developers/api-keys"); return s }, http.StatusOK},
				{dashboard.ActionManageKeys, func() int {
					s, _, _ := b.post("/dashboard/developers/api-keys", url.Values{"csrf_token": {csrf}, "name": {"role-key"}, "idempotency_key": {"k-" + string(role)}})
					return s
				}, http.StatusCreated},
				{dashboard.ActionManageKeys, func() int { s, _, _ := b.get("/dashboard/developers/api-keys/" + key + "/revoke"); return s }, http.StatusOK},
				{dashboard.ActionManageKeys, func() int {
					s, _, _ := b.post("/dashboard/developers/api-keys/"+key+"/revoke", url.Values{"csrf_token": {csrf}})
					return s
				}, http.StatusSeeOther},
				{dashboard.ActionExpireCheckout, func() int {
					s, _, _ := b.post("/dashboard/checkouts/"+open.GetId()+"/expire", url.Values{"csrf_token": {csrf}})
					return s
				}, http.StatusSeeOther},
				{dashboard.ActionViewSites, func() int { s, _, _ := b.get("/dashboard/sites"); return s }, http.StatusOK},
				{dashboard.ActionViewSites, func() int { s, _, _ := b.get("/dashboard/sites/" + e.siteA); return s }, http.StatusOK},
				{dashboard.ActionManageSites, func() int { s, _, _ := b.get("/dashboard/sites/new"); return s }, http.StatusOK},
				{dashboard.ActionManageSites, func() int {
					s, _, _ := b.post("/dashboard/sites/new", siteForm(csrf, "Made by "+string(role)))
					return s
				}, http.StatusSeeOther},
				{dashboard.ActionManageSites, func() int {
					s, _, _ := b.post("/dashboard/sites/"+e.siteA, siteForm(csrf, "Renamed by "+string(role)))
					return s
				}, http.StatusSeeOther},
				{dashboard.ActionViewCatalog, func() int { s, _, _ := b.get("/dashboard/catalog/products"); return s }, http.StatusOK},
				{dashboard.ActionViewCatalog, func() int { s, _, _ := b.get("/dashboard/catalog/customers"); return s }, http.StatusOK},
				{dashboard.ActionViewCatalog, func() int { s, _, _ := b.get("/dashboard/catalog/discounts"); return s }, http.StatusOK},
				{dashboard.ActionViewBilling, func() int { s, _, _ := b.get("/dashboard/subscriptions"); return s }, http.StatusOK},
				{dashboard.ActionViewBilling, func() int { s, _, _ := b.get("/dashboard/invoices"); return s }, http.StatusOK},
				{dashboard.ActionManageCatalog, func() int {
					s, _, _ := b.post("/dashboard/catalog/products", url.Values{"csrf_token": {csrf}, "name": {"Tea by " + string(role)},
						"currency": {"EUR"}, "unit_amount": {"4.50"}, "idempotency_key": {"p-" + string(role)}})
					return s
				}, http.StatusSeeOther},
				{dashboard.ActionManageCatalog, func() int {
					s, _, _ := b.post("/dashboard/catalog/coupons", url.Values{"csrf_token": {csrf}, "percent_off": {"10"},
						"duration": {"once"}, "idempotency_key": {"c-" + string(role)}})
					return s
				}, http.StatusSeeOther},
			}
			for _, c := range cases {
				want := http.StatusForbidden
				if dashboard.Allowed(role, c.action) {
					want = c.ok
				}
				if got := c.do(); got != want {
					t.Errorf("%s %s: %d, want %d", role, c.action, got, want)
				}
			}
			var status string
			if err := e.pool.QueryRow(context.Background(), `SELECT status FROM admin.checkout_sessions WHERE id = $1`, open.GetId()).Scan(&status); err != nil {
				t.Fatal(err)
			}
			var revoked bool
			if err := e.pool.QueryRow(context.Background(), `SELECT revoked_at IS NOT NULL FROM admin.api_keys WHERE id = $1`, key).Scan(&revoked); err != nil {
				t.Fatal(err)
			}
			if want := dashboard.Allowed(role, dashboard.ActionManageKeys); revoked != want {
				t.Errorf("%s: the key is revoked %v after the revoke, want %v", role, revoked, want)
			}
			if want := map[bool]string{true: "expired", false: "open"}[dashboard.Allowed(role, dashboard.ActionExpireCheckout)]; status != want {
				t.Errorf("%s: the session is %s after the expire, want %s", role, status, want)
			}
		})
	}
	var made int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM admin.checkout_sessions WHERE metadata->>'invoice' = 'INV-7'`).Scan(&made); err != nil {
		t.Fatal(err)
	}
	if made != 2 { // owner and support
		t.Errorf("the create form made %d sessions, want 2 (owner, support)", made)
	}
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM admin.api_keys WHERE name = 'role-key'`).Scan(&made); err != nil {
		t.Fatal(err)
	}
	if made != 2 { // owner and developer
		t.Errorf("the API key form made %d keys, want 2 (owner, developer)", made)
	}
	var sites []string
	rows, err := e.pool.Query(context.Background(), `SELECT name FROM admin.sites WHERE name LIKE 'Made by %' OR name LIKE 'Renamed by %' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		sites = append(sites, name)
	}
	// Owner and developer each made a site; the developer renamed site A last.
	if want := []string{"Made by developer", "Made by owner", "Renamed by developer"}; !slices.Equal(sites, want) {
		t.Errorf("the site forms left %q, want %q", sites, want)
	}
}

// TestTenantIsolation: another organization's session, or the other mode's,
// is a 404 on every page and action, and is never listed.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	mine := e.createSession(e.orgA, e.siteA, false, "mine@example.com")
	theirs := e.createSession(e.orgB, e.siteB, false, "theirs@example.com")
	live := e.createSession(e.orgA, e.liveSite, true, "live@example.com")
	b := e.browser()
	csrf := b.login(e.users["owner"])
	for _, id := range []string{theirs.GetId(), live.GetId()} {
		if s, _, _ := b.get("/dashboard/checkouts/" + id); s != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", id, s)
		}
		if s, _, _ := b.post("/dashboard/checkouts/"+id+"/expire", url.Values{"csrf_token": {csrf}}); s != http.StatusNotFound {
			t.Errorf("expire %s: %d, want 404", id, s)
		}
		if s, _, _ := b.get("/dashboard/checkouts?after=" + id); s != http.StatusNotFound {
			t.Errorf("cursor %s: %d, want 404", id, s)
		}
	}
	// Another organization's site, or the other mode's, is a 404 to view
	// and to save, and the save writes nothing.
	for _, id := range []string{e.siteB, e.liveSite} {
		if s, _, _ := b.get("/dashboard/sites/" + id); s != http.StatusNotFound {
			t.Errorf("GET site %s: %d, want 404", id, s)
		}
		if s, _, _ := b.post("/dashboard/sites/"+id, siteForm(csrf, "Hijacked")); s != http.StatusNotFound {
			t.Errorf("save site %s: %d, want 404", id, s)
		}
	}
	var hijacked int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM admin.sites WHERE name = 'Hijacked'`).Scan(&hijacked)
	if hijacked != 0 {
		t.Errorf("%d sites of others were renamed", hijacked)
	}
	_, _, sites := b.get("/dashboard/sites")
	contains(t, "org A's sites", sites, e.siteA)
	if strings.Contains(sites, e.siteB) || strings.Contains(sites, e.liveSite) {
		t.Errorf("org A's test sites list shows another's site:\n%s", sites)
	}
	_, _, list := b.get("/dashboard/checkouts")
	contains(t, "org A's list", list, mine.GetId())
	for _, other := range []string{theirs.GetId(), live.GetId(), "theirs@example.com"} {
		if strings.Contains(list, other) {
			t.Errorf("org A's list shows %s", other)
		}
	}
	// Searching by another organization's email finds nothing either.
	if _, _, found := b.get("/dashboard/checkouts?q=theirs%40example.com"); strings.Contains(found, theirs.GetId()) {
		t.Error("a search found another organization's session")
	}
	// The create form offers this organization's test sites only, and
	// refuses another's site.
	_, _, form := b.get("/dashboard/checkouts/new")
	if strings.Contains(form, e.siteB) || strings.Contains(form, e.liveSite) || !strings.Contains(form, e.siteA) {
		t.Errorf("the create form's sites are wrong:\n%s", form)
	}
	if s, _, _ := b.post("/dashboard/checkouts/new", e.createForm(csrf, e.siteB)); s != http.StatusBadRequest {
		t.Errorf("create on another organization's site: %d, want 400", s)
	}
	// In live mode the live session is the one shown.
	if s, _, _ := b.post("/dashboard/mode", url.Values{"csrf_token": {csrf}, "mode": {"live"}}); s != http.StatusSeeOther {
		t.Fatalf("switch to live: %d", s)
	}
	if s, _, _ := b.get("/dashboard/checkouts/" + live.GetId()); s != http.StatusOK {
		t.Errorf("live session in live mode: %d", s)
	}
	if s, _, _ := b.get("/dashboard/checkouts/" + mine.GetId()); s != http.StatusNotFound {
		t.Errorf("test session in live mode: %d, want 404", s)
	}
}

// TestCSRF: a signed-in post without the session's token, with a wrong one,
// or with another session's, is refused and does nothing.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	open := e.createSession(e.orgA, e.siteA, false, "")
	b, other := e.browser(), e.browser()
	csrf := b.login(e.users["owner"])
	otherCSRF := other.login(e.users["owner"])
	if otherCSRF == csrf {
		t.Fatal("two sessions share a CSRF token")
	}
	for name, tok := range map[string][]string{"no token": nil, "wrong token": {forged(csrf)}, "another session's": {otherCSRF}} {
		form := url.Values{"csrf_token": tok}
		if s, _, _ := b.post("/dashboard/checkouts/"+open.GetId()+"/expire", form); s != http.StatusForbidden {
			t.Errorf("expire with %s: %d, want 403", name, s)
		}
		f := e.createForm(csrf, e.siteA)
		f["csrf_token"] = tok
		if s, _, _ := b.post("/dashboard/checkouts/new", f); s != http.StatusForbidden {
			t.Errorf("create with %s: %d, want 403", name, s)
		}
		sf := siteForm(csrf, "Forged")
		sf["csrf_token"] = tok
		if s, _, _ := b.post("/dashboard/sites/new", sf); s != http.StatusForbidden {
			t.Errorf("create site with %s: %d, want 403", name, s)
		}
		if s, _, _ := b.post("/dashboard/sites/"+e.siteA, sf); s != http.StatusForbidden {
			t.Errorf("save site with %s: %d, want 403", name, s)
		}
		if s, _, _ := b.post("/dashboard/logout", form); s != http.StatusForbidden {
			t.Errorf("logout with %s: %d, want 403", name, s)
		}
		if s, _, _ := b.post("/dashboard/account/two-factor/setup", form); s != http.StatusForbidden {
			t.Errorf("two-factor set-up with %s: %d, want 403", name, s)
		}
	}
	var settingUp bool
	_ = e.pool.QueryRow(context.Background(), `SELECT totp_pending_secret IS NOT NULL FROM admin.dashboard_users WHERE email = $1`, e.users["owner"]).Scan(&settingUp)
	if settingUp {
		t.Error("a refused post started a two-factor set-up")
	}
	if s, _, _ := b.get("/dashboard/checkouts/" + open.GetId()); s != http.StatusOK {
		t.Fatalf("still signed in: %d", s)
	}
	var forged int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM admin.sites WHERE name = 'Forged'`).Scan(&forged)
	if forged != 0 {
		t.Errorf("a refused post wrote %d sites", forged)
	}
	var status string
	_ = e.pool.QueryRow(context.Background(), `SELECT status FROM admin.checkout_sessions WHERE id = $1`, open.GetId()).Scan(&status)
	if status != "open" {
		t.Errorf("a refused post expired the session: %s", status)
	}
	if s, _, _ := b.post("/dashboard/checkouts/"+open.GetId()+"/expire", url.Values{"csrf_token": {csrf}}); s != http.StatusSeeOther {
		t.Errorf("expire with the right token: %d", s)
	}
	// The sign-in form has its own token.
	fresh := e.browser()
	fresh.get("/dashboard/login")
	if s, _, _ := fresh.post("/dashboard/login", url.Values{"email": {e.users["owner"]}, "password": {password}}); s != http.StatusForbidden {
		t.Errorf("sign-in without its token: %d, want 403", s)
	}
	if fresh.sessionCookie() != "" {
		t.Error("a sign-in without its token started a session")
	}
}

// TestSessionFixation: signing in always makes a new session token. A token
// planted in the browser beforehand, even a live session of the attacker's,
// never becomes the victim's session: it is deleted at sign-in.
func TestSessionFixation(t *testing.T) {
	e := newEnv(t)
	attacker := e.browser()
	attacker.login(e.users["viewer"])
	planted := attacker.sessionCookie()

	victim := e.browser()
	_, _, page := victim.get("/dashboard/login")
	u, _ := url.Parse(e.url)
	victim.c.Jar.SetCookies(u, []*http.Cookie{{Name: "tp_dash", Value: planted, Path: "/"}})
	if s, _, _ := victim.post("/dashboard/login", url.Values{"csrf_token": {token(t, page)}, "email": {e.users["owner"]}, "password": {password}}); s != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", s)
	}
	got := victim.sessionCookie()
	if got == "" || got == planted {
		t.Fatalf("session cookie after sign-in: %q (planted %q)", got, planted)
	}
	if _, _, list := victim.get("/dashboard/checkouts"); !strings.Contains(list, e.users["owner"]) {
		t.Error("the victim is not signed in as themselves")
	}
	if s, loc, _ := attacker.get("/dashboard/checkouts"); s != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/login") {
		t.Errorf("the planted token still works: %d %s", s, loc)
	}
	var hashed, plain int
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM admin.dashboard_sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, got).Scan(&hashed)
	_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM admin.dashboard_sessions WHERE token_hash = convert_to($1, 'UTF8')`, got).Scan(&plain)
	if hashed != 1 || plain != 0 {
		t.Errorf("the token is not stored hashed (hashed %d, plain %d)", hashed, plain)
	}
}

// TestCookieAttributes: HttpOnly, SameSite=Lax, and over https Secure with
// the __Host- prefix.
func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, func(h *dashboard.Handler) { h.Secure = secure })
		b := e.browser()
		_, _, page := b.get("/dashboard/login")
		resp, err := b.c.PostForm(e.url+"/dashboard/login", url.Values{"csrf_token": {token(t, page)}, "email": {e.users["owner"]}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var found bool
		for _, c := range resp.Cookies() {
			if c.Name != map[bool]string{false: "tp_dash", true: "__Host-tp_dash"}[secure] || c.MaxAge < 0 {
				continue
			}
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" {
				t.Errorf("secure=%v: session cookie %+v", secure, c)
			}
		}
		if !found {
			t.Errorf("secure=%v: no session cookie in %v", secure, resp.Header["Set-Cookie"])
		}
	}
}

// TestLoginNoEnumeration: an unknown email and a wrong password get the same
// answer after comparable work, and the limits treat them alike.
func TestLoginNoEnumeration(t *testing.T) {
	var now time.Time = time.Now()
	clock := func() time.Time { return now }
	e := newEnv(t, func(h *dashboard.Handler) {
		h.LoginLimits = dashboard.LoginLimits{PerAccount: ratelimit.New(1.0/60, 3, 0), PerAddr: ratelimit.New(1, 100, 0)}
		h.LoginLimits.PerAccount.SetClock(clock)
	})
	b := e.browser()
	message := func(body string) string {
		i := strings.Index(body, `id="login-error"`)
		if i < 0 {
			t.Fatalf("no error message in:\n%s", body)
		}
		return body[i : i+strings.Index(body[i:], "</p>")]
	}
	timed := func(email, pw string) (int, string, time.Duration) {
		start := time.Now()
		s, _, body := b.tryLogin(email, pw)
		return s, message(body), time.Since(start)
	}
	s1, m1, wrong := timed(e.users["owner"], "not the password")
	s2, m2, unknown := timed("nobody@a.example", "not the password")
	if s1 != http.StatusUnauthorized || s1 != s2 || m1 != m2 {
		t.Errorf("wrong password: %d %q; unknown email: %d %q", s1, m1, s2, m2)
	}
	// Both verify a password hash (tens of milliseconds); without the dummy
	// hash an unknown email would answer in about a millisecond.
	if unknown < wrong/3 {
		t.Errorf("an unknown email answers in %v, a wrong password in %v: the difference tells which emails exist", unknown, wrong)
	}
	// Failures are limited per email, existing or not, with the same answer.
	for _, email := range []string{e.users["owner"], "nobody@a.example"} {
		for range 3 {
			b.tryLogin(email, "still wrong")
		}
		s, _, body := b.tryLogin(email, "still wrong")
		if s != http.StatusTooManyRequests || !strings.Contains(body, "Too many sign-in attempts") {
			t.Errorf("%s after the burst: %d", email, s)
		}
	}
	// While limited even the right password waits; it is a pause, not a
	// lockout: a minute later it works.
	if s, _, _ := b.tryLogin(e.users["owner"], password); s != http.StatusTooManyRequests {
		t.Errorf("right password while limited: %d, want 429", s)
	}
	now = now.Add(61 * time.Second)
	if s, _, _ := b.tryLogin(e.users["owner"], password); s != http.StatusSeeOther {
		t.Errorf("right password after the pause: %d, want 303", s)
	}
	// Other accounts were never limited.
	if s, _, _ := e.browser().tryLogin(e.users["viewer"], password); s != http.StatusSeeOther {
		t.Errorf("another account: %d", s)
	}
}

// TestTimeouts: a session ends after the idle timeout without use, and at
// the absolute timeout whatever its use.
func TestTimeouts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, stmt := range map[string]string{
		"idle":     `UPDATE admin.dashboard_sessions SET last_seen_at = now() - interval '31 minutes' WHERE user_id = (SELECT id FROM admin.dashboard_users WHERE email = $1)`,
		"absolute": `UPDATE admin.dashboard_sessions SET expires_at = now() - interval '1 second' WHERE user_id = (SELECT id FROM admin.dashboard_users WHERE email = $1)`,
	} {
		b := e.browser()
		b.login(e.users["viewer"])
		if s, _, _ := b.get("/dashboard/checkouts"); s != http.StatusOK {
			t.Fatalf("%s: fresh session: %d", name, s)
		}
		if _, err := e.pool.Exec(ctx, stmt, e.users["viewer"]); err != nil {
			t.Fatal(err)
		}
		if s, loc, _ := b.get("/dashboard/checkouts"); s != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/login") {
			t.Errorf("%s timeout passed: %d %s, want the sign-in page", name, s, loc)
		}
	}
	// 29 minutes idle is still within the timeout.
	b := e.browser()
	b.login(e.users["owner"])
	if _, err := e.pool.Exec(ctx, `UPDATE admin.dashboard_sessions SET last_seen_at = now() - interval '29 minutes' WHERE user_id = (SELECT id FROM admin.dashboard_users WHERE email = $1)`, e.users["owner"]); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := b.get("/dashboard/checkouts"); s != http.StatusOK {
		t.Errorf("29 minutes idle: %d, want 200", s)
	}
	var fresh bool
	_ = e.pool.QueryRow(ctx, `SELECT last_seen_at > now() - interval '1 minute' FROM admin.dashboard_sessions WHERE user_id = (SELECT id FROM admin.dashboard_users WHERE email = $1)`, e.users["owner"]).Scan(&fresh)
	if !fresh {
		t.Error("a request did not move the idle timeout")
	}
}

// TestLogout: log out ends this browser's session; log out everywhere ends
// all of the user's.
func TestLogout(t *testing.T) {
	e := newEnv(t)
	phone, laptop, other := e.browser(), e.browser(), e.browser()
	csrf := phone.login(e.users["owner"])
	laptopCSRF := laptop.login(e.users["owner"])
	other.login(e.users["viewer"])
	signedIn := func(b *browser) bool { s, _, _ := b.get("/dashboard/checkouts"); return s == http.StatusOK }

	if s, loc, _ := phone.post("/dashboard/logout", url.Values{"csrf_token": {csrf}}); s != http.StatusSeeOther || loc != "/dashboard/login?signed_out=1" {
		t.Fatalf("logout: %d %s", s, loc)
	}
	if signedIn(phone) || !signedIn(laptop) {
		t.Fatalf("after logout: phone %v, laptop %v", signedIn(phone), signedIn(laptop))
	}
	phone.login(e.users["owner"])
	if s, _, _ := laptop.post("/dashboard/logout-everywhere", url.Values{"csrf_token": {laptopCSRF}}); s != http.StatusSeeOther {
		t.Fatalf("logout everywhere: %d", s)
	}
	if signedIn(phone) || signedIn(laptop) || !signedIn(other) {
		t.Errorf("after logout everywhere: phone %v, laptop %v, another user %v", signedIn(phone), signedIn(laptop), signedIn(other))
	}
}

// TestSwitchOrganization: a member of two organizations switches between
// them with the role they have in each; an organization they do not
// belong to is a 404 and changes nothing.
func TestSwitchOrganization(t *testing.T) {
	e := newEnv(t)
	// owner@a.example is also a viewer of B.
	e.createUser(e.users["owner"], e.orgB, dashboard.RoleViewer)
	theirs := e.createSession(e.orgB, e.siteB, false, "")
	mine := e.createSession(e.orgA, e.siteA, false, "")
	b := e.browser()
	csrf := b.login(e.users["owner"]) // their first organization: A
	_, _, list := b.get("/dashboard/checkouts")
	contains(t, "A's list", list, mine.GetId(), `id="org-switch"`)
	_, _, orgs := b.get("/dashboard/organizations")
	contains(t, "the organizations page", orgs, "Org A", "Org B", `id="switch-`+e.orgB+`"`)

	orgC, err := bootstrap.CreateOrganization(context.Background(), e.store, "Org C")
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"org_nope", orgC.ID} {
		if s, _, _ := b.post("/dashboard/organizations", url.Values{"csrf_token": {csrf}, "organization": {other}}); s != http.StatusNotFound {
			t.Errorf("switch to %s: %d, want 404", other, s)
		}
	}
	if s, loc, _ := b.post("/dashboard/organizations", url.Values{"csrf_token": {csrf}, "organization": {e.orgB}}); s != http.StatusSeeOther || loc != "/dashboard/checkouts" {
		t.Fatalf("switch to B: %d %s", s, loc)
	}
	_, _, list = b.get("/dashboard/checkouts")
	if !strings.Contains(list, theirs.GetId()) || strings.Contains(list, mine.GetId()) {
		t.Error("after switching to B the list is not B's")
	}
	// In B they are a viewer.
	if s, _, _ := b.get("/dashboard/checkouts/new"); s != http.StatusForbidden {
		t.Errorf("create as B's viewer: %d, want 403", s)
	}
	// A user of one organization has no switch.
	v := e.browser()
	v.login(e.users["viewer"])
	if _, _, page := v.get("/dashboard/checkouts"); strings.Contains(page, `id="org-switch"`) {
		t.Error("a user of one organization is offered a switch")
	}
	if s, _, _ := v.post("/dashboard/organizations", url.Values{"csrf_token": {v.csrf()}, "organization": {e.orgB}}); s != http.StatusNotFound {
		t.Errorf("a viewer of A switching to B: %d, want 404", s)
	}
}

// TestChangePassword: the current password is checked (and its failures
// limited), the new one must be long enough, and a change signs the user's
// other sessions out and replaces the old password.
func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	b, other := e.browser(), e.browser()
	csrf := b.login(e.users["support"])
	other.login(e.users["support"])
	const next = "a much longer new passphrase"
	for name, c := range map[string]struct{ current, next, field string }{
		"wrong current": {"not it at all", next, "current_password"},
		"too short":     {password, "short", "new_password"},
	} {
		s, _, page := b.post("/dashboard/account", url.Values{"csrf_token": {csrf}, "current_password": {c.current}, "new_password": {c.next}})
		if s != http.StatusBadRequest || !strings.Contains(page, `id="`+c.field+`-error"`) {
			t.Errorf("%s: %d, want 400 with an error on %s", name, s, c.field)
		}
	}
	if s, _, _ := b.post("/dashboard/account", url.Values{"current_password": {password}, "new_password": {next}}); s != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d, want 403", s)
	}
	if s, loc, _ := b.post("/dashboard/account", url.Values{"csrf_token": {csrf}, "current_password": {password}, "new_password": {next}}); s != http.StatusSeeOther || loc != "/dashboard/account?done=1" {
		t.Fatalf("change: %d %s", s, loc)
	}
	if s, _, _ := b.get("/dashboard/checkouts"); s != http.StatusOK {
		t.Errorf("this session after the change: %d, want 200", s)
	}
	if s, _, _ := other.get("/dashboard/checkouts"); s != http.StatusSeeOther {
		t.Errorf("the other session after the change: %d, want the sign-in page", s)
	}
	if s, _, _ := e.browser().tryLogin(e.users["support"], password); s != http.StatusUnauthorized {
		t.Errorf("the old password: %d, want 401", s)
	}
	if s, _, _ := e.browser().tryLogin(e.users["support"], next); s != http.StatusSeeOther {
		t.Errorf("the new password: %d, want 303", s)
	}
}
