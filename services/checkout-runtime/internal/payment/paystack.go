package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
)

// Mobile money through a merchant's Paystack account. The payment waits in
// requires_action while the payer types a code (SubmitOTP) or approves the
// operator's prompt on the phone; the session stays open meanwhile. Its
// result is only ever taken from Paystack's verification
// (GET /transaction/verify, the adapter's Resume), whether the page asks
// (Resume, SubmitOTP) or a webhook tells us to look (PaystackEvent); the
// webhook's body itself is never trusted. Paystack captures at once: a
// session that closed meanwhile gets the payment refunded.

// MethodMobileMoney is the payment method of mobile-money payments, and the
// key of the site's account for them in its provider_accounts.
const MethodMobileMoney = "mobile_money"

// applyPaystack decodes and applies one published Paystack event from src;
// it returns the event id for the log.
func (c *Callbacks) applyPaystack(ctx context.Context, src provider.CallbackSource, data []byte) (string, error) {
	var msg paystack.Message
	if err := json.Unmarshal(data, &msg); err != nil || msg.ProviderAccount == "" || msg.Event.ID == "" {
		return msg.Event.ID, fmt.Errorf("%w: not a Paystack event message", provider.ErrInvalidCallback)
	}
	return msg.Event.ID, c.Service.PaystackEvent(ctx, src, msg.ProviderAccount, msg.Event)
}

// PaystackEvent applies a charge.success or charge.failed that hooks
// verified with the secret key of provider account `account`, in src's
// mode: only to the payment of that account and mode whose id is the
// event's reference (we give Paystack our payment id as its reference).
// Anything else is refused with ErrNotProvidersPayment and logged. The
// payment is then verified with Paystack, and the verified status applies
// (see settleMobileMoney); a repeat or a late event changes nothing. A
// charge.success for a payment still processing (its request died, perhaps
// before recording Paystack's answer) settles it as the payment reconciler
// would (SettleStuck): the session completed with it, or the money refunded.
// One for a payment failed meanwhile gets the money refunded.
func (s *Service) PaystackEvent(ctx context.Context, src provider.CallbackSource, account string, ev paystack.Event) error {
	p, err := s.Store.GetPayment(ctx, ev.Reference)
	if store.IsNoRows(err) {
		s.Logger.WarnContext(ctx, "paystack event refused: no such payment", "account", account, "mode", src.Mode, "event", ev.ID)
		return ErrNotProvidersPayment
	} else if err != nil {
		return err
	}
	if err := s.checkSource(ctx, src, p); err != nil {
		return err
	}
	if deref(p.ProviderAccount) != account || ev.Livemode != src.Livemode() {
		s.Logger.WarnContext(ctx, "paystack event refused: not this account's payment", "account", account, "mode", src.Mode,
			"event", ev.ID, "payment", p.ID, "payment_account", deref(p.ProviderAccount))
		return ErrNotProvidersPayment
	}
	switch {
	case p.Status == StatusFailed && ev.Type == paystack.EventChargeSuccess:
		return s.refundLateMobileMoney(ctx, p)
	case p.Status == StatusProcessing && ev.Type == paystack.EventChargeSuccess:
		// Its request died before the end (Paystack's answer perhaps never
		// recorded): settled as the payment reconciler would, now.
		_, err = s.SettleStuck(ctx, p)
		return err
	}
	_, err = s.settleMobileMoney(ctx, p)
	return err
}

// refundLateMobileMoney gives back the money of a payment that Paystack
// reports taken after we failed it (the payer approved after the timeout,
// or after a decline we were told of): only if verification confirms it,
// with the refund id derived from the payment's, so that repeats refund
// nothing more. The payment stays failed; the payer may have paid again.
func (s *Service) refundLateMobileMoney(ctx context.Context, p db.RuntimePayment) error {
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		return fmt.Errorf("provider for %s: %w", p.ID, err)
	}
	res, err := verifyTaken(ctx, prov, p)
	if err != nil || res.Outcome != provider.Authorized {
		return err
	}
	s.Logger.ErrorContext(ctx, "mobile money taken for a payment failed meanwhile; refunding it", "payment", p.ID,
		"failure_code", deref(p.FailureCode), "amount", res.Amount, "currency", res.Currency)
	return s.release(ctx, prov, p, res)
}

// verifyTaken verifies p's charge with its provider: by its recorded
// reference, else (failed before Paystack's answer was recorded) found by
// p's id; a charge it does not find, or finds still waiting, took nothing.
func verifyTaken(ctx context.Context, prov provider.Provider, p db.RuntimePayment) (provider.Result, error) {
	if p.ProviderRef == nil {
		f, ok := prov.(provider.AuthorizationFinder)
		if !ok {
			return provider.Result{}, ErrNotResumable
		}
		res, err := f.FindAuthorization(ctx, p.ID)
		if errors.Is(err, provider.ErrUnknownReference) || errors.Is(err, paystack.ErrAwaitingPayer) {
			return provider.Result{}, nil
		} else if err != nil {
			return provider.Result{}, fmt.Errorf("find the charge of %s: %w", p.ID, err)
		}
		return res, nil
	}
	r, ok := prov.(provider.Resumer)
	if !ok {
		return provider.Result{}, ErrNotResumable
	}
	res, err := r.Resume(ctx, *p.ProviderRef)
	if err != nil {
		return provider.Result{}, fmt.Errorf("verify %s: %w", p.ID, err)
	}
	return res, nil
}

// SubmitOTP sends the code the payer received for a send_otp charge, and
// applies Paystack's answer as settleMobileMoney does.
func (s *Service) SubmitOTP(ctx context.Context, sessionID, paymentID, otp string) (Result, error) {
	p, err := s.Store.GetPayment(ctx, paymentID)
	if store.IsNoRows(err) || (err == nil && p.SessionID != sessionID) {
		return Result{}, errs.NotFoundf("payment_id", "No such payment.")
	} else if err != nil {
		return Result{}, err
	}
	if p.Status != StatusRequiresAction {
		return Result{Payment: p}, nil // answered already (a double post, the webhook first)
	}
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		return Result{}, err
	}
	sub, ok := prov.(provider.OTPSubmitter)
	if !ok {
		return Result{}, ErrNotResumable
	}
	res, err := sub.SubmitOTP(ctx, deref(p.ProviderRef), otp)
	if err != nil {
		return Result{}, fmt.Errorf("submit otp: %w", err)
	}
	return s.afterMobileMoney(ctx, prov, p, res)
}

// settleMobileMoney verifies a waiting mobile-money payment with its
// provider and applies the answer.
func (s *Service) settleMobileMoney(ctx context.Context, p db.RuntimePayment) (Result, error) {
	if p.Status != StatusRequiresAction {
		return Result{Payment: p}, nil
	}
	prov, err := s.ProviderFor(ctx, p)
	if err != nil {
		return Result{}, fmt.Errorf("provider for %s: %w", p.ID, err)
	}
	r, ok := prov.(provider.Resumer)
	if !ok {
		return Result{}, ErrNotResumable
	}
	res, err := r.Resume(ctx, deref(p.ProviderRef))
	if err != nil {
		return Result{}, fmt.Errorf("verify %s: %w", p.ID, err)
	}
	return s.afterMobileMoney(ctx, prov, p, res)
}

// afterMobileMoney applies a verified answer to a payment waiting in
// requires_action. Every write is conditional on the payment's status, so
// the page, its poll and a webhook racing each other settle it once:
//
//   - still waiting (a code or the phone): nothing changes;
//   - Declined: failed, and the payer may try again (a new payment);
//   - Authorized (taken) for the payment's own amount: processing, the
//     session completed (paid), then succeeded; a session completed or
//     expired meanwhile gets the money refunded and the payment canceled.
func (s *Service) afterMobileMoney(ctx context.Context, prov provider.Provider, p db.RuntimePayment, res provider.Result) (Result, error) {
	var err error
	switch res.Outcome {
	case provider.Declined:
		p, err = s.move(ctx, p, StatusFailed, res.DeclineCode, res.DeclineMessage, StatusRequiresAction)
		return Result{Payment: p}, err
	case provider.Authorized:
	default:
		return Result{Payment: p}, nil
	}
	if res.Amount != p.Amount || res.Currency != p.Currency {
		s.Logger.ErrorContext(ctx, "mobile money taken for another amount than ours; not applied", "payment", p.ID,
			"amount", p.Amount, "currency", p.Currency, "taken", res.Amount, "taken_currency", res.Currency)
		return Result{}, errs.Param("amount", "amount_mismatch", "The amount taken is not the payment's.")
	}
	if p, err = s.move(ctx, p, StatusProcessing, "", "", StatusRequiresAction); err != nil || p.Status != StatusProcessing {
		return Result{Payment: p}, err
	}
	p, cs, closed, err := s.completePaid(ctx, p)
	if err != nil {
		return Result{}, err
	}
	if closed {
		if err := s.release(ctx, prov, p, res); err != nil {
			return Result{}, err
		}
		p, err = s.move(ctx, p, StatusCanceled, "session_closed",
			"The checkout was completed or expired before this payment; the money is refunded.", StatusProcessing)
		return Result{Payment: p, Closed: true}, err
	}
	p, err = s.move(ctx, p, StatusSucceeded, "", "", StatusProcessing)
	return Result{Payment: p, Session: cs}, err
}

// MobileMoneyTimeouts ends mobile-money payments the payer never finished:
// a payment still waiting (a code never typed, a prompt never approved)
// after Timeout is verified once more with Paystack, and applied if it
// settled meanwhile; otherwise it fails with payment_timeout. Its session,
// never completed by a waiting payment, stays open for another try.
type MobileMoneyTimeouts struct {
	Service  *Service
	Interval time.Duration // between passes
	Timeout  time.Duration // how long a payment may wait
}

// Run sweeps every Interval until ctx ends.
func (m *MobileMoneyTimeouts) Run(ctx context.Context) error {
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	for {
		if _, err := m.SweepOnce(ctx, time.Now()); err != nil && !errors.Is(err, context.Canceled) {
			m.Service.Logger.ErrorContext(ctx, "ending timed-out mobile-money payments", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// SweepOnce ends the payments waiting since before now - Timeout and
// returns how many it failed. A payment Paystack cannot be asked about now
// is left for the next pass.
func (m *MobileMoneyTimeouts) SweepOnce(ctx context.Context, now time.Time) (int, error) {
	s := m.Service
	stale, err := s.Store.StaleWaitingPayments(ctx, db.StaleWaitingPaymentsParams{Provider: provider.NamePaystack,
		WaitingSince: now.Add(-m.Timeout), MaxPayments: reconcileBatch})
	if err != nil {
		return 0, err
	}
	failed := 0
	for _, p := range stale {
		res, err := s.settleMobileMoney(ctx, p)
		if err != nil {
			s.Logger.WarnContext(ctx, "verifying a timed-out mobile-money payment; will retry", "payment", p.ID, "err", err)
			continue
		}
		if res.Payment.Status != StatusRequiresAction {
			continue // settled by the verification
		}
		moved, err := s.move(ctx, res.Payment, StatusFailed, provider.DeclinePaymentTimeout,
			provider.DeclineMessage(provider.DeclinePaymentTimeout), StatusRequiresAction)
		if err != nil {
			return failed, err
		}
		if moved.Status == StatusFailed {
			failed++
		}
	}
	return failed, nil
}
