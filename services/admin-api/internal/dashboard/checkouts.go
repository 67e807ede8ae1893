package dashboard

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// pageSize is the Checkouts page's length: a screenful on a laptop.
const pageSize = 25

// maxSites is how many sites the filter and the create form offer (the
// API's page limit; an organization with more will get a search).
const maxSites = 100

// referencePattern is a session reference as the API makes them.
var referencePattern = regexp.MustCompile(`^(?i)TP-[A-Z0-9]{4}-[A-Z0-9]{4}$`)

// listFilters are the Checkouts page's query parameters. Currency,
// AmountMin and AmountMax are as typed: the amount range is decimals in the
// currency's major unit (12.50 EUR), converted exactly to minor units by
// request.
type listFilters struct {
	Site, Status, Payment, From, To, Q string
	Currency, AmountMin, AmountMax     string
}

// listView is the Checkouts page's data.
type listView struct {
	Filters listFilters
	// Errors are the filter form's refusals (an input's id → what to do);
	// the list is not shown with them.
	Errors map[string]string
	// Currencies are the organization's sites' currencies, offered for the
	// amount range.
	Currencies []string
	// Filtered: some filter is set (the empty list says "no match").
	Filtered  bool
	Sites     []*adminv1.Site
	SiteNames map[string]string
	Rows      []*adminv1.CheckoutSession
	// Newer and Older are the pagination links' URLs, "" when there is
	// no such page; Export is the CSV of the filtered set.
	Newer, Older, Export string
}

// readFilters takes the filters from the query, keeping only values the
// form offers (anything else is ignored, as a stale bookmark would be).
func readFilters(q url.Values) listFilters {
	oneOf := func(v string, allowed ...string) string {
		for _, a := range allowed {
			if v == a {
				return v
			}
		}
		return ""
	}
	date := func(v string) string {
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return ""
		}
		return v
	}
	return listFilters{
		Site: strings.TrimSpace(q.Get("site")), Status: oneOf(q.Get("status"), "open", "complete", "expired"),
		Payment: oneOf(q.Get("payment"), "unpaid", "paid"), From: date(q.Get("from")), To: date(q.Get("to")),
		Q: strings.TrimSpace(q.Get("q")), Currency: strings.ToUpper(strings.TrimSpace(q.Get("currency"))),
		AmountMin: strings.TrimSpace(q.Get("amount_min")), AmountMax: strings.TrimSpace(q.Get("amount_max")),
	}
}

// request is the API list request for the filters. The search box takes
// any identifier a support person is given and picks the filter by its
// shape: a payment id, an email, a reference, else an order id.
// The amount range needs a currency (amounts of two currencies do not
// compare); what cannot be used is returned as field errors, by input id,
// in tr's language, and the request is then nil.
//
// The created range's dates are days of loc, the user's time zone: from its
// first midnight to the midnight after the "to" day.
func (f listFilters) request(tr translator, loc *time.Location) (*adminv1.ListCheckoutSessionsRequest, map[string]string) {
	req := &adminv1.ListCheckoutSessionsRequest{Limit: proto.Int32(pageSize), SiteId: f.Site, Status: f.Status, PaymentStatus: f.Payment}
	bad := map[string]string{}
	if f.Currency != "" || f.AmountMin != "" || f.AmountMax != "" {
		cur, err := money.ParseCurrency(f.Currency)
		switch {
		case f.Currency == "":
			bad["currency"] = tr.T("list.err_currency_needed")
		case err != nil:
			bad["currency"] = tr.T("list.err_currency")
		default:
			req.Currency = cur.Code()
			for _, a := range []struct {
				id, typed string
				dst       **int64
			}{{"amount_min", f.AmountMin, &req.AmountGte}, {"amount_max", f.AmountMax, &req.AmountLte}} {
				if a.typed == "" {
					continue
				}
				minor, err := parseAmount(a.typed, cur)
				if err != nil {
					bad[a.id] = tr.T("err.amount", cur.Exponent(), cur.Code())
					continue
				}
				*a.dst = &minor
			}
			if req.AmountGte != nil && req.AmountLte != nil && *req.AmountLte < *req.AmountGte {
				bad["amount_max"] = tr.T("list.err_amount_order")
			}
		}
	}
	if len(bad) > 0 {
		return nil, bad
	}
	switch q := f.Q; {
	case q == "":
	case strings.HasPrefix(q, "pay_"):
		req.Payment = q
	case strings.Contains(q, "@"):
		req.CustomerEmail = q
	case referencePattern.MatchString(q):
		req.Reference = strings.ToUpper(q)
	default:
		req.OrderId = q
	}
	if f.From != "" || f.To != "" {
		req.Created = &adminv1.TimeRange{}
		if t, err := time.ParseInLocation(time.DateOnly, f.From, loc); err == nil {
			req.Created.Gte = timestamppb.New(t)
		}
		if t, err := time.ParseInLocation(time.DateOnly, f.To, loc); err == nil {
			req.Created.Lt = timestamppb.New(t.AddDate(0, 0, 1)) // the whole "to" day
		}
	}
	return req, nil
}

// query is the Checkouts page's URL with the filters and a cursor; without
// a cursor, the CSV export's.
func (f listFilters) query(cursor, id string) string {
	v := url.Values{}
	for k, val := range map[string]string{"site": f.Site, "status": f.Status, "payment": f.Payment, "from": f.From, "to": f.To, "q": f.Q,
		"currency": f.Currency, "amount_min": f.AmountMin, "amount_max": f.AmountMax, cursor: id} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if cursor == "" {
		return Prefix + "/checkouts/export.csv?" + v.Encode()
	}
	return Prefix + "/checkouts?" + v.Encode()
}

func (h *Handler) listCheckouts(w http.ResponseWriter, r *http.Request, v visit) {
	ctx := v.principal(r.Context())
	f := readFilters(r.URL.Query())
	// A session id goes straight to its page.
	if strings.HasPrefix(f.Q, "cs_") {
		_, err := h.sessions.GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: f.Q})
		switch {
		case err == nil:
			http.Redirect(w, r, Prefix+"/checkouts/"+url.PathEscape(f.Q), http.StatusSeeOther)
			return
		case !isNotFound(err):
			h.fail(w, r, &v, err)
			return
		}
		h.render(w, r, http.StatusOK, "checkouts", &v, "checkouts", listView{Filters: f, Filtered: true})
		return
	}
	sites, err := h.listSites(ctx)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	req, bad := f.request(translator(pageLang(r)), v.location())
	if bad != nil {
		h.render(w, r, http.StatusBadRequest, "checkouts", &v, "checkouts",
			listView{Filters: f, Filtered: true, Errors: bad, Sites: sites, Currencies: siteCurrencies(sites)})
		return
	}
	after, before := r.URL.Query().Get("after"), r.URL.Query().Get("before")
	req.StartingAfter, req.EndingBefore = after, before
	if after != "" && before != "" {
		req.EndingBefore = ""
	}
	resp, err := h.sessions.ListCheckoutSessions(ctx, req)
	if isNotFound(err) { // a cursor from another mode or organization
		h.errorPage(w, r, &v, http.StatusNotFound)
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	lv := listView{Filters: f, Filtered: f != listFilters{}, Sites: sites, Currencies: siteCurrencies(sites), Export: f.query("", ""),
		SiteNames: map[string]string{}, Rows: resp.GetData()}
	for _, s := range sites {
		lv.SiteNames[s.GetId()] = s.GetName()
	}
	if rows := resp.GetData(); len(rows) > 0 {
		backwards := req.EndingBefore != ""
		if (!backwards && resp.GetHasMore()) || backwards {
			lv.Older = f.query("after", rows[len(rows)-1].GetId())
		}
		if (backwards && resp.GetHasMore()) || (!backwards && req.StartingAfter != "") {
			lv.Newer = f.query("before", rows[0].GetId())
		}
	}
	h.render(w, r, http.StatusOK, "checkouts", &v, "checkouts", lv)
}

// detailView is the checkout page's data.
type detailView struct {
	Session  *adminv1.CheckoutSession
	SiteName string
	Payments []*adminv1.Payment
	// PaymentsUnavailable: checkout-runtime did not answer; the rest of the
	// page is still useful.
	PaymentsUnavailable bool
	// Events are the session's and its payments' events, oldest first,
	// with their webhook deliveries; EventsUnavailable: hooks did not
	// answer.
	Events            []eventView
	EventsUnavailable bool
	CanExpire         bool
	// CanRefund shows the refund form of refundable payments; CanResend
	// the Resend buttons of deliveries.
	CanRefund, CanResend bool
	// Refund is the refund form as typed, with its error, after a refusal.
	Refund refundForm
	// IdempotencyKey makes a double submit of a refund one refund.
	IdempotencyKey string
	// Notice is a catalog key (created, expired, refunded).
	Notice string
}

func (h *Handler) showCheckout(w http.ResponseWriter, r *http.Request, v visit) {
	dv, err := h.loadDetail(r, v, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	switch r.URL.Query().Get("notice") {
	case "created":
		dv.Notice = "detail.created"
	case "expired":
		dv.Notice = "detail.expired"
	case "refunded":
		dv.Notice = "detail.refunded"
	case "resent":
		dv.Notice = "detail.resent"
	}
	h.render(w, r, http.StatusOK, "checkout", &v, "checkouts", dv)
}

// loadDetail gathers the checkout page: the session (its 404 is the
// caller's), its site's name, payments and events. Payments and events come
// from the other services; when one is down the rest of the page still
// shows.
func (h *Handler) loadDetail(r *http.Request, v visit, id string) (*detailView, error) {
	ctx := v.principal(r.Context())
	resp, err := h.sessions.GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: id})
	if err != nil {
		return nil, err
	}
	cs := resp.GetCheckoutSession()
	dv := &detailView{Session: cs, CanExpire: cs.GetStatus() == "open" && Allowed(v.role, ActionExpireCheckout),
		CanRefund: Allowed(v.role, ActionRefund), CanResend: Allowed(v.role, ActionResendWebhook), IdempotencyKey: newToken()}
	if site, err := h.sites.GetSite(ctx, &adminv1.GetSiteRequest{Id: cs.GetSiteId()}); err == nil {
		dv.SiteName = site.GetSite().GetName()
	}
	pays, err := h.payments.ListPayments(ctx, &adminv1.ListPaymentsRequest{CheckoutSession: cs.GetId(), Limit: proto.Int32(100)})
	if err != nil {
		h.Logger.WarnContext(r.Context(), "dashboard: list payments", "session", cs.GetId(), "err", err)
		dv.PaymentsUnavailable = true
	}
	dv.Payments = pays.GetData()
	objects := []string{cs.GetId()}
	for _, p := range dv.Payments {
		objects = append(objects, p.GetId())
	}
	if dv.Events, err = h.eventsOf(ctx, objects); err != nil {
		h.Logger.WarnContext(r.Context(), "dashboard: list events", "session", cs.GetId(), "err", err)
		dv.EventsUnavailable = true
	}
	return dv, nil
}

// eventView is an event and its webhook deliveries.
type eventView struct {
	Event      *adminv1.Event
	Deliveries []*adminv1.Delivery
}

// maxObjectEvents bounds the events shown per object: a session has a
// handful (created, completed or expired, async results; its payments'
// succeeded, refunded, disputed…).
const maxObjectEvents = 50

// eventsOf returns the events of the objects, oldest first, each with its
// deliveries.
func (h *Handler) eventsOf(ctx context.Context, objects []string) ([]eventView, error) {
	var out []eventView
	for _, id := range objects {
		resp, err := h.events.ListEvents(ctx, &adminv1.ListEventsRequest{ObjectId: id, Limit: proto.Int32(maxObjectEvents)})
		if err != nil {
			return nil, err
		}
		for _, ev := range resp.GetData() {
			ds, err := h.hooks.ListEventDeliveries(ctx, &adminv1.ListEventDeliveriesRequest{Id: ev.GetId()})
			if err != nil {
				return nil, err
			}
			out = append(out, eventView{Event: ev, Deliveries: ds.GetData()})
		}
	}
	slices.SortStableFunc(out, func(a, b eventView) int {
		if c := a.Event.GetCreated().AsTime().Compare(b.Event.GetCreated().AsTime()); c != 0 {
			return c
		}
		return cmp.Compare(a.Event.GetSequence(), b.Event.GetSequence())
	})
	return out, nil
}

func (h *Handler) expireCheckout(w http.ResponseWriter, r *http.Request, v visit) {
	id := r.PathValue("id")
	_, err := h.sessions.ExpireCheckoutSession(v.principal(r.Context()), &adminv1.ExpireCheckoutSessionRequest{Id: id})
	if e := apiError(err); e != nil && e.Kind == errs.NotFound {
		h.errorPage(w, r, &v, http.StatusNotFound)
		return
	} else if err != nil && (e == nil || e.Kind != errs.FailedPrecondition) {
		h.fail(w, r, &v, err)
		return
	}
	// When it was already closed (a payment or the sweeper got there
	// first) the page shows its status, without the notice.
	to := Prefix + "/checkouts/" + url.PathEscape(id)
	if err == nil {
		to += "?notice=expired"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// siteCurrencies are the sites' default currencies, sorted, once each.
func siteCurrencies(sites []*adminv1.Site) []string {
	var out []string
	for _, s := range sites {
		out = append(out, s.GetDefaultCurrency())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// listSites returns the sites of the visit's organization and mode.
func (h *Handler) listSites(ctx context.Context) ([]*adminv1.Site, error) {
	resp, err := h.sites.ListSites(ctx, &adminv1.ListSitesRequest{Limit: proto.Int32(maxSites)})
	return resp.GetData(), err
}
