package dashboard_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/dashboard"
)

// userID is the id of the dashboard user with email.
func (e *env) userID(email string) string {
	e.t.Helper()
	var id string
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM admin.dashboard_users WHERE email = $1`, email).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// role is the user's role in org, or "" when not a member.
func (e *env) role(email, org string) string {
	e.t.Helper()
	var role string
	err := e.pool.QueryRow(context.Background(), `SELECT coalesce((SELECT m.role FROM admin.dashboard_memberships m
		JOIN admin.dashboard_users u ON u.id = m.user_id WHERE u.email = $1 AND m.organization_id = $2), '')`, email, org).Scan(&role)
	if err != nil {
		e.t.Fatal(err)
	}
	return role
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

var inviteLink = regexp.MustCompile(`id="invite-link" value="([^"]+)"`)

// invite makes an invitation as the signed-in owner b and returns the
// link's path and token.
func (b *browser) invite(csrf, email, role string) (path, tok string) {
	b.e.t.Helper()
	status, _, body := b.post("/dashboard/team/invitations", url.Values{"csrf_token": {csrf}, "email": {email}, "role": {role}})
	m := inviteLink.FindStringSubmatch(body)
	if status != http.StatusCreated || m == nil {
		b.e.t.Fatalf("invite %s: %d\n%s", email, status, body)
	}
	u, err := url.Parse(m[1])
	if err != nil {
		b.e.t.Fatal(err)
	}
	return u.Path, strings.TrimPrefix(u.Path, "/dashboard/invite/")
}

// inviteForm is the invitation page's form with the page's token.
func (b *browser) inviteForm(path string, extra url.Values) (int, string, string) {
	b.e.t.Helper()
	status, _, page := b.get(path)
	if status != http.StatusOK {
		return status, "", page
	}
	extra.Set("csrf_token", token(b.e.t, page))
	return b.post(path, extra)
}

// TestTeamOwnersOnly: the Team page and its forms answer owners only; the
// refused ones change nothing.
func TestTeamOwnersOnly(t *testing.T) {
	e := newEnv(t)
	viewer := e.userID(e.users["viewer"])
	for _, role := range dashboard.Roles {
		b := e.browser()
		csrf := b.login(e.users[string(role)])
		ok := dashboard.Allowed(role, dashboard.ActionManageTeam)
		want := func(yes int) int {
			if ok {
				return yes
			}
			return http.StatusForbidden
		}
		status, _, body := b.get("/dashboard/team")
		if status != want(http.StatusOK) {
			t.Errorf("%s: team page %d", role, status)
		}
		if ok {
			contains(t, "team page", body, e.users["viewer"], e.users["owner"], `id="invite-form"`)
		}
		if _, _, page := b.get("/dashboard/checkouts"); strings.Contains(page, `id="nav-team"`) != ok {
			t.Errorf("%s: Team link shown %v", role, !ok)
		}
		if status, _, _ := b.post("/dashboard/team/invitations", url.Values{"csrf_token": {csrf}, "email": {string(role) + "-inv@a.example"}, "role": {"viewer"}}); status != want(http.StatusCreated) {
			t.Errorf("%s: invite %d", role, status)
		}
		if status, _, _ := b.post("/dashboard/team/members/"+viewer+"/role", url.Values{"csrf_token": {csrf}, "role": {"support"}}); status != want(http.StatusSeeOther) {
			t.Errorf("%s: set role %d", role, status)
		}
		e.createUser(e.users["viewer"], e.orgA, dashboard.RoleViewer)
	}
	if n := e.count(`SELECT count(*) FROM admin.dashboard_invitations`); n != 1 {
		t.Errorf("%d invitations, want the owner's one", n)
	}
}

// TestInviteRefusals: a bad email or role is a 400 naming it, and makes
// no invitation.
func TestInviteRefusals(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["owner"])
	for _, c := range []struct{ email, role, want string }{
		{"not an email", "viewer", "Enter an email address"},
		{"a@b.example, c@d.example", "viewer", "Enter an email address"},
		{"ok@a.example", "admin", "Choose a role"},
	} {
		status, _, body := b.post("/dashboard/team/invitations", url.Values{"csrf_token": {csrf}, "email": {c.email}, "role": {c.role}})
		if status != http.StatusBadRequest || !strings.Contains(body, c.want) || strings.Contains(body, `id="invite-link"`) {
			t.Errorf("invite %q as %q: %d, want 400 saying %q", c.email, c.role, status, c.want)
		}
	}
	if n := e.count(`SELECT count(*) FROM admin.dashboard_invitations`); n != 0 {
		t.Errorf("%d invitations from bad forms", n)
	}
}

// TestTeamCSRF: every Team form and the invitation form refuse a post
// without the right token, and change nothing.
func TestTeamCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["owner"])
	path, _ := b.invite(csrf, "new@a.example", "support")
	var inv string
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM admin.dashboard_invitations`).Scan(&inv); err != nil {
		t.Fatal(err)
	}
	viewer := e.userID(e.users["viewer"])
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/dashboard/team/invitations", url.Values{"email": {"x@a.example"}, "role": {"viewer"}}},
		{"/dashboard/team/invitations/" + inv + "/revoke", url.Values{}},
		{"/dashboard/team/members/" + viewer + "/role", url.Values{"role": {"owner"}}},
		{"/dashboard/team/members/" + viewer + "/remove", url.Values{}},
	} {
		for _, tok := range []string{"", "forged" + csrf[6:]} {
			p.form.Set("csrf_token", tok)
			if status, _, _ := b.post(p.path, p.form); status != http.StatusForbidden {
				t.Errorf("%s with token %q: %d, want 403", p.path, tok, status)
			}
		}
	}
	// The invitee's form: a cross-site post has no login cookie to match.
	fresh := e.browser()
	if status, _, _ := fresh.post(path, url.Values{"csrf_token": {"x"}, "password": {password}}); status != http.StatusForbidden {
		t.Errorf("invitation without token: %d, want 403", status)
	}
	if n := e.count(`SELECT count(*) FROM admin.dashboard_invitations WHERE accepted_at IS NULL`); n != 1 {
		t.Errorf("%d pending invitations, want 1", n)
	}
	if got := e.role(e.users["viewer"], e.orgA); got != "viewer" {
		t.Errorf("viewer is %q", got)
	}
	if got := e.role("new@a.example", e.orgA); got != "" {
		t.Errorf("the invitee is a member (%q) without the form's token", got)
	}
}

// TestLastOwner: the last owner can be neither demoted nor removed; with
// two owners demoting each other at once, exactly one demotion happens.
func TestLastOwner(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["owner"])
	owner := e.userID(e.users["owner"])
	if status, _, body := b.post("/dashboard/team/members/"+owner+"/role", url.Values{"csrf_token": {csrf}, "role": {"viewer"}}); status != http.StatusConflict {
		t.Errorf("demote the last owner: %d", status)
	} else {
		contains(t, "refusal", body, "needs an owner")
	}
	if status, _, _ := b.post("/dashboard/team/members/"+owner+"/remove", url.Values{"csrf_token": {csrf}}); status != http.StatusConflict {
		t.Errorf("remove the last owner: %d", status)
	}
	if got := e.role(e.users["owner"], e.orgA); got != "owner" {
		t.Fatalf("the last owner is %q", got)
	}

	// A second owner; each demotes the other at the same moment.
	second := e.createUser("owner2@a.example", e.orgA, dashboard.RoleOwner)
	b2 := e.browser()
	csrf2 := b2.login(second)
	// The test holds the organization's lock while both requests start, so
	// that they meet at it: without the lock they both go through.
	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT id FROM admin.organizations WHERE id = $1 FOR NO KEY UPDATE`, e.orgA); err != nil {
		t.Fatal(err)
	}
	statuses := make([]int, 2)
	var wg sync.WaitGroup
	for i, do := range []func() int{
		func() int {
			s, _, _ := b.post("/dashboard/team/members/"+e.userID(second)+"/role", url.Values{"csrf_token": {csrf}, "role": {"developer"}})
			return s
		},
		func() int {
			s, _, _ := b2.post("/dashboard/team/members/"+owner+"/role", url.Values{"csrf_token": {csrf2}, "role": {"developer"}})
			return s
		},
	} {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i] = do() }()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	waitForLockWaiters(t, e, 2, finished)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	<-finished
	done, refused := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusSeeOther:
			done++
		case http.StatusConflict:
			refused++
		}
	}
	// The loser may also be refused for no longer being an owner (403).
	if done != 1 || done+refused+countOf(statuses, http.StatusForbidden) != 2 {
		t.Errorf("concurrent demotions: %v, want exactly one 303", statuses)
	}
	if n := e.count(`SELECT count(*) FROM admin.dashboard_memberships WHERE organization_id = $1 AND role = 'owner'`, e.orgA); n != 1 {
		t.Errorf("%d owners after the concurrent demotions, want 1", n)
	}
}

// waitForLockWaiters returns when n backends wait on a lock, or when
// finished is closed (the requests did not wait).
func waitForLockWaiters(t *testing.T, e *env, n int, finished <-chan struct{}) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			return
		case <-tick.C:
		}
		if e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) >= n {
			return
		}
	}
}

func countOf(list []int, v int) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}

// TestTeamTenantIsolation: another organization's member or invitation is
// a 404, and unchanged.
func TestTeamTenantIsolation(t *testing.T) {
	e := newEnv(t)
	bB := e.browser()
	_, _ = bB.invite(bB.login(e.users["ownerB"]), "someone@b.example", "viewer")
	var invB string
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM admin.dashboard_invitations WHERE organization_id = $1`, e.orgB).Scan(&invB); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	csrf := b.login(e.users["owner"])
	ownerB := e.userID(e.users["ownerB"])
	for path, form := range map[string]url.Values{
		"/dashboard/team/members/" + ownerB + "/role":     {"csrf_token": {csrf}, "role": {"viewer"}},
		"/dashboard/team/members/" + ownerB + "/remove":   {"csrf_token": {csrf}},
		"/dashboard/team/invitations/" + invB + "/revoke": {"csrf_token": {csrf}},
	} {
		if status, _, _ := b.post(path, form); status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, status)
		}
	}
	if _, _, body := b.get("/dashboard/team"); strings.Contains(body, e.users["ownerB"]) || strings.Contains(body, "someone@b.example") {
		t.Error("org A's Team page shows org B's people")
	}
	if got := e.role(e.users["ownerB"], e.orgB); got != "owner" {
		t.Errorf("org B's owner is %q", got)
	}
	if n := e.count(`SELECT count(*) FROM admin.dashboard_invitations WHERE id = $1`, invB); n != 1 {
		t.Error("org B's invitation was revoked from org A")
	}
}

// TestInvitation: the link is shown once, stored as its SHA-256, lets a new
// user set a password and join with the role, and works once.
func TestInvitation(t *testing.T) {
	e := newEnv(t)
	owner := e.browser()
	csrf := owner.login(e.users["owner"])
	path, tok := owner.invite(csrf, " New@A.example ", "support")
	var stored []byte
	var ttl time.Duration
	if err := e.pool.QueryRow(context.Background(), `SELECT token_hash, extract(epoch FROM expires_at - created_at)::bigint * 1000000000
		FROM admin.dashboard_invitations WHERE email = 'new@a.example'`).Scan(&stored, &ttl); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256([]byte(tok)); string(stored) != string(sum[:]) {
		t.Error("the stored hash is not the token's SHA-256")
	}
	if d := ttl - 7*24*time.Hour; d < -time.Minute || d > time.Minute {
		t.Errorf("expires after %v, want 7 days", ttl)
	}
	if _, _, body := owner.get("/dashboard/team"); strings.Contains(body, tok) {
		t.Error("the Team page shows the link again")
	} else {
		contains(t, "pending", body, "new@a.example", `id="invitations"`)
	}

	invitee := e.browser()
	if status, _, _ := invitee.get("/dashboard/invite/" + strings.Repeat("A", len(tok))); status != http.StatusNotFound {
		t.Errorf("wrong token: %d, want 404", status)
	}
	status, _, page := invitee.get(path)
	if status != http.StatusOK {
		t.Fatalf("invitation page: %d", status)
	}
	contains(t, "invitation page", page, "Org A", "new@a.example", `name="password"`)
	if status, _, _ := invitee.inviteForm(path, url.Values{"password": {"short"}}); status != http.StatusBadRequest {
		t.Errorf("short password: %d, want 400", status)
	}
	if status, loc, body := invitee.inviteForm(path, url.Values{"password": {password}}); status != http.StatusSeeOther || loc != "/dashboard/overview" {
		t.Fatalf("accept: %d %q %s", status, loc, body)
	}
	if _, _, body := invitee.get("/dashboard/checkouts"); !strings.Contains(body, "new@a.example") {
		t.Error("the invitee is not signed in after accepting")
	}
	if got := e.role("new@a.example", e.orgA); got != "support" {
		t.Errorf("the invitee is %q, want support", got)
	}
	// Used: the link is gone, for anyone.
	if status, _, _ := invitee.get(path); status != http.StatusNotFound {
		t.Errorf("used link: %d, want 404", status)
	}
	other := e.browser()
	_, _, page = other.get("/dashboard/login")
	if status, _, _ := other.post(path, url.Values{"csrf_token": {token(t, page)}, "password": {"another password 123"}}); status != http.StatusNotFound {
		t.Errorf("second use: %d, want 404", status)
	}
	if status, _ := other.tryLoginStatus("new@a.example", "another password 123"); status == http.StatusSeeOther {
		t.Error("the second use set the password")
	}
	if _, _, body := owner.get("/dashboard/team"); strings.Contains(body, `id="invitations"`) {
		t.Error("the accepted invitation is still pending")
	}
}

func (b *browser) tryLoginStatus(email, pw string) (int, string) {
	status, loc, _ := b.tryLogin(email, pw)
	return status, loc
}

// TestInvitationExpiryAndRevoke: an expired or revoked link is a 404.
func TestInvitationExpiryAndRevoke(t *testing.T) {
	e := newEnv(t)
	owner := e.browser()
	csrf := owner.login(e.users["owner"])
	expired, _ := owner.invite(csrf, "late@a.example", "viewer")
	if _, err := e.pool.Exec(context.Background(), `UPDATE admin.dashboard_invitations SET expires_at = now() - interval '1 second' WHERE email = 'late@a.example'`); err != nil {
		t.Fatal(err)
	}
	revoked, _ := owner.invite(csrf, "gone@a.example", "viewer")
	var id string
	if err := e.pool.QueryRow(context.Background(), `SELECT id FROM admin.dashboard_invitations WHERE email = 'gone@a.example'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if status, loc, _ := owner.post("/dashboard/team/invitations/"+id+"/revoke", url.Values{"csrf_token": {csrf}}); status != http.StatusSeeOther || loc != "/dashboard/team?done=revoked" {
		t.Errorf("revoke: %d %q", status, loc)
	}
	for _, path := range []string{expired, revoked} {
		b := e.browser()
		if status, _, _ := b.get(path); status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, status)
		}
		_, _, page := b.get("/dashboard/login")
		if status, _, _ := b.post(path, url.Values{"csrf_token": {token(t, page)}, "password": {password}}); status != http.StatusNotFound {
			t.Errorf("post %s: %d, want 404", path, status)
		}
	}
	if n := e.count(`SELECT count(*) FROM admin.dashboard_users WHERE email IN ('late@a.example', 'gone@a.example')`); n != 0 {
		t.Errorf("%d users made from dead links", n)
	}
}

// TestInvitationExistingUser: an email with an account signs in first,
// then accepts; its password is untouched and its role elsewhere too.
func TestInvitationExistingUser(t *testing.T) {
	e := newEnv(t)
	owner := e.browser()
	path, _ := owner.invite(owner.login(e.users["owner"]), e.users["ownerB"], "developer")
	b := e.browser()
	status, _, page := b.get(path)
	if status != http.StatusOK || !strings.Contains(page, `id="invite-signin"`) || strings.Contains(page, `name="password"`) {
		t.Fatalf("signed out: %d\n%s", status, page)
	}
	_, _, login := b.get("/dashboard/login")
	if status, _, _ := b.post(path, url.Values{"csrf_token": {token(t, login)}, "password": {"taken over 12345"}}); status != http.StatusForbidden {
		t.Errorf("accept signed out: %d, want 403", status)
	}
	b.login(e.users["ownerB"])
	if status, loc, body := b.inviteForm(path, url.Values{}); status != http.StatusSeeOther || loc != "/dashboard/overview" {
		t.Fatalf("accept signed in: %d %q %s", status, loc, body)
	}
	if got := e.role(e.users["ownerB"], e.orgA); got != "developer" {
		t.Errorf("in org A: %q, want developer", got)
	}
	if got := e.role(e.users["ownerB"], e.orgB); got != "owner" {
		t.Errorf("in org B: %q, want owner", got)
	}
	if _, _, body := b.get("/dashboard/checkouts"); !strings.Contains(body, "Org A") {
		t.Error("the session did not move to the new organization")
	}
}

// TestRemoveMember: a removed member's sessions in the organization end;
// a role change shows on their next request.
func TestRemoveMember(t *testing.T) {
	e := newEnv(t)
	owner := e.browser()
	csrf := owner.login(e.users["owner"])
	dev := e.browser()
	dev.login(e.users["developer"])
	id := e.userID(e.users["developer"])
	_, _, page := owner.get("/dashboard/team")
	signedIn := regexp.MustCompile(`id="signin-` + id + `">20\d\d-\d\d-\d\d \d\d:\d\d UTC<`)
	never := regexp.MustCompile(`id="signin-` + e.userID(e.users["viewer"]) + `"><span class="muted">Never<`)
	if !signedIn.MatchString(page) || !never.MatchString(page) {
		t.Errorf("last sign-in: the developer's is not shown, or the viewer's is not Never:\n%s", page)
	}
	if status, loc, _ := owner.post("/dashboard/team/members/"+id+"/role", url.Values{"csrf_token": {csrf}, "role": {"viewer"}}); status != http.StatusSeeOther || loc != "/dashboard/team?done=role" {
		t.Fatalf("set role: %d %q", status, loc)
	}
	if status, _, _ := dev.get("/dashboard/developers/api-keys"); status != http.StatusForbidden {
		t.Errorf("demoted to viewer, keys: %d, want 403", status)
	}
	if status, loc, _ := owner.post("/dashboard/team/members/"+id+"/remove", url.Values{"csrf_token": {csrf}}); status != http.StatusSeeOther || loc != "/dashboard/team?done=removed" {
		t.Fatalf("remove: %d %q", status, loc)
	}
	if n := e.count(`SELECT count(*) FROM admin.dashboard_sessions WHERE user_id = $1`, id); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	if status, loc, _ := dev.get("/dashboard/checkouts"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/login") {
		t.Errorf("removed member: %d %q, want the sign-in page", status, loc)
	}
	if got := e.role(e.users["developer"], e.orgA); got != "" {
		t.Errorf("still a member: %q", got)
	}
}
