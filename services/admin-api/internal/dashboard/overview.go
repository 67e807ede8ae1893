package dashboard

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// overviewDays is the Overview's window: the last 30 days of the user's
// time zone, today included.
const overviewDays = 30

// figures are a site's (or a day's) sessions in one currency. A session
// counts on the day it was created in the user's time zone; Paid and PaidAmount are those of
// them paid by now, so conversion is Paid ÷ Created of one set of sessions
// (never above 100 %). PaidAmount is exact, in the currency's minor units
// (amount_total; refunds are not subtracted).
type figures struct {
	Created, Paid, PaidAmount int64
}

func (f *figures) add(r db.OverviewDaysRow) {
	f.Created += r.Created
	f.Paid += r.Paid
	f.PaidAmount += r.PaidAmount
}

// overviewRow is one line of a figures table: a site in a currency.
type overviewRow struct {
	SiteID, SiteName, Currency string
	figures
}

// chartBar is one day of a chart, in the SVG's user units.
type chartBar struct {
	Date       string
	Amount     int64
	X, Y, W, H int
	// LabelX is the middle of the bar, where its date is written.
	LabelX int
}

// chart is the paid amount per day of one currency over the window, drawn
// as an SVG bar chart (with the same numbers in a table for screen readers
// and for reading exact values).
type chart struct {
	Currency string
	Total    int64
	Max      int64
	Bars     []chartBar
}

// The chart's geometry, in SVG user units: a slot per day, bars up to
// chartHeight tall above the axis labels.
const (
	chartSlot, chartBarWidth = 20, 14
	chartTop, chartHeight    = 18, 120
	chartWidth               = overviewDays * chartSlot
	chartViewHeight          = chartTop + chartHeight + 22
)

// overviewView is the Overview page's data.
type overviewView struct {
	// From and Today are the window's first and last day (in Zone,
	// YYYY-MM-DD).
	From, Today, Zone string
	TodayRows         []overviewRow
	MonthRows         []overviewRow
	Charts            []chart
	// Geometry for the template.
	Width, ViewHeight, Base int
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, v visit) {
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	// Today's date in the user's zone; the window is from the midnight
	// that starts its first day to the one that ends today (time.Date
	// places them right across daylight-saving changes).
	loc := v.location()
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // the date, as days since 1970 count it
	since := today.AddDate(0, 0, 1-overviewDays)
	rows, err := h.Store.OverviewDays(r.Context(), db.OverviewDaysParams{
		OrganizationID: v.orgID, Livemode: v.livemode, TimeZone: loc.String(),
		Since: time.Date(y, m, d+1-overviewDays, 0, 0, 0, 0, loc), Until: time.Date(y, m, d+1, 0, 0, 0, 0, loc),
	})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	sites, err := h.listSites(v.principal(r.Context()))
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	names := map[string]string{}
	for _, s := range sites {
		names[s.GetId()] = s.GetName()
	}
	ov := buildOverview(rows, names, since, today)
	ov.Zone = loc.String()
	h.render(w, r, http.StatusOK, "overview", &v, "overview", ov)
}

// buildOverview sums the query's rows (site × currency × day) into the
// page (since and today are dates, at 00:00 UTC, of the user's calendar): today's and the window's figures per site and currency, ordered by
// currency then site name, and a chart per currency of the paid amount per
// day.
func buildOverview(rows []db.OverviewDaysRow, names map[string]string, since, today time.Time) overviewView {
	ov := overviewView{From: since.Format(time.DateOnly), Today: today.Format(time.DateOnly),
		Width: chartWidth, ViewHeight: chartViewHeight, Base: chartTop + chartHeight}
	firstDay, todayDay := since.Unix()/86400, today.Unix()/86400
	type key struct{ site, currency string }
	month, day := map[key]*overviewRow{}, map[key]*overviewRow{}
	perDay := map[string][]int64{}
	row := func(m map[key]*overviewRow, r db.OverviewDaysRow) *overviewRow {
		k := key{r.SiteID, r.Currency}
		if m[k] == nil {
			name := names[r.SiteID]
			if name == "" {
				name = r.SiteID
			}
			m[k] = &overviewRow{SiteID: r.SiteID, SiteName: name, Currency: r.Currency}
		}
		return m[k]
	}
	for _, r := range rows {
		i := r.Day - firstDay
		if i < 0 || i >= overviewDays {
			continue
		}
		row(month, r).add(r)
		if r.Day == todayDay {
			row(day, r).add(r)
		}
		if perDay[r.Currency] == nil {
			perDay[r.Currency] = make([]int64, overviewDays)
		}
		perDay[r.Currency][i] += r.PaidAmount
	}
	ov.MonthRows, ov.TodayRows = sortedRows(month), sortedRows(day)
	for currency, amounts := range perDay {
		ov.Charts = append(ov.Charts, newChart(currency, amounts, since))
	}
	slices.SortFunc(ov.Charts, func(a, b chart) int { return cmp.Compare(a.Currency, b.Currency) })
	return ov
}

func sortedRows[K comparable](m map[K]*overviewRow) []overviewRow {
	out := make([]overviewRow, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b overviewRow) int {
		return cmp.Or(cmp.Compare(a.Currency, b.Currency), cmp.Compare(a.SiteName, b.SiteName), cmp.Compare(a.SiteID, b.SiteID))
	})
	return out
}

// newChart lays out a currency's bars: the tallest day is chartHeight
// units, the others in proportion (a day with any paid amount at least 1
// unit, so that it shows). The heights are a drawing only; the amounts
// they carry are exact.
func newChart(currency string, amounts []int64, since time.Time) chart {
	c := chart{Currency: currency}
	for _, a := range amounts {
		c.Total += a
		c.Max = max(c.Max, a)
	}
	for i, a := range amounts {
		h := 0
		if c.Max > 0 && a > 0 {
			h = max(1, int(float64(a)/float64(c.Max)*chartHeight+0.5))
		}
		x := i*chartSlot + (chartSlot-chartBarWidth)/2
		c.Bars = append(c.Bars, chartBar{Date: since.AddDate(0, 0, i).Format(time.DateOnly), Amount: a,
			X: x, W: chartBarWidth, H: h, Y: chartTop + chartHeight - h, LabelX: x + chartBarWidth/2})
	}
	return c
}

// conversion is paid ÷ created as a percentage with one decimal, rounded
// half up (exactly, in integers: 1 of 3 is 33.3 %, 2 of 3 is 66.7 %), with
// the language's decimal mark; "—" when nothing was created.
func conversion(paid, created int64, lang string) string {
	if created <= 0 {
		return "—"
	}
	tenths := (paid*2000 + created) / (2 * created)
	s := strconv.FormatInt(tenths/10, 10) + "." + strconv.FormatInt(tenths%10, 10)
	if lang == "fr" {
		return strings.Replace(s, ".", ",", 1) + "\u00a0%"
	}
	return s + "%"
}
