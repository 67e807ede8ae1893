package dashboard

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// accountView is the password form's data: which field is wrong (a catalog
// key), or that the change is done.
type accountView struct {
	CurrentError, NewError string
	Done                   bool
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request, v visit) {
	h.render(w, r, http.StatusOK, "account", &v, "account", accountView{Done: r.URL.Query().Get("done") == "1"})
}

// changePassword sets a new password after checking the current one, and
// ends the user's other sessions (a password is changed when it may have
// leaked). Wrong current passwords count against the account's sign-in
// limit, so a borrowed session cannot be used to guess it.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, v visit) {
	current, next := r.PostForm.Get("current_password"), r.PostForm.Get("new_password")
	accountKey := "email:" + v.email
	if ok, _ := h.LoginLimits.PerAccount.Check(accountKey); !ok {
		h.render(w, r, http.StatusTooManyRequests, "account", &v, "account", accountView{CurrentError: "login.limited"})
		return
	}
	user, err := h.Store.GetDashboardUser(r.Context(), v.userID)
	if err != nil {
		h.fail(w, r, &v, store.Wrap(err, "get dashboard user"))
		return
	}
	if len(current) > maxPasswordLen {
		current = current[:maxPasswordLen]
	}
	match, err := VerifyPassword(r.Context(), current, user.PasswordHash)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	av := accountView{}
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
