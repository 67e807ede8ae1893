package dashboard_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/dashboard"
)

// TestTimeZone: a user's time zone, chosen on Your account (an IANA name;
// anything else is refused on the form), is the zone of the times on the
// pages, of the Overview's "today" and of the Checkouts created range; the
// CSV export stays in UTC.
func TestTimeZone(t *testing.T) {
	e := newEnv(t, func(h *dashboard.Handler) { h.Now = func() time.Time { return overviewNow } })
	// overviewNow is 2026-06-15 13:00 UTC, 2026-06-16 01:00 in Auckland
	// (UTC+12 in June). The late session is of the 16th there, the early one
	// of the 15th; in UTC both are of the 15th.
	late, early := time.Date(2026, 6, 15, 12, 30, 0, 0, time.UTC), time.Date(2026, 6, 15, 11, 0, 0, 0, time.UTC)
	e.insertSessions([]overviewSession{
		{e.orgA, e.siteA, false, "complete", "EUR", 1250, late},
		{e.orgA, e.siteA, false, "open", "EUR", 300, early},
	})
	b := e.browser()
	csrf := b.login(e.users["viewer"])

	todayCreated := func() string {
		_, _, page := b.get("/dashboard/overview")
		row := figureRow(t, page, "today", e.siteA, "EUR")
		if len(row) < 3 {
			return ""
		}
		return row[2]
	}
	listed := func(q string) int {
		_, _, page := b.get("/dashboard/checkouts?" + q)
		return strings.Count(page, `<tr id="row-`)
	}
	// UTC, the default.
	_, _, account := b.get("/dashboard/account")
	contains(t, "the account page", account, `id="time_zone" name="time_zone" value="UTC"`)
	if got := todayCreated(); got != "2" {
		t.Errorf("UTC: today has %q sessions, want 2", got)
	}
	if n := listed("from=2026-06-16&to=2026-06-16"); n != 0 {
		t.Errorf("UTC: %d sessions created on the 16th, want 0", n)
	}
	_, _, list := b.get("/dashboard/checkouts")
	contains(t, "the UTC list", list, "2026-06-15 12:30 UTC", "your time zone, UTC")

	// A name that is not a zone is refused, naming the field.
	for _, bad := range []string{"Mars/Olympus", "", "Local", "../../etc/passwd"} {
		s, _, page := b.post("/dashboard/account/time-zone", url.Values{"csrf_token": {csrf}, "time_zone": {bad}})
		if s != http.StatusBadRequest || !strings.Contains(page, `aria-invalid="true" aria-describedby="time_zone-error"`) {
			t.Errorf("time zone %q: %d, want a 400 on the field", bad, s)
		}
	}
	if s, loc, _ := b.post("/dashboard/account/time-zone", url.Values{"csrf_token": {"x"}, "time_zone": {"Europe/Paris"}}); s != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d %s", s, loc)
	}
	if s, loc, _ := b.post("/dashboard/account/time-zone", url.Values{"csrf_token": {csrf}, "time_zone": {"Pacific/Auckland"}}); s != http.StatusSeeOther || loc != "/dashboard/account?done=zone" {
		t.Fatalf("save the zone: %d %s", s, loc)
	}
	_, _, account = b.get("/dashboard/account?done=zone")
	contains(t, "the account page", account, `value="Pacific/Auckland"`, `id="zone-notice"`)

	// Auckland: only the late session is of today (the 16th).
	if got := todayCreated(); got != "1" {
		t.Errorf("Auckland: today has %q sessions, want 1", got)
	}
	_, _, overview := b.get("/dashboard/overview")
	contains(t, "the Auckland overview", overview, "(Pacific/Auckland), from 2026-05-18 to 2026-06-16")
	if n := listed("from=2026-06-16&to=2026-06-16"); n != 1 {
		t.Errorf("Auckland: %d sessions created on the 16th, want 1", n)
	}
	if n := listed("from=2026-06-15&to=2026-06-15"); n != 1 {
		t.Errorf("Auckland: %d sessions created on the 15th, want 1", n)
	}
	_, _, list = b.get("/dashboard/checkouts")
	contains(t, "the Auckland list", list, "2026-06-16 00:30 NZST", "2026-06-15 23:00 NZST")

	// The export is in UTC whatever the zone; its range is the page's.
	resp, err := b.c.Get(e.url + "/dashboard/checkouts/export.csv?from=2026-06-16&to=2026-06-16")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][1] != "2026-06-15T12:30:00Z" {
		t.Errorf("export %v, want the late session in UTC", rows)
	}

	// Another user of the organization keeps UTC.
	other := e.browser()
	other.login(e.users["owner"])
	_, _, theirs := other.get("/dashboard/checkouts")
	contains(t, "another user's list", theirs, "2026-06-15 12:30 UTC")
}
