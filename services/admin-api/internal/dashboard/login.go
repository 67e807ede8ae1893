package dashboard

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/ratelimit"
)

// loginView is the sign-in form's data.
type loginView struct {
	Email, Next, Token string
	// Message is a catalog key: why the form is shown again.
	Message string
	// Notice is a catalog key for a neutral message (signed out).
	Notice string
}

// validToken compares a form token with the expected one in constant time.
func validToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// loginToken returns the sign-in form's token: the browser's login cookie,
// set when missing (a double-submit token; a cross-site form cannot read
// the cookie, and SameSite=Lax keeps it off cross-site posts).
func (h *Handler) loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(h.loginCookieName()); err == nil && len(c.Value) >= 40 {
		return c.Value
	}
	token := newToken()
	http.SetCookie(w, h.cookie(h.loginCookieName(), token, 3600))
	return token
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok, err := h.loadVisit(r.Context(), r); err == nil && ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	lv := loginView{Next: r.URL.Query().Get("next"), Token: h.loginToken(w, r)}
	if r.URL.Query().Get("signed_out") == "1" {
		lv.Notice = "login.loggedout"
	}
	h.render(w, r, http.StatusOK, "login", nil, "", lv)
}

// login checks the email and password. Unknown email and wrong password get
// the same answer after the same work (a password check against a dummy
// hash), and failures are limited per address and per email, known or not,
// so the answers tell nothing about which emails have accounts.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, nil, http.StatusBadRequest)
		return
	}
	email, password, next := NormalizeEmail(r.PostForm.Get("email")), r.PostForm.Get("password"), r.PostForm.Get("next")
	again := func(status int, msg string) {
		h.render(w, r, status, "login", nil, "", loginView{Email: email, Next: next, Token: h.loginToken(w, r), Message: msg})
	}
	c, err := r.Cookie(h.loginCookieName())
	if err != nil || !validToken(r.PostForm.Get("csrf_token"), c.Value) {
		again(http.StatusForbidden, "login.expired")
		return
	}
	addrKey, accountKey := loginKeys(r, email)
	if !h.LoginLimits.check(addrKey, accountKey) {
		again(http.StatusTooManyRequests, "login.limited")
		return
	}
	user, orgID, ok, err := h.checkPassword(r, email, password)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if !ok {
		h.LoginLimits.failed(addrKey, accountKey)
		again(http.StatusUnauthorized, "login.failed")
		return
	}
	if user.TotpSecret != nil {
		// Two-factor sign-in: no session until the code (twofactor.go).
		if err := h.startPendingSignIn(r.Context(), w, user.ID, orgID); err != nil {
			h.fail(w, r, nil, err)
			return
		}
		http.Redirect(w, r, Prefix+"/login/code"+nextQuery(next), http.StatusSeeOther)
		return
	}
	if err := h.startSession(r.Context(), w, r, user.ID, user.Email, orgID); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// loginKeys are the sign-in limits' keys of an attempt for email: the
// client's address, and the email (known or not).
func loginKeys(r *http.Request, email string) (addrKey, accountKey string) {
	return ratelimit.AddrKey(httpx.ClientAddr(r)), "email:" + email
}

// check reports whether an attempt may be made: both buckets have a token.
func (l LoginLimits) check(addrKey, accountKey string) bool {
	okAddr, _ := l.PerAddr.Check(addrKey)
	okAccount, _ := l.PerAccount.Check(accountKey)
	return okAddr && okAccount
}

// failed counts a failed attempt (a wrong password or code) in both.
func (l LoginLimits) failed(addrKey, accountKey string) {
	l.PerAddr.Allow(addrKey)
	l.PerAccount.Allow(accountKey)
}

// nextQuery is the ?next= of a path to come back to, or nothing.
func nextQuery(next string) string {
	if next == "" {
		return ""
	}
	return "?next=" + url.QueryEscape(next)
}

// checkPassword returns the user and the organization to sign in to (their
// first) when the password is right. A user with no organization cannot
// sign in: there would be nothing to show.
func (h *Handler) checkPassword(r *http.Request, email, password string) (user db.AdminDashboardUser, orgID string, ok bool, err error) {
	ctx := r.Context()
	user, err = h.Store.GetDashboardUserByEmail(ctx, email)
	known := err == nil
	if err != nil && !store.IsNoRows(err) {
		return user, "", false, store.Wrap(err, "get dashboard user")
	}
	if !known {
		user.PasswordHash = h.dummyHash // the same work as for a known email
	}
	match, err := h.verifyUserPassword(ctx, user, password)
	if err != nil || !match || !known {
		return user, "", false, err
	}
	orgs, err := h.Store.ListDashboardMemberships(ctx, user.ID)
	if err != nil {
		return user, "", false, store.Wrap(err, "list memberships")
	}
	if len(orgs) == 0 {
		return user, "", false, nil
	}
	if NeedsRehash(user.PasswordHash) {
		h.rehash(ctx, user, password)
	}
	return user, orgs[0].OrganizationID, true, nil
}

// rehash stores password, which just matched the user's hash of older
// parameters, hashed with today's (NeedsRehash). Only that hash is
// replaced: a password changed meanwhile stays. A failure is logged and the
// sign-in goes on: the older hash still verifies, and the next sign-in
// tries again.
func (h *Handler) rehash(ctx context.Context, user db.AdminDashboardUser, password string) {
	hash, err := HashPassword(ctx, password)
	if err == nil {
		_, err = h.Store.RehashDashboardUserPassword(ctx, db.RehashDashboardUserPasswordParams{
			ID: user.ID, OldHash: user.PasswordHash, NewHash: hash})
	}
	if err != nil {
		h.Logger.WarnContext(ctx, "dashboard sign-in: storing the password's rehash failed; the older hash stays", "user", user.ID, "error", err)
	}
}

// verifyUserPassword reports whether password is the user's. An overlong
// one is checked cut to maxPasswordLen, the same work as any other, and
// never matches.
func (h *Handler) verifyUserPassword(ctx context.Context, user db.AdminDashboardUser, password string) (bool, error) {
	tooLong := len(password) > maxPasswordLen
	if tooLong {
		password = password[:maxPasswordLen]
	}
	match, err := VerifyPassword(ctx, password, user.PasswordHash)
	return match && !tooLong, err
}

// logout ends this browser's session.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, v visit) {
	if err := h.Store.DeleteDashboardSession(r.Context(), v.tokenHash); err != nil {
		h.fail(w, r, &v, store.Wrap(err, "delete dashboard session"))
		return
	}
	h.signedOut(w, r)
}

// logoutEverywhere ends every session of the user, on every device.
func (h *Handler) logoutEverywhere(w http.ResponseWriter, r *http.Request, v visit) {
	if _, err := h.Store.DeleteDashboardUserSessions(r.Context(), v.userID); err != nil {
		h.fail(w, r, &v, store.Wrap(err, "delete dashboard sessions"))
		return
	}
	h.signedOut(w, r)
}

func (h *Handler) signedOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, h.cookie(h.sessionCookieName(), "", -1))
	http.Redirect(w, r, Prefix+"/login?signed_out=1", http.StatusSeeOther)
}

// setMode switches the session between test and live data.
func (h *Handler) setMode(w http.ResponseWriter, r *http.Request, v visit) {
	live := r.PostForm.Get("mode") == "live"
	if err := h.Store.SetDashboardSessionMode(r.Context(), db.SetDashboardSessionModeParams{TokenHash: v.tokenHash, Livemode: live}); err != nil {
		h.fail(w, r, &v, store.Wrap(err, "set mode"))
		return
	}
	http.Redirect(w, r, Prefix+"/checkouts", http.StatusSeeOther)
}

// orgsView is the organization switch's data.
type orgsView struct {
	Current string
	Orgs    []db.ListDashboardMembershipsRow
}

// listOrgs shows the user's organizations, to switch between them.
func (h *Handler) listOrgs(w http.ResponseWriter, r *http.Request, v visit) {
	orgs, err := h.Store.ListDashboardMemberships(r.Context(), v.userID)
	if err != nil {
		h.fail(w, r, &v, store.Wrap(err, "list memberships"))
		return
	}
	h.render(w, r, http.StatusOK, "orgs", &v, "", orgsView{Current: v.orgID, Orgs: orgs})
}

// switchOrg moves the session to another organization of the user, in
// test mode; an organization they do not belong to is a 404.
func (h *Handler) switchOrg(w http.ResponseWriter, r *http.Request, v visit) {
	n, err := h.Store.SetDashboardSessionOrganization(r.Context(), db.SetDashboardSessionOrganizationParams{
		TokenHash: v.tokenHash, OrganizationID: r.PostForm.Get("organization")})
	if err != nil {
		h.fail(w, r, &v, store.Wrap(err, "switch organization"))
		return
	}
	if n == 0 {
		h.errorPage(w, r, &v, http.StatusNotFound)
		return
	}
	http.Redirect(w, r, Prefix+"/checkouts", http.StatusSeeOther)
}
