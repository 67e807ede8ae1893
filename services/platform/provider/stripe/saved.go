package stripe

import (
	"context"
	"fmt"
	"strings"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// Saving a card for a subscription's renewals, as Stripe documents it
// (https://docs.stripe.com/payments/save-during-payment): the first
// payment's PaymentIntent names a Customer and asks for
// setup_future_usage=off_session, so Stripe attaches its payment method to
// that Customer with the payer's consent for later charges; each renewal is
// a PaymentIntent with the Customer and the payment method, off_session=true
// and confirm=true (https://docs.stripe.com/payments/save-and-reuse, "charge
// the saved payment method later").

// savedSeparator joins a saved card's Customer and payment method ids in
// its token (neither contains it).
const savedSeparator = "/"

// SavedToken is the token of payment method pm saved for Customer cus.
func SavedToken(cus, pm string) string { return cus + savedSeparator + pm }

// parseSavedToken splits a SavedToken.
func parseSavedToken(token string) (cus, pm string, err error) {
	cus, pm, ok := strings.Cut(token, savedSeparator)
	if !ok || !strings.HasPrefix(cus, "cus_") || !strings.HasPrefix(pm, "pm_") {
		return "", "", fmt.Errorf("%w: a saved Stripe card is cus_…/pm_…", provider.ErrInvalidRequest)
	}
	if err := checkID("customer id", cus); err != nil {
		return "", "", err
	}
	return cus, pm, checkID("payment method id", pm)
}

// customerFor creates the Stripe Customer that keeps the card of our
// payment or setup id, named in its metadata under key (once: a retry gets
// the same Customer, by idempotency key).
func (c *Client) customerFor(ctx context.Context, key, id, email string) (string, error) {
	params := &stripeapi.CustomerCreateParams{Metadata: map[string]string{key: id}}
	if email != "" {
		params.Email = stripeapi.String(email)
	}
	params.SetIdempotencyKey("tillpoint-customer-" + id)
	c.prepare(&params.Params)
	cus, err := c.api.V1Customers.Create(ctx, params)
	if err != nil {
		return "", classify("create customer", err)
	}
	return cus.ID, nil
}

// SavedCharge is an off-session charge of a saved card.
type SavedCharge struct {
	PaymentID string // our payment id (pay_…); the Idempotency-Key derives from it
	Amount    int64  // our minor units, > 0
	Currency  string
	Livemode  bool
	Token     string // SavedToken: cus_…/pm_…
}

// ChargeSaved creates and confirms, off-session, a PaymentIntent with
// manual capture for the saved card, and maps Stripe's answer as Authorize
// does: a card that needs the payer (authentication_required) or is
// declined is a Declined result. A retry with the same PaymentID gets the
// first intent's answer back.
func (c *Client) ChargeSaved(ctx context.Context, in SavedCharge) (Result, error) {
	if err := checkID("payment id", in.PaymentID); err != nil {
		return Result{}, err
	}
	if in.Livemode != c.livemode {
		return Result{}, fmt.Errorf("%w: a livemode=%t charge with a livemode=%t key", provider.ErrInvalidRequest, in.Livemode, c.livemode)
	}
	cus, pm, err := parseSavedToken(in.Token)
	if err != nil {
		return Result{}, err
	}
	amount, currency, err := toStripe(in.Amount, in.Currency)
	if err != nil {
		return Result{}, err
	}
	params := &stripeapi.PaymentIntentCreateParams{
		Amount:        stripeapi.Int64(amount),
		Currency:      stripeapi.String(currency),
		CaptureMethod: stripeapi.String(string(stripeapi.PaymentIntentCaptureMethodManual)),
		Customer:      stripeapi.String(cus),
		PaymentMethod: stripeapi.String(pm),
		OffSession:    stripeapi.Bool(true),
		Confirm:       stripeapi.Bool(true),
		Metadata:      map[string]string{MetadataPaymentID: in.PaymentID},
	}
	return c.createIntent(ctx, params, in.PaymentID, "create off-session payment intent")
}

// savedToken is the token of the card an intent made with
// setup_future_usage saved, once it is authorised: its Customer and
// payment method ("" when either is missing).
func savedToken(pi *stripeapi.PaymentIntent) string {
	if pi.Customer == nil || pi.PaymentMethod == nil || pi.Customer.ID == "" || pi.PaymentMethod.ID == "" {
		return ""
	}
	return SavedToken(pi.Customer.ID, pi.PaymentMethod.ID)
}
