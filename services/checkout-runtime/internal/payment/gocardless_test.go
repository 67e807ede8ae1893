package payment

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/gocardless"
)

const (
	gcAccount    = "pa_GoCardlessOne0123456789ab"
	otherGCAcct  = "pa_GoCardlessTwo0123456789ab"
	gcFixtureDir = "../../../platform/provider/gocardless/testdata/"
)

var (
	gcTest = provider.CallbackSource{Provider: provider.NameGoCardless, Mode: provider.ModeTest}
	gcLive = provider.CallbackSource{Provider: provider.NameGoCardless, Mode: provider.ModeLive}
)

// gcAPI serves GoCardless's published fixture bodies (the billing request's
// status set by the test) and records the calls.
type gcAPI struct {
	mu       sync.Mutex
	brStatus string
	calls    []string
	keys     map[string]bool // Idempotency-Keys seen on POST /refunds
}

func (g *gcAPI) setStatus(s string) { g.mu.Lock(); g.brStatus = s; g.mu.Unlock() }

func (g *gcAPI) sent() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.calls...)
}

// body is the fixture file's entry key, the resource's status set when
// status is not empty.
func gcFixture(t *testing.T, file, key, status string) []byte {
	t.Helper()
	raw, err := os.ReadFile(gcFixtureDir + file + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	var entry struct {
		Body map[string]map[string]any `json:"body"`
	}
	if err := json.Unmarshal(all[key], &entry); err != nil {
		t.Fatal(err)
	}
	body := entry.Body
	for _, res := range body {
		if status != "" {
			res["status"] = status
		}
	}
	b, _ := json.Marshal(body)
	return b
}

func (g *gcAPI) handler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.calls = append(g.calls, r.Method+" "+r.URL.Path)
		st := g.brStatus
		g.mu.Unlock()
		var body []byte
		switch r.Method + " " + r.URL.Path {
		case "POST /billing_requests":
			body = gcFixture(t, "billing_requests", "create", "")
		case "POST /billing_request_flows":
			body = gcFixture(t, "billing_request_flows", "create", "")
		case "GET /billing_requests/BRQ123":
			body = gcFixture(t, "billing_requests", "get", st)
		case "POST /refunds":
			g.mu.Lock()
			repeat := g.keys[r.Header.Get("Idempotency-Key")]
			if g.keys == nil {
				g.keys = map[string]bool{}
			}
			g.keys[r.Header.Get("Idempotency-Key")] = true
			g.mu.Unlock()
			if repeat { // GoCardless's answer to a repeated key
				w.WriteHeader(http.StatusConflict)
				_, _ = w.Write([]byte(`{"error":{"code":409,"type":"invalid_state","message":"already created","errors":[{"reason":"idempotent_creation_conflict","links":{"conflicting_resource_id":"RF123"}}]}}`))
				return
			}
			body = gcFixture(t, "refunds", "create", "")
		case "GET /refunds/RF123":
			body = gcFixture(t, "refunds", "get", "paid")
		case "POST /billing_requests/BRQ123/actions/cancel":
			g.setStatus(gocardless.BillingRequestCancelled)
			body = gcFixture(t, "billing_requests", "cancel", gocardless.BillingRequestCancelled)
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// gcCompletions is admin-api recording each CompleteSession (paid or not).
type gcCompletions struct {
	sessionsRecorder
	mu   sync.Mutex
	paid []bool
}

func (c *gcCompletions) CompleteSession(_ context.Context, req *internalapiv1.CompleteSessionRequest, _ ...grpc.CallOption) (*internalapiv1.CompleteSessionResponse, error) {
	c.mu.Lock()
	c.paid = append(c.paid, req.GetPaid())
	c.mu.Unlock()
	return &internalapiv1.CompleteSessionResponse{CheckoutSession: &adminv1.CheckoutSession{Id: req.GetSessionId(), Status: "complete"}}, nil
}

func (c *gcCompletions) got() []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bool(nil), c.paid...)
}

// gcService is a Service whose sites' direct-debit account gcAccount is a
// GoCardless sandbox account at a gcAPI.
func gcService(t *testing.T) (*Service, *gcAPI, *gcCompletions) {
	t.Helper()
	api := &gcAPI{brStatus: gocardless.BillingRequestPending}
	srv := httptest.NewServer(api.handler(t))
	t.Cleanup(srv.Close)
	s := newService(t)
	admin := &gcCompletions{}
	s.Admin = admin
	s.Providers = provider.NewDefaultRegistry().WithAccounts(func(_ context.Context, id string) (provider.Credentials, error) {
		if id != gcAccount && id != otherGCAcct {
			return provider.Credentials{}, status.Error(codes.NotFound, "no such account")
		}
		return provider.Credentials{AccountID: id, Provider: provider.NameGoCardless, SecretKey: "sandbox_token"}, nil
	}, map[string]provider.Factory{provider.NameGoCardless: gocardless.Factory(srv.URL, nil)})
	return s, api, admin
}

func gcAttempt() Attempt {
	return Attempt{Method: MethodDirectDebit, ReturnURL: "https://secure.example.com/checkout/cs_x/return",
		Billing: Billing{Name: "Ada", Email: "ada@example.com", Country: "GB", PostalCode: "SW1A 1AA"},
		Checkout: &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1", Site: &adminv1.Site{},
			DirectDebitProviderAccount: &internalapiv1.CardProviderAccount{Id: gcAccount, Provider: provider.NameGoCardless},
			CheckoutSession:            &adminv1.CheckoutSession{Id: ids.New("cs"), Status: "open", Currency: "GBP", AmountSubtotal: 2599, AmountTotal: 2599}}}
}

// TestGoCardlessPayRedirectsThenReturnIsProcessing: choosing Direct Debit
// creates the billing request and its flow and sends the payer to the
// flow's authorisation_url; back with the billing request fulfilled, the
// payment is processing under the GoCardless payment's id and the session
// complete but unpaid; a second return changes nothing.
func TestGoCardlessPayRedirectsThenReturnIsProcessing(t *testing.T) {
	s, api, admin := gcService(t)
	a := gcAttempt()
	res, err := s.Pay(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Payment
	if p.Status != StatusRequiresAction || res.RedirectURL != "https://monzo.com/abc-123-things" || deref(p.ProviderRef) != "BRQ123" ||
		deref(p.ProviderAccount) != gcAccount || p.Provider != provider.NameGoCardless || p.Method != MethodDirectDebit {
		t.Fatalf("payment %+v, redirect %q", p, res.RedirectURL)
	}
	if len(admin.got()) != 0 {
		t.Fatal("the session was completed before the payer authorised")
	}
	api.setStatus(gocardless.BillingRequestFulfilled)
	sessionID := a.Checkout.GetCheckoutSession().GetId()
	res, err = s.Resume(t.Context(), sessionID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Payment.Status != StatusProcessing || deref(res.Payment.ProviderRef) != "PM123" {
		t.Fatalf("after return: %s ref %s", res.Payment.Status, deref(res.Payment.ProviderRef))
	}
	if got := admin.got(); len(got) != 1 || got[0] {
		t.Fatalf("CompleteSession paid=%v, want one unpaid completion", got)
	}
	if _, err := s.Resume(t.Context(), sessionID, p.ID); err != nil || len(admin.got()) != 1 {
		t.Errorf("second return: %v, %d gcCompletions", err, len(admin.got()))
	}
	want := []string{"POST /billing_requests", "POST /billing_request_flows", "GET /billing_requests/BRQ123"}
	if got := api.sent(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("GoCardless calls %v, want %v", got, want)
	}
}

// TestGoCardlessPayerExitsFailsThePayment: back from GoCardless's page
// without authorising, the billing request is cancelled there and the
// payment fails; the session is not completed (the payer may try again).
func TestGoCardlessPayerExitsFailsThePayment(t *testing.T) {
	s, api, admin := gcService(t)
	a := gcAttempt()
	res, err := s.Pay(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	res, err = s.Resume(t.Context(), a.Checkout.GetCheckoutSession().GetId(), res.Payment.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Payment.Status != StatusFailed || deref(res.Payment.FailureCode) != provider.DeclineNotAuthorised {
		t.Fatalf("payment %s (%s)", res.Payment.Status, deref(res.Payment.FailureCode))
	}
	if len(admin.got()) != 0 {
		t.Error("the session was completed")
	}
	if calls := api.sent(); calls[len(calls)-1] != "POST /billing_requests/BRQ123/actions/cancel" {
		t.Errorf("the billing request was not cancelled: %v", calls)
	}
	if n := outboxCount(t, s, "events.payment.failed"); n != 1 {
		t.Errorf("%d payment.failed events", n)
	}
}

// gcPayment records a direct-debit payment of 5000 GBP through account,
// in status, with ref as its provider_ref.
func gcPayment(t *testing.T, s *Service, account, status, ref string, livemode bool) db.RuntimePayment {
	t.Helper()
	p, err := s.Store.CreatePayment(t.Context(), db.CreatePaymentParams{ID: ids.New("pay"), SessionID: ids.New("cs"), OrganizationID: "org_1",
		Livemode: livemode, Method: MethodDirectDebit, Provider: provider.NameGoCardless, Currency: "GBP", Amount: 5000, Reference: "TP-GC",
		BillingName: "Ada", BillingEmail: "ada@example.com", BillingCountry: "GB", BillingPostalCode: "SW1A 1AA"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Pool.Exec(t.Context(), `UPDATE runtime.payments SET provider_account = $2, provider_ref = $3, status = $4 WHERE id = $1`,
		p.ID, account, ref, status); err != nil {
		t.Fatal(err)
	}
	return reload(t, s, p.ID)
}

// gcEvent is a GoCardless event about p in the documented webhook shape, as
// hooks publishes it (decoded from JSON, as the consumer reads it).
func gcEvent(t *testing.T, resource, action string, links map[string]string, paymentID string) gocardless.Event {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"id": ids.New("EV"), "created_at": "2026-11-30T10:00:00.000Z", "resource_type": resource,
		"action": action, "links": links, "details": map[string]string{"origin": "bank", "cause": "test_" + action},
		"resource_metadata": map[string]string{"tillpoint_payment": paymentID}})
	var ev gocardless.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestGoCardlessEventsMoveThePayment: pending → confirmed succeeds once
// (duplicates and a late failure change nothing); pending → failed fails
// (a late confirmation is refused, not applied); a fulfilled billing request
// before the payer is back makes the payment processing; a charge back is a
// dispute; events of another account, mode or provider are refused.
func TestGoCardlessEventsMoveThePayment(t *testing.T) {
	s, _, admin := gcService(t)
	ctx := t.Context()
	c := &Callbacks{Service: s, Logger: s.Logger}
	apply := func(src provider.CallbackSource, account string, ev gocardless.Event) error {
		msg, _ := json.Marshal(gocardless.Message{ProviderAccount: account, Event: ev})
		_, err := c.applyGoCardless(ctx, src, msg)
		return err
	}

	ok := gcPayment(t, s, gcAccount, StatusProcessing, "PM_OK", false)
	confirmed := gcEvent(t, "payments", "confirmed", map[string]string{"payment": "PM_OK"}, ok.ID)
	for _, tc := range []struct {
		name    string
		src     provider.CallbackSource
		account string
	}{
		{"another account's secret", gcTest, otherGCAcct},
		{"the live source on a test payment", gcLive, gcAccount},
		{"the test provider's source", testProvider, gcAccount},
	} {
		if err := s.GoCardlessEvent(ctx, tc.src, tc.account, confirmed); errs.KindOf(err) != errs.NotFound {
			t.Errorf("%s: %v, want refused (NotFound)", tc.name, err)
		}
	}
	card := newPayment(t, s, provider.NameTest, false, "TP-CARD")
	if err := apply(gcTest, gcAccount, gcEvent(t, "payments", "confirmed", map[string]string{"payment": "PM_X"}, card.ID)); errs.KindOf(err) != errs.NotFound {
		t.Errorf("another provider's payment: %v", err)
	}
	if err := apply(gcTest, gcAccount, gcEvent(t, "payments", "confirmed", map[string]string{"payment": "PM_UNKNOWN"}, "")); errs.KindOf(err) != errs.NotFound {
		t.Errorf("an unknown GoCardless payment: %v", err)
	}
	if got := reload(t, s, ok.ID); got.Status != StatusProcessing {
		t.Fatalf("refused events moved the payment to %s", got.Status)
	}

	// pending → confirmed, then the same event again, a paid_out, and a
	// late failure: one success.
	for _, ev := range []gocardless.Event{confirmed, confirmed, gcEvent(t, "payments", "paid_out", map[string]string{"payment": "PM_OK"}, ok.ID)} {
		if err := apply(gcTest, gcAccount, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := apply(gcTest, gcAccount, gcEvent(t, "payments", "failed", map[string]string{"payment": "PM_OK"}, ok.ID)); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, ok.ID); got.Status != StatusSucceeded {
		t.Errorf("confirmed payment is %s", got.Status)
	}
	if n := outboxCount(t, s, "events.payment.succeeded"); n != 1 {
		t.Errorf("%d payment.succeeded events, want 1", n)
	}

	// pending → failed (found by the GoCardless payment when the event has
	// no metadata), then a late confirmation: refused, still failed.
	bad := gcPayment(t, s, gcAccount, StatusProcessing, "PM_BAD", false)
	if err := apply(gcTest, gcAccount, gcEvent(t, "payments", "failed", map[string]string{"payment": "PM_BAD"}, "")); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, bad.ID); got.Status != StatusFailed || deref(got.FailureCode) != provider.DeclineDirectDebitFailed {
		t.Errorf("failed payment: %s (%s)", got.Status, deref(got.FailureCode))
	}
	if err := apply(gcTest, gcAccount, gcEvent(t, "payments", "confirmed", map[string]string{"payment": "PM_BAD"}, bad.ID)); errs.KindOf(err) != errs.Invalid {
		t.Errorf("confirmation of a failed payment: %v, want refused", err)
	}
	if got := reload(t, s, bad.ID); got.Status != StatusFailed {
		t.Errorf("late confirmation moved a failed payment to %s", got.Status)
	}
	// admin-api is told of each result (again on a repeat, which it
	// ignores): the success, then the failure.
	if rec := slices.Compact(slices.Clone(admin.recorded)); len(rec) != 2 || rec[0] != ok.ID || rec[1] != bad.ID {
		t.Errorf("admin-api told of %v, want the success then the failure", admin.recorded)
	}

	// The billing request fulfilled before the payer is back: processing,
	// its session complete and unpaid, under the GoCardless payment.
	early := gcPayment(t, s, gcAccount, StatusRequiresAction, "BRQ_EARLY", false)
	fulfilled := gcEvent(t, "billing_requests", "fulfilled", map[string]string{"billing_request": "BRQ_EARLY", "payment_request_payment": "PM_EARLY"}, early.ID)
	for range 2 {
		if err := apply(gcTest, gcAccount, fulfilled); err != nil {
			t.Fatal(err)
		}
	}
	if got := reload(t, s, early.ID); got.Status != StatusProcessing || deref(got.ProviderRef) != "PM_EARLY" {
		t.Errorf("fulfilled: %s ref %s", got.Status, deref(got.ProviderRef))
	}
	if got := admin.got(); len(got) == 0 || got[len(got)-1] {
		t.Errorf("gcCompletions %v, want an unpaid one last", got)
	}
	// Its payment's events now find it by the GoCardless payment.
	if err := apply(gcTest, gcAccount, gcEvent(t, "payments", "confirmed", map[string]string{"payment": "PM_EARLY"}, "")); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, early.ID); got.Status != StatusSucceeded {
		t.Errorf("early payment: %s", got.Status)
	}

	// A payment confirmed while still waiting for the payer's return (the
	// fulfilled event comes later): it succeeds, its session paid at once.
	late := gcPayment(t, s, gcAccount, StatusRequiresAction, "BRQ_LATE", false)
	if err := apply(gcTest, gcAccount, gcEvent(t, "payments", "confirmed", map[string]string{"payment": "PM_LATE"}, late.ID)); err != nil {
		t.Fatal(err)
	}
	if err := apply(gcTest, gcAccount, gcEvent(t, "billing_requests", "fulfilled",
		map[string]string{"billing_request": "BRQ_LATE", "payment_request_payment": "PM_LATE"}, late.ID)); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, late.ID); got.Status != StatusSucceeded {
		t.Errorf("confirmed before fulfilled: %s", got.Status)
	}

	// A charge back on a succeeded payment is a dispute, once.
	cb := gcEvent(t, "payments", "charged_back", map[string]string{"payment": "PM_OK"}, ok.ID)
	for range 2 {
		if err := apply(gcTest, gcAccount, cb); err != nil {
			t.Fatal(err)
		}
	}
	if got := reload(t, s, ok.ID); deref(got.DisputeID) != cb.ID || deref(got.DisputeStatus) != "charged_back" {
		t.Errorf("dispute %s %s", deref(got.DisputeID), deref(got.DisputeStatus))
	}
	if n := outboxCount(t, s, "events.payment.disputed"); n != 1 {
		t.Errorf("%d payment.disputed events", n)
	}
}

// TestGoCardlessRefund: a refund of a confirmed direct debit goes to
// GoCardless with our refund id as its Idempotency-Key and stays pending
// (submitted); asked again (the reconciler), the repeated key answers the
// first refund, now paid: the refund succeeds, once.
func TestGoCardlessRefund(t *testing.T) {
	s, api, _ := gcService(t)
	p := gcPayment(t, s, gcAccount, StatusSucceeded, "PM123", false)
	ref, err := s.CreateRefund(t.Context(), RefundRequest{OrganizationID: "org_1", PaymentID: p.ID, Amount: 150})
	if err != nil || ref.Status != RefundPending {
		t.Fatalf("refund %+v, %v; want pending", ref, err)
	}
	if ref, err = s.RetryRefund(t.Context(), ref.ID); err != nil || ref.Status != RefundSucceeded {
		t.Fatalf("retried refund %s, %v; want succeeded", ref.Status, err)
	}
	if got := reload(t, s, p.ID); got.AmountRefunded != 150 {
		t.Errorf("amount refunded %d", got.AmountRefunded)
	}
	if got := api.sent(); len(got) != 3 || got[0] != "POST /refunds" || got[1] != "POST /refunds" || got[2] != "GET /refunds/RF123" {
		t.Errorf("GoCardless calls %v", got)
	}
	if len(api.keys) != 1 || !api.keys[ref.ID] {
		t.Errorf("idempotency keys %v, want only %s", api.keys, ref.ID)
	}

	// A second refund is settled by GoCardless's refunds event instead,
	// once; a failed one gives its amount back to refund.
	c := &Callbacks{Service: s, Logger: s.Logger}
	for _, tc := range []struct {
		action, want string
		refunded     int64
	}{{"paid", RefundSucceeded, 250}, {"bounced", RefundFailed, 250}} {
		ref, err := s.CreateRefund(t.Context(), RefundRequest{OrganizationID: "org_1", PaymentID: p.ID, Amount: 100})
		if err != nil || ref.Status != RefundPending {
			t.Fatalf("refund %+v, %v", ref, err)
		}
		ev := gcEvent(t, "refunds", tc.action, map[string]string{"refund": "RF123", "payment": "PM123"}, "")
		ev.ResourceMetadata = map[string]string{gocardless.MetadataRefund: ref.ID}
		msg, _ := json.Marshal(gocardless.Message{ProviderAccount: gcAccount, Event: ev})
		for range 2 {
			if _, err := c.applyGoCardless(t.Context(), gcTest, msg); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.Store.GetRefund(t.Context(), ref.ID); got.Status != tc.want {
			t.Errorf("refund after %s: %s", tc.action, got.Status)
		}
		if got := reload(t, s, p.ID); got.AmountRefunded != tc.refunded {
			t.Errorf("after %s: amount refunded %d, want %d", tc.action, got.AmountRefunded, tc.refunded)
		}
	}
	if n := outboxCount(t, s, "events.refund.succeeded"); n != 2 {
		t.Errorf("%d refund.succeeded events, want 2", n)
	}
}
