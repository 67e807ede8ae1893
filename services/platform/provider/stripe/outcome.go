package stripe

import (
	"errors"
	"fmt"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// outcomeOf maps a PaymentIntent's status to a Result.
func outcomeOf(pi *stripeapi.PaymentIntent) (Result, error) {
	if pi == nil || pi.ID == "" {
		return Result{}, errors.New("stripe: an answer without a payment intent")
	}
	amount, currency, err := fromStripe(pi.Amount, string(pi.Currency))
	if err != nil {
		return Result{}, fmt.Errorf("stripe: intent %s: %w", pi.ID, err)
	}
	res := Result{IntentID: pi.ID, Amount: amount, Currency: currency, Livemode: pi.Livemode}
	res.Brand, res.Last4 = cardOf(pi.PaymentMethod)
	switch pi.Status {
	case stripeapi.PaymentIntentStatusRequiresCapture:
		res.Outcome = provider.Authorized
	case stripeapi.PaymentIntentStatusSucceeded:
		// Manual capture was asked for, but some methods take the money at
		// once: it is authorised and already captured.
		res.Outcome, res.Captured = provider.Authorized, true
	case stripeapi.PaymentIntentStatusRequiresAction:
		res.Outcome, res.ClientSecret = provider.ChallengeRequired, pi.ClientSecret
	case stripeapi.PaymentIntentStatusProcessing:
		res.Outcome = provider.Pending // a webhook tells the result
	case stripeapi.PaymentIntentStatusRequiresPaymentMethod, stripeapi.PaymentIntentStatusCanceled:
		// Declined (the intent went back to wait for another method), or
		// cancelled (by us, by Stripe after too many attempts, or lapsed).
		res.Outcome = provider.Declined
		res.DeclineCode = provider.DeclineCardDeclined
		if e := pi.LastPaymentError; e != nil {
			res.DeclineCode = declineCode(string(e.Code), string(e.DeclineCode))
		}
		res.DeclineMessage = provider.DeclineMessage(res.DeclineCode)
	default:
		// requires_confirmation: only with confirmation_method=manual, which
		// this flow never sets; anything newer is unknown to us.
		return Result{}, fmt.Errorf("%w: intent %s is in status %q, which this flow does not make", provider.ErrInvalidRequest, pi.ID, pi.Status)
	}
	return res, nil
}

// declineOf turns Stripe's answer to a confirmation (of a PaymentIntent or
// a SetupIntent) that the card (or the payer's bank) refused into a
// Declined result: a card_error (HTTP 402), or a failed authentication. ok
// is false for any other error.
func declineOf(err error) (Result, bool) {
	var se *stripeapi.Error
	if !errors.As(err, &se) {
		return Result{}, false
	}
	if se.Type != stripeapi.ErrorTypeCard && se.Code != stripeapi.ErrorCodePaymentIntentAuthenticationFailure &&
		se.Code != stripeapi.ErrorCodeSetupIntentAuthenticationFailure {
		return Result{}, false
	}
	code := declineCode(string(se.Code), string(se.DeclineCode))
	res := Result{Outcome: provider.Declined, DeclineCode: code, DeclineMessage: provider.DeclineMessage(code)}
	if pi := se.PaymentIntent; pi != nil {
		res.IntentID, res.Livemode = pi.ID, pi.Livemode
		res.Amount, res.Currency, _ = fromStripe(pi.Amount, string(pi.Currency))
		res.Brand, res.Last4 = cardOf(pi.PaymentMethod)
	} else if si := se.SetupIntent; si != nil {
		res.IntentID, res.Livemode = si.ID, si.Livemode
		res.Brand, res.Last4 = cardOf(si.PaymentMethod)
	}
	if res.Brand == "" {
		res.Brand, res.Last4 = cardOf(se.PaymentMethod)
	}
	return res, true
}

// declineCode maps Stripe's error code and decline code to provider's stable
// decline codes. Lost, stolen and suspected-fraud declines become the
// generic card_declined: the payer is not told that the card is flagged.
func declineCode(code, decline string) string {
	switch decline {
	case "insufficient_funds", "withdrawal_count_limit_exceeded", "card_velocity_exceeded":
		return provider.DeclineInsufficientFunds
	case "expired_card":
		return provider.DeclineExpiredCard
	case "incorrect_cvc", "invalid_cvc":
		return provider.DeclineInvalidCVC
	case "incorrect_number", "invalid_number":
		return provider.DeclineInvalidNumber
	case "invalid_expiry_month", "invalid_expiry_year":
		return provider.DeclineInvalidExpiry
	case "authentication_required":
		return provider.DeclineAuthenticationFailed
	}
	switch code {
	case "expired_card":
		return provider.DeclineExpiredCard
	case "incorrect_cvc", "invalid_cvc":
		return provider.DeclineInvalidCVC
	case "incorrect_number", "invalid_number":
		return provider.DeclineInvalidNumber
	case "invalid_expiry_month", "invalid_expiry_year", "invalid_expiry_month_and_year":
		return provider.DeclineInvalidExpiry
	case "payment_intent_authentication_failure", "setup_intent_authentication_failure", "authentication_required":
		return provider.DeclineAuthenticationFailed
	}
	return provider.DeclineCardDeclined
}

// cardOf returns a card payment method's brand and last four digits, when
// Stripe sent the payment method expanded.
func cardOf(pm *stripeapi.PaymentMethod) (brand, last4 string) {
	if pm == nil || pm.Card == nil {
		return "", ""
	}
	return string(pm.Card.Brand), pm.Card.Last4
}
