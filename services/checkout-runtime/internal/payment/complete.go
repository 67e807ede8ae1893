package payment

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// EventPaymentOverpaid tells the merchant that a payment received funds it
// cannot use (docs/bank-transfer.md): amount_overpaid grew, and that much
// is owed back to the payer.
const EventPaymentOverpaid = "payment.overpaid"

// failureSessionClosedFundsMsg is a session_closed payment's message when
// funds came for it (a bank transfer): they were not "nothing charged".
const failureSessionClosedFundsMsg = "The checkout was completed by another payment or expired before these funds came; they are owed back to the payer."

// claim is admin-api's answer to completing a payment's session with it,
// acted on (completeSession).
type claim struct {
	// Taken: the session is complete with the payment, now or before.
	Taken bool
	// Payment is the payment: when taken, with the session's processing
	// fee; when not, canceled.
	Payment db.RuntimePayment
	// Session is the completed session, when taken.
	Session *adminv1.CheckoutSession
}

// completeSession asks admin-api to complete p's session with p — paid, or
// unpaid when p waits for its provider's answer (or a bank transfer's funds
// are still to be marked paid) — and acts on the answer. Every path that
// claims a session goes through it: the pay path, the reconciler, a
// provider's later answer and bank-transfer funds (claimSession), so that
// each keeps DESIGN §5 alike:
//
//   - taken (Taken, nil error): the session is complete with p, now or
//     before (admin-api answers a repeat for the same payment as the first
//     call). p carries the session's processing fee: stored now when p
//     completed it unpaid (no move follows until its provider answers),
//     else with p's move to succeeded (move passes it on).
//   - not taken (not Taken, nil error): the session went to another
//     payment, expired, or is gone. held, p's authorisation, is given back
//     (voided, or refunded in full when captured) and p canceled
//     (loseSession): one capture per session.
//   - unknown (an error): admin-api did not say (unreachable, the answer
//     lost, another refusal), or giving back held failed. p stays
//     processing with its authorisation, for the reconciler (or the
//     callback's redelivery) to settle from the session's state later:
//     voiding now could release money that did complete the session.
//
// NotFound is "gone", so not taken: admin-api answers it only for a session
// it does not have (deleted, never created), which no payment will ever
// complete; waiting would only hold the payer's money for nothing. The
// reconciler reads GetCheckout's NotFound the same way.
func (s *Service) completeSession(ctx context.Context, prov provider.Provider, p db.RuntimePayment, held provider.Result,
	paid bool, done completion) (claim, error) {
	resp, err := s.Admin.CompleteSession(ctx, completeRequest(p, paid, done))
	switch status.Code(err) {
	case codes.OK:
	case codes.FailedPrecondition, codes.NotFound:
		p, err := s.loseSession(ctx, prov, p, held)
		return claim{Payment: p}, err
	default:
		return claim{Payment: p}, fmt.Errorf("complete session: %w", err)
	}
	p = withProcessingFee(p, resp.GetCheckoutSession())
	if !paid {
		if p, err = s.recordProcessingFee(ctx, p); err != nil {
			return claim{Payment: p}, err
		}
	}
	return claim{Taken: true, Payment: p, Session: resp.GetCheckoutSession()}, nil
}

// claimSession completes p's session unpaid with p (completeSession) for a
// processing payment whose money its provider reports (a "succeeded"
// callback, a bank transfer's funds), before settle marks it paid: the pay
// path's completion may have failed (admin-api down, the answer lost), and
// another attempt may have completed the session since.
func (s *Service) claimSession(ctx context.Context, p db.RuntimePayment) (claim, error) {
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		return claim{Payment: p}, err
	}
	done, err := s.completionFor(ctx, p)
	if err != nil {
		return claim{Payment: p}, err
	}
	return s.completeSession(ctx, prov, p, provider.Result{Reference: deref(p.ProviderRef)}, false, done)
}

// completeRequest asks admin-api to complete p's session with p; done is
// what a subscription checkout's completion adds (zero for others).
func completeRequest(p db.RuntimePayment, paid bool, done completion) *internalapiv1.CompleteSessionRequest {
	return &internalapiv1.CompleteSessionRequest{SessionId: p.SessionID, PaymentId: p.ID,
		Paid: paid, AmountTax: p.AmountTax, AmountTotal: sessionTotal(p), PaymentMethod: p.Method,
		OrganizationId: p.OrganizationID, Livemode: p.Livemode, Currency: p.Currency,
		SavedPaymentMethod: done.savedPaymentMethod, TaxBps: done.taxBps}
}

// loseSession gives back held, the authorisation of p, a processing
// payment that its session will not take, and cancels p (cancelClosed).
// held.Captured (the provider took the money by itself) is refunded in
// full; otherwise it is voided, and a void that finds it captured (a second
// capture for the session) refunds it too, logged as an error.
func (s *Service) loseSession(ctx context.Context, prov provider.Provider, p db.RuntimePayment, held provider.Result) (db.RuntimePayment, error) {
	var err error
	if held.Captured {
		err = s.release(ctx, prov, p, held)
	} else {
		err = s.releaseStuck(ctx, prov, p, held.Reference)
	}
	if err != nil {
		return p, err
	}
	return s.cancelClosed(ctx, p)
}

// cancelClosed moves p from processing to canceled (session_closed), with
// no event: nothing was charged. Funds p received (a bank transfer's) are
// the exception: none can be used, so all of them are owed back to the
// payer (amount_overpaid), logged as a warning and told to the merchant
// with payment.overpaid. A payment moved on meanwhile is answered as it is.
func (s *Service) cancelClosed(ctx context.Context, p db.RuntimePayment) (db.RuntimePayment, error) {
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		// Locked: a receipt of the same payment waits, then sees it canceled.
		cur, err := q.GetPaymentForUpdate(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("lock payment: %w", err)
		} else if cur.Status != StatusProcessing {
			p = cur
			return nil
		}
		msg := failureSessionClosedMsg
		if cur.AmountReceived > 0 {
			msg = failureSessionClosedFundsMsg
		}
		if p, err = q.SetStatus(ctx, db.SetStatusParams{ID: p.ID, Status: StatusCanceled, FailureCode: optional(failureSessionClosed),
			FailureMessage: &msg, FromStatuses: []string{StatusProcessing}, ProcessingFee: p.ProcessingFee, NetAmount: p.NetAmount}); err != nil {
			return fmt.Errorf("cancel payment: %w", err)
		}
		if p.AmountOverpaid == p.AmountReceived {
			return nil
		}
		if p, err = q.OweAllReceived(ctx, p.ID); err != nil {
			return fmt.Errorf("owe received funds: %w", err)
		}
		s.Logger.WarnContext(ctx, "funds received for a payment its session did not take; owed back to the payer",
			"payment", p.ID, "session", p.SessionID, "amount_received", p.AmountReceived, "amount_overpaid", p.AmountOverpaid, "currency", p.Currency)
		return emit(ctx, tx, p, EventPaymentOverpaid)
	})
	return p, err
}

// withProcessingFee is p with the processing fee admin-api fixed on the
// session p completed (cs), unless p has one. It is stored with p's next
// move (move passes it to SetStatus), so that payment.succeeded carries it,
// or by recordProcessingFee.
func withProcessingFee(p db.RuntimePayment, cs *adminv1.CheckoutSession) db.RuntimePayment {
	if p.ProcessingFee == nil && cs != nil && cs.ProcessingFee != nil && cs.NetAmount != nil {
		p.ProcessingFee, p.NetAmount = cs.ProcessingFee, cs.NetAmount
	}
	return p
}

// recordProcessingFee stores p's processing fee (withProcessingFee) when
// no move follows to store it with: a payment still pending.
func (s *Service) recordProcessingFee(ctx context.Context, p db.RuntimePayment) (db.RuntimePayment, error) {
	if p.ProcessingFee == nil {
		return p, nil
	}
	row, err := s.Store.SetProcessingFee(ctx, db.SetProcessingFeeParams{ID: p.ID, ProcessingFee: p.ProcessingFee, NetAmount: p.NetAmount})
	if store.IsNoRows(err) {
		return p, nil // recorded meanwhile, by a concurrent completion
	} else if err != nil {
		return p, fmt.Errorf("record processing fee: %w", err)
	}
	return row, nil
}
