package payment

import (
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// TestAsyncCallbacksOfTwoPaymentsForOneSession: the first attempt's
// provider answered pending but completing the session failed (its request
// answered 503), and a retry's payment, pending too, completed the session.
// Whatever order the two "succeeded" callbacks come in, the session's
// payment is captured and marks it paid, the other is voided and canceled,
// and each callback applies without error (acknowledged, not redelivered),
// repeats changing nothing. When the first callback comes while the
// session is still open, its payment takes the session and the retry's is
// the one voided.
func TestAsyncCallbacksOfTwoPaymentsForOneSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		// retryCompletes: the retry completed the session before any callback.
		retryCompletes bool
		// firstCallback: the first attempt's callback comes before the retry's.
		firstCallback bool
	}{
		{"retry completed the session; the first attempt's callback first", true, true},
		{"retry completed the session; the retry's callback first", true, false},
		{"the first attempt's callback while the session is open", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, tp, admin := stuckService(t)
			session := admin.open()
			first, firstRef := stuckPaymentWith(t, s, tp, admin, session, afterSetAuthorization, provider.TestCardPending)
			retryState := afterSetAuthorization
			if tc.retryCompletes {
				retryState = afterCompleteSession
			}
			retry, retryRef := stuckPaymentWith(t, s, tp, admin, session, retryState, provider.TestCardPending)
			winner, winnerRef, loser, loserRef := retry.ID, retryRef, first.ID, firstRef
			if !tc.retryCompletes {
				winner, winnerRef, loser, loserRef = first.ID, firstRef, retry.ID, retryRef
			}
			order := []string{retry.ID, first.ID}
			if tc.firstCallback {
				order = []string{first.ID, retry.ID}
			}
			for round := range 2 { // the second round: redeliveries
				for _, id := range order {
					if _, err := s.AsyncResult(t.Context(), testProvider, id, true, ""); err != nil {
						t.Fatalf("round %d: callback of %s: %v", round, id, err)
					}
				}
				cs := admin.sessions[session]
				if cs.GetStatus() != "complete" || cs.GetPayment() != winner || cs.GetPaymentStatus() != "paid" {
					t.Fatalf("round %d: session %s %s by %s, want complete paid by %s", round, cs.GetStatus(), cs.GetPaymentStatus(), cs.GetPayment(), winner)
				}
				if got := reload(t, s, winner); got.Status != StatusSucceeded {
					t.Fatalf("round %d: the session's payment is %s", round, got.Status)
				}
				if got := reload(t, s, loser); got.Status != StatusCanceled || deref(got.FailureCode) != failureSessionClosed {
					t.Fatalf("round %d: the other payment is %s (%s)", round, got.Status, deref(got.FailureCode))
				}
				if ev := paymentEvents(t, s, winner); ev != "[payment.succeeded]" {
					t.Fatalf("round %d: the session's payment's events %s", round, ev)
				}
				if ev := paymentEvents(t, s, loser); ev != "[]" {
					t.Fatalf("round %d: the other payment's events %s", round, ev)
				}
			}
			if st := refState(t, tp, winnerRef); st != "captured" {
				t.Fatalf("the session's payment's reference %s", st)
			}
			if st := refState(t, tp, loserRef); st != "voided" {
				t.Fatalf("the other payment's reference %s", st)
			}
			// Nothing is left for the reconciler.
			backdate(t, s, winner)
			backdate(t, s, loser)
			if n, err := reconciler(s).ReconcileOnce(t.Context()); err != nil || n != 0 {
				t.Fatalf("reconciler: %d claimed, %v", n, err)
			}
		})
	}
}

// TestSecondCaptureOfASessionIsRefunded: the state seed 1103 left (the
// first attempt captured by its callback without its session's word, the
// session completed unpaid by the retry's payment): the retry's callback is
// applied once, its payment refunded and canceled, instead of failing on
// payments_one_captured at every redelivery.
func TestSecondCaptureOfASessionIsRefunded(t *testing.T) {
	s, tp, admin := stuckService(t)
	session := admin.open()
	first, firstRef := stuckPaymentWith(t, s, tp, admin, session, afterSetAuthorization, provider.TestCardPending)
	retry, _ := stuckPaymentWith(t, s, tp, admin, session, afterCompleteSession, provider.TestCardPending)
	if err := tp.Capture(t.Context(), firstRef, first.Amount); err != nil {
		t.Fatal(err)
	}
	if _, err := s.move(t.Context(), first, StatusSucceeded, "", "", StatusProcessing); err != nil {
		t.Fatal(err)
	}
	for delivery := range 2 {
		if _, err := s.AsyncResult(t.Context(), testProvider, retry.ID, true, ""); err != nil {
			t.Fatalf("delivery %d: %v", delivery, err)
		}
		if got := reload(t, s, retry.ID); got.Status != StatusCanceled {
			t.Fatalf("delivery %d: the retry's payment is %s", delivery, got.Status)
		}
		if ev := paymentEvents(t, s, retry.ID); ev != "[]" {
			t.Fatalf("delivery %d: the retry's payment's events %s", delivery, ev)
		}
	}
}
