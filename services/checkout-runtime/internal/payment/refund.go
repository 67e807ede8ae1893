package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/outbox"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// Refund statuses.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
)

// Refund and dispute event types.
const (
	EventPaymentRefunded = "payment.refunded"
	EventPaymentDisputed = "payment.disputed"
	EventRefundSucceeded = "refund.succeeded"
	EventRefundFailed    = "refund.failed"
)

// refundCallTimeout bounds the provider call of one refund. It runs detached
// from the caller's context: once the pending row is written, a client that
// hangs up must not leave the refund pending for want of an answer.
const refundCallTimeout = 30 * time.Second

// RefundRequest is a merchant's refund, validated by admin-api (reason and
// metadata) and scoped to the caller's organization and mode.
type RefundRequest struct {
	OrganizationID string
	Livemode       bool
	PaymentID      string
	// Amount in minor units; 0 means all that is left.
	Amount   int64
	Reason   string // "" or one of the reasons
	Metadata map[string]string
	// IdempotencyKey, scoped to organization and mode, or "": a repeat
	// returns the refund the key made first.
	IdempotencyKey string
}

// ErrRefundIdempotencyMismatch refuses a key that made a refund of another payment.
var ErrRefundIdempotencyMismatch = errs.E(errs.IdempotencyMismatch, "idempotency_key_reused",
	"Keys for idempotent requests can only be used with the same parameters they were first used with.")

// CreateRefund refunds part or all of a succeeded payment.
//
// The amount is reserved and the refund written 'pending' in one transaction
// that holds the payment's row lock (SELECT … FOR UPDATE) while it sums the
// pending and succeeded refunds: concurrent refunds of one payment queue on
// that lock, and each sees every refund committed before it, so together
// they never exceed the payment's amount. Only then is the provider asked,
// outside any transaction, and the refund moved to succeeded or failed.
//
// A crash between the two leaves a pending refund whose amount stays
// reserved. It is reconciled by asking the provider again with the same
// refund id, which moves no more money: Provider.Refund is idempotent by
// refund id (Stripe's and GoCardless's idempotency keys; Paystack, which
// has none, reads back the refund id it answered with, recorded on the row
// as soon as it answers, or looks for an unanswered one before making
// another). RetryRefund does that, called by RefundReconciler for refunds
// pending for minutes and by a repeated request with the same
// Idempotency-Key.
func (s *Service) CreateRefund(ctx context.Context, r RefundRequest) (db.RuntimeRefund, error) {
	if r.IdempotencyKey != "" {
		prev, err := s.Store.GetRefundByIdempotencyKey(ctx, &r.IdempotencyKey)
		if err == nil {
			if prev.PaymentID != r.PaymentID || prev.OrganizationID != r.OrganizationID || prev.Livemode != r.Livemode {
				return db.RuntimeRefund{}, ErrRefundIdempotencyMismatch
			}
			return s.RetryRefund(ctx, prev.ID)
		} else if !store.IsNoRows(err) {
			return db.RuntimeRefund{}, fmt.Errorf("find refund by key: %w", err)
		}
	}
	meta, err := json.Marshal(orEmpty(r.Metadata))
	if err != nil {
		return db.RuntimeRefund{}, fmt.Errorf("metadata: %w", err)
	}
	var (
		p   db.RuntimePayment
		ref db.RuntimeRefund
	)
	err = s.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		var err error
		// Locked until commit: the sum below and the insert decide together.
		p, err = q.GetPaymentForUpdate(ctx, r.PaymentID)
		if store.IsNoRows(err) || (err == nil && (p.OrganizationID != r.OrganizationID || p.Livemode != r.Livemode)) {
			return errs.NotFoundf("payment", "No such payment: '%s'.", r.PaymentID)
		} else if err != nil {
			return err
		}
		if p.Status != StatusSucceeded {
			return errs.Param("payment", "payment_not_refundable", "Only a succeeded payment can be refunded; this one is %s.", p.Status)
		}
		reserved, err := q.ReservedForRefunds(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("sum refunds: %w", err)
		}
		left := p.Amount - reserved
		amount := r.Amount
		switch {
		case amount == 0 && left <= 0:
			return errs.Param("payment", "payment_already_refunded", "The payment is refunded in full already (pending refunds included).")
		case amount == 0:
			amount = left
		case amount > left:
			return errs.Param("amount", "amount_too_large",
				"Refund amount (%d) is greater than what is left to refund of the payment (%d, pending refunds included).", amount, left)
		}
		ref, err = q.CreateRefund(ctx, db.CreateRefundParams{ID: ids.New("re"), PaymentID: p.ID, OrganizationID: p.OrganizationID,
			Livemode: p.Livemode, Amount: amount, Currency: p.Currency, Reason: optional(r.Reason), Metadata: meta,
			IdempotencyKey: optional(r.IdempotencyKey)})
		if err != nil {
			return fmt.Errorf("create refund: %w", err)
		}
		return nil
	})
	if err != nil {
		return db.RuntimeRefund{}, err
	}
	return s.askProvider(ctx, p, ref, false)
}

// RetryRefund asks the provider again about a pending refund (see
// CreateRefund) and records its answer; a finished refund is returned as it is.
func (s *Service) RetryRefund(ctx context.Context, refundID string) (db.RuntimeRefund, error) {
	ref, err := s.Store.GetRefund(ctx, refundID)
	if err != nil || ref.Status != RefundPending {
		return ref, err
	}
	p, err := s.Store.GetPayment(ctx, ref.PaymentID)
	if err != nil {
		return ref, err
	}
	return s.askProvider(ctx, p, ref, true)
}

// askProvider asks p's provider for the pending refund ref and records the
// answer: the provider's id for the refund at once (a retry reads that
// refund back), then a final status. retry says an earlier call may have
// reached the provider.
func (s *Service) askProvider(ctx context.Context, p db.RuntimePayment, ref db.RuntimeRefund, retry bool) (db.RuntimeRefund, error) {
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		return ref, err
	}
	req := provider.RefundRequest{Reference: deref(p.ProviderRef), RefundID: ref.ID, Amount: ref.Amount, Currency: p.Currency,
		ProviderRef: deref(ref.ProviderRef)}
	if retry {
		req.FirstTried = ref.CreatedAt
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refundCallTimeout)
	defer cancel()
	res, err := prov.Refund(cctx, req)
	if err == nil && res.Reference != "" && ref.ProviderRef == nil {
		if err := s.Store.SetRefundProviderRef(context.WithoutCancel(ctx), db.SetRefundProviderRefParams{ID: ref.ID, ProviderRef: &res.Reference}); err != nil {
			return ref, fmt.Errorf("record the provider's refund id: %w", err)
		}
		ref.ProviderRef = &res.Reference
	}
	switch {
	case errors.Is(err, provider.ErrRefundAmount):
		res = provider.RefundResult{Status: provider.RefundFailed, FailureReason: "amount_exceeds_captured"}
	case errors.Is(err, provider.ErrNotRefundable):
		res = provider.RefundResult{Status: provider.RefundFailed, FailureReason: "not_captured"}
	case errors.Is(err, provider.ErrUnknownReference):
		res = provider.RefundResult{Status: provider.RefundFailed, FailureReason: "unknown_payment"}
	case err != nil:
		// The provider's answer is unknown: the money may have moved. Keep
		// the refund pending (its amount reserved) for RetryRefund.
		s.Logger.ErrorContext(ctx, "refund left pending: provider did not answer", "refund", ref.ID, "payment", p.ID, "err", err)
		return ref, nil
	}
	switch res.Status {
	case provider.RefundSucceeded:
		return s.finishRefund(ctx, ref, RefundSucceeded, "")
	case provider.RefundFailed:
		s.Logger.WarnContext(ctx, "refund failed at the provider", "refund", ref.ID, "payment", p.ID, "reason", res.FailureReason)
		return s.finishRefund(ctx, ref, RefundFailed, res.FailureReason)
	}
	return ref, nil // the provider answers later
}

// finishRefund moves a pending refund to succeeded (counting it on its
// payment) or failed, with its events, once.
func (s *Service) finishRefund(ctx context.Context, ref db.RuntimeRefund, to, reason string) (db.RuntimeRefund, error) {
	ctx = context.WithoutCancel(ctx)
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		// The payment first, as CreateRefund locks it: one lock order.
		p, err := q.GetPaymentForUpdate(ctx, ref.PaymentID)
		if err != nil {
			return fmt.Errorf("lock payment: %w", err)
		}
		done, err := q.FinishRefund(ctx, db.FinishRefundParams{ID: ref.ID, Status: to, FailureReason: optional(reason)})
		if store.IsNoRows(err) {
			ref, err = q.GetRefund(ctx, ref.ID) // finished meanwhile
			return err
		} else if err != nil {
			return fmt.Errorf("finish refund: %w", err)
		}
		ref = done
		if to == RefundFailed {
			return emitRefund(ctx, tx, ref, EventRefundFailed)
		}
		if p, err = q.AddRefunded(ctx, db.AddRefundedParams{ID: p.ID, Amount: ref.Amount}); err != nil {
			return fmt.Errorf("count refund: %w", err)
		}
		if err := emitRefund(ctx, tx, ref, EventRefundSucceeded); err != nil {
			return err
		}
		obj, err := PaymentObject(ctx, q, p)
		if err != nil {
			return err
		}
		return emitPaymentObject(ctx, tx, p, obj, EventPaymentRefunded)
	})
	return ref, err
}

// EmbeddedRefunds is how many of its newest refunds a payment object
// carries. A payment may have as many refunds as minor units; the cap keeps
// a payment.refunded event well under NATS's 1 MB message limit (100 refunds
// are some 30 kB) and a list page small. GET /v1/refunds?payment= lists all.
const EmbeddedRefunds = 100

// PaymentObject is p as the API shows it, with its newest refunds.
func PaymentObject(ctx context.Context, q *db.Queries, p db.RuntimePayment) (*adminv1.Payment, error) {
	objs, err := PaymentObjects(ctx, q, []db.RuntimePayment{p})
	if err != nil {
		return nil, err
	}
	return objs[0], nil
}

// PaymentObjects renders payments with their refunds and their provider
// attempts, in two queries.
func PaymentObjects(ctx context.Context, q *db.Queries, ps []db.RuntimePayment) ([]*adminv1.Payment, error) {
	idList := make([]string, len(ps))
	for i, p := range ps {
		idList[i] = p.ID
	}
	refunds, err := q.RefundsOfPayments(ctx, db.RefundsOfPaymentsParams{PaymentIds: idList, PerPayment: EmbeddedRefunds})
	if err != nil {
		return nil, fmt.Errorf("refunds of payments: %w", err)
	}
	byPayment := make(map[string][]*adminv1.Refund, len(refunds))
	for _, r := range refunds {
		obj, err := RefundProto(r)
		if err != nil {
			return nil, err
		}
		byPayment[r.PaymentID] = append(byPayment[r.PaymentID], obj)
	}
	attempts, err := q.AttemptsOfPayments(ctx, idList)
	if err != nil {
		return nil, fmt.Errorf("attempts of payments: %w", err)
	}
	attemptsOf := make(map[string][]*adminv1.PaymentAttempt, len(ps))
	for _, a := range attempts {
		attemptsOf[a.PaymentID] = append(attemptsOf[a.PaymentID], AttemptProto(a))
	}
	out := make([]*adminv1.Payment, len(ps))
	for i, p := range ps {
		out[i] = Proto(p)
		if rs := byPayment[p.ID]; rs != nil {
			out[i].Refunds = rs
		}
		out[i].Attempts = attemptsOf[p.ID]
	}
	return out, nil
}

// RefundProto renders a refund as the API object.
func RefundProto(r db.RuntimeRefund) (*adminv1.Refund, error) {
	meta := map[string]string{}
	if len(r.Metadata) > 0 {
		if err := json.Unmarshal(r.Metadata, &meta); err != nil {
			return nil, fmt.Errorf("refund %s metadata: %w", r.ID, err)
		}
	}
	return &adminv1.Refund{Id: r.ID, Object: "refund", Payment: r.PaymentID, Amount: r.Amount, Currency: r.Currency,
		Status: r.Status, Reason: r.Reason, FailureReason: r.FailureReason, Metadata: meta, Livemode: r.Livemode,
		CreatedAt: timestamppb.New(r.CreatedAt)}, nil
}

// emitRefund writes a refund event to the outbox in the caller's transaction.
func emitRefund(ctx context.Context, tx pgx.Tx, r db.RuntimeRefund, typ string) error {
	obj, err := RefundProto(r)
	if err != nil {
		return err
	}
	return addEvent(ctx, tx, &eventsv1.Event{Id: ids.New("evt"), Type: typ, Created: timestamppb.Now(), Livemode: r.Livemode,
		OrganizationId: r.OrganizationID, ObjectId: r.ID, Sequence: r.EventSequence, Object: &eventsv1.Event_Refund{Refund: obj}})
}

// emitPaymentObject writes a payment event carrying obj (p rendered with its refunds).
func emitPaymentObject(ctx context.Context, tx pgx.Tx, p db.RuntimePayment, obj *adminv1.Payment, typ string) error {
	return addEvent(ctx, tx, &eventsv1.Event{Id: ids.New("evt"), Type: typ, Created: timestamppb.Now(), Livemode: p.Livemode,
		OrganizationId: p.OrganizationID, ObjectId: p.ID, Sequence: p.EventSequence, Object: &eventsv1.Event_Payment{Payment: obj}})
}

// addEvent writes ev to the outbox.
func addEvent(ctx context.Context, tx pgx.Tx, ev *eventsv1.Event) error {
	b, err := proto.Marshal(ev)
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, OutboxSchema, outbox.Message{ID: ev.Id, Subject: natsx.EventSubject(ev.Type), Payload: b})
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
