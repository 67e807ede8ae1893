package payment

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/stripe"
)

const (
	stripeAccount = "pa_StripeAccountOne0123456789"
	otherStripe   = "pa_StripeAccountTwo0123456789"
)

var (
	stripeTest = provider.CallbackSource{Provider: provider.NameStripe, Mode: provider.ModeTest}
	stripeLive = provider.CallbackSource{Provider: provider.NameStripe, Mode: provider.ModeLive}
)

// stripePayment records a payment of 5000 EUR made through stripeAccount,
// in status, with a PaymentIntent of its own as provider_ref (as the Stripe
// card path writes them).
func stripePayment(t *testing.T, s *Service, status string, livemode bool) db.RuntimePayment {
	t.Helper()
	p, err := s.Store.CreatePayment(t.Context(), db.CreatePaymentParams{ID: ids.New("pay"), SessionID: ids.New("cs"), OrganizationID: "org_1",
		Livemode: livemode, Method: "card", Provider: provider.NameStripe, Currency: "EUR", Amount: 5000, Reference: "TP-STRIPE",
		BillingName: "Ada", BillingEmail: "ada@example.com", BillingCountry: "FR", BillingPostalCode: "75001"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Pool.Exec(t.Context(), `UPDATE runtime.payments SET provider_account = $2, provider_ref = $3, status = $4,
		card_brand = 'visa', card_last4 = '4242' WHERE id = $1`, p.ID, stripeAccount, ids.New("pi"), status); err != nil {
		t.Fatal(err)
	}
	return reload(t, s, p.ID)
}

// intentEvent is a Stripe PaymentIntent event about p, as hooks normalises it.
func intentEvent(p db.RuntimePayment, typ string) stripe.Event {
	ev := stripe.Event{ID: ids.New("evt"), Type: typ, Livemode: p.Livemode, PaymentIntentID: deref(p.ProviderRef), PaymentID: p.ID,
		Amount: p.Amount, Currency: p.Currency}
	switch typ {
	case stripe.EventPaymentSucceeded:
		ev.AmountReceived = p.Amount
	case stripe.EventPaymentFailed:
		ev.FailureCode = provider.DeclineInsufficientFunds
	}
	return ev
}

// outboxCount counts the payment's events of a type in the runtime's outbox.
func outboxCount(t *testing.T, s *Service, subject string) int {
	t.Helper()
	var n int
	if err := s.Store.Pool.QueryRow(t.Context(), "SELECT count(*) FROM runtime.outbox WHERE subject = $1", subject).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStripeEventsApplyOnlyToTheAccountsPayments(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	p := stripePayment(t, s, StatusProcessing, false)
	live := stripePayment(t, s, StatusProcessing, true)
	card := newPayment(t, s, provider.NameTest, false, "TP-CARD") // another provider's payment

	succeeded := intentEvent(p, stripe.EventPaymentSucceeded)
	wrongMeta := succeeded
	wrongMeta.PaymentID = live.ID
	liveEvent := intentEvent(live, stripe.EventPaymentSucceeded)
	testOnLive := liveEvent
	testOnLive.Livemode = false
	unknown := succeeded
	unknown.PaymentIntentID = "pi_unknown"
	otherProvider := intentEvent(card, stripe.EventPaymentSucceeded)
	for _, tc := range []struct {
		name    string
		src     provider.CallbackSource
		account string
		ev      stripe.Event
	}{
		{"another account's secret", stripeTest, otherStripe, succeeded},
		{"the live source on a test payment", stripeLive, stripeAccount, succeeded},
		{"the test source on a live payment", stripeTest, stripeAccount, testOnLive},
		{"a live event on the test source", stripeTest, stripeAccount, func() stripe.Event { e := succeeded; e.Livemode = true; return e }()},
		{"metadata naming another payment", stripeTest, stripeAccount, wrongMeta},
		{"an unknown PaymentIntent", stripeTest, stripeAccount, unknown},
		{"another provider's payment", stripeTest, stripeAccount, otherProvider},
		{"the test provider's source", testProvider, stripeAccount, succeeded},
	} {
		if err := s.StripeEvent(ctx, tc.src, tc.account, tc.ev); errs.KindOf(err) != errs.NotFound {
			t.Errorf("%s: %v, want refused (NotFound)", tc.name, err)
		}
	}
	for _, q := range []db.RuntimePayment{p, live, card} {
		if got := reload(t, s, q.ID); got.Status != StatusProcessing {
			t.Errorf("%s (%s, live %v) moved to %s", q.ID, q.Provider, q.Livemode, got.Status)
		}
	}
	if n := outboxCount(t, s, "events.payment.succeeded"); n != 0 {
		t.Errorf("%d payment.succeeded events", n)
	}

	// Its own account, mode and payment: applied, once. The message is
	// decoded as hooks writes it.
	c := &Callbacks{Service: s, Logger: s.Logger}
	msg, _ := json.Marshal(map[string]any{"provider_account": stripeAccount, "event": succeeded})
	for range 2 {
		if _, err := c.applyStripe(ctx, stripeTest, msg); err != nil {
			t.Fatal(err)
		}
	}
	if got := reload(t, s, p.ID); got.Status != StatusSucceeded {
		t.Errorf("own payment: %s", got.Status)
	}
	if n := outboxCount(t, s, "events.payment.succeeded"); n != 1 {
		t.Errorf("%d payment.succeeded events, want 1", n)
	}
	if rec := s.Admin.(*sessionsRecorder).recorded; len(rec) == 0 || rec[0] != p.ID {
		t.Errorf("admin-api told %v", rec)
	}
	if err := s.StripeEvent(ctx, stripeLive, stripeAccount, liveEvent); err != nil || reload(t, s, live.ID).Status != StatusSucceeded {
		t.Errorf("live payment: %v", err)
	}
	if _, err := c.applyStripe(ctx, stripeTest, []byte(`{"event":{"ID":"evt_1"}}`)); !errors.Is(err, provider.ErrInvalidCallback) {
		t.Errorf("a message without an account: %v", err)
	}
}

func TestStripePaymentSucceededCases(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	p := stripePayment(t, s, StatusProcessing, false)
	ev := intentEvent(p, stripe.EventPaymentSucceeded)
	ev.AmountReceived = 1
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, ev); errs.KindOf(err) != errs.Invalid {
		t.Errorf("amount mismatch: %v", err)
	}
	if got := reload(t, s, p.ID); got.Status != StatusProcessing {
		t.Errorf("moved to %s", got.Status)
	}
	// Waiting for the payer, captured by Stripe at once: succeeds.
	waiting := stripePayment(t, s, StatusRequiresAction, false)
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, intentEvent(waiting, stripe.EventPaymentSucceeded)); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, waiting.ID); got.Status != StatusSucceeded {
		t.Errorf("requires_action payment: %s", got.Status)
	}
	// A failed payment that Stripe captured anyway: refused, logged.
	failed := stripePayment(t, s, StatusFailed, false)
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, intentEvent(failed, stripe.EventPaymentSucceeded)); errs.KindOf(err) != errs.Invalid {
		t.Errorf("failed payment: %v", err)
	}
}

func TestStripePaymentFailedAndCanceled(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	failed := stripePayment(t, s, StatusProcessing, false)
	canceled := stripePayment(t, s, StatusRequiresAction, false)
	done := stripePayment(t, s, StatusSucceeded, false)
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, intentEvent(failed, stripe.EventPaymentFailed)); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, failed.ID); got.Status != StatusFailed || deref(got.FailureCode) != provider.DeclineInsufficientFunds || got.FailureMessage == nil {
		t.Errorf("payment_failed: %s %v", got.Status, deref(got.FailureCode))
	}
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, intentEvent(canceled, stripe.EventPaymentCanceled)); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, canceled.ID); got.Status != StatusFailed || deref(got.FailureCode) != FailurePaymentCanceled {
		t.Errorf("canceled: %s %v", got.Status, deref(got.FailureCode))
	}
	// A settled payment stays as it is.
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, intentEvent(done, stripe.EventPaymentFailed)); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, done.ID); got.Status != StatusSucceeded {
		t.Errorf("succeeded payment failed: %s", got.Status)
	}
	if n := outboxCount(t, s, "events.payment.failed"); n != 2 {
		t.Errorf("%d payment.failed events, want 2", n)
	}
}

// namedProvider is a provider registered under another name: the test
// provider standing in as "stripe" for a capture.
type namedProvider struct {
	provider.Provider
	name string
}

func (n namedProvider) Name() string { return n.name }

// closedSessions is admin-api with every session closed already.
type closedSessions struct{ sessionsRecorder }

func (*closedSessions) CompleteSession(context.Context, *internalapiv1.CompleteSessionRequest, ...grpc.CallOption) (*internalapiv1.CompleteSessionResponse, error) {
	return nil, status.Error(codes.FailedPrecondition, "checkout_session_not_open")
}

func TestStripeAmountCapturableUpdated(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	pending := stripePayment(t, s, StatusProcessing, false)
	// The account's credentials cannot be had (admin-api down): an error to
	// retry, the payment unchanged.
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, intentEvent(pending, stripe.EventPaymentAuthorized)); err == nil {
		t.Errorf("without the account's credentials: applied")
	}
	if got := reload(t, s, pending.ID); got.Status != StatusProcessing {
		t.Fatalf("moved to %s", got.Status)
	}
	// The account was deleted since: refused as not found (never retried).
	s.Providers = provider.NewDefaultRegistry().WithAccounts(func(context.Context, string) (provider.Credentials, error) {
		return provider.Credentials{}, status.Error(codes.NotFound, "no such provider account")
	}, nil)
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, intentEvent(pending, stripe.EventPaymentAuthorized)); errs.KindOf(err) != errs.NotFound {
		t.Errorf("with the account deleted: %v, want NotFound", err)
	}

	// With them (the test provider standing in for the account's Stripe
	// adapter): the session is completed, then the payment captured; a
	// payment that waited for the payer too.
	test := provider.NewTest()
	s.Providers = provider.NewDefaultRegistry().WithAccounts(func(_ context.Context, id string) (provider.Credentials, error) {
		return provider.Credentials{AccountID: id, Provider: provider.NameStripe}, nil
	}, map[string]provider.Factory{provider.NameStripe: func(provider.Credentials) (provider.Provider, error) {
		return namedProvider{test, provider.NameStripe}, nil
	}})
	authorize := func(p db.RuntimePayment) stripe.Event {
		res, err := test.Authorize(ctx, provider.AuthorizeRequest{PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency,
			Card: &provider.Card{Number: provider.TestCardPending, Exp: "12/34", CVC: "123"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Store.Pool.Exec(ctx, "UPDATE runtime.payments SET provider_ref = $2 WHERE id = $1", p.ID, res.Reference); err != nil {
			t.Fatal(err)
		}
		return intentEvent(reload(t, s, p.ID), stripe.EventPaymentAuthorized)
	}
	waiting := stripePayment(t, s, StatusRequiresAction, false)
	for _, p := range []db.RuntimePayment{pending, waiting} {
		ev := authorize(p)
		for range 2 { // a repeat captures nothing more
			if err := s.StripeEvent(ctx, stripeTest, stripeAccount, ev); err != nil {
				t.Fatal(err)
			}
		}
		if got := reload(t, s, p.ID); got.Status != StatusSucceeded || deref(got.CardLast4) != "4242" {
			t.Errorf("authorised %s payment: %s", p.Status, got.Status)
		}
	}
	if n := outboxCount(t, s, "events.payment.succeeded"); n != 2 {
		t.Errorf("%d payment.succeeded events, want 2", n)
	}

	// The session closed meanwhile: the authorisation is canceled.
	s.Admin = &closedSessions{}
	late := stripePayment(t, s, StatusRequiresAction, false)
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, authorize(late)); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, late.ID); got.Status != StatusCanceled {
		t.Errorf("session closed: %s", got.Status)
	}
	// Another amount than ours: refused.
	other := stripePayment(t, s, StatusProcessing, false)
	ev := authorize(other)
	ev.Amount++
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, ev); errs.KindOf(err) != errs.Invalid || reload(t, s, other.ID).Status != StatusProcessing {
		t.Errorf("amount mismatch: %v", err)
	}
}

func TestStripeChargeRefunded(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	p := stripePayment(t, s, StatusSucceeded, false)
	// A refund of ours, pending at Stripe: its report is not a new refund.
	if _, err := s.Store.Pool.Exec(ctx, `INSERT INTO runtime.refunds (id, payment_id, organization_id, livemode, amount, currency, status)
		VALUES ('re_ours', $1, 'org_1', false, 1000, 'EUR', 'pending')`, p.ID); err != nil {
		t.Fatal(err)
	}
	refunded := func(total int64) error {
		ev := intentEvent(p, stripe.EventChargeRefunded)
		ev.ChargeID, ev.AmountRefunded = "ch_1", total
		return s.StripeEvent(ctx, stripeTest, stripeAccount, ev)
	}
	refunds := func() (n int, sum int64) {
		if err := s.Store.Pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(amount), 0) FROM runtime.refunds
			WHERE payment_id = $1 AND status = 'succeeded'`, p.ID).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		return n, sum
	}
	if err := refunded(1000); err != nil {
		t.Fatal(err)
	}
	if n, _ := refunds(); n != 0 {
		t.Errorf("our own refund recorded again: %d", n)
	}
	// 2000 more refunded in Stripe's dashboard: one succeeded refund.
	for range 2 { // and its repeat counts once
		if err := refunded(3000); err != nil {
			t.Fatal(err)
		}
	}
	if n, sum := refunds(); n != 1 || sum != 2000 {
		t.Errorf("dashboard refund: %d refunds, %d", n, sum)
	}
	if got := reload(t, s, p.ID); got.AmountRefunded != 2000 {
		t.Errorf("amount_refunded %d", got.AmountRefunded)
	}
	// An older report arriving late changes nothing.
	if err := refunded(2500); err != nil {
		t.Fatal(err)
	}
	if n, _ := refunds(); n != 1 {
		t.Errorf("late report recorded: %d", n)
	}
	if n := outboxCount(t, s, "events.refund.succeeded"); n != 1 {
		t.Errorf("%d refund.succeeded events", n)
	}
	if n := outboxCount(t, s, "events.payment.refunded"); n != 1 {
		t.Errorf("%d payment.refunded events", n)
	}
	// More than the payment: refused.
	if err := refunded(p.Amount + 1); errs.KindOf(err) != errs.Invalid {
		t.Errorf("over-refund report: %v", err)
	}
	// A refund report for a payment not succeeded here: refused.
	q := stripePayment(t, s, StatusProcessing, false)
	ev := intentEvent(q, stripe.EventChargeRefunded)
	ev.AmountRefunded = 100
	if err := s.StripeEvent(ctx, stripeTest, stripeAccount, ev); errs.KindOf(err) != errs.Invalid {
		t.Errorf("refund of a processing payment: %v", err)
	}
}

func TestStripeDisputeCreated(t *testing.T) {
	s := newService(t)
	p := stripePayment(t, s, StatusSucceeded, false)
	ev := intentEvent(p, stripe.EventDisputeCreated)
	ev.Dispute = &stripe.Dispute{ID: "dp_1", Reason: "fraudulent", Status: "needs_response"}
	if err := s.StripeEvent(context.Background(), stripeTest, stripeAccount, ev); err != nil {
		t.Fatal(err)
	}
	got := reload(t, s, p.ID)
	if got.Status != StatusSucceeded || got.AmountRefunded != 0 {
		t.Errorf("dispute changed the payment's money: %+v", got)
	}
	// Recorded on the payment object, with one payment.disputed event even
	// when Stripe sends the event again.
	if err := s.StripeEvent(context.Background(), stripeTest, stripeAccount, ev); err != nil {
		t.Fatal(err)
	}
	d := Proto(got).GetDispute()
	if d.GetId() != "dp_1" || d.GetReason() != "fraudulent" || d.GetStatus() != "needs_response" || d.GetAmount() != p.Amount || d.GetCreatedAt() == nil {
		t.Errorf("dispute on the payment object: %v", d)
	}
	if n := outboxCount(t, s, "events.payment.disputed"); n != 1 {
		t.Errorf("%d payment.disputed events, want 1", n)
	}
}

// TestStripeSucceededForAClosedSessionIsRefunded: Stripe took the money of
// a pending payment after its session went to another payment or expired
// (a method Stripe captures by itself): the payment is refunded in full
// through its account, once however often the event comes, and canceled.
// Before, the event was refused and the payment left processing, the payer
// charged for a checkout that was not theirs.
func TestStripeSucceededForAClosedSessionIsRefunded(t *testing.T) {
	s, proxy := stripeService(t, &closedSessions{})
	ctx := t.Context()
	p := stripePayment(t, s, StatusProcessing, false)
	if _, err := s.Store.Pool.Exec(ctx, "UPDATE runtime.payments SET provider_account = 'pa_stripe' WHERE id = $1", p.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.StripeEvent(ctx, stripeTest, "pa_stripe", intentEvent(p, stripe.EventPaymentSucceeded)); err != nil {
			t.Fatal(err)
		}
	}
	if got := reload(t, s, p.ID); got.Status != StatusCanceled || deref(got.FailureCode) != failureSessionClosed {
		t.Errorf("payment %s (%s), want canceled (session_closed)", got.Status, deref(got.FailureCode))
	}
	var refunds []stripeCall
	for _, c := range proxy.calls {
		if c.Method == http.MethodPost && c.Path == "/v1/refunds" {
			refunds = append(refunds, c)
		}
	}
	if len(refunds) != 1 || !strings.Contains(refunds[0].IdempotencyKey, p.ID) || refunds[0].Form.Get("payment_intent") != deref(p.ProviderRef) {
		t.Errorf("refunds %+v; want one of %s, keyed by the payment", refunds, deref(p.ProviderRef))
	}
}
