package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/dashboard"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// fm is an amount as the dashboard's money formatting shows it in English.
func fm(amount int64, code string) string {
	c, err := money.ParseCurrency(code)
	if err != nil {
		panic(err)
	}
	return money.Format(amount, c, language.English)
}

// overviewNow is the Overview tests' clock: the window is 2026-05-17 to
// 2026-06-15 (UTC).
var overviewNow = time.Date(2026, 6, 15, 13, 0, 0, 0, time.UTC)

// overviewSession is a session inserted as it stands in the database.
type overviewSession struct {
	org, site string
	live      bool
	status    string // open, complete (paid), expired
	currency  string
	amount    int64
	created   time.Time
}

func (e *env) insertSessions(sessions []overviewSession) {
	e.t.Helper()
	for i, s := range sessions {
		payment := "unpaid"
		var completed *time.Time
		if s.status == "complete" {
			payment, completed = "paid", &s.created
		}
		_, err := e.pool.Exec(context.Background(), `INSERT INTO admin.checkout_sessions (id, organization_id, site_id, livemode,
			status, payment_status, currency, amount_subtotal, amount_tax, amount_total, line_items, success_url, cancel_url,
			reference, payment_method_types, locale, expires_at, created_at, completed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $8, '[]', 'https://x.example', 'https://x.example', $9, '{card}', 'auto', $10, $10, $11)`,
			fmt.Sprintf("cs_ov%d", i), s.org, s.site, s.live, s.status, payment, s.currency, s.amount,
			fmt.Sprintf("TP-OVER-%04d", i), s.created, completed)
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

// figureRow is the cells of the row of a site and currency in the table
// with id table ("today" or "month"), or nil.
func figureRow(t *testing.T, page, table, site, currency string) []string {
	t.Helper()
	start := strings.Index(page, `id="`+table+`"`)
	if start < 0 {
		return nil
	}
	section := page[start:]
	section = section[:strings.Index(section, "</table>")]
	m := regexp.MustCompile(`(?s)<tr id="row-` + regexp.QuoteMeta(site+"-"+currency) + `">(.*?)</tr>`).FindStringSubmatch(section)
	if m == nil {
		return nil
	}
	var cells []string
	for _, c := range regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`).FindAllStringSubmatch(m[1], -1) {
		cells = append(cells, regexp.MustCompile(`<[^>]+>`).ReplaceAllString(c[1], ""))
	}
	return cells
}

// TestOverviewFigures: for a known set of sessions, the figures of today
// and of the last 30 days per site and currency are exact; sessions before
// the window, after today, of another organization and of the other mode
// are not counted; each currency has its chart with a bar per paid day.
func TestOverviewFigures(t *testing.T) {
	e := newEnv(t, func(h *dashboard.Handler) { h.Now = func() time.Time { return overviewNow } })
	site2 := e.createSite(e.orgA, false)
	today := overviewNow.Add(-2 * time.Hour)
	first := time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC) // the window's first instant
	a, b := e.orgA, e.orgB
	e.insertSessions([]overviewSession{
		// site A, EUR: today 3 created, 2 paid (12.50 + 3.00).
		{a, e.siteA, false, "complete", "EUR", 1250, today},
		{a, e.siteA, false, "complete", "EUR", 300, today.Add(-time.Hour)},
		{a, e.siteA, false, "open", "EUR", 999, today},
		// site A, EUR, earlier in the window: 3 created, 2 paid.
		{a, e.siteA, false, "expired", "EUR", 500, time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC)},
		{a, e.siteA, false, "complete", "EUR", 700, time.Date(2026, 6, 5, 23, 59, 59, 0, time.UTC)},
		{a, e.siteA, false, "complete", "EUR", 10, first},
		// site 2: JPY in the window, EUR today.
		{a, site2, false, "complete", "JPY", 5000, time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)},
		{a, site2, false, "open", "JPY", 100, time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)},
		{a, site2, false, "expired", "JPY", 100, time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)},
		{a, site2, false, "expired", "EUR", 400, today},
		// Not counted: before the window, after today, another
		// organization, live mode.
		{a, e.siteA, false, "complete", "EUR", 100000, first.Add(-time.Second)},
		{a, e.siteA, false, "complete", "EUR", 200000, overviewNow.Truncate(24*time.Hour).AddDate(0, 0, 1)},
		{b, e.siteB, false, "complete", "EUR", 77777, today},
		{a, e.liveSite, true, "complete", "EUR", 88888, today},
	})
	br := e.browser()
	br.login(e.users["viewer"])
	status, _, page := br.get("/dashboard/overview")
	if status != http.StatusOK {
		t.Fatalf("overview: %d\n%s", status, page)
	}
	for _, c := range []struct {
		table, site, currency string
		want                  []string // site name skipped
	}{
		{"today", e.siteA, "EUR", []string{"EUR", "3", "2", fm(1550, "EUR"), "66.7%"}},
		{"today", site2, "EUR", []string{"EUR", "1", "0", fm(0, "EUR"), "0.0%"}},
		{"month", e.siteA, "EUR", []string{"EUR", "6", "4", fm(2260, "EUR"), "66.7%"}},
		{"month", site2, "EUR", []string{"EUR", "1", "0", fm(0, "EUR"), "0.0%"}},
		{"month", site2, "JPY", []string{"JPY", "3", "1", fm(5000, "JPY"), "33.3%"}},
	} {
		got := figureRow(t, page, c.table, c.site, c.currency)
		if len(got) != 6 || strings.Join(got[1:], "|") != strings.Join(c.want, "|") {
			t.Errorf("%s %s %s: got %q, want %q", c.table, c.site, c.currency, got, c.want)
		}
	}
	if got := figureRow(t, page, "today", site2, "JPY"); got != nil {
		t.Errorf("today has JPY (no JPY session today): %q", got)
	}
	for _, absent := range []string{"1,000.00", "2,000.00", "777.77", "888.88", e.siteB, e.liveSite} {
		if strings.Contains(page, absent) {
			t.Errorf("overview shows %q, which is not counted", absent)
		}
	}
	contains(t, "overview", page,
		`<svg class="bars"`, `id="chart-EUR"`, `id="chart-JPY"`, `<title id="chart-EUR-title">Paid volume per day, EUR</title>`,
		`from 2026-05-17 to 2026-06-15: `+fm(2260, "EUR")+` in total; the best day `+fm(1550, "EUR")+`.`,
		`<title>2026-06-15: `+fm(1550, "EUR")+`</title>`, `<title>2026-06-05: `+fm(700, "EUR")+`</title>`, `<title>2026-05-17: `+fm(10, "EUR")+`</title>`,
		`<title>2026-06-01: `+fm(5000, "JPY")+`</title>`, `<td>2026-06-10</td><td class="num">`+fm(0, "EUR")+`</td>`,
		`id="nav-overview" aria-current="page"`)
	// The tallest bar is the best day; a day without payments has none.
	contains(t, "overview", page, `height="120"><title>2026-06-15: `+fm(1550, "EUR")+`</title>`)
	if strings.Contains(page, `<title>2026-06-10: `+fm(0, "EUR")+`</title>`) {
		t.Error("a bar for a day without payments")
	}

	// Organization B's owner sees their one session only.
	other := e.browser()
	other.login(e.users["ownerB"])
	_, _, theirs := other.get("/dashboard/overview")
	if got := figureRow(t, theirs, "month", e.siteB, "EUR"); strings.Join(got[1:], "|") != "EUR|1|1|"+fm(77777, "EUR")+"|100.0%" {
		t.Errorf("org B: %q", got)
	}
	if strings.Contains(theirs, e.siteA) || strings.Contains(theirs, "¥") {
		t.Error("org B sees org A's figures")
	}

	// In live mode, the live session only.
	csrf := br.csrf()
	if s, _, _ := br.post("/dashboard/mode", url.Values{"csrf_token": {csrf}, "mode": {"live"}}); s != http.StatusSeeOther {
		t.Fatalf("mode: %d", s)
	}
	_, _, live := br.get("/dashboard/overview")
	if got := figureRow(t, live, "today", e.liveSite, "EUR"); strings.Join(got[1:], "|") != "EUR|1|1|"+fm(88888, "EUR")+"|100.0%" {
		t.Errorf("live mode: %q", got)
	}
	if strings.Contains(live, fm(1550, "EUR")) {
		t.Error("live mode shows test sessions")
	}
}

// TestOverviewEmptyAndRoles: every role sees the Overview; with no session
// it says so, in English and in French, and draws no chart.
func TestOverviewEmptyAndRoles(t *testing.T) {
	e := newEnv(t, func(h *dashboard.Handler) { h.Now = func() time.Time { return overviewNow } })
	for _, role := range dashboard.Roles {
		b := e.browser()
		b.login(e.users[string(role)])
		status, _, page := b.get("/dashboard/overview")
		if status != http.StatusOK {
			t.Fatalf("%s: %d", role, status)
		}
		contains(t, string(role), page, `id="today-empty"`, `id="month-empty"`, "No checkout created in the last 30 days.",
			"from 2026-05-17 to 2026-06-15", `href="/dashboard/overview"`)
		if strings.Contains(page, "<svg") {
			t.Errorf("%s: a chart without data", role)
		}
	}
	b := e.browser()
	b.login(e.users["viewer"])
	req, _ := http.NewRequest(http.MethodGet, e.url+"/dashboard/overview", nil)
	req.Header.Set("Accept-Language", "fr")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	_, _, page := read(t, resp)
	contains(t, "fr", page, "Vue d’ensemble", "Aucun paiement créé ces 30 derniers jours.")
	// Signed out: the sign-in page, then back here.
	if s, loc, _ := e.browser().get("/dashboard/overview"); s != http.StatusSeeOther || !strings.Contains(loc, "next=%2Fdashboard%2Foverview") {
		t.Errorf("signed out: %d %q", s, loc)
	}
}

// TestOverviewIsTheLandingPage: /dashboard and a sign-in without a page to
// return to land on the Overview.
func TestOverviewIsTheLandingPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, p := range []string{"/dashboard", "/dashboard/"} {
		if s, loc, _ := b.get(p); s != http.StatusSeeOther || loc != "/dashboard/overview" {
			t.Errorf("%s: %d %s", p, s, loc)
		}
	}
	b.login(e.users["viewer"]) // checks the redirect to the Overview
	if s, _, page := b.get("/dashboard/overview"); s != http.StatusOK || !strings.Contains(page, `id="overview-intro"`) {
		t.Errorf("the Overview: %d", s)
	}
}
