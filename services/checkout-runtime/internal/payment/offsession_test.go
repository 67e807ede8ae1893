package payment

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// savedRecorder completes every session, recording the payment method
// each completion names.
type savedRecorder struct {
	internalapiv1.SessionServiceClient
	mu     sync.Mutex
	saved  []string
	taxBps []int64
}

// GetCheckout answers as admin-api would for the sessions of
// subscriptionCheckout: the site's FR rate is all the runtime reads again.
func (r *savedRecorder) GetCheckout(_ context.Context, req *internalapiv1.GetCheckoutRequest, _ ...grpc.CallOption) (*internalapiv1.GetCheckoutResponse, error) {
	return checkoutFor(req.GetSessionId(), "subscription"), nil
}

func checkoutFor(id, mode string) *internalapiv1.GetCheckoutResponse {
	return &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1",
		Site: &adminv1.Site{TaxRates: []*adminv1.TaxRate{{Country: "FR", PercentageBps: 2000, DisplayName: "VAT"}}},
		CheckoutSession: &adminv1.CheckoutSession{Id: id, Status: "open", Currency: "EUR", AmountSubtotal: 1800,
			AmountTotal: 1800, Reference: "TP-SUB", Mode: mode}}
}

func (r *savedRecorder) CompleteSession(_ context.Context, req *internalapiv1.CompleteSessionRequest, _ ...grpc.CallOption) (*internalapiv1.CompleteSessionResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saved = append(r.saved, req.GetSavedPaymentMethod())
	r.taxBps = append(r.taxBps, req.GetTaxBps())
	return &internalapiv1.CompleteSessionResponse{CheckoutSession: &adminv1.CheckoutSession{Id: req.GetSessionId()}}, nil
}

// subscriptionCheckout pays a session in mode with a test card.
func subscriptionCheckout(t *testing.T, s *Service, mode, number string) Result {
	t.Helper()
	res, err := s.Pay(t.Context(), Attempt{Method: "card", Billing: Billing{Name: "Ada", Email: "ada@example.com", Country: "FR", PostalCode: "75001"},
		Card: &provider.Card{Number: number, Exp: "12/40", CVC: "123"}, Checkout: checkoutFor("cs_"+mode+number, mode)})
	if err == nil && number == provider.TestCardChallenge {
		res, err = s.Challenge(t.Context(), res.Payment.SessionID, res.Payment.ID, true)
	}
	if err != nil || res.Payment.Status != StatusSucceeded {
		t.Fatalf("pay: %+v %v", res, err)
	}
	return res
}

func TestSavedCardsChargedOffSession(t *testing.T) {
	s := newService(t)
	rec := &savedRecorder{}
	s.Admin = rec
	ctx := t.Context()
	subscriptionCheckout(t, s, "payment", provider.TestCardSuccess)
	subscriptionCheckout(t, s, "subscription", provider.TestCardSuccess)
	subscriptionCheckout(t, s, "subscription", provider.TestCardOffSessionDeclined)
	if len(rec.saved) != 3 || rec.saved[0] != "" || rec.saved[1] == "" || rec.saved[2] == "" {
		t.Fatalf("saved methods %q: only subscription checkouts save their card", rec.saved)
	}
	if rec.taxBps[0] != 0 || rec.taxBps[1] != 2000 {
		t.Fatalf("tax rates %v: subscription checkouts report theirs (FR 20 %%)", rec.taxBps)
	}
	// A card that asks for authentication is saved too, and its completion
	// after the challenge names it, with the rate read again.
	subscriptionCheckout(t, s, "subscription", provider.TestCardChallenge)
	if len(rec.saved) != 4 || rec.saved[3] == "" || rec.taxBps[3] != 2000 {
		t.Fatalf("after a challenge: saved %q, rates %v", rec.saved, rec.taxBps)
	}
	var token string
	if err := s.Store.Pool.QueryRow(ctx, "SELECT provider_token FROM runtime.payment_methods WHERE id = $1", rec.saved[1]).Scan(&token); err != nil || token != "tok_test_"+provider.TestCardSuccess {
		t.Fatalf("stored token %q %v", token, err)
	}
	charge := func(pm, key string, org string) (*internalapiv1.ChargeOffSessionRequest, error) {
		req := &internalapiv1.ChargeOffSessionRequest{OrganizationId: org, PaymentMethod: pm, InvoiceId: "in_1",
			IdempotencyKey: key, Amount: 1620, AmountTax: 0, Currency: "EUR"}
		_, err := s.ChargeOffSession(ctx, req)
		return req, err
	}
	req, err := charge(rec.saved[1], "in_1/1", "org_1")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Store.GetPaymentByIdempotencyKey(ctx, &req.IdempotencyKey)
	if err != nil || first.Status != StatusSucceeded || first.Amount != 1620 || first.SessionID != "in_1" || first.PaymentMethodID == nil || *first.PaymentMethodID != rec.saved[1] {
		t.Fatalf("renewal payment: %+v %v", first, err)
	}
	if obj := Proto(first); obj.GetInvoice() != "in_1" || obj.GetCheckoutSession() != "" {
		t.Fatalf("renewal payment object: %v", obj)
	}
	// The same key again: the same payment, nothing more charged.
	again, err := s.ChargeOffSession(ctx, req)
	if err != nil || again.ID != first.ID {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	// "Attaching succeeds, charges fail": declined off-session.
	req, _ = charge(rec.saved[2], "in_2/1", "org_1")
	failed, err := s.Store.GetPaymentByIdempotencyKey(ctx, &req.IdempotencyKey)
	if err != nil || failed.Status != StatusFailed || failed.FailureCode == nil || *failed.FailureCode != provider.DeclineCardDeclined {
		t.Fatalf("0341 renewal: %+v %v", failed, err)
	}
	// Another organization's method is not found.
	if _, err := charge(rec.saved[1], "in_3/1", "org_2"); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("other organization: %v", err)
	}
	var succeeded, failedEvents int
	if err := s.Store.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE subject = 'events.payment.succeeded'), count(*) FILTER (WHERE subject = 'events.payment.failed') FROM runtime.outbox`).Scan(&succeeded, &failedEvents); err != nil {
		t.Fatal(err)
	}
	if succeeded != 5 || failedEvents != 1 {
		t.Fatalf("events: %d succeeded (4 checkouts + 1 renewal), %d failed", succeeded, failedEvents)
	}
}

// TestFreeTrialSavesTheCardWithoutAPayment: a subscription checkout that
// charges nothing (a trial) saves the card with the provider and completes
// the session without a payment row, naming the saved method; a repeated
// post saves nothing more; a card that declines at checkout is declined and
// nothing is saved; the saved card is then charged off-session.
func TestFreeTrialSavesTheCardWithoutAPayment(t *testing.T) {
	s := newService(t)
	rec := &savedRecorder{}
	s.Admin = rec
	ctx := t.Context()
	trial := func(id, number string) (Result, error) {
		co := checkoutFor(id, "subscription")
		co.CheckoutSession.AmountSubtotal, co.CheckoutSession.AmountTotal = 0, 0
		return s.Pay(ctx, Attempt{Method: "card", Billing: Billing{Name: "Ada", Country: "FR", PostalCode: "75001"},
			Card: &provider.Card{Number: number, Exp: "12/40", CVC: "123"}, Checkout: co})
	}
	for range 2 {
		res, err := trial("cs_trial", provider.TestCardSuccess)
		if err != nil || res.Payment.Status != StatusSucceeded || res.Payment.ID != "" || res.Session == nil {
			t.Fatalf("trial: %+v %v", res, err)
		}
	}
	if len(rec.saved) != 2 || rec.saved[0] == "" || rec.saved[0] != rec.saved[1] || rec.taxBps[0] != 2000 {
		t.Fatalf("completions %q %v: one saved method, named by each", rec.saved, rec.taxBps)
	}
	var payments, methods int
	if err := s.Store.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM runtime.payments), (SELECT count(*) FROM runtime.payment_methods WHERE session_id = 'cs_trial')`).Scan(&payments, &methods); err != nil {
		t.Fatal(err)
	}
	if payments != 0 || methods != 1 {
		t.Fatalf("%d payments, %d saved methods", payments, methods)
	}
	res, err := trial("cs_trial_declined", provider.TestCardInsufficientFunds)
	if err != nil || res.Payment.Status != StatusFailed || deref(res.Payment.FailureCode) != provider.DeclineInsufficientFunds || len(rec.saved) != 2 {
		t.Fatalf("declined trial card: %+v %v (completions %q)", res, err, rec.saved)
	}
	p, err := s.ChargeOffSession(ctx, &internalapiv1.ChargeOffSessionRequest{OrganizationId: "org_1", PaymentMethod: rec.saved[0],
		InvoiceId: "in_trial_end", IdempotencyKey: "in_trial_end/1", Amount: 1800, Currency: "EUR"})
	if err != nil || p.Status != StatusSucceeded || p.Amount != 1800 {
		t.Fatalf("charge at the trial's end: %+v %v", p, err)
	}
}

// TestFreeTrialAttemptsAreLimited: a free trial's card setups count in the
// card-testing limits as payments do: per session, and per client address
// together with the payments made from it.
func TestFreeTrialAttemptsAreLimited(t *testing.T) {
	s := newService(t)
	s.Admin = &savedRecorder{}
	s.Limits = Limits{PerSession: 2, PerIP: 3, Window: time.Hour}
	ip := netip.MustParseAddr("203.0.113.9")
	attempt := func(id string, total int64) error {
		co := checkoutFor(id, "subscription")
		co.CheckoutSession.AmountSubtotal, co.CheckoutSession.AmountTotal = total, total
		_, err := s.Pay(t.Context(), Attempt{Method: "card", Billing: Billing{Name: "Ada", Country: "FR", PostalCode: "75001"}, ClientIP: ip,
			Card: &provider.Card{Number: provider.TestCardInsufficientFunds, Exp: "12/40", CVC: "123"}, Checkout: co})
		return err
	}
	for i, want := range []error{nil, nil, ErrRateLimited} {
		if err := attempt("cs_trial_limited", 0); err != want {
			t.Fatalf("setup %d: %v, want %v", i+1, err, want)
		}
	}
	// The address has made two attempts (the refused one is not counted):
	// one payment more, then none.
	if err := attempt("cs_paid_1", 1800); err != nil {
		t.Fatalf("payment from the address: %v", err)
	}
	if err := attempt("cs_paid_2", 1800); err != ErrRateLimited {
		t.Fatalf("payment past the address's limit: %v", err)
	}
	var setups int
	if err := s.Store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM runtime.card_setups WHERE status = 'failed' AND failure_code = 'insufficient_funds'`).Scan(&setups); err != nil || setups != 2 {
		t.Fatalf("%d declined setups recorded, %v", setups, err)
	}
}
