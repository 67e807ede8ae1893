package dashboard

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// accountView is the account page's data: which field of which form is
// wrong (catalog keys), a notice of what was just done, and the state of
// two-factor sign-in.
type accountView struct {
	CurrentError, NewError string
	// DisablePasswordError and DisableCodeError are the two-factor off form's.
	DisablePasswordError, DisableCodeError string
	// Notice is a catalog key.
	Notice string
	// TwoFactor is on; RecoveryLeft recovery codes are unused.
	TwoFactor    bool
	RecoveryLeft int64
}

// accountNotices are the notices a redirect to the account page may ask for.
var accountNotices = map[string]string{"1": "account.done", "two-factor-off": "twofactor.off"}

// accountUser is v's user and their account page, without errors.
func (h *Handler) accountUser(ctx context.Context, v visit) (db.AdminDashboardUser, accountView, error) {
	user, err := h.Store.GetDashboardUser(ctx, v.userID)
	if err != nil {
		return user, accountView{}, store.Wrap(err, "get dashboard user")
	}
	av := accountView{TwoFactor: user.TotpSecret != nil}
	if av.TwoFactor {
		if av.RecoveryLeft, err = h.Store.CountDashboardRecoveryCodes(ctx, v.userID); err != nil {
			return user, av, store.Wrap(err, "count recovery codes")
		}
	}
	return user, av, nil
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request, v visit) {
	_, av, err := h.accountUser(r.Context(), v)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	av.Notice = accountNotices[r.URL.Query().Get("done")]
	h.render(w, r, http.StatusOK, "account", &v, "account", av)
}

// changePassword sets a new password after checking the current one, and
// ends the user's other sessions (a password is changed when it may have
// leaked). Wrong current passwords count against the account's sign-in
// limit, so a borrowed session cannot be used to guess it.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, v visit) {
	current, next := r.PostForm.Get("current_password"), r.PostForm.Get("new_password")
	accountKey := "email:" + v.email
	user, av, err := h.accountUser(r.Context(), v)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	if ok, _ := h.LoginLimits.PerAccount.Check(accountKey); !ok {
		av.CurrentError = "login.limited"
		h.render(w, r, http.StatusTooManyRequests, "account", &v, "account", av)
		return
	}
	match, err := h.verifyUserPassword(r.Context(), user, current)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	if !match {
		h.LoginLimits.PerAccount.Allow(accountKey)
		av.CurrentError = "account.wrong"
	}
	if n := len([]rune(next)); n < minPasswordLen || len(next) > maxPasswordLen {
		av.NewError = "account.length"
	}
	if av.CurrentError != "" || av.NewError != "" {
		h.render(w, r, http.StatusBadRequest, "account", &v, "account", av)
		return
	}
	hash, err := HashPassword(r.Context(), next)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	err = h.Store.InTx(r.Context(), func(_ pgx.Tx, q *db.Queries) error {
		if err := q.SetDashboardUserPassword(r.Context(), db.SetDashboardUserPasswordParams{ID: v.userID, PasswordHash: hash}); err != nil {
			return store.Wrap(err, "set password")
		}
		if _, err := q.DeleteOtherDashboardSessions(r.Context(), db.DeleteOtherDashboardSessionsParams{UserID: v.userID, TokenHash: v.tokenHash}); err != nil {
			return store.Wrap(err, "end other sessions")
		}
		return nil
	})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/account?done=1", http.StatusSeeOther)
}
