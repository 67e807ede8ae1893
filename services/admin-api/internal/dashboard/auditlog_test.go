package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/bootstrap"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// auditRow is an entry as the tests compare it.
type auditRow struct {
	ID, Kind, Actor, Email, Action, Target, Mode, Addr string
	Detail                                             map[string]any
}

// auditRows is org's log, oldest first, of the entries actor made ("" for
// every actor).
func (e *env) auditRows(org, actor string) []auditRow {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT id, actor_kind, actor_id, coalesce(actor_email, ''), action,
		coalesce(target_id, ''), coalesce(livemode::text, ''), coalesce(client_addr, ''), detail
		FROM admin.audit_log WHERE organization_id = $1 AND ($2 = '' OR actor_id = $2) ORDER BY occurred_at, id`, org, actor)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var detail []byte
		if err := rows.Scan(&r.ID, &r.Kind, &r.Actor, &r.Email, &r.Action, &r.Target, &r.Mode, &r.Addr, &detail); err != nil {
			e.t.Fatal(err)
		}
		if err := json.Unmarshal(detail, &r.Detail); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// actionsAndTargets are the rows as "action target" lines.
func actionsAndTargets(rows []auditRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = strings.TrimSpace(r.Action + " " + r.Target)
	}
	return out
}

// TestAuditDashboardActions: each action an owner takes in the dashboard is
// recorded once, as that user (id and email), with the object acted on,
// the mode (none for the team) and the address; a form sent twice with
// its idempotency key is one action.
func TestAuditDashboardActions(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["owner"])
	owner := e.userID(e.users["owner"])

	keyForm := url.Values{"csrf_token": {csrf}, "name": {"Shop server"}, "idempotency_key": {"audit-key-1"}}
	for range 2 {
		if s, _, body := b.post("/dashboard/developers/api-keys", keyForm); s != http.StatusCreated {
			t.Fatalf("create key: %d\n%s", s, body)
		}
	}
	var key string
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM admin.api_keys WHERE organization_id = $1 AND name = 'Shop server'`, e.orgA).Scan(&key); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := b.post("/dashboard/developers/api-keys/"+key+"/revoke", url.Values{"csrf_token": {csrf}}); s != http.StatusSeeOther {
		t.Fatalf("revoke: %d", s)
	}
	if s, _, body := b.post("/dashboard/sites/"+e.siteA, siteForm(csrf, "Renamed")); s != http.StatusSeeOther {
		t.Fatalf("update site: %d\n%s", s, body)
	}
	s, loc, body := b.post("/dashboard/checkouts/new", e.createForm(csrf, e.siteA))
	if s != http.StatusSeeOther {
		t.Fatalf("create checkout: %d\n%s", s, body)
	}
	session := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/dashboard/checkouts/")
	if s, _, _ := b.post("/dashboard/checkouts/"+session+"/expire", url.Values{"csrf_token": {csrf}}); s != http.StatusSeeOther {
		t.Fatalf("expire: %d", s)
	}
	b.invite(csrf, "new@a.example", "support")
	var invitation string
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM admin.dashboard_invitations WHERE email = 'new@a.example'`).Scan(&invitation); err != nil {
		t.Fatal(err)
	}
	viewer := e.userID(e.users["viewer"])
	if s, _, _ := b.post("/dashboard/team/members/"+viewer+"/role", url.Values{"csrf_token": {csrf}, "role": {"support"}}); s != http.StatusSeeOther {
		t.Fatalf("role: %d", s)
	}

	rows := e.auditRows(e.orgA, owner)
	want := []string{"user.sign_in", "api_key.create " + key, "api_key.revoke " + key, "site.update " + e.siteA,
		"checkout_session.create " + session, "checkout_session.expire " + session, "team.invite " + invitation,
		"team.role_change " + viewer}
	if got := actionsAndTargets(rows); !slices.Equal(got, want) {
		t.Fatalf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range rows {
		if r.Kind != "user" || r.Email != e.users["owner"] || r.Addr != "127.0.0.1" {
			t.Errorf("%s: actor %s %s from %q", r.Action, r.Kind, r.Email, r.Addr)
		}
		team := strings.HasPrefix(r.Action, "team.") || strings.HasPrefix(r.Action, "user.")
		if want := map[bool]string{true: "", false: "false"}[team]; r.Mode != want {
			t.Errorf("%s: mode %q, want %q", r.Action, r.Mode, want)
		}
	}
	if d := rows[6].Detail; d["email"] != "new@a.example" || d["role"] != "support" {
		t.Errorf("invitation detail %v", d)
	}
	if d := rows[7].Detail; d["role"] != "support" {
		t.Errorf("role change detail %v", d)
	}

	// The page shows them, newest first, to the owner.
	status, _, page := b.get("/dashboard/audit")
	if status != http.StatusOK {
		t.Fatalf("audit page: %d", status)
	}
	contains(t, "the audit page", page, `id="audit-rule"`, `id="teamnav"`, `method="get" action="/dashboard/audit"`,
		e.users["owner"], ">team.role_change<", ">api_key.revoke<", key, session)
	if strings.Index(page, ">team.role_change<") > strings.Index(page, ">user.sign_in<") {
		t.Error("the page is not newest first")
	}
	_, _, team := b.get("/dashboard/team")
	contains(t, "the Team page", team, `href="/dashboard/audit"`)
	b.get("/dashboard/lang?to=fr&back=%2Fdashboard%2Faudit")
	_, _, fr := b.get("/dashboard/audit")
	contains(t, "the French audit page", fr, `lang="fr"`, "Journal d’audit", "Qui", ">team.invite<")
}

// TestAuditAPIKeyCalls: configuration changes through the API are recorded
// as the key (its id, no email); a session created with a key is not (the
// hot path writes nothing more), nor is a read or a refused change.
func TestAuditAPIKeyCalls(t *testing.T) {
	e := newEnv(t)
	k, secret, err := bootstrap.CreateKey(context.Background(), e.store, e.orgA, false, "server")
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.auditRows(e.orgA, ""))
	status, out := e.rest(http.MethodPost, "/v1/api_keys", secret, map[string]any{"name": "ci"})
	if status != http.StatusCreated {
		t.Fatalf("create key: %d %v", status, out)
	}
	created := out["id"].(string)
	if status, out := e.rest(http.MethodPost, "/v1/checkout/sessions", secret, map[string]any{"site_id": e.siteA, "amount": 1250}); status != http.StatusOK && status != http.StatusCreated {
		t.Fatalf("create session: %d %v", status, out)
	}
	if status, _ := e.rest(http.MethodGet, "/v1/sites", secret, nil); status != http.StatusOK {
		t.Fatalf("list sites: %d", status)
	}
	if status, out := e.rest(http.MethodPost, "/v1/sites/"+e.siteA, secret, map[string]any{"name": "Renamed by the API"}); status != http.StatusOK {
		t.Fatalf("update site: %d %v", status, out)
	}
	if status, out := e.rest(http.MethodPost, "/v1/fee_schedule", secret, map[string]any{"rules": []map[string]any{{"percent_bps": 100}}}); status != http.StatusOK {
		t.Fatalf("fee schedule: %d %v", status, out)
	}
	// Refused: nothing recorded.
	if status, _ := e.rest(http.MethodPost, "/v1/fee_schedule", secret, map[string]any{"rules": []map[string]any{{"percent_bps": 100, "fixed_amount": 30}}}); status != http.StatusBadRequest {
		t.Fatalf("bad fee schedule: %d", status)
	}
	rows := e.auditRows(e.orgA, "")[before:]
	if got, want := actionsAndTargets(rows), []string{"api_key.create " + created, "site.update " + e.siteA, "fee_schedule.update"}; !slices.Equal(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	if r := rows[0]; r.Kind != "api_key" || r.Actor != k.ID || r.Email != "" || r.Mode != "false" || r.Addr != "127.0.0.1" {
		t.Errorf("entry %+v", r)
	}
	if fields, _ := rows[0].Detail["fields"].([]any); len(fields) != 1 || fields[0] != "name" {
		t.Errorf("detail %v", rows[0].Detail)
	}
}

// rest calls the merchant API with an API key and decodes the JSON answer.
func (e *env) rest(method, path, key string, body any) (int, map[string]any) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s %s: %d, not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// TestAuditFailuresWriteNothing: refused and failed actions — inside the
// API's transaction or the dashboard's — leave no entry.
func TestAuditFailuresWriteNothing(t *testing.T) {
	e := newEnv(t)
	otherKey := e.createKey(e.orgB, false, "B's")
	expired := e.createSession(e.orgA, e.siteA, false, "")
	if _, err := e.pool.Exec(context.Background(), `UPDATE admin.checkout_sessions SET status = 'expired' WHERE id = $1`, expired.GetId()); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	csrf := b.login(e.users["owner"])
	before := e.auditRows(e.orgA, "")
	owner := e.userID(e.users["owner"])
	attempts := []struct {
		name string
		path string
		form url.Values
		want int
	}{
		{"revoke an unknown key", "/dashboard/developers/api-keys/key_unknown/revoke", url.Values{}, http.StatusNotFound},
		{"revoke another organization's key", "/dashboard/developers/api-keys/" + otherKey + "/revoke", url.Values{}, http.StatusNotFound},
		{"expire an expired session", "/dashboard/checkouts/" + expired.GetId() + "/expire", url.Values{}, 0},
		{"save a site without a name", "/dashboard/sites/" + e.siteA, siteForm(csrf, ""), http.StatusBadRequest},
		{"invite a bad email", "/dashboard/team/invitations", url.Values{"email": {"nobody"}, "role": {"viewer"}}, http.StatusBadRequest},
		{"demote the last owner", "/dashboard/team/members/" + owner + "/role", url.Values{"role": {"viewer"}}, http.StatusConflict},
		{"revoke an unknown invitation", "/dashboard/team/invitations/inv_unknown/revoke", url.Values{}, http.StatusNotFound},
		{"remove a non-member", "/dashboard/team/members/" + e.userID(e.users["ownerB"]) + "/remove", url.Values{}, http.StatusNotFound},
	}
	for _, a := range attempts {
		a.form.Set("csrf_token", csrf)
		s, _, _ := b.post(a.path, a.form)
		if a.want != 0 && s != a.want {
			t.Errorf("%s: %d, want %d", a.name, s, a.want)
		}
		if a.want == 0 && s < 300 {
			t.Errorf("%s: %d, want a refusal", a.name, s)
		}
	}
	// A wrong password is no sign-in.
	if s, _, _ := e.browser().tryLogin(e.users["developer"], "wrong password"); s != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", s)
	}
	if after := e.auditRows(e.orgA, ""); len(after) != len(before) {
		t.Errorf("failed actions wrote %v", actionsAndTargets(after[len(before):]))
	}
	var status string
	if err := e.pool.QueryRow(context.Background(), `SELECT status FROM admin.checkout_sessions WHERE id = $1`, expired.GetId()).Scan(&status); err != nil || status != "expired" {
		t.Errorf("session %s %v", status, err)
	}
}

var entryID = regexp.MustCompile(`id="entry-(aud_[A-Za-z0-9]+)"`)

// TestAuditTenantIsolation: an owner sees only their organization's log;
// another organization's entry as a cursor is a 404; other roles get 403.
func TestAuditTenantIsolation(t *testing.T) {
	e := newEnv(t)
	bB := e.browser()
	csrfB := bB.login(e.users["ownerB"])
	if s, _, _ := bB.post("/dashboard/developers/api-keys", url.Values{"csrf_token": {csrfB}, "name": {"B key"}, "idempotency_key": {"b-1"}}); s != http.StatusCreated {
		t.Fatalf("B's key: %d", s)
	}
	rowsB := e.auditRows(e.orgB, e.userID(e.users["ownerB"]))
	if len(rowsB) != 2 {
		t.Fatalf("B's entries: %v", actionsAndTargets(rowsB))
	}
	b := e.browser()
	b.login(e.users["owner"])
	_, _, page := b.get("/dashboard/audit")
	for _, r := range rowsB {
		if strings.Contains(page, r.ID) || strings.Contains(page, r.Target+"<") && r.Target != "" {
			t.Errorf("org A's page shows org B's entry %s", r.Action)
		}
	}
	if strings.Contains(page, e.users["ownerB"]) {
		t.Error("org A's page names org B's owner")
	}
	if s, _, p := b.get("/dashboard/audit?actor=" + url.QueryEscape(e.users["ownerB"])); s != http.StatusOK || entryID.MatchString(p) {
		t.Errorf("filtering on B's owner: %d, entries %v", s, entryID.FindAllString(p, -1))
	}
	if s, _, _ := b.get("/dashboard/audit?after=" + rowsB[0].ID); s != http.StatusNotFound {
		t.Errorf("B's entry as a cursor: %d, want 404", s)
	}
	for _, role := range []string{"developer", "support", "viewer"} {
		rb := e.browser()
		rb.login(e.users[role])
		if s, _, _ := rb.get("/dashboard/audit"); s != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", role, s)
		}
		if _, _, nav := rb.get("/dashboard/checkouts"); strings.Contains(nav, `href="/dashboard/audit"`) {
			t.Errorf("%s is offered the audit log", role)
		}
	}
	if s, loc, _ := e.browser().get("/dashboard/audit"); s != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/login") {
		t.Errorf("signed out: %d %s", s, loc)
	}
}

// TestAuditFiltersAndPaging: the filters narrow the log (actor by key id or
// email, action by name or family, target, date range) and the pages walk
// it newest first, each entry once.
func TestAuditFiltersAndPaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	live := true
	for i := range 60 {
		entry := audit.Entry{OrganizationID: e.orgA, KeyID: "key_robot", Livemode: &live, Action: "site.update", TargetID: "site_many"}
		if i%20 == 0 {
			entry = audit.Entry{OrganizationID: e.orgA, UserID: "usr_ann", UserEmail: "ann@a.example", Action: audit.ActionInvite, TargetID: "inv_x"}
		}
		if err := audit.Write(ctx, db.New(e.pool), entry); err != nil {
			t.Fatal(err)
		}
	}
	// One old entry, for the date range.
	if _, err := e.pool.Exec(ctx, `INSERT INTO admin.audit_log (id, organization_id, actor_kind, actor_id, action, occurred_at)
		VALUES ('aud_old', $1, 'api_key', 'key_robot', 'api_key.revoke', '2024-03-05 10:00Z')`, e.orgA); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login(e.users["owner"])
	total := len(e.auditRows(e.orgA, ""))

	// Paging: every entry once, newest first.
	var seen []string
	next, pages := "/dashboard/audit", 0
	for next != "" {
		s, _, page := b.get(next)
		if s != http.StatusOK {
			t.Fatalf("%s: %d", next, s)
		}
		for _, m := range entryID.FindAllStringSubmatch(page, -1) {
			seen = append(seen, m[1])
		}
		pages++
		next = ""
		if m := regexp.MustCompile(`href="([^"]+)" rel="next" id="older"`).FindStringSubmatch(page); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if pages > 1 {
			contains(t, "a later page", page, `id="newest"`)
		}
	}
	if pages != 2 || len(seen) != total || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != total {
		t.Errorf("%d pages, %d entries of %d (distinct %d)", pages, len(seen), total, len(slices.Compact(slices.Sorted(slices.Values(seen)))))
	}
	if seen[len(seen)-1] != "aud_old" {
		t.Errorf("the oldest entry is not last: %s", seen[len(seen)-1])
	}

	count := func(query string) int {
		t.Helper()
		s, _, page := b.get("/dashboard/audit?" + query)
		if s != http.StatusOK {
			t.Fatalf("%s: %d", query, s)
		}
		return len(entryID.FindAllString(page, -1))
	}
	cases := []struct {
		query string
		want  int
	}{
		{"actor=key_robot", 50}, // a full page of the 58
		{"actor=key_robot&action=api_key.revoke", 1},
		{"actor=ANN@a.example", 3},
		{"action=team", 3},
		{"action=team.invite&target=inv_x", 3},
		{"target=site_many&actor=usr_ann", 0},
		{"from=2024-03-05&to=2024-03-05", 1},
		{"to=2024-03-04", 0},
		{"from=2024-03-06&actor=key_robot&action=site", 50},
		{"from=not-a-date&action=api_key.revoke", 1}, // a bad date is ignored
	}
	for _, c := range cases {
		if got := count(c.query); got != c.want {
			t.Errorf("%s: %d entries, want %d", c.query, got, c.want)
		}
	}
	_, _, page := b.get("/dashboard/audit?action=team.nothing")
	contains(t, "an empty filter", page, `id="empty"`)
}

// TestAuditTeamEntries: revoking an invitation, accepting one (the new
// member joins and signs in) and removing a member are recorded, each as
// the person who did it.
func TestAuditTeamEntries(t *testing.T) {
	e := newEnv(t)
	owner := e.browser()
	csrf := owner.login(e.users["owner"])
	ownerID := e.userID(e.users["owner"])
	owner.invite(csrf, "gone@a.example", "viewer")
	var revoked string
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM admin.dashboard_invitations WHERE email = 'gone@a.example'`).Scan(&revoked); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := owner.post("/dashboard/team/invitations/"+revoked+"/revoke", url.Values{"csrf_token": {csrf}}); s != http.StatusSeeOther {
		t.Fatalf("revoke: %d", s)
	}
	path, _ := owner.invite(csrf, "new@a.example", "developer")
	var accepted string
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM admin.dashboard_invitations WHERE email = 'new@a.example'`).Scan(&accepted); err != nil {
		t.Fatal(err)
	}
	if s, _, body := e.browser().inviteForm(path, url.Values{"password": {password}}); s != http.StatusSeeOther {
		t.Fatalf("accept: %d\n%s", s, body)
	}
	newcomer := e.userID("new@a.example")
	if s, _, _ := owner.post("/dashboard/team/members/"+newcomer+"/remove", url.Values{"csrf_token": {csrf}}); s != http.StatusSeeOther {
		t.Fatalf("remove: %d", s)
	}
	want := []string{"user.sign_in", "team.invite " + revoked, "team.invitation_revoke " + revoked, "team.invite " + accepted,
		"team.member_remove " + newcomer}
	if got := actionsAndTargets(e.auditRows(e.orgA, ownerID)); !slices.Equal(got, want) {
		t.Errorf("the owner's entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rows := e.auditRows(e.orgA, newcomer)
	if got := actionsAndTargets(rows); !slices.Equal(got, []string{"team.join " + accepted, "user.sign_in"}) {
		t.Errorf("the newcomer's entries: %v", got)
	}
	for _, r := range rows {
		if r.Email != "new@a.example" || r.Kind != "user" || r.Mode != "" {
			t.Errorf("%s: %+v", r.Action, r)
		}
	}
	if rows[0].Detail["role"] != "developer" {
		t.Errorf("join detail %v", rows[0].Detail)
	}
}
