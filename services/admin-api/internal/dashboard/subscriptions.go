package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// The Billing pages: subscriptions and invoices, listed with filters and
// keyset paging like the Checkouts page, and shown one at a time. They only
// read through the API, except cancelling a subscription (now, or at the end
// of its period, or keeping it after all), a money action the API's audit
// interceptor records with the user who made it.

// The statuses the filters offer (docs/subscriptions.md); anything else in
// the query is ignored, as a stale bookmark's would be.
var (
	subscriptionStatuses = []string{"trialing", "active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired"}
	invoiceStatuses      = []string{"paid", "open", "void", "uncollectible"}
)

// billingFilters are a Billing list's query parameters. Customer is as
// typed: a customer id (cus_…) or an email, which names the newest customer
// with it.
type billingFilters struct {
	Status, Customer, Subscription string
}

// readBillingFilters takes the filters from q, keeping a status only when it
// is one of statuses.
func readBillingFilters(q url.Values, statuses []string) billingFilters {
	f := billingFilters{Customer: strings.TrimSpace(q.Get("customer")), Subscription: strings.TrimSpace(q.Get("subscription"))}
	if s := q.Get("status"); slices.Contains(statuses, s) {
		f.Status = s
	}
	return f
}

// link is the list's URL at path with the filters and, when id is set, a
// cursor.
func (f billingFilters) link(path, cursor, id string) string {
	v := url.Values{}
	for k, val := range map[string]string{"status": f.Status, "customer": f.Customer, "subscription": f.Subscription, cursor: id} {
		if val != "" && k != "" {
			v.Set(k, val)
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// billingList is the data of the Subscriptions and Invoices pages.
type billingList struct {
	// Path is the list's own path; Kind the status keys' prefix ("sub",
	// "in"); view its template.
	Path, Kind string
	view       string
	Filters    billingFilters
	Statuses   []string
	// Customer is the customer the list is filtered by, when the filter
	// names one; NoCustomer says it names none (the list is empty).
	Customer   *adminv1.Customer
	NoCustomer bool
	// Error is the API's refusal of a filter (the list is not shown).
	Error    string
	Filtered bool
	// Emails are the rows' customers' emails, by id.
	Emails        map[string]string
	Subscriptions []*adminv1.Subscription
	Invoices      []*adminv1.Invoice
	// Newer and Older are the paging links, "" when there is no such page.
	Newer, Older string
}

// keysetPage is one page of a keyset-paged list: its rows' ids and whether more
// follow in the direction it was read.
type keysetPage struct {
	ids           []string
	hasMore       bool
	after, before string
}

// links sets bl's Newer and Older for the page p of the list.
func (bl *billingList) links(p keysetPage) {
	if len(p.ids) == 0 {
		return
	}
	backwards := p.before != ""
	if backwards || p.hasMore {
		bl.Older = bl.Filters.link(bl.Path, "after", p.ids[len(p.ids)-1])
	}
	if (backwards && p.hasMore) || (!backwards && p.after != "") {
		bl.Newer = bl.Filters.link(bl.Path, "before", p.ids[0])
	}
}

// cursors are the page's cursors from the query: after wins over before.
func cursors(q url.Values) (after, before string) {
	after, before = q.Get("after"), q.Get("before")
	if after != "" {
		before = ""
	}
	return after, before
}

// resolveCustomer turns the customer filter into a customer id: an id is
// checked (another organization's is not found), an email names the newest
// customer with it. ok is false when no customer matches.
func (h *Handler) resolveCustomer(ctx context.Context, bl *billingList) (id string, ok bool, err error) {
	typed := bl.Filters.Customer
	if typed == "" {
		return "", true, nil
	}
	if strings.Contains(typed, "@") {
		resp, err := h.people.ListCustomers(ctx, &adminv1.ListCustomersRequest{Email: typed, Limit: proto.Int32(1)})
		if err != nil || len(resp.GetData()) == 0 {
			return "", false, err
		}
		bl.Customer = resp.GetData()[0]
		return bl.Customer.GetId(), true, nil
	}
	resp, err := h.people.GetCustomer(ctx, &adminv1.GetCustomerRequest{Id: typed})
	if isNotFound(err) || apiError(err) != nil {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	bl.Customer = resp.GetCustomer()
	return bl.Customer.GetId(), true, nil
}

// customerEmails are the emails of the customers ids name (each looked up
// once; one that cannot be read shows as its id).
func (h *Handler) customerEmails(ctx context.Context, ids []string) map[string]string {
	out := map[string]string{}
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		out[id] = ""
		if c, err := h.people.GetCustomer(ctx, &adminv1.GetCustomerRequest{Id: id}); err == nil {
			out[id] = c.GetCustomer().GetEmail()
		}
	}
	return out
}

// billingPage is one page a Billing list read: its rows' ids and
// customers, and whether more follow.
type billingPage struct {
	ids, customers []string
	hasMore        bool
}

// listSubscriptions is the Subscriptions page, newest first, filtered by
// status and customer.
func (h *Handler) listSubscriptions(w http.ResponseWriter, r *http.Request, v visit) {
	bl := &billingList{Path: Prefix + "/subscriptions", Kind: "sub", view: "subscriptions",
		Filters: readBillingFilters(r.URL.Query(), subscriptionStatuses), Statuses: subscriptionStatuses}
	h.showBillingList(w, r, v, bl, func(ctx context.Context, customer, after, before string) (billingPage, error) {
		resp, err := h.subs.ListSubscriptions(ctx, &adminv1.ListSubscriptionsRequest{Limit: proto.Int32(pageSize), StartingAfter: after,
			EndingBefore: before, Customer: customer, Status: bl.Filters.Status})
		bl.Subscriptions = resp.GetData()
		p := billingPage{hasMore: resp.GetHasMore()}
		for _, s := range bl.Subscriptions {
			p.ids, p.customers = append(p.ids, s.GetId()), append(p.customers, s.GetCustomer())
		}
		return p, err
	})
}

// listInvoices is the Invoices page, newest first, filtered by status,
// customer and subscription.
func (h *Handler) listInvoices(w http.ResponseWriter, r *http.Request, v visit) {
	bl := &billingList{Path: Prefix + "/invoices", Kind: "in", view: "invoices",
		Filters: readBillingFilters(r.URL.Query(), invoiceStatuses), Statuses: invoiceStatuses}
	h.showBillingList(w, r, v, bl, func(ctx context.Context, customer, after, before string) (billingPage, error) {
		resp, err := h.invoices.ListInvoices(ctx, &adminv1.ListInvoicesRequest{Limit: proto.Int32(pageSize), StartingAfter: after,
			EndingBefore: before, Customer: customer, Subscription: bl.Filters.Subscription, Status: bl.Filters.Status})
		bl.Invoices = resp.GetData()
		p := billingPage{hasMore: resp.GetHasMore()}
		for _, in := range bl.Invoices {
			p.ids, p.customers = append(p.ids, in.GetId()), append(p.customers, in.GetCustomer())
		}
		return p, err
	})
}

// showBillingList shows a Billing list: the customer filter resolved (none
// matching shows an empty list), one page read by list from the query's
// cursor, its paging links and its customers' emails. A cursor of another
// mode or organization is a 404; a filter the API refuses is shown (400).
func (h *Handler) showBillingList(w http.ResponseWriter, r *http.Request, v visit, bl *billingList,
	list func(ctx context.Context, customer, after, before string) (billingPage, error)) {
	ctx := v.principal(r.Context())
	bl.Filtered = bl.Filters != billingFilters{}
	customer, ok, err := h.resolveCustomer(ctx, bl)
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	if !ok {
		bl.NoCustomer = true
		h.render(w, r, http.StatusOK, bl.view, &v, "billing", bl)
		return
	}
	after, before := cursors(r.URL.Query())
	page, err := list(ctx, customer, after, before)
	if e := apiError(err); e != nil && e.Kind != errs.NotFound {
		bl.Error = e.Message
		h.render(w, r, http.StatusBadRequest, bl.view, &v, "billing", bl)
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	bl.links(keysetPage{ids: page.ids, hasMore: page.hasMore, after: after, before: before})
	bl.Emails = h.customerEmails(ctx, page.customers)
	h.render(w, r, http.StatusOK, bl.view, &v, "billing", bl)
}

// maxSubscriptionInvoices is how many invoices a subscription's page lists
// (newest first; the Invoices page filtered by it has them all): a monthly
// subscription's first two years.
const maxSubscriptionInvoices = 24

// subscriptionView is a subscription's page.
type subscriptionView struct {
	Sub      *adminv1.Subscription
	Customer *adminv1.Customer
	// PeriodAmount is what the items cost per period, before discount.
	PeriodAmount int64
	Invoices     []*adminv1.Invoice
	// MoreInvoices: the subscription has more invoices than are listed.
	MoreInvoices      bool
	Events            []eventView
	EventsUnavailable bool
	CanCancel         bool
	// Notice is a catalog key of a confirmation; Error the API's refusal.
	Notice, Error string
}

// showSubscription shows a subscription with its customer, invoices and
// events, and the cancel actions to those allowed.
func (h *Handler) showSubscription(w http.ResponseWriter, r *http.Request, v visit) {
	sv := &subscriptionView{}
	if n := r.URL.Query().Get("notice"); slices.Contains([]string{"canceled", "cancel_scheduled", "resumed"}, n) {
		sv.Notice = "bill.notice_" + n
	}
	h.subscriptionPage(w, r, v, http.StatusOK, sv)
}

func (h *Handler) subscriptionPage(w http.ResponseWriter, r *http.Request, v visit, status int, sv *subscriptionView) {
	ctx := v.principal(r.Context())
	resp, err := h.subs.GetSubscription(ctx, &adminv1.GetSubscriptionRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	sub := resp.GetSubscription()
	sv.Sub, sv.CanCancel = sub, Allowed(v.role, ActionCancelSubscription) && sub.GetStatus() != "canceled"
	for _, it := range sub.GetItems() {
		sv.PeriodAmount += it.GetUnitAmount() * it.GetQuantity()
	}
	if c, err := h.people.GetCustomer(ctx, &adminv1.GetCustomerRequest{Id: sub.GetCustomer()}); err == nil {
		sv.Customer = c.GetCustomer()
	}
	invoices, err := h.invoices.ListInvoices(ctx, &adminv1.ListInvoicesRequest{Subscription: sub.GetId(), Limit: proto.Int32(maxSubscriptionInvoices)})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	sv.Invoices, sv.MoreInvoices = invoices.GetData(), invoices.GetHasMore()
	if sv.Events, err = h.eventsOf(ctx, []string{sub.GetId()}); err != nil {
		h.Logger.WarnContext(r.Context(), "dashboard: list events", "subscription", sub.GetId(), "err", err)
		sv.EventsUnavailable = true
	}
	h.render(w, r, status, "subscription", &v, "billing", sv)
}

// cancelSubscription cancels a subscription now (no more invoices), at the
// end of its period, or takes a scheduled cancellation back ("resume").
func (h *Handler) cancelSubscription(w http.ResponseWriter, r *http.Request, v visit) {
	id := r.PathValue("id")
	ctx := v.principal(r.Context())
	var err error
	op := r.PostForm.Get("op")
	switch op {
	case "now":
		_, err = h.subs.CancelSubscription(ctx, &adminv1.CancelSubscriptionRequest{Id: id})
	case "period_end", "resume":
		_, err = h.subs.UpdateSubscription(ctx, &adminv1.UpdateSubscriptionRequest{Id: id, CancelAtPeriodEnd: proto.Bool(op == "period_end")})
	default:
		h.errorPage(w, r, &v, http.StatusBadRequest)
		return
	}
	if e := apiError(err); e != nil && e.Kind != errs.NotFound {
		// Already canceled (by another person, or the last retry failing).
		h.subscriptionPage(w, r, v, http.StatusBadRequest, &subscriptionView{Error: e.Message})
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	notice := map[string]string{"now": "canceled", "period_end": "cancel_scheduled", "resume": "resumed"}[op]
	http.Redirect(w, r, Prefix+"/subscriptions/"+url.PathEscape(id)+"?notice="+notice, http.StatusSeeOther)
}

// invoiceView is an invoice's page.
type invoiceView struct {
	Invoice  *adminv1.Invoice
	Customer *adminv1.Customer
	// Payment is the payment that paid it, with its provider attempts; nil
	// when it has none or checkout-runtime cannot be reached
	// (PaymentUnavailable).
	Payment            *adminv1.Payment
	PaymentUnavailable bool
	// Events are the invoice's: invoice.paid and each failed attempt's
	// invoice.payment_failed.
	Events            []eventView
	EventsUnavailable bool
}

// showInvoice shows an invoice: lines and totals, the payment and the
// history of its charge attempts.
func (h *Handler) showInvoice(w http.ResponseWriter, r *http.Request, v visit) {
	ctx := v.principal(r.Context())
	resp, err := h.invoices.GetInvoice(ctx, &adminv1.GetInvoiceRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	in := resp.GetInvoice()
	iv := &invoiceView{Invoice: in}
	if c, err := h.people.GetCustomer(ctx, &adminv1.GetCustomerRequest{Id: in.GetCustomer()}); err == nil {
		iv.Customer = c.GetCustomer()
	}
	if in.Payment != nil {
		p, err := h.payments.GetPayment(ctx, &adminv1.GetPaymentRequest{Id: in.GetPayment()})
		if err != nil {
			h.Logger.WarnContext(r.Context(), "dashboard: get payment", "invoice", in.GetId(), "err", err)
			iv.PaymentUnavailable = true
		}
		iv.Payment = p.GetPayment()
	}
	if iv.Events, err = h.eventsOf(ctx, []string{in.GetId()}); err != nil {
		h.Logger.WarnContext(r.Context(), "dashboard: list events", "invoice", in.GetId(), "err", err)
		iv.EventsUnavailable = true
	}
	h.render(w, r, http.StatusOK, "invoice", &v, "billing", iv)
}

// billingBadge is the badge class of a subscription's or invoice's status.
func billingBadge(status string) string {
	switch status {
	case "active", "trialing", "paid":
		return "s-paid"
	case "past_due", "open", "incomplete":
		return "s-warn"
	}
	return "s-expired"
}
