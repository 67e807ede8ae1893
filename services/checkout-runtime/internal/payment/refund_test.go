package payment

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// paidPayment records a succeeded (captured) payment of 5000 EUR.
func paidPayment(t *testing.T, s *Service, prov string) db.RuntimePayment {
	t.Helper()
	p, err := s.settle(t.Context(), reload(t, s, newPayment(t, s, prov, false, "TP-"+prov).ID), true, "")
	if err != nil || p.Status != StatusSucceeded {
		t.Fatalf("settle: %v %s", err, p.Status)
	}
	return p
}

func refund(s *Service, p db.RuntimePayment, amount int64) (db.RuntimeRefund, error) {
	return s.CreateRefund(context.Background(), RefundRequest{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		PaymentID: p.ID, Amount: amount})
}

// outboxEvents are the events written for an object, in order.
func outboxEvents(t *testing.T, s *Service, objectID string) []*eventsv1.Event {
	t.Helper()
	rows, err := s.Store.Pool.Query(t.Context(), `SELECT payload FROM runtime.outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []*eventsv1.Event
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		ev := &eventsv1.Event{}
		if err := proto.Unmarshal(b, ev); err != nil {
			t.Fatal(err)
		}
		if ev.GetObjectId() == objectID {
			out = append(out, ev)
		}
	}
	return out
}

func wantParam(t *testing.T, what string, err error, param, code string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Param != param || e.Code != code {
		t.Errorf("%s: %v, want %s naming %s", what, err, code, param)
	}
}

// Partial refunds, then the rest by default, then nothing more; each
// success counts on the payment and emits refund.succeeded and
// payment.refunded through the outbox.
func TestRefundPartialThenRest(t *testing.T) {
	for _, prov := range []string{provider.NameTest, provider.NameBankTransfer} {
		t.Run(prov, func(t *testing.T) {
			s := newService(t)
			p := paidPayment(t, s, prov)
			r1, err := refund(s, p, 1200)
			if err != nil || r1.Status != RefundSucceeded || r1.Amount != 1200 || r1.Currency != "EUR" {
				t.Fatalf("partial refund: %v %+v", err, r1)
			}
			_, err = refund(s, p, 3801)
			wantParam(t, "over-refund", err, "amount", "amount_too_large")
			rest, err := refund(s, p, 0)
			if err != nil || rest.Status != RefundSucceeded || rest.Amount != 3800 {
				t.Fatalf("refund of the rest: %v %+v", err, rest)
			}
			_, err = refund(s, p, 0)
			wantParam(t, "nothing left", err, "payment", "payment_already_refunded")
			_, err = refund(s, p, 1)
			wantParam(t, "one more unit", err, "amount", "amount_too_large")
			if got := reload(t, s, p.ID); got.AmountRefunded != 5000 || got.Status != StatusSucceeded {
				t.Errorf("payment after refunds: refunded %d, status %s", got.AmountRefunded, got.Status)
			}

			obj, err := PaymentObject(t.Context(), s.Store.Queries, reload(t, s, p.ID))
			if err != nil || len(obj.GetRefunds()) != 2 || obj.GetRefunds()[0].GetId() != rest.ID || obj.GetAmountRefunded() != 5000 ||
				obj.GetProvider() != prov || obj.GetFee() != 0 {
				t.Errorf("payment object: %v %v", err, obj)
			}
			for _, r := range []db.RuntimeRefund{r1, rest} {
				evs := outboxEvents(t, s, r.ID)
				if len(evs) != 1 || evs[0].GetType() != EventRefundSucceeded || evs[0].GetRefund().GetStatus() != RefundSucceeded {
					t.Errorf("events of %s: %v", r.ID, evs)
				}
			}
			var refunded []int64
			for _, ev := range outboxEvents(t, s, p.ID) {
				if ev.GetType() == EventPaymentRefunded {
					refunded = append(refunded, ev.GetPayment().GetAmountRefunded())
				}
			}
			if len(refunded) != 2 || refunded[0] != 1200 || refunded[1] != 5000 {
				t.Errorf("payment.refunded events carry amount_refunded %v, want [1200 5000]", refunded)
			}
		})
	}
}

// TestConcurrentRefundsNeverExceedTheCapture: 20 partial refunds at once,
// together more than the payment: exactly as many as fit succeed, the others
// are refused naming amount, and nothing is written for them.
func TestConcurrentRefundsNeverExceedTheCapture(t *testing.T) {
	for _, prov := range []string{provider.NameTest, provider.NameBankTransfer} {
		t.Run(prov, func(t *testing.T) {
			s := newService(t)
			p := paidPayment(t, s, prov)
			const n, each = 20, 300 // 6000 asked of 5000: 16 fit
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, tooLarge := 0, 0
			start := make(chan struct{})
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r, err := refund(s, p, each)
					mu.Lock()
					defer mu.Unlock()
					if e, isErr := errs.As(err); err != nil && isErr && e.Code == "amount_too_large" && e.Param == "amount" {
						tooLarge++
					} else if err != nil || r.Status != RefundSucceeded {
						t.Errorf("refund: %v %+v", err, r)
					} else {
						ok++
					}
				}()
			}
			close(start)
			wg.Wait()
			var rows, sum int64
			if err := s.Store.Pool.QueryRow(t.Context(), `SELECT count(*), coalesce(sum(amount), 0) FROM runtime.refunds WHERE payment_id = $1`, p.ID).Scan(&rows, &sum); err != nil {
				t.Fatal(err)
			}
			if ok != 16 || tooLarge != 4 || rows != 16 || sum != 4800 || reload(t, s, p.ID).AmountRefunded != 4800 {
				t.Errorf("%d succeeded, %d refused; %d refund rows totalling %d, amount_refunded %d; want 16, 4, 16, 4800, 4800",
					ok, tooLarge, rows, sum, reload(t, s, p.ID).AmountRefunded)
			}
		})
	}
}

// Only a succeeded payment of the caller's organization and mode is refunded.
func TestRefundRefusals(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	unpaid := newPayment(t, s, provider.NameTest, false, "TP-UNPAID")
	_, err := refund(s, unpaid, 100)
	wantParam(t, "processing payment", err, "payment", "payment_not_refundable")

	p := paidPayment(t, s, provider.NameTest)
	for _, req := range []RefundRequest{
		{OrganizationID: "org_other", PaymentID: p.ID, Amount: 100},
		{OrganizationID: p.OrganizationID, Livemode: true, PaymentID: p.ID, Amount: 100},
		{OrganizationID: p.OrganizationID, PaymentID: "pay_missing", Amount: 100},
	} {
		if _, err := s.CreateRefund(ctx, req); errs.KindOf(err) != errs.NotFound {
			t.Errorf("%+v: %v, want NotFound", req, err)
		}
	}

	// One Idempotency-Key makes one refund; with another payment it is refused.
	req := RefundRequest{OrganizationID: p.OrganizationID, PaymentID: p.ID, Amount: 700, Reason: "duplicate",
		Metadata: map[string]string{"ticket": "7"}, IdempotencyKey: "org_1/test:k1"}
	a, err := s.CreateRefund(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateRefund(ctx, req)
	if err != nil || b.ID != a.ID || reload(t, s, p.ID).AmountRefunded != 700 {
		t.Errorf("repeat with the key: %v %s vs %s, refunded %d", err, b.ID, a.ID, reload(t, s, p.ID).AmountRefunded)
	}
	obj, _ := RefundProto(b)
	if obj.GetReason() != "duplicate" || obj.GetMetadata()["ticket"] != "7" || obj.GetObject() != "refund" {
		t.Errorf("refund object: %v", obj)
	}
	other := paidPayment(t, s, provider.NameBankTransfer)
	req.PaymentID = other.ID
	if _, err := s.CreateRefund(ctx, req); errs.KindOf(err) != errs.IdempotencyMismatch {
		t.Errorf("key reused for another payment: %v", err)
	}
}

// A refund the provider refuses is recorded failed, with refund.failed, and
// gives its amount back to what may still be refunded.
func TestRefundFailedAtTheProvider(t *testing.T) {
	s := newService(t)
	p := newPayment(t, s, provider.NameTest, false, "TP-NOCAPTURE")
	// Marked succeeded without the provider's capture: the provider refuses.
	p, err := s.move(t.Context(), reload(t, s, p.ID), StatusSucceeded, "", "", StatusProcessing)
	if err != nil {
		t.Fatal(err)
	}
	r, err := refund(s, p, 5000)
	if err != nil || r.Status != RefundFailed || r.FailureReason == nil || *r.FailureReason != "not_captured" {
		t.Fatalf("refund: %v %+v", err, r)
	}
	if evs := outboxEvents(t, s, r.ID); len(evs) != 1 || evs[0].GetType() != EventRefundFailed {
		t.Errorf("events: %v", evs)
	}
	if got := reload(t, s, p.ID); got.AmountRefunded != 0 {
		t.Errorf("amount_refunded %d after a failed refund", got.AmountRefunded)
	}
	// The failed refund reserves nothing: the full amount may be asked again.
	if _, err := refund(s, p, 5000); err != nil {
		t.Errorf("second attempt: %v", err)
	}
	if !hasSubject(t, s, natsx.EventSubject(EventRefundFailed)) {
		t.Error("no refund.failed on its subject")
	}
}

func hasSubject(t *testing.T, s *Service, subject string) bool {
	var n int
	if err := s.Store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM runtime.outbox WHERE subject = $1`, subject).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// A refund left pending (the process died between the pending row and the
// provider's answer) keeps its amount reserved, and is settled by the
// reconciler once stale: the provider is asked again with the same refund
// id and the answer is recorded with its events.
func TestPendingRefundIsReconciled(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	p := paidPayment(t, s, provider.NameTest)
	// What CreateRefund's first transaction writes, and nothing after.
	pending, err := s.Store.CreateRefund(ctx, db.CreateRefundParams{ID: "re_crashed", PaymentID: p.ID, OrganizationID: p.OrganizationID,
		Livemode: p.Livemode, Amount: 2000, Currency: p.Currency, Metadata: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = refund(s, p, 3001)
	wantParam(t, "refund beyond the unreserved part", err, "amount", "amount_too_large")

	rec := &RefundReconciler{Service: s, StaleAfter: time.Minute}
	if n, err := rec.ReconcileOnce(ctx); err != nil || n != 0 {
		t.Fatalf("fresh pending refund claimed: %d %v", n, err)
	}
	if _, err := s.Store.Pool.Exec(ctx, `UPDATE runtime.refunds SET updated_at = now() - interval '2 minutes' WHERE id = $1`, pending.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := rec.ReconcileOnce(ctx); err != nil || n != 1 {
		t.Fatalf("stale pending refund: %d %v", n, err)
	}
	got, err := s.Store.GetRefund(ctx, pending.ID)
	if err != nil || got.Status != RefundSucceeded || reload(t, s, p.ID).AmountRefunded != 2000 {
		t.Fatalf("after reconciling: %v %+v, amount_refunded %d", err, got, reload(t, s, p.ID).AmountRefunded)
	}
	if evs := outboxEvents(t, s, pending.ID); len(evs) != 1 || evs[0].GetType() != EventRefundSucceeded {
		t.Errorf("events: %v", evs)
	}
	if n, err := rec.ReconcileOnce(ctx); err != nil || n != 0 {
		t.Errorf("second pass claimed %d: %v", n, err)
	}
}
