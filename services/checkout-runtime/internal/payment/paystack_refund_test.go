package payment

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack/paystacktest"
)

// What lossyTransport loses of a POST /refund.
const (
	loseNothing = iota
	loseAnswer  // Paystack made the refund; we never heard (a crash, a timeout)
	loseRequest // the request never left (Paystack made nothing)
)

// lossyTransport is the Paystack client's transport: it sends every request
// on to Prism and Paystack, recording it, and loses a POST /refund's
// request or answer when told to.
type lossyTransport struct {
	mu   sync.Mutex
	lose int
	sent []string // "METHOD path" of every request that left
}

func (lt *lossyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	lt.mu.Lock()
	lose := loseNothing
	if r.Method == http.MethodPost && r.URL.Path == "/refund" {
		lose = lt.lose
	}
	if lose != loseRequest {
		lt.sent = append(lt.sent, r.Method+" "+r.URL.Path)
	}
	lt.mu.Unlock()
	if lose == loseRequest {
		return nil, errors.New("connection refused")
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && lose == loseAnswer {
		resp.Body.Close()
		return nil, errors.New("connection reset after the request was sent")
	}
	return resp, err
}

func (lt *lossyTransport) set(lose int) {
	lt.mu.Lock()
	lt.lose = lose
	lt.mu.Unlock()
}

// sentSince lists the requests sent after the first n.
func (lt *lossyTransport) sentSince(n int) []string {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return append([]string(nil), lt.sent[n:]...)
}

// paidMobileMoney is a Service at Prism's Paystack through a lossyTransport,
// with a 2500 GHS mobile-money payment succeeded.
func paidMobileMoney(t *testing.T) (*Service, *paystacktest.Fake, *lossyTransport, db.RuntimePayment) {
	t.Helper()
	lt := &lossyTransport{}
	s, fake, _ := paystackServiceVia(t, &http.Client{Transport: lt, Timeout: 30 * time.Second})
	p := mobileMoneyPayment(t, s, paystackAccount)
	fake.Set(paystack.StatusSuccess, 2500)
	if res, err := s.Resume(t.Context(), p.SessionID, p.ID); err != nil || res.Payment.Status != StatusSucceeded {
		t.Fatalf("pay: %+v, %v", res.Payment, err)
	}
	return s, fake, lt, reload(t, s, p.ID)
}

// reconcileStale makes refund stale and runs one reconciler pass, which
// must claim it; it returns the refund after the pass.
func reconcileStale(t *testing.T, s *Service, refundID string) db.RuntimeRefund {
	t.Helper()
	if _, err := s.Store.Pool.Exec(t.Context(), `UPDATE runtime.refunds SET updated_at = now() - interval '2 minutes' WHERE id = $1`, refundID); err != nil {
		t.Fatal(err)
	}
	rec := &RefundReconciler{Service: s, StaleAfter: time.Minute}
	if n, err := rec.ReconcileOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("reconciling: claimed %d, %v", n, err)
	}
	got, err := s.Store.GetRefund(t.Context(), refundID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// wantPaystackRefunds checks how many refunds Paystack made of the payment,
// each of amount.
func wantPaystackRefunds(t *testing.T, fake *paystacktest.Fake, n int, amount int64) {
	t.Helper()
	got := fake.Refunds()
	if len(got) != n {
		t.Fatalf("Paystack made %d refunds, want %d: %+v", len(got), n, got)
	}
	for _, re := range got {
		if re.Amount != amount {
			t.Errorf("Paystack refunded %d, want %d", re.Amount, amount)
		}
	}
}

// TestPaystackPendingRefundRetriedIsNotMadeTwice: a partial refund Paystack
// answered pending is retried by the reconciler: the retry reads it back
// (GET /refund/{id}) and makes no second refund, until Paystack has
// processed it.
func TestPaystackPendingRefundRetriedIsNotMadeTwice(t *testing.T) {
	s, fake, lt, p := paidMobileMoney(t)
	r, err := refund(s, p, 1000)
	if err != nil || r.Status != RefundPending || deref(r.ProviderRef) != "3018284" {
		t.Fatalf("refund: %+v (provider ref %q), %v", r, deref(r.ProviderRef), err)
	}
	before := len(lt.sentSince(0))
	if got := reconcileStale(t, s, r.ID); got.Status != RefundPending {
		t.Fatalf("still pending at Paystack, but %s", got.Status)
	}
	if sent := fmt.Sprint(lt.sentSince(before)); sent != "[GET /refund/3018284]" {
		t.Errorf("retry sent %s, want only the fetch of Paystack's refund", sent)
	}
	wantPaystackRefunds(t, fake, 1, 1000)

	fake.SetRefundStatus("processed")
	if got := reconcileStale(t, s, r.ID); got.Status != RefundSucceeded || reload(t, s, p.ID).AmountRefunded != 1000 {
		t.Fatalf("after Paystack processed it: %+v, amount_refunded %d", got, reload(t, s, p.ID).AmountRefunded)
	}
	wantPaystackRefunds(t, fake, 1, 1000)
}

// TestPaystackRefundWhoseAnswerWasLostIsAdopted: POST /refund made the
// refund at Paystack but its answer never reached us (the refund stays
// pending without Paystack's id). The retry finds it in Paystack's list by
// its merchant note and amount, records its id, and makes no second one.
func TestPaystackRefundWhoseAnswerWasLostIsAdopted(t *testing.T) {
	s, fake, lt, p := paidMobileMoney(t)
	lt.set(loseAnswer)
	r, err := refund(s, p, 1000)
	if err != nil || r.Status != RefundPending || r.ProviderRef != nil {
		t.Fatalf("refund with its answer lost: %+v, %v", r, err)
	}
	wantPaystackRefunds(t, fake, 1, 1000) // Paystack made it all the same
	lt.set(loseNothing)
	before := len(lt.sentSince(0))
	got := reconcileStale(t, s, r.ID)
	if got.Status != RefundPending || deref(got.ProviderRef) != "3018284" {
		t.Fatalf("adopted: %+v (provider ref %q)", got, deref(got.ProviderRef))
	}
	if sent := fmt.Sprint(lt.sentSince(before)); sent != "[GET /refund]" {
		t.Errorf("retry sent %s, want only the search", sent)
	}
	wantPaystackRefunds(t, fake, 1, 1000)

	fake.SetRefundStatus("processed")
	if got := reconcileStale(t, s, r.ID); got.Status != RefundSucceeded {
		t.Fatalf("after Paystack processed it: %+v", got)
	}
	wantPaystackRefunds(t, fake, 1, 1000)
}

// TestPaystackRefundNeverSentIsMadeOnRetry: the first POST /refund never
// left; the retry finds nothing of ours at Paystack and makes the refund.
func TestPaystackRefundNeverSentIsMadeOnRetry(t *testing.T) {
	s, fake, lt, p := paidMobileMoney(t)
	lt.set(loseRequest)
	r, err := refund(s, p, 1000)
	if err != nil || r.Status != RefundPending || r.ProviderRef != nil {
		t.Fatalf("refund never sent: %+v, %v", r, err)
	}
	wantPaystackRefunds(t, fake, 0, 1000)
	lt.set(loseNothing)
	before := len(lt.sentSince(0))
	if got := reconcileStale(t, s, r.ID); got.Status != RefundPending || deref(got.ProviderRef) != "3018284" {
		t.Fatalf("retried: %+v", got)
	}
	if sent := fmt.Sprint(lt.sentSince(before)); sent != "[GET /refund POST /refund]" {
		t.Errorf("retry sent %s, want the search then the refund", sent)
	}
	wantPaystackRefunds(t, fake, 1, 1000)
}
