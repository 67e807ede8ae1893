package payment

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// bankPay runs the pay path of a bank transfer for session (5000 EUR,
// reference ref) and returns its payment, processing whatever admin-api
// answered.
func bankPay(t *testing.T, s *Service, session, ref string) db.RuntimePayment {
	t.Helper()
	a := routedAttempt("", "")
	a.Method, a.Card = "bank_transfer", nil
	a.Checkout.CheckoutSession.Id, a.Checkout.CheckoutSession.Reference = session, ref
	res, err := s.Pay(t.Context(), a)
	if err != nil && status.Code(err) != codes.Unavailable {
		t.Fatalf("bank transfer: %v", err)
	}
	p, err := s.Store.LatestPayment(t.Context(), session)
	if err != nil || p.Method != "bank_transfer" || p.Status != StatusProcessing {
		t.Fatalf("bank transfer: %s %s, %v (pay answered %s)", p.Method, p.Status, err, res.Payment.Status)
	}
	return p
}

// bankFunds delivers the test bank feed's funds.received for ref, as the
// callback consumer applies it.
func bankFunds(t *testing.T, s *Service, id, ref string, amount int64) error {
	t.Helper()
	cb := provider.NewFundsReceived(ref, amount, "EUR")
	cb.ID = id
	return (&Callbacks{Service: s, Logger: s.Logger}).apply(t.Context(), testFeed, cb)
}

// bankThenCard opens a session whose bank transfer (reference ref) could
// not complete it (admin-api down), then pays it by card; it returns the
// session, the bank payment and the card's result.
func bankThenCard(t *testing.T, s *Service, admin *sessionsOfRecord, ref string) (string, db.RuntimePayment, Result) {
	t.Helper()
	session := admin.open()
	admin.down = true
	bank := bankPay(t, s, session, ref)
	admin.down = false
	card := routedAttempt(provider.TestCardSuccess, "")
	card.Checkout.CheckoutSession.Id = session
	paid, err := s.Pay(t.Context(), card)
	if err != nil || paid.Payment.Status != StatusSucceeded {
		t.Fatalf("card: %s, %v", paid.Payment.Status, err)
	}
	return session, bank, paid
}

// TestBankFundsForASessionAnotherPaymentTook: the payer chose bank
// transfer but completing the session failed (admin-api down), then paid
// by card on the same session, then the transfer came. The funds do not
// complete or pay the session again: they are recorded, all owed back to
// the payer (amount_overpaid), the bank payment is canceled
// (session_closed), a warning is logged and the merchant gets
// payment.overpaid, once, however often the feed repeats it.
func TestBankFundsForASessionAnotherPaymentTook(t *testing.T) {
	s, tp, admin := stuckService(t)
	var logs bytes.Buffer
	s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	session, bank, paid := bankThenCard(t, s, admin, "TP-BANK-TAKEN")
	for delivery := range 2 {
		if err := bankFunds(t, s, "fr_taken", "TP-BANK-TAKEN", 5000); err != nil {
			t.Fatalf("delivery %d: %v", delivery, err)
		}
		if cs := admin.sessions[session]; cs.GetStatus() != "complete" || cs.GetPaymentStatus() != "paid" || cs.GetPayment() != paid.Payment.ID {
			t.Fatalf("delivery %d: session %s %s by %s, want complete paid by the card's %s", delivery,
				cs.GetStatus(), cs.GetPaymentStatus(), cs.GetPayment(), paid.Payment.ID)
		}
		got := reload(t, s, bank.ID)
		if got.Status != StatusCanceled || deref(got.FailureCode) != failureSessionClosed || got.AmountReceived != 5000 || got.AmountOverpaid != 5000 {
			t.Fatalf("delivery %d: bank payment %s (%s), received %d, overpaid %d; want canceled (%s), 5000 received, all overpaid",
				delivery, got.Status, deref(got.FailureCode), got.AmountReceived, got.AmountOverpaid, failureSessionClosed)
		}
		if strings.Contains(deref(got.FailureMessage), "nothing was charged") {
			t.Errorf("failure message %q: the funds did come", deref(got.FailureMessage))
		}
		if ev := paymentEvents(t, s, bank.ID); ev != "[payment.overpaid]" {
			t.Fatalf("delivery %d: bank payment's events %s", delivery, ev)
		}
		if ev := paymentEvents(t, s, paid.Payment.ID); ev != "[payment.succeeded]" {
			t.Fatalf("delivery %d: card payment's events %s", delivery, ev)
		}
	}
	if ev := outboxEvents(t, s, bank.ID); ev[0].GetPayment().GetAmountOverpaid() != 5000 {
		t.Errorf("payment.overpaid carries amount_overpaid %d", ev[0].GetPayment().GetAmountOverpaid())
	}
	if got := reload(t, s, paid.Payment.ID); got.Status != StatusSucceeded || refState(t, tp, deref(got.ProviderRef)) != "captured" {
		t.Errorf("card payment %s", got.Status)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), bank.ID) {
		t.Errorf("no warning names the bank payment:\n%s", logs.String())
	}
}

// TestBankFundsCompleteAnOpenSession: the bank transfer's completion of its
// session was lost (admin-api down), so the session is still open when the
// funds come: they complete it with the bank payment, then mark it paid,
// as a provider's async callback does. While admin-api is unreachable the
// funds are recorded and the callback fails (redelivered), the payment
// processing; the redelivery settles it.
func TestBankFundsCompleteAnOpenSession(t *testing.T) {
	s, _, admin := stuckService(t)
	session := admin.open()
	admin.down = true
	bank := bankPay(t, s, session, "TP-BANK-OPEN")
	if err := bankFunds(t, s, "fr_open", "TP-BANK-OPEN", 5000); status.Code(err) != codes.Unavailable {
		t.Fatalf("funds while admin-api is down: %v, want the outage (redelivered)", err)
	}
	if got := reload(t, s, bank.ID); got.Status != StatusProcessing || got.AmountReceived != 5000 {
		t.Fatalf("after the outage: %s, received %d", got.Status, got.AmountReceived)
	}
	if cs := admin.sessions[session]; cs.GetStatus() != "open" {
		t.Fatalf("session %s during the outage", cs.GetStatus())
	}
	admin.down = false
	if err := bankFunds(t, s, "fr_open", "TP-BANK-OPEN", 5000); err != nil {
		t.Fatal(err)
	}
	if cs := admin.sessions[session]; cs.GetStatus() != "complete" || cs.GetPaymentStatus() != "paid" || cs.GetPayment() != bank.ID {
		t.Fatalf("session %s %s by %s, want complete paid by %s", cs.GetStatus(), cs.GetPaymentStatus(), cs.GetPayment(), bank.ID)
	}
	got := reload(t, s, bank.ID)
	if got.Status != StatusSucceeded || got.AmountReceived != 5000 || got.AmountOverpaid != 0 {
		t.Fatalf("bank payment %s, received %d, overpaid %d", got.Status, got.AmountReceived, got.AmountOverpaid)
	}
	if ev := paymentEvents(t, s, bank.ID); ev != "[payment.succeeded]" {
		t.Fatalf("events %s", ev)
	}
}

// TestPartialBankFundsForASessionAnotherPaymentTook: part of the transfer
// comes after the payer paid the session by card. The rest would never pay
// it, so the part is owed back at once (canceled, session_closed, all of it
// overpaid, payment.overpaid); the rest, when it comes, is owed back too,
// with its own event. A partial amount for a session still waiting for
// the transfer is only recorded.
func TestPartialBankFundsForASessionAnotherPaymentTook(t *testing.T) {
	s, _, admin := stuckService(t)
	waiting := bankPay(t, s, admin.open(), "TP-BANK-WAIT")
	if err := bankFunds(t, s, "fr_wait", "TP-BANK-WAIT", 1000); err != nil {
		t.Fatal(err)
	}
	if got := reload(t, s, waiting.ID); got.Status != StatusProcessing || got.AmountReceived != 1000 || got.AmountOverpaid != 0 {
		t.Fatalf("partial funds for a waiting session: %s, received %d, overpaid %d", got.Status, got.AmountReceived, got.AmountOverpaid)
	}

	session, bank, _ := bankThenCard(t, s, admin, "TP-BANK-PART")
	for _, step := range []struct {
		receipt          string
		amount, overpaid int64
		events           string
	}{
		{"fr_part", 1000, 1000, "[payment.overpaid]"},
		{"fr_rest", 4000, 5000, "[payment.overpaid payment.overpaid]"},
	} {
		if err := bankFunds(t, s, step.receipt, "TP-BANK-PART", step.amount); err != nil {
			t.Fatalf("%s: %v", step.receipt, err)
		}
		got := reload(t, s, bank.ID)
		if got.Status != StatusCanceled || deref(got.FailureCode) != failureSessionClosed || got.AmountOverpaid != step.overpaid || got.AmountReceived != step.overpaid {
			t.Fatalf("%s: %s (%s), received %d, overpaid %d; want canceled, %d received and overpaid",
				step.receipt, got.Status, deref(got.FailureCode), got.AmountReceived, got.AmountOverpaid, step.overpaid)
		}
		if ev := paymentEvents(t, s, bank.ID); ev != step.events {
			t.Fatalf("%s: events %s, want %s", step.receipt, ev, step.events)
		}
	}
	if cs := admin.sessions[session]; cs.GetPayment() == bank.ID {
		t.Fatalf("the transfer took the session")
	}
}
