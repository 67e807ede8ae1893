package payment

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack/paystacktest"
)

const (
	paystackAccount = "pa_PaystackAccountOne012345"
	otherPaystack   = "pa_PaystackAccountTwo012345"
)

var paystackTest = provider.CallbackSource{Provider: provider.NamePaystack, Mode: provider.ModeTest}

// countingSessions is admin-api completing sessions (or refusing, closed,
// as for a session paid or expired meanwhile), counting the calls.
type countingSessions struct {
	sessionsRecorder
	mu        sync.Mutex
	completed []string
	closed    bool
}

func (c *countingSessions) CompleteSession(_ context.Context, req *internalapiv1.CompleteSessionRequest, _ ...grpc.CallOption) (*internalapiv1.CompleteSessionResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, status.Error(codes.FailedPrecondition, "session is not open")
	}
	if !req.GetPaid() {
		return nil, status.Error(codes.InvalidArgument, "mobile money completes sessions paid only")
	}
	c.completed = append(c.completed, req.GetPaymentId())
	return &internalapiv1.CompleteSessionResponse{CheckoutSession: &adminv1.CheckoutSession{Id: req.GetSessionId(), Status: "complete"}}, nil
}

func (c *countingSessions) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.completed)
}

// paystackService is a Service whose account paystackAccount is a Paystack
// account at Prism, in front of paystacktest's scripted Paystack.
func paystackService(t *testing.T) (*Service, *paystacktest.Fake, *countingSessions) {
	t.Helper()
	return paystackServiceVia(t, nil)
}

// paystackServiceVia is paystackService whose Paystack client makes its
// requests with hc (nil: the default client).
func paystackServiceVia(t *testing.T, hc *http.Client) (*Service, *paystacktest.Fake, *countingSessions) {
	t.Helper()
	base, fake := paystacktest.Start(t, paystack.StatusPending, 2500)
	s := newService(t)
	sessions := &countingSessions{}
	s.Admin = sessions
	s.Providers = provider.NewDefaultRegistry().WithAccounts(func(_ context.Context, id string) (provider.Credentials, error) {
		if id != paystackAccount && id != otherPaystack {
			return provider.Credentials{}, status.Error(codes.NotFound, "no such account")
		}
		return provider.Credentials{AccountID: id, Provider: provider.NamePaystack, SecretKey: paystacktest.Key}, nil
	}, map[string]provider.Factory{provider.NamePaystack: paystack.Factory(base, hc)})
	return s, fake, sessions
}

// mobileMoneyPayment records a 2500 GHS mobile-money payment of account
// waiting in requires_action, its id being Paystack's reference.
func mobileMoneyPayment(t *testing.T, s *Service, account string) db.RuntimePayment {
	t.Helper()
	p, err := s.Store.CreatePayment(t.Context(), db.CreatePaymentParams{ID: ids.New("pay"), SessionID: ids.New("cs"), OrganizationID: "org_1",
		Method: "mobile_money", Provider: provider.NamePaystack, Currency: "GHS", Amount: 2500, Reference: "TP-MOMO",
		BillingName: "Ama", BillingEmail: "ama@example.com", BillingCountry: "GH"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Pool.Exec(t.Context(), `UPDATE runtime.payments SET provider_account = $2, provider_ref = $1, status = $3 WHERE id = $1`,
		p.ID, account, StatusRequiresAction); err != nil {
		t.Fatal(err)
	}
	return reload(t, s, p.ID)
}

func chargeEvent(p db.RuntimePayment, typ string) paystack.Event {
	return paystack.Event{ID: typ + ":4099260516:" + p.ID, Type: typ, Reference: p.ID, Status: "success", Amount: p.Amount, Currency: p.Currency}
}

func TestPaystackOTPThenSuccess(t *testing.T) {
	s, fake, sessions := paystackService(t)
	p := mobileMoneyPayment(t, s, paystackAccount)

	fake.Set(paystack.StatusFailed, 2500) // a wrong code
	res, err := s.SubmitOTP(t.Context(), p.SessionID, p.ID, "000000")
	if err != nil || res.Payment.Status != StatusFailed || deref(res.Payment.FailureCode) != provider.DeclineAuthenticationFailed {
		t.Fatalf("wrong code: %+v, %v", res.Payment, err)
	}
	if sessions.count() != 0 {
		t.Error("a declined code completed the session")
	}

	q := mobileMoneyPayment(t, s, paystackAccount) // the payer's next attempt
	fake.Set(paystack.StatusSuccess, 2500)
	res, err = s.SubmitOTP(t.Context(), q.SessionID, q.ID, "123456")
	if err != nil || res.Payment.Status != StatusSucceeded {
		t.Fatalf("right code: %+v, %v", res.Payment, err)
	}
	if sessions.count() != 1 || outboxCount(t, s, "events.payment.succeeded") != 1 {
		t.Errorf("completed %d sessions, %d payment.succeeded", sessions.count(), outboxCount(t, s, "events.payment.succeeded"))
	}
	// A double post answers as it is, without asking Paystack again.
	before := len(fake.Calls())
	if res, err = s.SubmitOTP(t.Context(), q.SessionID, q.ID, "123456"); err != nil || res.Payment.Status != StatusSucceeded || len(fake.Calls()) != before {
		t.Errorf("repeat: %+v, %v, calls %v", res.Payment, err, fake.Calls())
	}
	if _, err := s.SubmitOTP(t.Context(), "cs_other", q.ID, "123456"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("another session's payment: %v", err)
	}
}

// TestPaystackWebhookVerifiesThenCompletes: pay_offline's wait ends with a
// webhook; the runtime verifies with Paystack before completing, once,
// whether the webhook comes before or after the payer's page asks.
func TestPaystackWebhookVerifiesThenCompletes(t *testing.T) {
	s, fake, sessions := paystackService(t)
	c := &Callbacks{Service: s, Logger: s.Logger}

	// The payer's page polls while the phone prompt is open: still waiting.
	p := mobileMoneyPayment(t, s, paystackAccount)
	if res, err := s.Resume(t.Context(), p.SessionID, p.ID); err != nil || res.Payment.Status != StatusRequiresAction {
		t.Fatalf("poll while pending: %+v, %v", res.Payment, err)
	}
	// The webhook arrives (as hooks publishes it), then again (a duplicate).
	fake.Set(paystack.StatusSuccess, 2500)
	msg, _ := json.Marshal(paystack.Message{ProviderAccount: paystackAccount, Event: chargeEvent(p, paystack.EventChargeSuccess)})
	for range 2 {
		if _, err := c.applyPaystack(t.Context(), paystackTest, msg); err != nil {
			t.Fatal(err)
		}
	}
	if got := reload(t, s, p.ID); got.Status != StatusSucceeded {
		t.Fatalf("after the webhook: %s", got.Status)
	}
	verifies := 0
	for _, c := range fake.Calls() {
		if c == "GET /transaction/verify/"+p.ID {
			verifies++
		}
	}
	// Once for the poll, once for the first delivery; the duplicate found
	// the payment settled.
	if verifies != 2 || sessions.count() != 1 || outboxCount(t, s, "events.payment.succeeded") != 1 {
		t.Errorf("verifies %d, completions %d, events %d", verifies, sessions.count(), outboxCount(t, s, "events.payment.succeeded"))
	}
	// The payer's page comes back after the webhook: it shows the result.
	if res, err := s.Resume(t.Context(), p.SessionID, p.ID); err != nil || res.Payment.Status != StatusSucceeded {
		t.Errorf("return after the webhook: %+v, %v", res.Payment, err)
	}
}

// TestPaystackVerifyOverridesTheWebhook: a webhook saying success whose
// verification says failed fails the payment and leaves the session open.
func TestPaystackVerifyOverridesTheWebhook(t *testing.T) {
	s, fake, sessions := paystackService(t)
	p := mobileMoneyPayment(t, s, paystackAccount)
	fake.Set(paystack.StatusFailed, 2500)
	if err := s.PaystackEvent(t.Context(), paystackTest, paystackAccount, chargeEvent(p, paystack.EventChargeSuccess)); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, p.ID); got.Status != StatusFailed || sessions.count() != 0 {
		t.Errorf("payment %s, %d completions", got.Status, sessions.count())
	}
	// Verified success for another amount: not applied.
	q := mobileMoneyPayment(t, s, paystackAccount)
	fake.Set(paystack.StatusSuccess, 25)
	if err := s.PaystackEvent(t.Context(), paystackTest, paystackAccount, chargeEvent(q, paystack.EventChargeSuccess)); errs.KindOf(err) != errs.Invalid {
		t.Errorf("another amount: %v", err)
	}
	if got := reload(t, s, q.ID); got.Status != StatusRequiresAction || sessions.count() != 0 {
		t.Errorf("another amount: payment %s, %d completions", got.Status, sessions.count())
	}
}

// TestPaystackEventsApplyOnlyToTheAccountsPayments: another account's
// webhook, the other mode, another provider's payment are refused before
// Paystack is asked.
func TestPaystackEventsApplyOnlyToTheAccountsPayments(t *testing.T) {
	s, fake, _ := paystackService(t)
	fake.Set(paystack.StatusSuccess, 2500)
	p := mobileMoneyPayment(t, s, paystackAccount)
	card := newPayment(t, s, provider.NameTest, false, "TP-CARD")
	live := provider.CallbackSource{Provider: provider.NamePaystack, Mode: provider.ModeLive}
	liveEvent := chargeEvent(p, paystack.EventChargeSuccess)
	liveEvent.Livemode = true
	for _, tc := range []struct {
		name    string
		src     provider.CallbackSource
		account string
		ev      paystack.Event
	}{
		{"another account's webhook", paystackTest, otherPaystack, chargeEvent(p, paystack.EventChargeSuccess)},
		{"the live source", live, paystackAccount, liveEvent},
		{"a live event on the test source", paystackTest, paystackAccount, liveEvent},
		{"another provider's payment", paystackTest, paystackAccount, chargeEvent(card, paystack.EventChargeSuccess)},
		{"an unknown reference", paystackTest, paystackAccount, paystack.Event{ID: "x", Type: paystack.EventChargeSuccess, Reference: "pay_unknown"}},
		{"the test provider's source", testProvider, paystackAccount, chargeEvent(p, paystack.EventChargeSuccess)},
	} {
		if err := s.PaystackEvent(t.Context(), tc.src, tc.account, tc.ev); errs.KindOf(err) != errs.NotFound {
			t.Errorf("%s: %v, want refused (NotFound)", tc.name, err)
		}
	}
	if got := reload(t, s, p.ID); got.Status != StatusRequiresAction || len(fake.Calls()) != 0 {
		t.Errorf("payment %s; Paystack asked %v", got.Status, fake.Calls())
	}
}

// TestPaystackClosedSessionRefunds: the money was taken but the session
// completed or expired meanwhile: refunded, payment canceled.
func TestPaystackClosedSessionRefunds(t *testing.T) {
	s, fake, sessions := paystackService(t)
	sessions.closed = true
	fake.Set(paystack.StatusSuccess, 2500)
	p := mobileMoneyPayment(t, s, paystackAccount)
	res, err := s.Resume(t.Context(), p.SessionID, p.ID)
	if err != nil || !res.Closed || res.Payment.Status != StatusCanceled {
		t.Fatalf("%+v, %v", res, err)
	}
	// The refund is looked for first (by its merchant note), so that a
	// retry of this release never makes a second.
	if paths := fmt.Sprint(fake.Calls()); paths != "[GET /transaction/verify/"+p.ID+" GET /refund POST /refund]" {
		t.Errorf("calls %v, want verify, look for the refund, refund", paths)
	}
}

// mobileMoneyAttempt is a mobile-money attempt on a GHS session whose site
// has paystackAccount for mobile money.
func mobileMoneyAttempt() Attempt {
	return Attempt{Method: MethodMobileMoney, MobileMoney: &provider.MobileMoney{Phone: "+233551234987", Network: "mtn"},
		Billing: Billing{Name: "Ama", Email: "ama@example.com", Country: "GH", PostalCode: "GA-123"},
		Checkout: &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1",
			Site:            &adminv1.Site{ProviderAccounts: map[string]string{MethodMobileMoney: paystackAccount}},
			CheckoutSession: &adminv1.CheckoutSession{Id: ids.New("cs"), Status: "open", Currency: "GHS", AmountSubtotal: 2500, AmountTotal: 2500}}}
}

// TestPaystackPayThenOTP: the page's attempt charges the wallet; send_otp
// leaves the payment waiting for the code with the session open; the code
// completes it.
func TestPaystackPayThenOTP(t *testing.T) {
	s, fake, sessions := paystackService(t)
	fake.Set(paystack.StatusSendOTP, 2500)
	res, err := s.Pay(t.Context(), mobileMoneyAttempt())
	if err != nil {
		t.Fatal(err)
	}
	p := res.Payment
	if p.Status != StatusRequiresAction || deref(p.NextAction) != provider.NextActionOTP || deref(p.ProviderRef) != p.ID ||
		p.Method != MethodMobileMoney || p.Provider != provider.NamePaystack || deref(p.ProviderAccount) != paystackAccount || sessions.count() != 0 {
		t.Fatalf("after pay: %+v, %d completions", p, sessions.count())
	}
	fake.Set(paystack.StatusSuccess, 2500)
	if res, err = s.SubmitOTP(t.Context(), p.SessionID, p.ID, "123456"); err != nil || res.Payment.Status != StatusSucceeded || sessions.count() != 1 {
		t.Fatalf("after the code: %+v, %v", res.Payment, err)
	}
	if got := fake.Calls(); len(got) != 2 || got[0] != "POST /charge" || got[1] != "POST /charge/submit_otp" {
		t.Errorf("calls %v", got)
	}
	// pay_offline waits for the phone; a decline fails at once.
	fake.Set(paystack.StatusPayOffline, 2500)
	if res, err = s.Pay(t.Context(), mobileMoneyAttempt()); err != nil || res.Payment.Status != StatusRequiresAction || deref(res.Payment.NextAction) != provider.NextActionApproveOnPhone {
		t.Errorf("pay_offline: %+v, %v", res.Payment, err)
	}
	fake.Set(paystack.StatusFailed, 2500)
	if res, err = s.Pay(t.Context(), mobileMoneyAttempt()); err != nil || res.Payment.Status != StatusFailed || deref(res.Payment.FailureCode) != provider.DeclineMobileMoneyDeclined {
		t.Errorf("failed: %+v, %v", res.Payment, err)
	}
	// No wallet, or a site without the account: refused before any call.
	a := mobileMoneyAttempt()
	a.Checkout.Site.ProviderAccounts = nil
	before := len(fake.Calls())
	if _, err := s.Pay(t.Context(), a); err == nil || len(fake.Calls()) != before {
		t.Errorf("no account: %v", err)
	}
}

// TestMobileMoneyTimeouts: a payment still waiting after the timeout is
// verified once more: settled if Paystack has it, else failed with
// payment_timeout, its session left open. A success reported after that is
// refunded, the payment staying failed.
func TestMobileMoneyTimeouts(t *testing.T) {
	s, fake, sessions := paystackService(t)
	sweep := &MobileMoneyTimeouts{Service: s, Timeout: 5 * time.Minute}
	waiting := mobileMoneyPayment(t, s, paystackAccount)
	if n, err := sweep.SweepOnce(t.Context(), time.Now()); err != nil || n != 0 || reload(t, s, waiting.ID).Status != StatusRequiresAction {
		t.Fatalf("before the timeout: %d, %v", n, err)
	}
	later := time.Now().Add(6 * time.Minute)
	if n, err := sweep.SweepOnce(t.Context(), later); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if got := reload(t, s, waiting.ID); got.Status != StatusFailed || deref(got.FailureCode) != provider.DeclinePaymentTimeout || sessions.count() != 0 {
		t.Fatalf("timed out: %s %s, %d completions", got.Status, deref(got.FailureCode), sessions.count())
	}
	// Approved just before the sweep: the verification settles it.
	approved := mobileMoneyPayment(t, s, paystackAccount)
	fake.Set(paystack.StatusSuccess, 2500)
	if n, err := sweep.SweepOnce(t.Context(), later); err != nil || n != 0 || reload(t, s, approved.ID).Status != StatusSucceeded {
		t.Fatalf("approved: %d, %v, %s", n, err, reload(t, s, approved.ID).Status)
	}
	// The timed-out payment's money arrives after all: refunded, once
	// however often the event comes (the refund is looked for first).
	before := len(fake.Calls())
	if err := s.PaystackEvent(t.Context(), paystackTest, paystackAccount, chargeEvent(waiting, paystack.EventChargeSuccess)); err != nil {
		t.Fatal(err)
	}
	calls := fmt.Sprint(fake.Calls()[before:])
	if calls != "[GET /transaction/verify/"+waiting.ID+" GET /refund POST /refund]" || reload(t, s, waiting.ID).Status != StatusFailed {
		t.Errorf("late success: calls %v, status %s", calls, reload(t, s, waiting.ID).Status)
	}
	if err := s.PaystackEvent(t.Context(), paystackTest, paystackAccount, chargeEvent(waiting, paystack.EventChargeSuccess)); err != nil {
		t.Fatal(err)
	}
	wantPaystackRefunds(t, fake, 1, 2500)
}

// TestPaystackRefund: a refund of a mobile-money payment is POST /refund
// {transaction: our payment id, amount}; Paystack queues it (pending).
func TestPaystackRefund(t *testing.T) {
	s, fake, _ := paystackService(t)
	p := mobileMoneyPayment(t, s, paystackAccount)
	fake.Set(paystack.StatusSuccess, 2500)
	if res, err := s.Resume(t.Context(), p.SessionID, p.ID); err != nil || res.Payment.Status != StatusSucceeded {
		t.Fatalf("pay: %+v, %v", res.Payment, err)
	}
	r, err := refund(s, reload(t, s, p.ID), 1000)
	if err != nil || r.Status != RefundPending || r.Amount != 1000 || r.Currency != "GHS" {
		t.Fatalf("refund: %+v, %v", r, err)
	}
	if calls := fake.Calls(); calls[len(calls)-1] != "POST /refund" {
		t.Errorf("calls %v", calls)
	}
}
