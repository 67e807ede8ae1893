package dashboard

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// exportPage is how many sessions each API call of an export fetches (the
// API's largest page).
const exportPage = 100

// exportColumns are the CSV's columns, in order.
var exportColumns = []string{"id", "created_at", "site_id", "site_name", "status", "payment_status", "currency",
	"amount_subtotal", "amount_tax", "amount_total", "customer_email", "customer", "order_id", "reference", "payment", "livemode"}

// exportCheckouts streams the filtered sessions as CSV, newest first, a
// page of the API at a time: memory stays flat whatever the count, and the
// first rows leave before the last are read. The created range is read in
// the user's time zone, as on the page, but created_at is written in UTC
// (RFC 3339), whoever exports: a file's times do not depend on its
// exporter's settings. Amounts are decimals in the
// currency's major unit, exact (minor units ÷ 10^exponent, no rounding).
func (h *Handler) exportCheckouts(w http.ResponseWriter, r *http.Request, v visit) {
	ctx := v.principal(r.Context())
	f := readFilters(r.URL.Query())
	req, bad := f.request(translator(pageLang(r)), v.location())
	if bad != nil { // a hand-made link: the page's form says what is wrong
		http.Redirect(w, r, f.query("page", ""), http.StatusSeeOther)
		return
	}
	req.Limit = proto.Int32(exportPage)
	sites, err := h.listSites(ctx)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	names := map[string]string{}
	for _, s := range sites {
		names[s.GetId()] = s.GetName()
	}
	resp, err := h.sessions.ListCheckoutSessions(ctx, req)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	mode := "test"
	if v.livemode {
		mode = "live"
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/csv; charset=utf-8")
	hdr.Set("Content-Disposition", `attachment; filename="checkouts-`+mode+"-"+time.Now().UTC().Format("20060102-150405")+`.csv"`)
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	out := csv.NewWriter(w)
	_ = out.Write(exportColumns)
	for {
		for _, cs := range resp.GetData() {
			_ = out.Write(exportRow(cs, names[cs.GetSiteId()]))
		}
		out.Flush()
		if err := out.Error(); err != nil || !resp.GetHasMore() || len(resp.GetData()) == 0 {
			return // the client went away, or the end
		}
		req.StartingAfter = resp.GetData()[len(resp.GetData())-1].GetId()
		if resp, err = h.sessions.ListCheckoutSessions(ctx, req); err != nil {
			// The status line is sent: the truncated file ends with a
			// line that says so, rather than silently.
			h.Logger.ErrorContext(r.Context(), "dashboard: export", "err", err)
			_ = out.Write([]string{"# export interrupted: an internal error occurred; try again"})
			out.Flush()
			return
		}
	}
}

// exportRow is one session as CSV cells.
func exportRow(cs *adminv1.CheckoutSession, siteName string) []string {
	exp := 2
	if c, err := money.ParseCurrency(cs.GetCurrency()); err == nil {
		exp = c.Exponent()
	}
	return []string{cs.GetId(), cs.GetCreatedAt().AsTime().UTC().Format(time.RFC3339), cs.GetSiteId(), cell(siteName),
		cs.GetStatus(), cs.GetPaymentStatus(), cs.GetCurrency(),
		decimal(cs.GetAmountSubtotal(), exp), decimal(cs.GetAmountTax(), exp), decimal(cs.GetAmountTotal(), exp),
		cell(cs.GetCustomerEmail()), cell(cs.GetCustomer()), cell(cs.GetOrderId()), cs.GetReference(), cs.GetPayment(),
		strconv.FormatBool(cs.GetLivemode())}
}

// decimal writes minor units as an exact decimal with exp digits.
func decimal(minor int64, exp int) string {
	s := strconv.FormatInt(minor, 10)
	if exp == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	if neg {
		s = "-" + s
	}
	return s
}

// cell defuses a merchant- or customer-typed value that a spreadsheet would
// run as a formula (OWASP's CSV injection advice): a leading = + - @ tab or
// carriage return gets a quote in front.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
