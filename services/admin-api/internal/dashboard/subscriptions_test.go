package dashboard_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/server"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
)

// runtime is admin-api's internal API as checkout-runtime calls it: it
// completes sessions as paid, which is how subscriptions are made.
func (e *env) runtime() internalapiv1.SessionServiceClient {
	e.t.Helper()
	const token = "internal-token"
	srv := server.NewInternal(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)), "https://secure.test", []string{token}, e.keys)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go srv.Serve(ln)
	e.t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcx.InternalToken(token)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	return internalapiv1.NewSessionServiceClient(conn)
}

// monthlyPrice is a new product "Club" with a monthly price of amount EUR
// cents in org A's test mode.
func (e *env) monthlyPrice(amount int64) string {
	e.t.Helper()
	ctx := e.as(e.orgA, false)
	prod, err := adminv1.NewProductServiceClient(e.conn.Inline).CreateProduct(ctx, &adminv1.CreateProductRequest{Name: "Club"})
	if err != nil {
		e.t.Fatal(err)
	}
	price, err := adminv1.NewPriceServiceClient(e.conn.Inline).CreatePrice(ctx, &adminv1.CreatePriceRequest{Product: prod.GetProduct().GetId(),
		Currency: "EUR", UnitAmount: proto.Int64(amount), Recurring: &adminv1.Recurring{Interval: "month"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return price.GetPrice().GetId()
}

// subscribe sells price × 2 to email by a checkout in org A's test mode,
// paid as the runtime reports it, and returns the subscription's id.
func (e *env) subscribe(rt internalapiv1.SessionServiceClient, price, email string) string {
	e.t.Helper()
	ctx := e.as(e.orgA, false)
	sessions := adminv1.NewCheckoutSessionServiceClient(e.conn.Inline)
	cs, err := sessions.CreateCheckoutSession(ctx, &adminv1.CreateCheckoutSessionRequest{SiteId: e.siteA, CustomerEmail: email,
		LineItems: []*adminv1.LineItemParams{{PriceId: price, Quantity: 2}}})
	if err != nil {
		e.t.Fatal(err)
	}
	s := cs.GetCheckoutSession()
	if _, err := rt.CompleteSession(context.Background(), &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, SessionId: s.GetId(),
		Currency: s.GetCurrency(), PaymentId: "pay_" + s.GetId(), Paid: true, AmountTotal: s.GetAmountTotal()}); err != nil {
		e.t.Fatal(err)
	}
	got, err := sessions.GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: s.GetId()})
	if err != nil || got.GetCheckoutSession().GetSubscription() == "" {
		e.t.Fatalf("the paid session has no subscription: %v %v", got, err)
	}
	return got.GetCheckoutSession().GetSubscription()
}

// TestBillingPages: the Subscriptions and Invoices lists with their filters
// (status, customer by id or email, subscription) and keyset paging, the
// subscription's page (items, period amount, customer, invoices) and the
// invoice's (lines, totals, attempts), in English and French; another
// organization's objects are not found.
func TestBillingPages(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime()
	price := e.monthlyPrice(1250)
	ada := e.subscribe(rt, price, "ada@example.com")
	// 25 more: the lists' page holds 25.
	for i := range 25 {
		e.subscribe(rt, price, "member"+strconv.Itoa(i)+"@example.com")
	}
	sub, err := adminv1.NewSubscriptionServiceClient(e.conn.Inline).GetSubscription(e.as(e.orgA, false), &adminv1.GetSubscriptionRequest{Id: ada})
	if err != nil {
		t.Fatal(err)
	}
	invoice, customer := sub.GetSubscription().GetLatestInvoice(), sub.GetSubscription().GetCustomer()

	b := e.browser()
	b.login(e.users["viewer"])
	status, _, page := b.get("/dashboard/subscriptions")
	if status != http.StatusOK {
		t.Fatalf("subscriptions: %d", status)
	}
	contains(t, "the first page", page, `id="nav-billing" aria-current="page"`, `id="older"`, "member24@example.com", "Active")
	if strings.Contains(page, `id="row-`+ada+`"`) || strings.Contains(page, `id="newer"`) {
		t.Error("the first page holds the oldest subscription, or links to newer ones")
	}
	older := linkOf(t, page, "older")
	_, _, page = b.get(older)
	contains(t, "the second page", page, `id="row-`+ada+`"`, "ada@example.com", `id="newer"`)
	if strings.Contains(page, `id="older"`) {
		t.Error("the last page links to older ones")
	}
	_, _, page = b.get(linkOf(t, page, "newer"))
	contains(t, "back to the first page", page, "member24@example.com", `id="older"`)

	for query, want := range map[string]string{
		"?customer=ADA%40example.com":           `id="row-` + ada + `"`,
		"?customer=" + customer:                 `id="row-` + ada + `"`,
		"?status=canceled":                      `id="empty"`,
		"?customer=nobody%40example.com":        `id="no-customer"`,
		"?customer=cus_doesnotexist":            `id="no-customer"`,
		"?status=nonsense&customer=" + customer: `id="row-` + ada + `"`, // an unknown status is ignored
	} {
		status, _, page := b.get("/dashboard/subscriptions" + query)
		if status != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("subscriptions%s: %d, lacks %s", query, status, want)
		}
		if strings.Contains(query, "customer=") && strings.Contains(page, "member3@example.com") {
			t.Errorf("subscriptions%s lists another customer's", query)
		}
	}

	_, _, page = b.get("/dashboard/subscriptions/" + ada)
	contains(t, "the subscription's page", page, "Club", "€25.00", "ada@example.com", `href="/dashboard/invoices/`+invoice+`"`,
		`href="/dashboard/catalog/customers/`+customer+`"`, `id="current-period"`)
	if strings.Contains(page, `id="cancel-now"`) {
		t.Error("a viewer is offered to cancel")
	}

	_, _, page = b.get("/dashboard/invoices?subscription=" + ada)
	contains(t, "the subscription's invoices", page, `id="row-`+invoice+`"`, "First invoice (checkout)", "€25.00")
	if strings.Count(page, `<tr id="row-`) != 1 {
		t.Error("the invoices filtered by subscription list others")
	}
	_, _, page = b.get("/dashboard/invoices?status=open")
	contains(t, "open invoices", page, `id="empty"`)
	_, _, page = b.get("/dashboard/invoices/" + invoice)
	contains(t, "the invoice's page", page, `id="lines"`, "Club", `id="subtotal">€25.00<`, `id="attempt-count">`,
		`id="payment">pay_`, `id="subscription-link"`, `id="paid-at"`)

	b.get("/dashboard/lang?to=fr&back=%2Fdashboard")
	_, _, page = b.get("/dashboard/invoices/" + invoice)
	contains(t, "the invoice in French", page, "Facture", "Payée", "Première facture (paiement)", "25,00\u00a0€")
	_, _, page = b.get("/dashboard/subscriptions")
	contains(t, "the list in French", page, "Abonnements", "Actif")

	o := e.browser()
	o.login(e.users["ownerB"])
	for _, path := range []string{"/dashboard/subscriptions/" + ada, "/dashboard/invoices/" + invoice, "/dashboard/subscriptions?after=" + ada} {
		if s, _, _ := o.get(path); s != http.StatusNotFound {
			t.Errorf("another organization's %s: %d", path, s)
		}
	}
}

// linkOf is the href of the link with id in page.
func linkOf(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no #%s in the page", id)
	}
	start := strings.LastIndex(page[:i], `href="`)
	end := strings.Index(page[start+6:], `"`)
	return strings.ReplaceAll(page[start+6:start+6+end], "&amp;", "&")
}

// TestCancelSubscription: the cancel actions are offered to and allowed for
// those who refund (owner, support), not the developer or the viewer; at
// period end, resume, then now, each through the API and recorded in the
// audit log as the person who did it; a second cancel is refused with the
// API's reason; another organization's subscription is not found.
func TestCancelSubscription(t *testing.T) {
	e := newEnv(t)
	rt := e.runtime()
	id := e.subscribe(rt, e.monthlyPrice(900), "grace@example.com")
	path := "/dashboard/subscriptions/" + id
	subs := adminv1.NewSubscriptionServiceClient(e.conn.Inline)
	get := func() *adminv1.Subscription {
		t.Helper()
		resp, err := subs.GetSubscription(e.as(e.orgA, false), &adminv1.GetSubscriptionRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetSubscription()
	}

	for _, role := range []string{"viewer", "developer"} {
		b := e.browser()
		csrf := b.login(e.users[role])
		if _, _, page := b.get(path); strings.Contains(page, `id="cancel-now"`) {
			t.Errorf("%s is offered to cancel", role)
		}
		if s, _, _ := b.post(path+"/cancel", url.Values{"csrf_token": {csrf}, "op": {"now"}}); s != http.StatusForbidden {
			t.Errorf("%s cancels: %d", role, s)
		}
	}
	if get().GetStatus() != "active" {
		t.Fatal("canceled by a refused request")
	}

	b := e.browser()
	csrf := b.login(e.users["support"])
	if s, _, _ := b.post(path+"/cancel", url.Values{"op": {"now"}}); s != http.StatusForbidden {
		t.Errorf("no CSRF token: %d", s)
	}
	if s, _, _ := b.post(path+"/cancel", url.Values{"csrf_token": {csrf}, "op": {"later"}}); s != http.StatusBadRequest {
		t.Errorf("an unknown op: %d", s)
	}
	status, loc, _ := b.post(path+"/cancel", url.Values{"csrf_token": {csrf}, "op": {"period_end"}})
	if status != http.StatusSeeOther || loc != path+"?notice=cancel_scheduled" || !get().GetCancelAtPeriodEnd() {
		t.Fatalf("cancel at period end: %d %s", status, loc)
	}
	_, _, page := b.get(loc)
	contains(t, "scheduled", page, `id="notice"`, `id="cancel-scheduled"`, `id="resume"`, "Keep renewing")
	if s, _, _ := b.post(path+"/cancel", url.Values{"csrf_token": {csrf}, "op": {"resume"}}); s != http.StatusSeeOther || get().GetCancelAtPeriodEnd() {
		t.Fatalf("resume: %d", s)
	}
	if s, _, _ := b.post(path+"/cancel", url.Values{"csrf_token": {csrf}, "op": {"now"}}); s != http.StatusSeeOther {
		t.Fatalf("cancel now: %d", s)
	}
	if sub := get(); sub.GetStatus() != "canceled" || sub.CanceledAt == nil {
		t.Fatalf("after cancel now: %v", sub)
	}
	_, _, page = b.get(path)
	contains(t, "canceled", page, `id="canceled-at"`, "Canceled")
	if strings.Contains(page, `id="cancel-now"`) {
		t.Error("a canceled subscription offers cancelling")
	}
	status, _, page = b.post(path+"/cancel", url.Values{"csrf_token": {csrf}, "op": {"now"}})
	if status != http.StatusBadRequest || !strings.Contains(page, `id="errors"`) {
		t.Errorf("cancel twice: %d", status)
	}

	var actions []string
	for _, r := range e.auditRows(e.orgA, "") {
		if r.Target == id {
			if r.Email != e.users["support"] {
				t.Errorf("%s recorded as %q", r.Action, r.Email)
			}
			actions = append(actions, r.Action)
		}
	}
	if strings.Join(actions, " ") != "subscription.update subscription.update subscription.cancel" {
		t.Errorf("audit log: %v", actions)
	}

	o := e.browser()
	ocsrf := o.login(e.users["ownerB"])
	if s, _, _ := o.post(path+"/cancel", url.Values{"csrf_token": {ocsrf}, "op": {"period_end"}}); s != http.StatusNotFound {
		t.Errorf("another organization cancels: %d", s)
	}
}
