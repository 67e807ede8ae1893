package payment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"sync"
	"testing"

	"google.golang.org/grpc"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// sessionsRecorder stands in for admin-api's internal session API (another
// service, reached over gRPC): it completes every session and records the
// async results it is told.
type sessionsRecorder struct {
	internalapiv1.SessionServiceClient
	mu        sync.Mutex
	recorded  []string
	completed []string // the payments that completed a session
}

func (r *sessionsRecorder) CompleteSession(_ context.Context, req *internalapiv1.CompleteSessionRequest, _ ...grpc.CallOption) (*internalapiv1.CompleteSessionResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.completed = append(r.completed, req.GetPaymentId())
	return &internalapiv1.CompleteSessionResponse{}, nil
}

// GetCheckout answers every session open: a bank transfer's partial funds
// wait for the rest.
func (r *sessionsRecorder) GetCheckout(_ context.Context, req *internalapiv1.GetCheckoutRequest, _ ...grpc.CallOption) (*internalapiv1.GetCheckoutResponse, error) {
	return &internalapiv1.GetCheckoutResponse{CheckoutSession: &adminv1.CheckoutSession{Id: req.GetSessionId(), Status: "open"}}, nil
}

func (r *sessionsRecorder) RecordAsyncPayment(_ context.Context, req *internalapiv1.RecordAsyncPaymentRequest, _ ...grpc.CallOption) (*internalapiv1.RecordAsyncPaymentResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recorded = append(r.recorded, req.GetPaymentId())
	return &internalapiv1.RecordAsyncPaymentResponse{}, nil
}

func newService(t *testing.T) *Service {
	t.Helper()
	return &Service{Store: store.New(testkit.NewDatabase(t, migrations.Set)), Admin: &sessionsRecorder{},
		Providers: provider.NewDefaultRegistry(), Limits: DefaultLimits, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// newPayment records a processing payment of 5000 EUR.
func newPayment(t *testing.T, s *Service, prov string, livemode bool, reference string) db.RuntimePayment {
	t.Helper()
	method := "card"
	if prov == provider.NameBankTransfer {
		method = "bank_transfer"
	}
	id := ids.New("pay")
	p, err := s.Store.CreatePayment(t.Context(), db.CreatePaymentParams{ID: id, SessionID: ids.New("cs"), OrganizationID: "org_1",
		Livemode: livemode, Method: method, Provider: prov, Currency: "EUR", Amount: 5000, Reference: reference,
		BillingName: "Ada", BillingEmail: "ada@example.com", BillingCountry: "FR", BillingPostalCode: "75001"})
	if err != nil {
		t.Fatal(err)
	}
	// Authorised by the provider itself (the test provider's "succeeds
	// later" card), so that a capture finds its reference.
	req := provider.AuthorizeRequest{PaymentID: id, Amount: p.Amount, Currency: p.Currency, Livemode: livemode}
	if prov == provider.NameTest {
		req.Card = &provider.Card{Number: provider.TestCardPending, Exp: "12/34", CVC: "123"}
	}
	pr, _ := s.Providers.Lookup(prov)
	res, err := pr.Authorize(t.Context(), req)
	if err != nil || res.Outcome != provider.Pending {
		t.Fatalf("authorize: %v %v", res.Outcome, err)
	}
	if _, err := s.Store.SetAuthorization(t.Context(), db.SetAuthorizationParams{ID: id, Status: StatusProcessing, ProviderRef: &res.Reference}); err != nil {
		t.Fatal(err)
	}
	return p
}

func reload(t *testing.T, s *Service, id string) db.RuntimePayment {
	t.Helper()
	p, err := s.Store.GetPayment(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	testProvider = provider.CallbackSource{Provider: provider.NameTest, Mode: provider.ModeTest}
	testFeed     = provider.CallbackSource{Provider: provider.NameBankTransfer, Mode: provider.ModeTest}
	liveFeed     = provider.CallbackSource{Provider: provider.NameBankTransfer, Mode: provider.ModeLive}
)

// TestProviderResultsApplyOnlyToTheirOwnPayments: issue 10, item 1.
func TestProviderResultsApplyOnlyToTheirOwnPayments(t *testing.T) {
	s := newService(t)
	c := &Callbacks{Service: s, Logger: s.Logger}
	ctx := t.Context()
	bankTest := newPayment(t, s, provider.NameBankTransfer, false, "TP-SAME-REF")
	bankLive := newPayment(t, s, provider.NameBankTransfer, true, "TP-SAME-REF")
	card := newPayment(t, s, provider.NameTest, false, "TP-CARD")

	for _, tc := range []struct {
		name string
		src  provider.CallbackSource
		cb   provider.Callback
	}{
		{"test provider on a test bank transfer", testProvider, provider.NewPaymentSucceeded(bankTest.ID, "", 0, "")},
		{"test provider on a live bank transfer", testProvider, provider.NewPaymentSucceeded(bankLive.ID, "", 0, "")},
		{"test provider failing a bank transfer", testProvider, provider.NewPaymentFailed(bankTest.ID, "", "card_declined")},
		{"test provider claiming live mode", provider.CallbackSource{Provider: provider.NameTest, Mode: provider.ModeLive},
			provider.NewPaymentSucceeded(bankLive.ID, "", 0, "")},
		{"bank feed on a card payment", testFeed, provider.NewPaymentSucceeded(card.ID, "", 0, "")},
		{"live feed on a test card", liveFeed, provider.NewPaymentSucceeded(card.ID, "", 0, "")},
	} {
		err := c.apply(ctx, tc.src, tc.cb)
		if k := errs.KindOf(err); k != errs.NotFound && k != errs.Invalid {
			t.Errorf("%s: %v, want refused (NotFound or Invalid)", tc.name, err)
		}
	}
	for _, p := range []db.RuntimePayment{bankTest, bankLive, card} {
		if got := reload(t, s, p.ID); got.Status != StatusProcessing || got.AmountReceived != 0 {
			t.Errorf("%s (%s, live %v) moved to %s, received %d", p.ID, p.Provider, p.Livemode, got.Status, got.AmountReceived)
		}
	}

	// The test feed's credit finds only the test-mode payment with that
	// reference; the live feed's only the live one.
	if err := c.apply(ctx, testFeed, provider.NewFundsReceived("TP-SAME-REF", 5000, "EUR")); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, bankTest.ID); got.Status != StatusSucceeded {
		t.Errorf("test feed: test payment %s", got.Status)
	}
	if got := reload(t, s, bankLive.ID); got.Status != StatusProcessing || got.AmountReceived != 0 {
		t.Errorf("test feed touched the live payment: %s %d", got.Status, got.AmountReceived)
	}
	if err := c.apply(ctx, liveFeed, provider.NewFundsReceived("TP-SAME-REF", 1200, "EUR")); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, bankLive.ID); got.AmountReceived != 1200 {
		t.Errorf("live feed: live payment received %d", got.AmountReceived)
	}
	// The test provider's own payment in its own mode is settled.
	if err := c.apply(ctx, testProvider, provider.NewPaymentSucceeded(card.ID, "", 0, "")); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, card.ID); got.Status != StatusSucceeded {
		t.Errorf("test provider on its own payment: %s", got.Status)
	}
}

// TestFundsReceivedAmounts: issue 10, item 3.
func TestFundsReceivedAmounts(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	p := newPayment(t, s, provider.NameBankTransfer, false, "TP-AMOUNTS")
	receipt := func(id string, amount int64) (db.RuntimePayment, error) {
		return s.FundsReceived(ctx, Receipt{ID: id, Amount: amount}, p.ID)
	}
	for _, amount := range []int64{-1, 100_000_000_000, 99_999_999_999_999, math.MaxInt64} {
		_, err := receipt(fmt.Sprint("r", amount), amount)
		if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid || e.Param != "amount" {
			t.Errorf("amount %d: %v, want Invalid naming amount", amount, err)
		}
	}
	if got, err := receipt("partial", 1000); err != nil || got.AmountReceived != 1000 || got.Status != StatusProcessing {
		t.Fatalf("partial: %v %+v", err, got)
	}
	if _, err := receipt("huge", math.MaxInt64); errs.KindOf(err) != errs.Invalid {
		t.Errorf("max int64 after a partial: %v", err)
	}
	// Another mode's receipt: not found.
	if _, err := s.FundsReceived(ctx, Receipt{ID: "live", Livemode: true, Amount: 4000}, p.ID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("live receipt for a test payment: %v", err)
	}
	// More than is due: settles, and the rest is over-payment.
	got, err := receipt("rest", 6000)
	if err != nil || got.Status != StatusSucceeded || got.AmountReceived != 7000 || got.AmountOverpaid != 2000 {
		t.Fatalf("over-payment: %v %+v", err, got)
	}
	// A repeat counts once; funds after settlement are recorded as over-payment.
	if got, err = receipt("rest", 6000); err != nil || got.AmountReceived != 7000 {
		t.Fatalf("repeat: %v %+v", err, got)
	}
	if got, err = receipt("late", 300); err != nil || got.AmountReceived != 7300 || got.AmountOverpaid != 2300 || got.Status != StatusSucceeded {
		t.Fatalf("late funds: %v %+v", err, got)
	}
	if out := Proto(got); out.GetAmountOverpaid() != 2300 {
		t.Errorf("API object: amount_overpaid %d", out.GetAmountOverpaid())
	}
	// "All that is due" on a settled payment records nothing.
	if got, err = receipt("nothing", 0); err != nil || got.AmountReceived != 7300 {
		t.Fatalf("nothing due: %v %+v", err, got)
	}
	// The merchant is told each time the amount owed back grows: the rest
	// beyond the amount, then the late funds; not the repeat.
	var owed []int64
	for _, ev := range outboxEvents(t, s, p.ID) {
		if ev.GetType() == EventPaymentOverpaid {
			owed = append(owed, ev.GetPayment().GetAmountOverpaid())
		}
	}
	if fmt.Sprint(owed) != "[2000 2300]" {
		t.Errorf("payment.overpaid events carry amount_overpaid %v, want [2000 2300]", owed)
	}
}

// TestAttemptLimitsHoldUnderConcurrency: issue 10, item 2.
func TestAttemptLimitsHoldUnderConcurrency(t *testing.T) {
	s := newService(t)
	s.Limits = Limits{PerSession: 10, PerIP: 30, Window: DefaultLimits.Window}
	declined := func(session string, ip netip.Addr) Attempt {
		return Attempt{Method: "card", ClientIP: ip, Card: &provider.Card{Number: provider.TestCardDeclined, Exp: "12/34", CVC: "123"},
			Billing: Billing{Name: "Ada", Email: "ada@example.com", Country: "FR", PostalCode: "75001"},
			Checkout: &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1", Site: &adminv1.Site{},
				CheckoutSession: &adminv1.CheckoutSession{Id: session, Status: "open", Currency: "EUR", AmountSubtotal: 5000, AmountTotal: 5000, Reference: "TP-X"}}}
	}
	run := func(attempts []Attempt) (limited int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		start := make(chan struct{})
		for _, a := range attempts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := s.Pay(context.Background(), a)
				mu.Lock()
				defer mu.Unlock()
				if errors.Is(err, ErrRateLimited) {
					limited++
				} else if err != nil {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		return limited
	}
	count := func(where string, arg any) int {
		var n int
		if err := s.Store.Pool.QueryRow(t.Context(), "SELECT count(*) FROM runtime.payments WHERE "+where, arg).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// 30 at once on one session (each from its own address): exactly 10.
	var attempts []Attempt
	for i := range 30 {
		attempts = append(attempts, declined("cs_one", netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})))
	}
	if limited := run(attempts); count("session_id = $1", "cs_one") != 10 || limited != 20 {
		t.Errorf("one session: %d attempts recorded, %d limited; want 10 and 20", count("session_id = $1", "cs_one"), limited)
	}
	// 40 at once from one address over 40 sessions: exactly 30.
	ip := netip.MustParseAddr("192.0.2.7")
	attempts = nil
	for i := range 40 {
		attempts = append(attempts, declined(fmt.Sprintf("cs_ip_%d", i), ip))
	}
	if limited := run(attempts); count("client_ip = $1", ip) != 30 || limited != 10 {
		t.Errorf("one address: %d attempts recorded, %d limited; want 30 and 10", count("client_ip = $1", ip), limited)
	}
}

// TestTotalAfterTaxIsBoundedAtPayment: a site whose exclusive rate rose
// after the session was created cannot take the total past money.MaxAmount;
// the attempt is refused before anything is recorded or authorised.
func TestTotalAfterTaxIsBoundedAtPayment(t *testing.T) {
	s := newService(t)
	attempt := func(country string) Attempt {
		return Attempt{Method: "card", Card: &provider.Card{Number: provider.TestCardDeclined, Exp: "12/34", CVC: "123"},
			Billing: Billing{Name: "Ada", Email: "ada@example.com", Country: country, PostalCode: "10001"},
			Checkout: &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1",
				Site: &adminv1.Site{TaxRates: []*adminv1.TaxRate{{Country: "US", PercentageBps: 10000, DisplayName: "Tax"}}},
				CheckoutSession: &adminv1.CheckoutSession{Id: "cs_big", Status: "open", Currency: "EUR",
					AmountSubtotal: 99_999_999_999, AmountTotal: 99_999_999_999, Reference: "TP-BIG"}}}
	}
	if _, err := s.Pay(t.Context(), attempt("US")); !errors.Is(err, ErrTotalTooLarge) {
		t.Fatalf("pay with 100 %% tax on the maximum: err = %v, want ErrTotalTooLarge", err)
	}
	var n int
	if err := s.Store.Pool.QueryRow(t.Context(), "SELECT count(*) FROM runtime.payments").Scan(&n); err != nil || n != 0 {
		t.Fatalf("a refused total recorded %d payments (%v)", n, err)
	}
	// Without that tax the same session can be paid (here: declined).
	if res, err := s.Pay(t.Context(), attempt("FR")); err != nil || res.Payment.Amount != 99_999_999_999 {
		t.Fatalf("pay without tax: %+v %v", res.Payment, err)
	}
}
