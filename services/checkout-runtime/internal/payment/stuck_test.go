package payment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/routing"
)

// sessionsOfRecord stands in for admin-api as the system of record of
// sessions: CompleteSession completes an open session once (a repeat with
// the same payment answers it again; another payment is refused), and
// GetCheckout answers the session as it stands.
type sessionsOfRecord struct {
	sessionsRecorder
	mu       sync.Mutex
	sessions map[string]*adminv1.CheckoutSession
	// lostAnswer: CompleteSession completes the session, then fails as if
	// the answer was lost (the replica died before reading it).
	lostAnswer bool
	// down: CompleteSession fails unanswered (admin-api unreachable) and
	// changes nothing.
	down  bool
	calls int // CompleteSession calls
}

func newSessionsOfRecord() *sessionsOfRecord {
	return &sessionsOfRecord{sessions: map[string]*adminv1.CheckoutSession{}}
}

// open adds an open session of 5000 EUR.
func (r *sessionsOfRecord) open() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := ids.New("cs")
	r.sessions[id] = &adminv1.CheckoutSession{Id: id, Status: "open", PaymentStatus: "unpaid", Currency: "EUR", AmountTotal: 5000}
	return id
}

// set changes a session's status and payment (another payment won, it expired).
func (r *sessionsOfRecord) set(id, st, payment string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.sessions[id]
	cs.Status, cs.Payment = st, &payment
	if payment != "" {
		cs.PaymentStatus = "paid"
	}
}

func (r *sessionsOfRecord) GetCheckout(_ context.Context, req *internalapiv1.GetCheckoutRequest, _ ...grpc.CallOption) (*internalapiv1.GetCheckoutResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs, ok := r.sessions[req.GetSessionId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such session")
	}
	return &internalapiv1.GetCheckoutResponse{CheckoutSession: cs}, nil
}

func (r *sessionsOfRecord) CompleteSession(_ context.Context, req *internalapiv1.CompleteSessionRequest, _ ...grpc.CallOption) (*internalapiv1.CompleteSessionResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.down {
		return nil, status.Error(codes.Unavailable, "connection refused")
	}
	cs, ok := r.sessions[req.GetSessionId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "no such session")
	}
	if cs.GetPayment() != req.GetPaymentId() && (cs.GetStatus() != "open" || cs.GetPayment() != "") {
		return nil, status.Error(codes.FailedPrecondition, "checkout_session_not_open")
	}
	cs.Status, cs.Payment = "complete", &req.PaymentId
	if req.GetPaid() {
		cs.PaymentStatus = "paid"
	}
	if r.lostAnswer {
		return nil, status.Error(codes.Unavailable, "connection reset")
	}
	return &internalapiv1.CompleteSessionResponse{CheckoutSession: cs}, nil
}

// RecordAsyncPayment marks a session completed unpaid with the payment
// paid (or records its failure); a repeat answers the same; any other
// session is refused, as admin-api does.
func (r *sessionsOfRecord) RecordAsyncPayment(_ context.Context, req *internalapiv1.RecordAsyncPaymentRequest, _ ...grpc.CallOption) (*internalapiv1.RecordAsyncPaymentResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.sessions[req.GetSessionId()]
	if cs.GetStatus() != "complete" || cs.GetPayment() != req.GetPaymentId() {
		return nil, status.Error(codes.FailedPrecondition, "checkout_session_not_awaiting_payment")
	}
	if req.GetSucceeded() {
		cs.PaymentStatus = "paid"
	}
	return &internalapiv1.RecordAsyncPaymentResponse{CheckoutSession: cs}, nil
}

// stuckService is a service over the test provider and sessionsOfRecord.
func stuckService(t *testing.T) (*Service, *provider.Test, *sessionsOfRecord) {
	t.Helper()
	s := newService(t)
	admin := newSessionsOfRecord()
	s.Admin = admin
	tp, _ := s.Providers.Lookup(provider.NameTest)
	return s, tp.(*provider.Test), admin
}

// crash is how far a payment's request got before its replica died.
type crash int

const (
	afterInsert    crash = iota // the row, processing, no provider answer
	afterAuthorize              // the provider authorised; nothing recorded it (only the provider knows)
	// the attempt logged alone (a subscription checkout, before saving the
	// card; a runtime of before the combined statement): only the log knows
	afterAttemptLogged
	afterSetAuthorization // the answer and its attempt recorded; the session not asked
	afterCompleteSession  // the session completed with it; not captured
	afterCapture          // captured; not moved to succeeded
)

// stuckPayment records a processing card payment of session that its
// request left at c, as Pay does up to that point, and returns it with its
// provider reference ("" before the provider answered).
func stuckPayment(t *testing.T, s *Service, tp *provider.Test, admin *sessionsOfRecord, session string, c crash) (db.RuntimePayment, string) {
	t.Helper()
	return stuckPaymentWith(t, s, tp, admin, session, c, provider.TestCardSuccess)
}

// stuckPaymentWith is stuckPayment with the given test card: TestCardSuccess
// (authorised) or TestCardPending (answered later).
func stuckPaymentWith(t *testing.T, s *Service, tp *provider.Test, admin *sessionsOfRecord, session string, c crash, card string) (db.RuntimePayment, string) {
	t.Helper()
	pending := card == provider.TestCardPending
	ctx := t.Context()
	p, err := s.Store.CreatePayment(ctx, db.CreatePaymentParams{ID: ids.New("pay"), SessionID: session, OrganizationID: "org_1",
		Method: "card", Provider: provider.NameTest, Currency: "EUR", Amount: 5000, BillingCountry: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	ref := ""
	var attempt db.RecordPaymentAttemptParams
	if c >= afterAuthorize {
		res, err := tp.Authorize(ctx, provider.AuthorizeRequest{PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency,
			Card: &provider.Card{Number: card, Exp: "12/34", CVC: "123"}})
		if err != nil || (res.Outcome != provider.Authorized && !pending) || (res.Outcome != provider.Pending && pending) {
			t.Fatalf("authorize: %v %v", res.Outcome, err)
		}
		ref = res.Reference
		attempt = attemptOf(p, "", 1, routing.Target{Provider: provider.NameTest}, res, nil, false, time.Millisecond)
	}
	if c == afterAttemptLogged {
		s.recordAttempt(ctx, attempt)
	}
	if c >= afterSetAuthorization {
		// As the pay path records an answer: with its attempt, in one statement.
		set := withAttempt(db.SetAuthorizationParams{ID: p.ID, Status: StatusProcessing, ProviderRef: &ref}, attempt)
		if p, err = s.Store.SetAuthorization(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	if c >= afterCompleteSession {
		if _, err := admin.CompleteSession(ctx, completeRequest(p, !pending, completion{})); err != nil {
			t.Fatal(err)
		}
	}
	if c >= afterCapture {
		if err := tp.Capture(ctx, ref, p.Amount); err != nil {
			t.Fatal(err)
		}
	}
	backdate(t, s, p.ID)
	return p, ref
}

// backdate makes a payment untouched for an hour: past any grace.
func backdate(t *testing.T, s *Service, id string) {
	t.Helper()
	if _, err := s.Store.Pool.Exec(t.Context(), "UPDATE runtime.payments SET updated_at = now() - interval '1 hour' WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
}

// refState is where a reference stands at the test provider, found by
// trying to capture 1 of it: "captured" (for another amount), "voided", or
// "authorized" (the probe captured it then).
func refState(t *testing.T, tp *provider.Test, ref string) string {
	t.Helper()
	switch err := tp.Capture(t.Context(), ref, 1); {
	case errors.Is(err, provider.ErrAlreadyCaptured):
		return "captured"
	case errors.Is(err, provider.ErrAlreadyVoided):
		return "voided"
	case err != nil:
		t.Fatalf("capture %s: %v", ref, err)
	}
	return "authorized"
}

// paymentEvents counts a payment's payment.succeeded and payment.failed events.
func paymentEvents(t *testing.T, s *Service, id string) string {
	t.Helper()
	var got []string
	for _, ev := range outboxEvents(t, s, id) {
		got = append(got, ev.GetType())
	}
	return fmt.Sprint(got)
}

func reconciler(s *Service) *PaymentReconciler {
	return &PaymentReconciler{Service: s, Interval: time.Minute, Grace: time.Minute}
}

// TestStuckPaymentIsSettledFromItsSession: a replica killed at each point of
// the pay path leaves a processing payment; one pass carries it to the end
// the session calls for, with its event once, and voids what no session
// takes; a second pass changes nothing.
func TestStuckPaymentIsSettledFromItsSession(t *testing.T) {
	for _, tc := range []struct {
		name    string
		at      crash
		session func(a *sessionsOfRecord, id string) // the session's fate meanwhile
		status  string
		ref     string // where the reference ends: captured, or voided (probe)
		events  string
		// completes: the reconciler asks admin-api to complete the session.
		completes bool
	}{
		{"after insert", afterInsert, nil, StatusFailed, "", "[payment.failed]", false},
		{"after authorize, nothing recorded: the provider finds it", afterAuthorize, nil, StatusFailed, "voided", "[payment.failed]", false},
		{"after the attempt was logged alone", afterAttemptLogged, nil, StatusFailed, "voided", "[payment.failed]", false},
		{"after SetAuthorization, session open", afterSetAuthorization, nil, StatusSucceeded, "captured", "[payment.succeeded]", true},
		{"after SetAuthorization, session paid by another", afterSetAuthorization,
			func(a *sessionsOfRecord, id string) { a.set(id, "complete", "pay_other") }, StatusCanceled, "voided", "[]", false},
		{"after SetAuthorization, session expired", afterSetAuthorization,
			func(a *sessionsOfRecord, id string) { a.set(id, "expired", "") }, StatusCanceled, "voided", "[]", false},
		{"after SetAuthorization, session gone", afterSetAuthorization,
			func(a *sessionsOfRecord, id string) { delete(a.sessions, id) }, StatusCanceled, "voided", "[]", false},
		{"after CompleteSession", afterCompleteSession, nil, StatusSucceeded, "captured", "[payment.succeeded]", false},
		{"after capture", afterCapture, nil, StatusSucceeded, "captured", "[payment.succeeded]", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, tp, admin := stuckService(t)
			session := admin.open()
			p, ref := stuckPayment(t, s, tp, admin, session, tc.at)
			if tc.session != nil {
				tc.session(admin, session)
			}
			calls := admin.calls
			r := reconciler(s)
			if n, err := r.ReconcileOnce(t.Context()); err != nil || n != 1 {
				t.Fatalf("pass: %d claimed, %v", n, err)
			}
			got := reload(t, s, p.ID)
			if got.Status != tc.status {
				t.Fatalf("status %s (%s), want %s", got.Status, deref(got.FailureCode), tc.status)
			}
			if (admin.calls > calls) != tc.completes {
				t.Errorf("CompleteSession asked %d times by the pass, want asked %v", admin.calls-calls, tc.completes)
			}
			if ev := paymentEvents(t, s, p.ID); ev != tc.events {
				t.Errorf("events %s, want %s", ev, tc.events)
			}
			// A second pass, however late, claims nothing and changes nothing.
			backdate(t, s, p.ID)
			if n, err := r.ReconcileOnce(t.Context()); err != nil || n != 0 {
				t.Fatalf("second pass: %d claimed, %v", n, err)
			}
			if again := reload(t, s, p.ID); again.Status != got.Status || again.EventSequence != got.EventSequence {
				t.Errorf("second pass moved it: %s (seq %d → %d)", again.Status, got.EventSequence, again.EventSequence)
			}
			if ev := paymentEvents(t, s, p.ID); ev != tc.events {
				t.Errorf("events after the second pass %s", ev)
			}
			if tc.ref != "" {
				if st := refState(t, tp, ref); st != tc.ref {
					t.Errorf("reference %s, want %s", st, tc.ref)
				}
			}
		})
	}
}

// TestStuckPaymentWithinGraceIsLeft: a payment whose request may still run
// is not touched.
func TestStuckPaymentWithinGraceIsLeft(t *testing.T) {
	s, tp, admin := stuckService(t)
	p, _ := stuckPayment(t, s, tp, admin, admin.open(), afterSetAuthorization)
	if _, err := s.Store.Pool.Exec(t.Context(), "UPDATE runtime.payments SET updated_at = now() WHERE id = $1", p.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := reconciler(s).ReconcileOnce(t.Context()); err != nil || n != 0 {
		t.Fatalf("%d claimed, %v", n, err)
	}
	if got := reload(t, s, p.ID); got.Status != StatusProcessing {
		t.Fatalf("status %s", got.Status)
	}
}

// TestStuckPaymentCapturedForAnotherSessionIsRefunded: a reference captured
// although its session named another payment (a double capture) is refunded
// in full, and the payment canceled.
func TestStuckPaymentCapturedForAnotherSessionIsRefunded(t *testing.T) {
	s, tp, admin := stuckService(t)
	session := admin.open()
	p, ref := stuckPayment(t, s, tp, admin, session, afterSetAuthorization)
	if err := tp.Capture(t.Context(), ref, p.Amount); err != nil {
		t.Fatal(err)
	}
	admin.set(session, "complete", "pay_other")
	if _, err := reconciler(s).ReconcileOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, p.ID); got.Status != StatusCanceled {
		t.Fatalf("status %s", got.Status)
	}
	// Nothing is left of the capture to refund: the reconciler refunded it all.
	_, err := tp.Refund(t.Context(), provider.RefundRequest{Reference: ref, RefundID: "re_probe", Amount: 1, Currency: "EUR"})
	if !errors.Is(err, provider.ErrRefundAmount) {
		t.Fatalf("a further refund: %v, want ErrRefundAmount", err)
	}
}

// TestPayLosingCompleteSessionAnswerIsReconciled drives the pay path: the
// session is completed but the answer never comes back (the replica dies
// in the call), so the payment stays processing and authorised. The pass
// captures it and it succeeds, once.
func TestPayLosingCompleteSessionAnswerIsReconciled(t *testing.T) {
	s, tp, admin := stuckService(t)
	session := admin.open()
	admin.lostAnswer = true
	a := routedAttempt(provider.TestCardSuccess, "")
	a.Checkout.CheckoutSession.Id = session
	if _, err := s.Pay(t.Context(), a); status.Code(err) != codes.Unavailable {
		t.Fatalf("pay: %v, want the lost answer", err)
	}
	p, err := s.Store.LatestPayment(t.Context(), session)
	if err != nil || p.Status != StatusProcessing || p.ProviderRef == nil {
		t.Fatalf("after the lost answer: %s ref %v, %v", p.Status, p.ProviderRef, err)
	}
	admin.lostAnswer = false
	backdate(t, s, p.ID)
	if _, err := reconciler(s).ReconcileOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, p.ID); got.Status != StatusSucceeded {
		t.Fatalf("status %s", got.Status)
	}
	if st := refState(t, tp, *p.ProviderRef); st != "captured" {
		t.Fatalf("reference %s", st)
	}
	if ev := paymentEvents(t, s, p.ID); ev != "[payment.succeeded]" {
		t.Fatalf("events %s", ev)
	}
}

// TestPayForAGoneSessionIsReleased: admin-api answers NotFound when the
// pay path completes the session (it no longer has it). No payment can
// complete it, so, as for a closed session, the authorisation is voided at
// once and the payment canceled, instead of waiting processing for the
// reconciler.
func TestPayForAGoneSessionIsReleased(t *testing.T) {
	s, tp, admin := stuckService(t)
	a := routedAttempt(provider.TestCardSuccess, "") // a session admin-api does not have
	res, err := s.Pay(t.Context(), a)
	if err != nil || !res.Closed || res.Payment.Status != StatusCanceled || deref(res.Payment.FailureCode) != failureSessionClosed {
		t.Fatalf("pay: %s (%s) closed %v, %v; want canceled (%s)", res.Payment.Status, deref(res.Payment.FailureCode), res.Closed, err, failureSessionClosed)
	}
	if admin.calls != 1 {
		t.Fatalf("CompleteSession asked %d times", admin.calls)
	}
	if st := refState(t, tp, deref(res.Payment.ProviderRef)); st != "voided" {
		t.Fatalf("reference %s, want voided", st)
	}
	if ev := paymentEvents(t, s, res.Payment.ID); ev != "[]" {
		t.Fatalf("events %s", ev)
	}
}

// TestLateAuthorizationOfAFailedPaymentIsVoided: the pay path's provider
// answer comes after the reconciler failed the payment (past its grace);
// the payment stays failed, the authorisation is logged with its attempt
// and voided, never captured.
func TestLateAuthorizationOfAFailedPaymentIsVoided(t *testing.T) {
	s, tp, admin := stuckService(t)
	p, _ := stuckPayment(t, s, tp, admin, admin.open(), afterInsert)
	if _, err := reconciler(s).ReconcileOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	res, err := tp.Authorize(t.Context(), provider.AuthorizeRequest{PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency,
		Card: &provider.Card{Number: provider.TestCardSuccess, Exp: "12/34", CVC: "123"}})
	if err != nil {
		t.Fatal(err)
	}
	attempt := attemptOf(p, "", 1, routing.Target{Provider: provider.NameTest}, res, nil, false, time.Millisecond)
	got, err := s.afterAuthorize(t.Context(), tp, p, res, completion{}, &attempt)
	if err != nil || got.Payment.Status != StatusFailed {
		t.Fatalf("late answer: %s, %v", got.Payment.Status, err)
	}
	// The answer found no payment to record it on, but its attempt is logged.
	if held, err := s.heldAttempt(t.Context(), got.Payment); err != nil || deref(held.ProviderRef) != res.Reference {
		t.Fatalf("attempt log: %+v, %v; want the late authorisation", held, err)
	}
	if admin.calls != 0 {
		t.Fatalf("the session was asked to complete %d times", admin.calls)
	}
	if st := refState(t, tp, res.Reference); st != "voided" {
		t.Fatalf("the late authorisation: %s, want voided", st)
	}
}

// TestConcurrentReconcilersSettleEachPaymentOnce: several sessions, each
// with three payments authorised and recorded but never completed (three
// tabs, the replica killed); two replicas' reconcilers at once complete
// each session with one payment, capture it once, and void the others.
func TestConcurrentReconcilersSettleEachPaymentOnce(t *testing.T) {
	s, tp, admin := stuckService(t)
	const sessions, tabs = 4, 3
	refs := map[string]string{} // payment → reference
	bySession := map[string][]string{}
	for range sessions {
		session := admin.open()
		for range tabs {
			p, ref := stuckPayment(t, s, tp, admin, session, afterSetAuthorization)
			refs[p.ID] = ref
			bySession[session] = append(bySession[session], p.ID)
		}
	}
	var wg sync.WaitGroup
	claimed := make([]int, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { claimed[i], errs[i] = reconciler(s).ReconcileOnce(context.Background()) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if claimed[0]+claimed[1] != sessions*tabs {
		t.Fatalf("claimed %v, want %d in all (each once)", claimed, sessions*tabs)
	}
	for session, pays := range bySession {
		succeeded := 0
		for _, id := range pays {
			p := reload(t, s, id)
			switch p.Status {
			case StatusSucceeded:
				succeeded++
				if admin.sessions[session].GetPayment() != id {
					t.Errorf("%s succeeded but the session names %s", id, admin.sessions[session].GetPayment())
				}
				if st := refState(t, tp, refs[id]); st != "captured" {
					t.Errorf("winner %s: %s", id, st)
				}
				if ev := paymentEvents(t, s, id); ev != "[payment.succeeded]" {
					t.Errorf("winner %s events %s", id, ev)
				}
			case StatusCanceled:
				if err := tp.Capture(t.Context(), refs[id], p.Amount); !errors.Is(err, provider.ErrAlreadyVoided) {
					t.Errorf("loser %s: capture = %v, want ErrAlreadyVoided", id, err)
				}
			default:
				t.Errorf("payment %s", p.Status)
			}
		}
		if succeeded != 1 {
			t.Errorf("session %s: %d payments succeeded, want 1", session, succeeded)
		}
	}
}

// TestStuckPendingPaymentCompletesItsSessionUnpaid: a payment answered
// pending ("succeeds later") whose replica died before completing the
// session completes it unpaid, as the pay path would have, and is not
// captured: its provider's answer settles it, once. One whose session
// another payment took is voided.
func TestStuckPendingPaymentCompletesItsSessionUnpaid(t *testing.T) {
	s, tp, admin := stuckService(t)
	session := admin.open()
	p, ref := stuckPaymentWith(t, s, tp, admin, session, afterSetAuthorization, provider.TestCardPending)
	r := reconciler(s)
	for pass := range 2 { // the second pass, the session waiting, leaves it
		if n, err := r.ReconcileOnce(t.Context()); err != nil || n != 1 {
			t.Fatalf("pass %d: %d claimed, %v", pass, n, err)
		}
		cs := admin.sessions[session]
		if cs.GetStatus() != "complete" || cs.GetPayment() != p.ID || cs.GetPaymentStatus() != "unpaid" {
			t.Fatalf("pass %d: session %s %s by %s, want complete unpaid by %s", pass, cs.GetStatus(), cs.GetPaymentStatus(), cs.GetPayment(), p.ID)
		}
		if got := reload(t, s, p.ID); got.Status != StatusProcessing {
			t.Fatalf("pass %d: status %s, want processing until the provider answers", pass, got.Status)
		}
		if ev := paymentEvents(t, s, p.ID); ev != "[]" {
			t.Fatalf("pass %d: events %s", pass, ev)
		}
		backdate(t, s, p.ID)
	}
	if got, err := s.AsyncResult(t.Context(), testProvider, p.ID, true, ""); err != nil || got.Status != StatusSucceeded {
		t.Fatalf("the provider's answer: %s, %v", got.Status, err)
	}
	if st := refState(t, tp, ref); st != "captured" {
		t.Fatalf("reference %s", st)
	}

	other := admin.open()
	lost, lostRef := stuckPaymentWith(t, s, tp, admin, other, afterSetAuthorization, provider.TestCardPending)
	admin.set(other, "complete", "pay_other")
	if _, err := r.ReconcileOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, lost.ID); got.Status != StatusCanceled {
		t.Fatalf("pending payment of a session paid by another: %s", got.Status)
	}
	if st := refState(t, tp, lostRef); st != "voided" {
		t.Fatalf("its reference %s", st)
	}
}

// TestStuckOffSessionChargeIsSettled: a renewal's charge (no session) left
// processing is captured when the provider authorised it, as
// ChargeOffSession would have gone on to do, and fails when no answer was
// recorded; its caller's retry with the same key then gets the outcome.
func TestStuckOffSessionChargeIsSettled(t *testing.T) {
	s, tp, admin := stuckService(t)
	charge := func(authorised bool) (db.RuntimePayment, string) {
		key := ids.New("idem")
		p, err := s.Store.CreateOffSessionPayment(t.Context(), db.CreateOffSessionPaymentParams{ID: ids.New("pay"), InvoiceID: ids.New("in"),
			OrganizationID: "org_1", Provider: provider.NameTest, Currency: "EUR", Amount: 5000, IdempotencyKey: &key})
		if err != nil {
			t.Fatal(err)
		}
		ref := ""
		if authorised {
			res, err := tp.Authorize(t.Context(), provider.AuthorizeRequest{PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency,
				Card: &provider.Card{Number: provider.TestCardSuccess, Exp: "12/34", CVC: "123"}})
			if err != nil {
				t.Fatal(err)
			}
			ref = res.Reference
			if _, err := s.Store.SetAuthorization(t.Context(), db.SetAuthorizationParams{ID: p.ID, Status: StatusProcessing, ProviderRef: &ref}); err != nil {
				t.Fatal(err)
			}
		}
		backdate(t, s, p.ID)
		return p, ref
	}
	captured, ref := charge(true)
	interrupted, _ := charge(false)
	if n, err := reconciler(s).ReconcileOnce(t.Context()); err != nil || n != 2 {
		t.Fatalf("%d claimed, %v", n, err)
	}
	if got := reload(t, s, captured.ID); got.Status != StatusSucceeded {
		t.Errorf("authorised charge: %s, want succeeded", got.Status)
	}
	if st := refState(t, tp, ref); st != "captured" {
		t.Errorf("its reference %s", st)
	}
	if ev := paymentEvents(t, s, captured.ID); ev != "[payment.succeeded]" {
		t.Errorf("its events %s", ev)
	}
	if got := reload(t, s, interrupted.ID); got.Status != StatusFailed || deref(got.FailureCode) != FailureInterrupted {
		t.Errorf("interrupted charge: %s %s, want failed %s", got.Status, deref(got.FailureCode), FailureInterrupted)
	}
	if admin.calls != 0 {
		t.Errorf("a session was asked to complete %d times", admin.calls)
	}
}

// TestOrphanedStripeAuthorizationIsVoided: the replica died after Stripe
// authorised a payment and before anything recorded Stripe's answer (no
// reference on the payment, no attempt logged). The reconciler finds the
// intent by the payment's id (Stripe's search, checked by stripe-mock) and
// cancels it, rather than leaving the payer's funds held until the
// authorisation lapses; the payment fails and the session stays open.
func TestOrphanedStripeAuthorizationIsVoided(t *testing.T) {
	admin := newSessionsOfRecord()
	s, proxy := stripeService(t, admin)
	ctx := t.Context()
	p, err := s.Store.CreatePayment(ctx, db.CreatePaymentParams{ID: ids.New("pay"), SessionID: admin.open(), OrganizationID: "org_1",
		Method: "card", Provider: provider.NameStripe, Currency: "EUR", Amount: 5000, BillingCountry: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err = s.Store.MovePaymentToAccount(ctx, db.MovePaymentToAccountParams{ID: p.ID, Provider: provider.NameStripe,
		ProviderAccount: optional("pa_stripe")}); err != nil {
		t.Fatal(err)
	}
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	proxy.setStatus("requires_capture")
	res, err := prov.Authorize(ctx, provider.AuthorizeRequest{PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency,
		Token: "ctoken_123", ReturnURL: "https://secure.example.com/checkout/cs_x/return"})
	if err != nil || res.Outcome != provider.Authorized {
		t.Fatalf("authorize: %+v, %v", res, err)
	}
	backdate(t, s, p.ID) // and the replica is gone

	if _, err := reconciler(s).ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Store.GetPayment(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusFailed || deref(got.FailureCode) != FailureInterrupted {
		t.Errorf("payment %s (%s), want failed (%s)", got.Status, deref(got.FailureCode), FailureInterrupted)
	}
	wantCalls(t, proxy.paths(t), "POST /v1/payment_intents", "GET /v1/payment_intents/search", "POST /v1/payment_intents/{pi}/cancel")
	proxy.mu.Lock()
	calls := proxy.calls
	proxy.mu.Unlock()
	if len(calls) != 3 {
		t.FailNow()
	}
	search, cancel := calls[1], calls[2]
	if cancel.Path != "/v1/payment_intents/"+res.Reference+"/cancel" {
		t.Errorf("cancelled %s, want the authorisation %s", cancel.Path, res.Reference)
	}
	if q := search.Query.Get("query"); q != "metadata['tillpoint_payment_id']:'"+p.ID+"'" {
		t.Errorf("searched %q, want the payment's id", q)
	}
	if admin.calls != 0 {
		t.Errorf("the session was asked to complete %d times", admin.calls)
	}
	if ev := paymentEvents(t, s, p.ID); ev != "[payment.failed]" {
		t.Errorf("events %s, want [payment.failed]", ev)
	}
}

// TestStripeAuthorisationNotSearchableYet: Stripe's search may show an
// intent up to an hour after it was made (provider.LaggingFinder). A stuck
// Stripe payment that the search does not find is asked about again while
// it is younger than that, rather than failed at once: failed, its
// authorisation, appearing later, would be held until it lapses. Older, it
// fails.
func TestStripeAuthorisationNotSearchableYet(t *testing.T) {
	admin := newSessionsOfRecord()
	s, proxy := stripeService(t, admin)
	ctx := t.Context()
	p, err := s.Store.CreatePayment(ctx, db.CreatePaymentParams{ID: ids.New("pay"), SessionID: admin.open(), OrganizationID: "org_1",
		Method: "card", Provider: provider.NameStripe, Currency: "EUR", Amount: 5000, BillingCountry: "FR"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = s.Store.MovePaymentToAccount(ctx, db.MovePaymentToAccountParams{ID: p.ID, Provider: provider.NameStripe,
		ProviderAccount: optional("pa_stripe")}); err != nil {
		t.Fatal(err)
	}
	backdate(t, s, p.ID) // the replica died before Stripe answered, or before Stripe indexed its answer
	if _, err := reconciler(s).ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, p.ID); got.Status != StatusProcessing {
		t.Fatalf("a payment of a minute ago that Stripe's search does not show: %s, want processing", got.Status)
	}
	wantCalls(t, proxy.paths(t), "GET /v1/payment_intents/search")

	if _, err := s.Store.Pool.Exec(ctx, "UPDATE runtime.payments SET created_at = now() - interval '2 hours' WHERE id = $1", p.ID); err != nil {
		t.Fatal(err)
	}
	backdate(t, s, p.ID)
	if _, err := reconciler(s).ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, p.ID); got.Status != StatusFailed || deref(got.FailureCode) != FailureInterrupted {
		t.Errorf("two hours on: %s (%s), want failed (%s)", got.Status, deref(got.FailureCode), FailureInterrupted)
	}
}
