package payment

import (
	"net/http"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack/paystacktest"
)

// stuckMobileMoneyService is a Service whose paystackAccount is at Prism's
// Paystack (through hc, nil: the default client), over sessionsOfRecord.
func stuckMobileMoneyService(t *testing.T, hc *http.Client) (*Service, *paystacktest.Fake, *sessionsOfRecord) {
	t.Helper()
	s, fake, _ := paystackServiceVia(t, hc)
	admin := newSessionsOfRecord()
	s.Admin = admin
	return s, fake, admin
}

// stuckMobileMoney records a 2500 GHS mobile-money payment of session that
// its request left processing before Paystack's answer was recorded (no
// reference), untouched past the grace period; Paystack's charge has the
// payment's id as its reference.
func stuckMobileMoney(t *testing.T, s *Service, session string) db.RuntimePayment {
	t.Helper()
	p, err := s.Store.CreatePayment(t.Context(), db.CreatePaymentParams{ID: ids.New("pay"), SessionID: session, OrganizationID: "org_1",
		Method: MethodMobileMoney, Provider: provider.NamePaystack, Currency: "GHS", Amount: 2500, Reference: "TP-MOMO",
		BillingName: "Ama", BillingEmail: "ama@example.com", BillingCountry: "GH"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Pool.Exec(t.Context(), `UPDATE runtime.payments SET provider_account = $2 WHERE id = $1`, p.ID, paystackAccount); err != nil {
		t.Fatal(err)
	}
	backdate(t, s, p.ID)
	return reload(t, s, p.ID)
}

// reconcileMobileMoney runs one pass of the payment reconciler, which must
// claim n payments, and returns p as it then stands.
func reconcileMobileMoney(t *testing.T, s *Service, p db.RuntimePayment, n int) db.RuntimePayment {
	t.Helper()
	if got, err := reconciler(s).ReconcileOnce(t.Context()); err != nil || got != n {
		t.Fatalf("pass: claimed %d (want %d), %v", got, n, err)
	}
	return reload(t, s, p.ID)
}

// TestStuckMobileMoneyApprovedCompletesItsSession: the replica died before
// recording Paystack's answer; the payer approves on the phone later. A
// pass while the prompt is open leaves the payment; the next, after the
// approval, completes the session with it, paid: succeeded, one
// payment.succeeded, nothing refunded; the webhook after it changes nothing.
func TestStuckMobileMoneyApprovedCompletesItsSession(t *testing.T) {
	s, fake, admin := stuckMobileMoneyService(t, nil)
	session := admin.open()
	p := stuckMobileMoney(t, s, session)

	fake.Set(paystack.StatusPayOffline, 2500) // the prompt is still open on the phone
	if got := reconcileMobileMoney(t, s, p, 1); got.Status != StatusProcessing || admin.calls != 0 {
		t.Fatalf("awaiting the payer: payment %s, %d completions", got.Status, admin.calls)
	}

	fake.Set(paystack.StatusSuccess, 2500) // the payer approved
	backdate(t, s, p.ID)
	got := reconcileMobileMoney(t, s, p, 1)
	if got.Status != StatusSucceeded || deref(got.ProviderRef) != p.ID {
		t.Fatalf("approved: payment %s (reference %q), want succeeded with its charge", got.Status, deref(got.ProviderRef))
	}
	if cs := admin.sessions[session]; cs.GetPayment() != p.ID || cs.GetPaymentStatus() != "paid" || cs.GetStatus() != "complete" {
		t.Errorf("session %s/%s with %q, want complete, paid, with %s", cs.GetStatus(), cs.GetPaymentStatus(), cs.GetPayment(), p.ID)
	}
	if err := s.PaystackEvent(t.Context(), paystackTest, paystackAccount, chargeEvent(p, paystack.EventChargeSuccess)); err != nil {
		t.Fatal(err)
	}
	backdate(t, s, p.ID)
	reconcileMobileMoney(t, s, p, 0)
	if ev := paymentEvents(t, s, p.ID); ev != "[payment.succeeded]" {
		t.Errorf("events %s, want one payment.succeeded", ev)
	}
	wantPaystackRefunds(t, fake, 0, 0)
}

// TestStuckMobileMoneyNeverApprovedFails: a charge the payer never
// approves fails once MobileMoneyTimeout has passed since the payment, its
// session left open; one Paystack reports failed fails at once. Approved
// after all (a late webhook), the failed payment's money is refunded once,
// found by the payment's id since no reference was recorded.
func TestStuckMobileMoneyNeverApprovedFails(t *testing.T) {
	s, fake, admin := stuckMobileMoneyService(t, nil)
	session := admin.open()
	p := stuckMobileMoney(t, s, session)
	if _, err := s.Store.Pool.Exec(t.Context(), `UPDATE runtime.payments SET created_at = now() - interval '6 minutes' WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	fake.Set(paystack.StatusPayOffline, 2500)
	got := reconcileMobileMoney(t, s, p, 1)
	if got.Status != StatusFailed || deref(got.FailureCode) != provider.DeclinePaymentTimeout {
		t.Fatalf("never approved: payment %s (%s), want failed (%s)", got.Status, deref(got.FailureCode), provider.DeclinePaymentTimeout)
	}
	q := stuckMobileMoney(t, s, admin.open())
	fake.Set(paystack.StatusFailed, 2500)
	if got := reconcileMobileMoney(t, s, q, 1); got.Status != StatusFailed || deref(got.FailureCode) != FailureInterrupted {
		t.Fatalf("declined: payment %s (%s), want failed (%s)", got.Status, deref(got.FailureCode), FailureInterrupted)
	}
	if admin.calls != 0 || admin.sessions[session].GetStatus() != "open" {
		t.Errorf("%d completions; session %s, want open", admin.calls, admin.sessions[session].GetStatus())
	}
	for _, id := range []string{p.ID, q.ID} {
		if ev := paymentEvents(t, s, id); ev != "[payment.failed]" {
			t.Errorf("%s: events %s, want one payment.failed", id, ev)
		}
	}

	fake.Set(paystack.StatusSuccess, 2500) // the payer approved p after all
	for range 2 {
		if err := s.PaystackEvent(t.Context(), paystackTest, paystackAccount, chargeEvent(p, paystack.EventChargeSuccess)); err != nil {
			t.Fatalf("late approval: %v", err)
		}
	}
	if got := reload(t, s, p.ID); got.Status != StatusFailed {
		t.Errorf("after the late approval: %s, want still failed", got.Status)
	}
	wantPaystackRefunds(t, fake, 1, 2500)
	if re := fake.Refunds()[0]; re.Reference != p.ID {
		t.Errorf("refunded %s, want %s", re.Reference, p.ID)
	}
}

// TestStuckMobileMoneyOfATakenSessionIsRefundedOnce: the payer approved,
// but another payment completed the session meanwhile. The money is
// refunded and the payment canceled; the first pass's refund whose answer
// was lost is found by the next pass (its merchant note), not made again.
func TestStuckMobileMoneyOfATakenSessionIsRefundedOnce(t *testing.T) {
	lt := &lossyTransport{}
	s, fake, admin := stuckMobileMoneyService(t, &http.Client{Transport: lt, Timeout: 30 * time.Second})
	session := admin.open()
	p := stuckMobileMoney(t, s, session)
	admin.set(session, "complete", "pay_other")
	fake.Set(paystack.StatusSuccess, 2500)

	lt.set(loseAnswer) // Paystack makes the refund; its answer is lost
	if _, err := reconciler(s).ReconcileOnce(t.Context()); err == nil {
		t.Fatal("a pass whose refund went unanswered reported no error")
	}
	if got := reload(t, s, p.ID); got.Status != StatusProcessing {
		t.Fatalf("refund unanswered: payment %s, want processing for the next pass", got.Status)
	}
	lt.set(loseNothing)
	backdate(t, s, p.ID)
	got := reconcileMobileMoney(t, s, p, 1)
	if got.Status != StatusCanceled || deref(got.FailureCode) != failureSessionClosed {
		t.Fatalf("payment %s (%s), want canceled (%s)", got.Status, deref(got.FailureCode), failureSessionClosed)
	}
	wantPaystackRefunds(t, fake, 1, 2500)
	if cs := admin.sessions[session]; cs.GetPayment() != "pay_other" {
		t.Errorf("session now names %q", cs.GetPayment())
	}
	if ev := paymentEvents(t, s, p.ID); ev != "[]" {
		t.Errorf("events %s, want none (canceled, as on the pay path)", ev)
	}
}

// TestPaystackWebhookSettlesAProcessingPayment: charge.success for a
// payment its request left processing before recording Paystack's answer
// completes its session with it, as the reconciler would, without waiting
// for its grace period; a duplicate changes nothing.
func TestPaystackWebhookSettlesAProcessingPayment(t *testing.T) {
	s, fake, admin := stuckMobileMoneyService(t, nil)
	session := admin.open()
	p := stuckMobileMoney(t, s, session)
	fake.Set(paystack.StatusSuccess, 2500)
	for range 2 {
		if err := s.PaystackEvent(t.Context(), paystackTest, paystackAccount, chargeEvent(p, paystack.EventChargeSuccess)); err != nil {
			t.Fatal(err)
		}
	}
	if got := reload(t, s, p.ID); got.Status != StatusSucceeded {
		t.Fatalf("payment %s, want succeeded", got.Status)
	}
	if cs := admin.sessions[session]; cs.GetPayment() != p.ID || cs.GetPaymentStatus() != "paid" {
		t.Errorf("session %s with %q, want paid with %s", cs.GetPaymentStatus(), cs.GetPayment(), p.ID)
	}
	// The pay path's own answer (the charge succeeded at once) arrives
	// after the webhook settled the payment with that charge: it is the
	// payment's own money, not a late authorisation to give back.
	prov, err := s.ProviderFor(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	late := provider.Result{Outcome: provider.Authorized, Reference: p.ID, Captured: true, Amount: 2500, Currency: "GHS"}
	if res, err := s.afterAuthorize(t.Context(), prov, p, late, completion{}, nil); err != nil || res.Payment.Status != StatusSucceeded {
		t.Fatalf("the pay path's late answer: %+v, %v", res.Payment, err)
	}
	if ev := paymentEvents(t, s, p.ID); ev != "[payment.succeeded]" {
		t.Errorf("events %s, want one payment.succeeded", ev)
	}
	wantPaystackRefunds(t, fake, 0, 0)
}
