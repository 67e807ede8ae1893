package payment

import (
	"context"
	"encoding/json"
	"fmt"

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
// (see settleMobileMoney); a repeat or a late event changes nothing.
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
	_, err = s.settleMobileMoney(ctx, p)
	return err
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
