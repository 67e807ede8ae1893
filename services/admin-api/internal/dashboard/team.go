package dashboard

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// InvitationTTL is how long an invitation link can be used.
const InvitationTTL = 7 * 24 * time.Hour

// Refusals of team changes, shown on the Team page.
var (
	errNotMember = errors.New("dashboard: not a member of the organization")
	errLastOwner = errors.New("dashboard: the organization's last owner")
	errNotOwner  = errors.New("dashboard: the user is no longer an owner")
	// errNoInvitation: no pending invitation of the organization has the id.
	errNoInvitation = errors.New("dashboard: no such invitation")
)

// teamView is the Team page's data.
type teamView struct {
	Self        string
	Members     []db.ListTeamMembersRow
	Invitations []db.AdminDashboardInvitation
	Roles       []Role
	// Email and Role refill the invitation form; Error is a catalog key.
	Email, Role, Error string
	// Notice is a catalog key (a change done).
	Notice string
	// Link is a new invitation's link, shown this once.
	Link string
}

// teamPage shows the members and pending invitations, with notice (a
// catalog key) or a refusal.
func (h *Handler) teamPage(w http.ResponseWriter, r *http.Request, v visit) {
	h.showTeam(w, r, v, http.StatusOK, teamView{Notice: noticeKey(r.URL.Query().Get("done"))})
}

// noticeKey is the catalog key of the change a redirect reports.
func noticeKey(done string) string {
	switch done {
	case "role", "removed", "revoked":
		return "team.done_" + done
	}
	return ""
}

func (h *Handler) showTeam(w http.ResponseWriter, r *http.Request, v visit, status int, tv teamView) {
	ctx := r.Context()
	var err error
	if tv.Members, err = h.Store.ListTeamMembers(ctx, v.orgID); err != nil {
		h.fail(w, r, &v, store.Wrap(err, "list team"))
		return
	}
	if tv.Invitations, err = h.Store.ListDashboardInvitations(ctx, v.orgID); err != nil {
		h.fail(w, r, &v, store.Wrap(err, "list invitations"))
		return
	}
	tv.Self, tv.Roles = v.userID, Roles
	if tv.Role == "" {
		tv.Role = string(RoleViewer)
	}
	h.render(w, r, status, "team", &v, "team", tv)
}

// invite makes an invitation link for an email and a role. The link's
// token is random (256 bits) and only its SHA-256 is stored: the page
// shows the link this once.
func (h *Handler) invite(w http.ResponseWriter, r *http.Request, v visit) {
	email, roleName := NormalizeEmail(r.PostForm.Get("email")), r.PostForm.Get("role")
	tv := teamView{Email: email, Role: roleName}
	role, ok := ParseRole(roleName)
	switch {
	case !validEmail(email):
		tv.Error = "team.bad_email"
	case !ok:
		tv.Error, tv.Role = "team.bad_role", ""
	}
	if tv.Error != "" {
		h.showTeam(w, r, v, http.StatusBadRequest, tv)
		return
	}
	token := newToken()
	ctx := r.Context()
	err := h.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		inv, err := q.CreateDashboardInvitation(ctx, db.CreateDashboardInvitationParams{
			ID: ids.New("inv"), OrganizationID: v.orgID, Email: email, Role: string(role), TokenHash: hashToken(token),
			InvitedBy: v.userID, ExpiresAt: time.Now().Add(InvitationTTL)})
		if err != nil {
			return err
		}
		return audit.Write(ctx, q, teamEntry(r, v.orgID, v.userID, v.email, audit.ActionInvite, inv.ID,
			map[string]any{"email": email, "role": string(role)}))
	})
	if err != nil {
		h.fail(w, r, &v, store.Wrap(err, "create invitation"))
		return
	}
	h.showTeam(w, r, v, http.StatusCreated, teamView{Email: email, Link: h.origin(r) + Prefix + "/invite/" + token})
}

// origin is the scheme and host the dashboard was reached on, for links.
func (h *Handler) origin(r *http.Request) string {
	if h.Secure {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// revokeInvitation deletes a pending invitation; its link then finds nothing.
func (h *Handler) revokeInvitation(w http.ResponseWriter, r *http.Request, v visit) {
	ctx, id := r.Context(), r.PathValue("id")
	err := h.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		n, err := q.DeleteDashboardInvitation(ctx, db.DeleteDashboardInvitationParams{OrganizationID: v.orgID, ID: id})
		if err != nil {
			return store.Wrap(err, "revoke invitation")
		}
		if n == 0 {
			return errNoInvitation
		}
		return audit.Write(ctx, q, teamEntry(r, v.orgID, v.userID, v.email, audit.ActionRevokeInvitation, id, nil))
	})
	if errors.Is(err, errNoInvitation) {
		h.errorPage(w, r, &v, http.StatusNotFound)
		return
	}
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/team?done=revoked", http.StatusSeeOther)
}

// setMemberRole changes a member's role; the last owner keeps theirs.
func (h *Handler) setMemberRole(w http.ResponseWriter, r *http.Request, v visit) {
	role, ok := ParseRole(r.PostForm.Get("role"))
	if !ok {
		h.showTeam(w, r, v, http.StatusBadRequest, teamView{Error: "team.bad_role"})
		return
	}
	h.changeMember(w, r, v, "role", func(ctx context.Context, q *db.Queries, userID string) error {
		if err := q.SetTeamMemberRole(ctx, db.SetTeamMemberRoleParams{OrganizationID: v.orgID, UserID: userID, Role: string(role)}); err != nil {
			return err
		}
		return audit.Write(ctx, q, teamEntry(r, v.orgID, v.userID, v.email, audit.ActionRoleChange, userID, map[string]any{"role": string(role)}))
	}, role != RoleOwner)
}

// removeMember takes a member out of the organization and ends their
// sessions there; the last owner stays.
func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, v visit) {
	h.changeMember(w, r, v, "removed", func(ctx context.Context, q *db.Queries, userID string) error {
		if err := q.DeleteDashboardMembership(ctx, db.DeleteDashboardMembershipParams{OrganizationID: v.orgID, UserID: userID}); err != nil {
			return err
		}
		if err := q.DeleteDashboardOrganizationSessions(ctx, db.DeleteDashboardOrganizationSessionsParams{OrganizationID: v.orgID, UserID: userID}); err != nil {
			return err
		}
		return audit.Write(ctx, q, teamEntry(r, v.orgID, v.userID, v.email, audit.ActionRemoveMember, userID, nil))
	}, true)
}

// changeMember runs change on the member {id} of v's organization under the
// organization's lock, so that two owners demoting each other at once
// cannot leave it without one: when the change takes an owner away
// (losesOwner and the member is an owner), another owner must remain.
func (h *Handler) changeMember(w http.ResponseWriter, r *http.Request, v visit, done string,
	change func(context.Context, *db.Queries, string) error, losesOwner bool) {
	ctx, userID := r.Context(), r.PathValue("id")
	err := h.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		if err := q.LockOrganization(ctx, v.orgID); err != nil {
			return store.Wrap(err, "lock organization")
		}
		// The session's role was read before the lock: check it again.
		if own, err := q.GetTeamMemberRole(ctx, db.GetTeamMemberRoleParams{OrganizationID: v.orgID, UserID: v.userID}); err != nil || !Allowed(Role(own), ActionManageTeam) {
			return errNotOwner
		}
		role, err := q.GetTeamMemberRole(ctx, db.GetTeamMemberRoleParams{OrganizationID: v.orgID, UserID: userID})
		if store.IsNoRows(err) {
			return errNotMember
		} else if err != nil {
			return store.Wrap(err, "get member")
		}
		if losesOwner && Role(role) == RoleOwner {
			owners, err := q.CountOrganizationOwners(ctx, v.orgID)
			if err != nil {
				return store.Wrap(err, "count owners")
			}
			if owners <= 1 {
				return errLastOwner
			}
		}
		if err := change(ctx, q, userID); err != nil {
			return store.Wrap(err, "change member")
		}
		return nil
	})
	switch {
	case errors.Is(err, errNotMember):
		h.errorPage(w, r, &v, http.StatusNotFound)
	case errors.Is(err, errNotOwner):
		h.errorPage(w, r, &v, http.StatusForbidden)
	case errors.Is(err, errLastOwner):
		h.showTeam(w, r, v, http.StatusConflict, teamView{Error: "team.last_owner"})
	case err != nil:
		h.fail(w, r, &v, err)
	default:
		http.Redirect(w, r, Prefix+"/team?done="+done, http.StatusSeeOther)
	}
}
