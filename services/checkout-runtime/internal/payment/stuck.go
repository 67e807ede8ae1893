package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
)

// PaymentReconciler settles card and mobile-money payments that their request left
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
// Mobile money differs where no answer was recorded: Paystack takes the
// money when the payer approves on the phone, which they may do after the
// request died, so the charge is asked about by the payment's id. Taken: its
// reference is recorded and the payment settled as above (the session
// completed with it, else the money refunded, once); still awaiting the
// payer: left for the next pass, and failed after MobileMoneyTimeout; no
// charge, or a failed one: the payment fails.
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
	// MobileMoneyTimeout is how long after its creation a mobile-money
	// payment whose charge's answer was never recorded may still wait for
	// the payer to approve it (MOBILE_MONEY_TIMEOUT, as for a payment
	// waiting in requires_action); then it fails with payment_timeout, and a
	// later approval is refunded (PaystackEvent). Zero: DefaultMobileMoneyTimeout.
	MobileMoneyTimeout time.Duration
}

// DefaultMobileMoneyTimeout is the default MobileMoneyTimeout: the mobile
// operators' prompts time out within minutes.
const DefaultMobileMoneyTimeout = 5 * time.Minute

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
		if got, err = r.expireMobileMoney(ctx, got); err != nil {
			errs = append(errs, fmt.Errorf("payment %s: %w", p.ID, err))
			continue
		}
		if got.Status == StatusProcessing {
			// Its session waits for the provider's answer, or the payer
			// for their phone: not news.
			r.Service.Logger.DebugContext(ctx, "stuck payment left to its provider's answer", "payment", p.ID, "session", p.SessionID)
			continue
		}
		r.Service.Logger.InfoContext(ctx, "stuck payment reconciled", "payment", p.ID, "session", p.SessionID, "status", got.Status)
	}
	return len(claimed), errors.Join(errs...)
}

// expireMobileMoney fails p, a payment SettleStuck left processing, when it
// is a mobile-money charge still awaiting the payer (no reference
// recorded) for longer than MobileMoneyTimeout.
func (r *PaymentReconciler) expireMobileMoney(ctx context.Context, p db.RuntimePayment) (db.RuntimePayment, error) {
	timeout := r.MobileMoneyTimeout
	if timeout == 0 {
		timeout = DefaultMobileMoneyTimeout
	}
	if p.Status != StatusProcessing || p.Method != MethodMobileMoney || p.ProviderRef != nil || time.Since(p.CreatedAt) < timeout {
		return p, nil
	}
	return r.Service.move(ctx, p, StatusFailed, provider.DeclinePaymentTimeout,
		provider.DeclineMessage(provider.DeclinePaymentTimeout), StatusProcessing)
}

// SettleStuck carries a processing card or mobile-money payment to its end
// (see PaymentReconciler) and returns it as it then stands.
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
	if ref == "" && p.Method == MethodMobileMoney {
		// The payer may approve the charge on the phone after its request
		// died: money taken is settled below as the pay path would have.
		if p, err = s.findMobileMoney(ctx, prov, p); err != nil || p.Status != StatusProcessing || p.ProviderRef == nil {
			return p, err
		}
		ref = *p.ProviderRef
	}
	if ref == "" {
		// The provider's answer was never recorded, so the session cannot
		// name this payment: release what the provider holds for it.
		lost, err := lostAuthorization(ctx, prov, p, held)
		if err != nil {
			return p, err
		}
		if f, ok := prov.(provider.LaggingFinder); ok && lost == "" && time.Since(p.CreatedAt) < f.FindLag() {
			// The provider's search may not show the authorisation yet:
			// failing the payment now would leave it held until it lapses.
			// Asked again at the next pass.
			return p, nil
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
		if p.Method != MethodMobileMoney { // mobile money is taken at once: refunding is its void
			s.Logger.ErrorContext(ctx, "a payment its session did not take was captured: refunding it in full",
				"payment", p.ID, "session", p.SessionID, "amount", p.Amount, "currency", p.Currency)
		}
		return s.release(ctx, prov, p, provider.Result{Reference: ref, Captured: true})
	}
	return fmt.Errorf("void %s: %w", p.ID, err)
}

// findMobileMoney asks Paystack about the charge of p, a mobile-money payment
// whose request died before recording Paystack's answer (the charge's
// reference is p's id). The money taken, for p's amount: p with its
// reference recorded, processing, for SettleStuck to complete the session
// with it or refund it. Still awaiting the payer: p as it is, asked about
// again next pass (PaymentReconciler.MobileMoneyTimeout bounds that). No
// charge, or one that failed: p fails, nothing taken.
func (s *Service) findMobileMoney(ctx context.Context, prov provider.Provider, p db.RuntimePayment) (db.RuntimePayment, error) {
	f, ok := prov.(provider.AuthorizationFinder)
	if !ok {
		return p, fmt.Errorf("provider %s cannot find the charge of %s", prov.Name(), p.ID)
	}
	res, err := f.FindAuthorization(ctx, p.ID)
	switch {
	case errors.Is(err, paystack.ErrAwaitingPayer):
		return p, nil
	case errors.Is(err, provider.ErrUnknownReference):
		return s.move(ctx, p, StatusFailed, FailureInterrupted, failureInterruptedMessage, StatusProcessing)
	case err != nil:
		return p, fmt.Errorf("find the charge of %s: %w", p.ID, err)
	case res.Amount != p.Amount || res.Currency != p.Currency:
		s.Logger.ErrorContext(ctx, "mobile money taken for another amount than ours; not applied", "payment", p.ID,
			"amount", p.Amount, "currency", p.Currency, "taken", res.Amount, "taken_currency", res.Currency)
		return p, fmt.Errorf("payment %s: Paystack took %d %s, not %d %s", p.ID, res.Amount, res.Currency, p.Amount, p.Currency)
	}
	found, err := s.setAuthorization(ctx, db.SetAuthorizationParams{ID: p.ID, Status: StatusProcessing, ProviderRef: &res.Reference})
	if store.IsNoRows(err) {
		return s.Store.GetPayment(ctx, p.ID) // settled meanwhile (its pay path, a webhook)
	}
	return found, err
}
