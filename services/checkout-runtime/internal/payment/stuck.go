package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// PaymentReconciler settles card payments that their request left
// processing: the replica crashed (or a call went unanswered) somewhere
// between the insert and the final move — before the provider's answer was
// recorded, after it, or after admin-api completed the session. Each is
// carried to the end the pay path would have reached, from what admin-api
// says of the session (DESIGN §5, invariants 1 and 4):
//
//   - the session names this payment (paid): capture it, succeeded;
//   - the session is open and names none: complete it with this payment
//     now, as the pay path would have, then capture; if admin-api refuses
//     (closed meanwhile), as below;
//   - the session names another payment, or is closed, or is gone: void the
//     authorisation (a capture found there is refunded, and logged as an
//     error), canceled;
//   - no provider answer was recorded: the session cannot name the payment
//     (CompleteSession follows the record), so the authorisation the
//     attempt log shows, else the one the provider finds by the payment's
//     id (provider.AuthorizationFinder: the replica died between the
//     provider's answer and the statement that records it), is voided, and
//     the payment fails.
//
// An off-session charge (a renewal, no session) with an authorisation is
// captured, as its request would have gone on to do; without one it fails.
//
// A payment answered pending (the provider answers later) is treated alike,
// except that it completes its session unpaid and is not captured: its
// callback settles it, as on the pay path; until then a pass leaves it.
//
// Every move is conditional on the payment still being processing, and the
// provider's calls are idempotent, so a pass racing a late pay path, a
// webhook or another replica applies each outcome once.
type PaymentReconciler struct {
	Service *Service
	// Interval between passes.
	Interval time.Duration
	// Grace is how long a payment stays processing untouched before it is
	// settled here. It exceeds what the pay path gives its calls to the
	// provider and to admin-api, so that a payment whose request still runs
	// is left to it.
	Grace time.Duration
}

// DefaultPaymentGrace is the default Grace: well over the pay path's longest
// wait (a provider call's timeout), short enough that a session is not held
// by an authorisation for long.
const DefaultPaymentGrace = time.Minute

// Failure of a payment whose provider answer was never recorded.
const (
	FailureInterrupted        = "payment_interrupted"
	failureInterruptedMessage = "The payment was interrupted before the provider's answer was recorded; nothing was charged."
	failureSessionClosed      = "session_closed"
	failureSessionClosedMsg   = "The checkout was completed or expired before this payment; nothing was charged."
)

// Run reconciles every Interval until ctx ends.
func (r *PaymentReconciler) Run(ctx context.Context) error {
	return every(ctx, r.Interval, func(ctx context.Context) error {
		_, err := r.ReconcileOnce(ctx)
		return err
	}, r.Service.Logger, "reconciling stuck payments")
}

// ReconcileOnce settles the stuck payments it claims and returns how many it
// claimed. A payment it cannot settle now (admin-api or the provider
// unreachable) stays processing and is claimed again after Grace; the
// others of the batch go on.
func (r *PaymentReconciler) ReconcileOnce(ctx context.Context) (int, error) {
	claimed, err := r.Service.Store.ClaimStuckPayments(ctx, db.ClaimStuckPaymentsParams{
		StaleBefore: time.Now().Add(-r.Grace), MaxPayments: reconcileBatch})
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, p := range claimed {
		got, err := r.Service.SettleStuck(ctx, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("payment %s: %w", p.ID, err))
			continue
		}
		if got.Status == StatusProcessing {
			// Its session waits for the provider's answer: not news.
			r.Service.Logger.DebugContext(ctx, "stuck payment left to its provider's answer", "payment", p.ID, "session", p.SessionID)
			continue
		}
		r.Service.Logger.InfoContext(ctx, "stuck payment reconciled", "payment", p.ID, "session", p.SessionID, "status", got.Status)
	}
	return len(claimed), errors.Join(errs...)
}

// SettleStuck carries a processing card payment to its end (see
// PaymentReconciler) and returns it as it then stands.
func (s *Service) SettleStuck(ctx context.Context, p db.RuntimePayment) (db.RuntimePayment, error) {
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		return p, err
	}
	held, err := s.heldAttempt(ctx, p)
	if err != nil {
		return p, err
	}
	ref := deref(p.ProviderRef)
	if ref == "" {
		// The provider's answer was never recorded, so the session cannot
		// name this payment: release what the provider holds for it.
		lost, err := lostAuthorization(ctx, prov, p, held)
		if err != nil {
			return p, err
		}
		if lost != "" {
			if err := s.releaseStuck(ctx, prov, p, lost); err != nil {
				return p, err
			}
		}
		return s.move(ctx, p, StatusFailed, FailureInterrupted, failureInterruptedMessage, StatusProcessing)
	}
	if p.IdempotencyKey != nil {
		// An off-session charge (a renewal) has no session: authorised,
		// it is captured, as ChargeOffSession would have gone on to do,
		// and its caller's retry with the same key gets the outcome.
		return s.captureStuck(ctx, prov, p, ref)
	}
	// Pending: the provider answers later (its callback settles the
	// payment); the session is completed unpaid, as the pay path does.
	pending := p.AsyncDueAt != nil || held.Outcome == provider.Pending.String()
	co, err := s.Admin.GetCheckout(ctx, &internalapiv1.GetCheckoutRequest{SessionId: p.SessionID})
	if err != nil && status.Code(err) != codes.NotFound {
		return p, fmt.Errorf("get session: %w", err)
	}
	// NotFound: the session is gone, so not p's (see completeSession).
	cs := co.GetCheckoutSession()
	auth := provider.Result{Reference: ref}
	switch {
	case cs.GetPayment() == p.ID && cs.GetPaymentStatus() == "paid" && !pending:
		return s.captureStuck(ctx, prov, withProcessingFee(p, cs), ref)
	case cs.GetPayment() == p.ID:
		return p, nil // completed unpaid: the provider's later answer settles it
	case cs.GetStatus() == "open" && cs.GetPayment() == "":
		done, err := s.completionFor(ctx, p)
		if err != nil {
			return p, err
		}
		c, err := s.completeSession(ctx, prov, p, auth, !pending, done)
		if err != nil || !c.Taken || pending {
			return c.Payment, err
		}
		return s.captureStuck(ctx, prov, c.Payment, ref)
	}
	return s.loseSession(ctx, prov, p, auth)
}

// heldAttempt is p's attempt that the provider answered authorised or
// pending (a cascade stops at it), from the attempt log, which records it
// with the payment's answer or before it; zero when there is none.
func (s *Service) heldAttempt(ctx context.Context, p db.RuntimePayment) (db.RuntimePaymentAttempt, error) {
	attempts, err := s.Store.AttemptsOfPayments(ctx, []string{p.ID})
	if err != nil {
		return db.RuntimePaymentAttempt{}, fmt.Errorf("attempts of %s: %w", p.ID, err)
	}
	for _, a := range attempts {
		if a.Outcome == provider.Authorized.String() || a.Outcome == provider.Pending.String() {
			return a, nil
		}
	}
	return db.RuntimePaymentAttempt{}, nil
}

// lostAuthorization is the reference of p's authorisation that p does not
// record: the attempt log's (held), else the one p's provider finds by p's
// id when it can; "" when neither knows one. The pay path logs the answered
// attempt with the answer in one statement (SetAuthorization), so the log
// knows one alone only when its attempt was logged first (a subscription
// checkout saving the card, or a runtime of before that statement); a
// replica that died between the provider's answer and that statement left
// only the provider knowing.
func lostAuthorization(ctx context.Context, prov provider.Provider, p db.RuntimePayment, held db.RuntimePaymentAttempt) (string, error) {
	if held.ProviderRef != nil {
		return *held.ProviderRef, nil
	}
	f, ok := prov.(provider.AuthorizationFinder)
	if !ok {
		return "", nil
	}
	res, err := f.FindAuthorization(ctx, p.ID)
	if errors.Is(err, provider.ErrUnknownReference) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("find the authorisation of %s: %w", p.ID, err)
	}
	return res.Reference, nil
}

// captureStuck captures p, which completed its session, and moves it to
// succeeded with its event. A capture the pay path made already is
// repeated harmlessly (Capture is idempotent per reference and amount); any
// refusal leaves p processing, for the next pass and an operator.
func (s *Service) captureStuck(ctx context.Context, prov provider.Provider, p db.RuntimePayment, ref string) (db.RuntimePayment, error) {
	if err := s.capture(ctx, prov, p, ref); err != nil {
		return p, fmt.Errorf("capture %s: %w", p.ID, err)
	}
	return s.move(ctx, p, StatusSucceeded, "", "", StatusProcessing)
}

// releaseStuck voids p's authorisation, which no session will take. A void
// repeated, or of an authorisation the provider forgot (lapsed), holds
// nothing. A captured one is a second capture for its session, or a
// provider that captured by itself: it is refunded in full, and logged as an
// error, for it should not happen.
func (s *Service) releaseStuck(ctx context.Context, prov provider.Provider, p db.RuntimePayment, ref string) error {
	err := prov.Void(ctx, ref)
	switch {
	case err == nil, errors.Is(err, provider.ErrAlreadyVoided), errors.Is(err, provider.ErrUnknownReference):
		return nil
	case errors.Is(err, provider.ErrAlreadyCaptured):
		s.Logger.ErrorContext(ctx, "a payment its session did not take was captured: refunding it in full",
			"payment", p.ID, "session", p.SessionID, "amount", p.Amount, "currency", p.Currency)
		return s.release(ctx, prov, p, provider.Result{Reference: ref, Captured: true})
	}
	return fmt.Errorf("void %s: %w", p.ID, err)
}
