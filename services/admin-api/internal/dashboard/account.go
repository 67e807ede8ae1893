package dashboard

import (
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// accountView is the account page's data: the password form's wrong field
// (a catalog key) or that the change is done, and the time zone form's.
type accountView struct {
	CurrentError, NewError string
	Done                   bool
	// TimeZone is the user's zone, or what they typed after a refusal;
	// ZoneError a catalog key; ZoneDone that it was saved.
	TimeZone  string
	ZoneError string
	ZoneDone  bool
	// Zones are suggestions for the zone field (any IANA name is taken).
	Zones []string
}

// commonZones are the time zone field's suggestions: the merchants'
// regions the seeds serve, and UTC.
var commonZones = []string{"UTC", "Africa/Accra", "Africa/Johannesburg", "Africa/Lagos", "Africa/Nairobi",
	"America/Chicago", "America/Los_Angeles", "America/New_York", "America/Sao_Paulo", "America/Toronto",
	"Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
	"Europe/Berlin", "Europe/Istanbul", "Europe/London", "Europe/Madrid", "Europe/Paris"}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request, v visit) {
	q := r.URL.Query()
	h.render(w, r, http.StatusOK, "account", &v, "account", accountView{Done: q.Get("done") == "1", ZoneDone: q.Get("done") == "zone",
		TimeZone: v.location().String(), Zones: commonZones})
}

// setTimeZone saves the user's time zone: an IANA name this build's zone
// database knows (PostgreSQL's, which the Overview uses, is the same
// list).
func (h *Handler) setTimeZone(w http.ResponseWriter, r *http.Request, v visit) {
	name := strings.TrimSpace(r.PostForm.Get("time_zone"))
	if _, err := time.LoadLocation(name); err != nil || name == "" || name == "Local" || len(name) > maxZoneName {
		h.render(w, r, http.StatusBadRequest, "account", &v, "account", accountView{TimeZone: name, ZoneError: "account.zone_invalid", Zones: commonZones})
		return
	}
	if err := h.Store.SetDashboardUserTimeZone(r.Context(), db.SetDashboardUserTimeZoneParams{ID: v.userID, TimeZone: name}); err != nil {
		h.fail(w, r, &v, store.Wrap(err, "set time zone"))
		return
	}
	http.Redirect(w, r, Prefix+"/account?done=zone", http.StatusSeeOther)
}

// maxZoneName bounds a zone name (the longest IANA name has 32 characters).
const maxZoneName = 64

// changePassword sets a new password after checking the current one, and
// ends the user's other sessions (a password is changed when it may have
// leaked). Wrong current passwords count against the account's sign-in
// limit, so a borrowed session cannot be used to guess it.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, v visit) {
	current, next := r.PostForm.Get("current_password"), r.PostForm.Get("new_password")
	accountKey := "email:" + v.email
	if ok, _ := h.LoginLimits.PerAccount.Check(accountKey); !ok {
		h.render(w, r, http.StatusTooManyRequests, "account", &v, "account",
			accountView{CurrentError: "login.limited", TimeZone: v.location().String(), Zones: commonZones})
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
	av := accountView{TimeZone: v.location().String(), Zones: commonZones}
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
