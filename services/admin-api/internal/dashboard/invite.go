package dashboard

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// inviteView is the invitation page's data. Mode is "create" (a new user
// sets a password), "accept" (signed in as the invited email) or "signin"
// (the email has an account: sign in as it first).
type inviteView struct {
	Org, Email, Role, Mode, Token, Path, SignIn string
	// Error is a catalog key.
	Error string
}

// Refusals of an invitation's acceptance.
var (
	errInvitationGone = errors.New("dashboard: no usable invitation")
	errEmailTaken     = errors.New("dashboard: the invited email has an account")
)

// invitation returns the usable invitation of the link's token and the
// page's data, or ok=false after answering 404 (unknown, used, revoked or
// expired: the same answer).
func (h *Handler) invitation(w http.ResponseWriter, r *http.Request) (db.GetDashboardInvitationRow, inviteView, *visit, bool) {
	ctx := r.Context()
	inv, err := h.Store.GetDashboardInvitation(ctx, hashToken(r.PathValue("token")))
	if store.IsNoRows(err) {
		h.errorPage(w, r, nil, http.StatusNotFound)
		return inv, inviteView{}, nil, false
	} else if err != nil {
		h.fail(w, r, nil, store.Wrap(err, "get invitation"))
		return inv, inviteView{}, nil, false
	}
	var signedIn *visit
	if v, ok, err := h.loadVisit(ctx, r); err == nil && ok {
		signedIn = &v
	}
	iv := inviteView{Org: inv.OrganizationName, Email: inv.Email, Role: inv.Role, Mode: "create", Token: h.loginToken(w, r),
		Path: r.URL.Path, SignIn: Prefix + "/login?next=" + url.QueryEscape(r.URL.Path)}
	if _, err := h.Store.GetDashboardUserByEmail(ctx, inv.Email); err == nil {
		iv.Mode = "signin"
		if signedIn != nil && signedIn.email == inv.Email {
			iv.Mode = "accept"
		}
	} else if !store.IsNoRows(err) {
		h.fail(w, r, nil, store.Wrap(err, "get dashboard user"))
		return inv, inviteView{}, nil, false
	}
	return inv, iv, signedIn, true
}

// invitePage shows an invitation: a password form for a new user, an
// Accept button for its email's signed-in user, or a sign-in link.
func (h *Handler) invitePage(w http.ResponseWriter, r *http.Request) {
	if _, iv, _, ok := h.invitation(w, r); ok {
		h.render(w, r, http.StatusOK, "invite", nil, "", iv)
	}
}

// acceptInvite makes the invitee a member with the invitation's role and
// uses the invitation up, in one transaction that holds the invitation's
// row: two posts of one link make one member. A new user is created with
// the password given and signed in; a signed-in user moves to the
// organization.
func (h *Handler) acceptInvite(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, nil, http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(h.loginCookieName())
	if err != nil || !validToken(r.PostForm.Get("csrf_token"), c.Value) {
		h.errorPage(w, r, nil, http.StatusForbidden)
		return
	}
	inv, iv, signedIn, ok := h.invitation(w, r)
	if !ok {
		return
	}
	if iv.Mode == "signin" {
		h.render(w, r, http.StatusForbidden, "invite", nil, "", iv)
		return
	}
	ctx := r.Context()
	var hash string
	if iv.Mode == "create" {
		pw := r.PostForm.Get("password")
		if n := len([]rune(pw)); n < minPasswordLen || len(pw) > maxPasswordLen {
			iv.Error = "account.length"
			h.render(w, r, http.StatusBadRequest, "invite", nil, "", iv)
			return
		}
		if hash, err = HashPassword(ctx, pw); err != nil {
			h.fail(w, r, nil, err)
			return
		}
	}
	var userID string
	err = h.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		if _, err := q.GetDashboardInvitation(ctx, inv.TokenHash); store.IsNoRows(err) {
			return errInvitationGone
		} else if err != nil {
			return store.Wrap(err, "lock invitation")
		}
		if hash == "" {
			userID = signedIn.userID
		} else {
			u, err := q.CreateDashboardUser(ctx, db.CreateDashboardUserParams{ID: ids.New("usr"), Email: inv.Email, PasswordHash: hash})
			if store.IsNoRows(err) {
				return errEmailTaken
			} else if err != nil {
				return store.Wrap(err, "create user")
			}
			userID = u.ID
		}
		if _, err := q.AddDashboardMembership(ctx, db.AddDashboardMembershipParams{UserID: userID, OrganizationID: inv.OrganizationID, Role: inv.Role}); err != nil {
			return store.Wrap(err, "add membership")
		}
		if err := q.AcceptDashboardInvitation(ctx, inv.ID); err != nil {
			return store.Wrap(err, "accept invitation")
		}
		return audit.Write(ctx, q, teamEntry(r, inv.OrganizationID, userID, inv.Email, audit.ActionJoin, inv.ID, map[string]any{"role": inv.Role}))
	})
	switch {
	case errors.Is(err, errInvitationGone):
		h.errorPage(w, r, nil, http.StatusNotFound)
		return
	case errors.Is(err, errEmailTaken):
		iv.Mode = "signin"
		h.render(w, r, http.StatusConflict, "invite", nil, "", iv)
		return
	case err != nil:
		h.fail(w, r, nil, err)
		return
	}
	if hash != "" {
		err = h.startSession(ctx, w, r, userID, inv.Email, inv.OrganizationID)
	} else {
		_, err = h.Store.SetDashboardSessionOrganization(ctx, db.SetDashboardSessionOrganizationParams{
			TokenHash: signedIn.tokenHash, OrganizationID: inv.OrganizationID})
	}
	if err != nil {
		h.fail(w, r, nil, store.Wrap(err, "sign in to the organization"))
		return
	}
	http.Redirect(w, r, Landing, http.StatusSeeOther)
}
