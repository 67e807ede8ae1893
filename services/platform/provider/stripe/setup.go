package stripe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// Saving a card without a payment, for a checkout that charges nothing
// today (a subscription's free trial), as Stripe Checkout does in
// subscription mode with a trial (https://docs.stripe.com/payments/save-and-reuse,
// the deferred-intent flow of https://docs.stripe.com/payments/build-a-two-step-confirmation):
// the page's Payment Element, in setup mode, makes a ConfirmationToken; the
// server creates a Customer and a SetupIntent with usage=off_session and
// confirms it with the token. Stripe attaches the payment method to the
// Customer once the SetupIntent succeeds, now or after the payer's 3-D
// Secure (Resume), and the renewals charge it as any saved card
// (ChargeSaved).

// MetadataSetupID is the SetupIntent (and its Customer's) metadata key
// holding our setup id (setup_…).
const MetadataSetupID = "tillpoint_setup_id"

// Setup is a card to save without a payment.
type Setup struct {
	SetupID string // our setup id (setup_…); the Idempotency-Keys derive from it
	// ConfirmationToken is the ctoken_… Stripe.js made from the Payment
	// Element in setup mode.
	ConfirmationToken string
	// ReturnURL is where Stripe sends the payer back after a redirect-based
	// next action.
	ReturnURL string
	Livemode  bool   // must be the key's mode
	Email     string // the payer's, for the Customer (optional)
}

// SetupCard creates a Customer and a SetupIntent for it (usage=off_session,
// cards only: renewals charge a card), confirmed with the payer's
// ConfirmationToken, and maps Stripe's answer as Authorize does: a
// succeeded SetupIntent is Authorized with SavedToken (cus_…/pm_…), one
// that needs the payer is ChallengeRequired with its client secret, a
// refused card is Declined. Result.IntentID is the SetupIntent (seti_…). A
// retry with the same SetupID gets the first SetupIntent back.
func (c *Client) SetupCard(ctx context.Context, in Setup) (Result, error) {
	// The same checks as a payment's, but for the amount it has none of.
	if err := c.checkIntent(Intent{PaymentID: in.SetupID, ConfirmationToken: in.ConfirmationToken,
		ReturnURL: in.ReturnURL, Livemode: in.Livemode}); err != nil {
		return Result{}, err
	}
	cus, err := c.customerFor(ctx, MetadataSetupID, in.SetupID, in.Email)
	if err != nil {
		return Result{}, err
	}
	params := &stripeapi.SetupIntentCreateParams{
		Customer:           stripeapi.String(cus),
		Usage:              stripeapi.String(string(stripeapi.SetupIntentUsageOffSession)),
		Confirm:            stripeapi.Bool(true),
		ConfirmationToken:  stripeapi.String(in.ConfirmationToken),
		PaymentMethodTypes: []*string{stripeapi.String("card")},
		ReturnURL:          stripeapi.String(in.ReturnURL),
		Metadata:           map[string]string{MetadataSetupID: in.SetupID},
	}
	params.AddExpand("payment_method") // for the card's brand and last four digits
	params.SetIdempotencyKey("tillpoint-setup-" + in.SetupID)
	c.prepare(&params.Params)
	si, err := c.api.V1SetupIntents.Create(ctx, params)
	if err != nil {
		if res, ok := declineOf(err); ok {
			return res, nil
		}
		return Result{}, classify("create setup intent", err)
	}
	return c.setupResult(si)
}

// ResumeSetup reads a SetupIntent again after the payer's next action
// (handleNextAction) and maps it as SetupCard does.
func (c *Client) ResumeSetup(ctx context.Context, setupIntentID string) (Result, error) {
	if !strings.HasPrefix(setupIntentID, "seti_") {
		return Result{}, fmt.Errorf("%w: %q is not a SetupIntent id", provider.ErrInvalidRequest, setupIntentID)
	}
	if err := checkID("setup intent id", setupIntentID); err != nil {
		return Result{}, err
	}
	params := &stripeapi.SetupIntentRetrieveParams{}
	params.AddExpand("payment_method")
	c.prepare(&params.Params)
	si, err := c.api.V1SetupIntents.Retrieve(ctx, setupIntentID, params)
	if err != nil {
		return Result{}, classify("retrieve setup intent", err)
	}
	return c.setupResult(si)
}

// setupResult maps a SetupIntent of this client's account to a Result.
func (c *Client) setupResult(si *stripeapi.SetupIntent) (Result, error) {
	if si == nil || si.ID == "" {
		return Result{}, errors.New("stripe: an answer without a setup intent")
	}
	if si.Livemode != c.livemode {
		return Result{}, fmt.Errorf("%w: setup intent %s is livemode=%t, the key is livemode=%t", provider.ErrInvalidRequest, si.ID, si.Livemode, c.livemode)
	}
	res := Result{IntentID: si.ID, Livemode: si.Livemode}
	res.Brand, res.Last4 = cardOf(si.PaymentMethod)
	switch si.Status {
	case stripeapi.SetupIntentStatusSucceeded:
		if si.Customer == nil || si.PaymentMethod == nil || si.Customer.ID == "" || si.PaymentMethod.ID == "" {
			return Result{}, fmt.Errorf("%w: setup intent %s succeeded without a customer and payment method", provider.ErrInvalidRequest, si.ID)
		}
		res.Outcome, res.SavedToken = provider.Authorized, SavedToken(si.Customer.ID, si.PaymentMethod.ID)
	case stripeapi.SetupIntentStatusRequiresAction:
		res.Outcome, res.ClientSecret = provider.ChallengeRequired, si.ClientSecret
	case stripeapi.SetupIntentStatusRequiresPaymentMethod, stripeapi.SetupIntentStatusCanceled:
		// Refused (back waiting for another method), or cancelled.
		res.Outcome, res.DeclineCode = provider.Declined, provider.DeclineCardDeclined
		if e := si.LastSetupError; e != nil {
			res.DeclineCode = declineCode(string(e.Code), string(e.DeclineCode))
		}
		res.DeclineMessage = provider.DeclineMessage(res.DeclineCode)
	default:
		// processing: not for cards, the only type asked for;
		// requires_confirmation: the intent is always confirmed.
		return Result{}, fmt.Errorf("%w: setup intent %s is in status %q, which this flow does not make", provider.ErrInvalidRequest, si.ID, si.Status)
	}
	return res, nil
}
