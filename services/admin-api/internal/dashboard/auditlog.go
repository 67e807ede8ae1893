package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
)

// teamEntry is the audit entry of a team or sign-in action by the user
// (userID, email) in org: outside modes, so without one.
func teamEntry(r *http.Request, org, userID, email, action, target string, detail map[string]any) audit.Entry {
	e := audit.Entry{OrganizationID: org, UserID: userID, UserEmail: email, Action: action, TargetID: target, Detail: detail}
	if a := httpx.ClientAddr(r); a.IsValid() {
		e.ClientAddr = a.String()
	}
	return e
}

// auditPageSize is the audit page's length.
const auditPageSize = 50

// auditFilters are the audit page's query parameters.
type auditFilters struct {
	// Actor is a user's email or id, or an API key's id.
	Actor string
	// Action is an action name, or its first part ("team" for team.*).
	Action string
	// Target is the id of the object acted on.
	Target string
	// From and To are UTC dates (YYYY-MM-DD), To included.
	From, To string
}

// auditView is the audit page's data.
type auditView struct {
	Filters  auditFilters
	Filtered bool
	// Actions are the action filter's choices.
	Actions []string
	Rows    []db.AdminAuditLog
	// Older is the next page's URL, Newest the first page's; "" for none.
	Older, Newest string
}

func readAuditFilters(q url.Values) auditFilters {
	date := func(v string) string {
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return ""
		}
		return v
	}
	return auditFilters{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		Target: strings.TrimSpace(q.Get("target")), From: date(q.Get("from")), To: date(q.Get("to"))}
}

// query is the audit page's URL with the filters and, when after is not
// "", the cursor of the page after that entry.
func (f auditFilters) query(after string) string {
	v := url.Values{}
	for k, val := range map[string]string{"actor": f.Actor, "action": f.Action, "target": f.Target, "from": f.From, "to": f.To, "after": after} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return Prefix + "/audit?" + v.Encode()
}

// endOfTime is after every entry: the first page's position (a time.Time
// cannot say PostgreSQL's infinity).
var endOfTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// params is the list query for the filters, from the position (at, id):
// the end of the "to" day instead when that comes first.
func (f auditFilters) params(org string, at time.Time, id string) db.ListAuditEntriesParams {
	p := db.ListAuditEntriesParams{OrganizationID: org, RowLimit: auditPageSize + 1, BeforeAt: at, BeforeID: id,
		Actor: nonEmpty(f.Actor), Action: nonEmpty(f.Action), TargetID: nonEmpty(f.Target)}
	if t, err := time.Parse(time.DateOnly, f.From); err == nil {
		p.Since = t
	}
	if t, err := time.Parse(time.DateOnly, f.To); err == nil {
		if end := t.AddDate(0, 0, 1); end.Before(at) { // the whole "to" day
			p.BeforeAt, p.BeforeID = end, "" // (end, "") is before every entry at end
		}
	}
	return p
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// auditPage lists the organization's audit log, newest first, a page at a
// time by keyset: ?after= names the last entry seen, which must be one of
// this organization's (else 404, as for any other organization's object).
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, v visit) {
	ctx, q := r.Context(), r.URL.Query()
	f := readAuditFilters(q)
	at, after := endOfTime, q.Get("after")
	if after != "" {
		var err error
		at, err = h.Store.GetAuditEntryTime(ctx, db.GetAuditEntryTimeParams{OrganizationID: v.orgID, ID: after})
		if store.IsNoRows(err) {
			h.errorPage(w, r, &v, http.StatusNotFound)
			return
		} else if err != nil {
			h.fail(w, r, &v, store.Wrap(err, "audit cursor"))
			return
		}
	}
	rows, err := h.Store.ListAuditEntries(ctx, f.params(v.orgID, at, after))
	if err != nil {
		h.fail(w, r, &v, store.Wrap(err, "list audit log"))
		return
	}
	av := auditView{Filters: f, Filtered: f != auditFilters{}, Actions: audit.Actions(), Rows: rows}
	if len(rows) > auditPageSize {
		av.Rows = rows[:auditPageSize]
		av.Older = f.query(av.Rows[auditPageSize-1].ID)
	}
	if after != "" {
		av.Newest = f.query("")
	}
	h.render(w, r, http.StatusOK, "audit", &v, "team", av)
}

// auditMode names an entry's mode for the page: "live", "test", or "" for
// an action outside modes.
func auditMode(live pgtype.Bool) string {
	switch {
	case !live.Valid:
		return ""
	case live.Bool:
		return "live"
	}
	return "test"
}
