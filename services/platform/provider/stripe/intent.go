package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// MetadataPaymentID is the PaymentIntent metadata key holding our payment id
// (pay_…): Stripe's dashboard and events lead back to our payment by it.
const MetadataPaymentID = "tillpoint_payment_id"

// MetadataRefundID is the Refund metadata key holding our refund id.
const MetadataRefundID = "tillpoint_refund_id"

// maxMetadata is Stripe's limit on metadata keys (ours is the same), one of
// which is MetadataPaymentID.
const maxMetadata = 50

// maxID bounds our ids: each goes into an Idempotency-Key, which Stripe
// limits to 255 characters.
const maxID = 200

// Intent is one card (or other Payment Element method) payment to authorise.
type Intent struct {
	PaymentID string // our payment id (pay_…); the Idempotency-Key derives from it
	Amount    int64  // our minor units (ISO 4217), > 0
	Currency  string // ISO 4217, any case
	// ConfirmationToken is the ctoken_… Stripe.js made from the Payment
	// Element (stripe.createConfirmationToken).
	ConfirmationToken string
	// ReturnURL is where Stripe sends the payer back after a redirect-based
	// next action. Required: Stripe refuses a confirmation without it as
	// soon as the payer picks a method that redirects.
	ReturnURL string
	Livemode  bool              // must be the key's mode
	Metadata  map[string]string // copied to the intent, with MetadataPaymentID
	// SaveForOffSession keeps the card for later off-session charges (a
	// subscription's renewals): a Customer is created for it and the
	// intent asks for setup_future_usage=off_session (see saved.go).
	SaveForOffSession bool
	// Email is the payer's, for the Customer of a saved card (optional).
	Email string
}

// Result is what an authorisation came to.
type Result struct {
	Outcome  provider.Outcome
	IntentID string // the PaymentIntent (pi_…): the reference for Capture, Cancel, Refund
	// ClientSecret is set only for ChallengeRequired: the page passes it to
	// Stripe.js handleNextAction, then the runtime calls Resume. It lets the
	// browser act on this one intent; it is not a key, but it is not logged.
	ClientSecret string
	// Captured: Stripe already took the money (the intent succeeded): do not
	// capture again, refund instead of cancelling.
	Captured       bool
	Amount         int64  // our minor units, as Stripe holds them
	Currency       string // upper-case ISO 4217
	Livemode       bool
	Brand, Last4   string // cards, when Stripe tells
	DeclineCode    string // Declined only: one of provider's Decline… codes
	DeclineMessage string // Declined only: a sentence for the payer
	// SavedToken is the saved card (SavedToken: cus_…/pm_…) of an intent
	// with setup_future_usage=off_session (SaveForOffSession), once
	// authorised; ChargeSaved charges it.
	SavedToken string
}

// Authorize creates and confirms a PaymentIntent with manual capture from
// the payer's ConfirmationToken, and maps Stripe's answer to an outcome. A
// retry with the same PaymentID gets the first intent's answer back (Stripe's
// idempotency, 24 hours), never a second intent.
func (c *Client) Authorize(ctx context.Context, in Intent) (Result, error) {
	if err := c.checkIntent(in); err != nil {
		return Result{}, err
	}
	amount, currency, err := toStripe(in.Amount, in.Currency)
	if err != nil {
		return Result{}, err
	}
	params := &stripeapi.PaymentIntentCreateParams{
		Amount:            stripeapi.Int64(amount),
		Currency:          stripeapi.String(currency),
		CaptureMethod:     stripeapi.String(string(stripeapi.PaymentIntentCaptureMethodManual)),
		Confirm:           stripeapi.Bool(true),
		ConfirmationToken: stripeapi.String(in.ConfirmationToken),
		// The methods the Payment Element offered: the ones enabled in the
		// merchant's dashboard.
		AutomaticPaymentMethods: &stripeapi.PaymentIntentCreateAutomaticPaymentMethodsParams{Enabled: stripeapi.Bool(true)},
		ReturnURL:               stripeapi.String(in.ReturnURL),
		Metadata:                map[string]string{},
	}
	for k, v := range in.Metadata {
		params.Metadata[k] = v
	}
	params.Metadata[MetadataPaymentID] = in.PaymentID
	if in.SaveForOffSession {
		cus, err := c.customerFor(ctx, MetadataPaymentID, in.PaymentID, in.Email)
		if err != nil {
			return Result{}, err
		}
		params.Customer = stripeapi.String(cus)
		params.SetupFutureUsage = stripeapi.String(string(stripeapi.PaymentIntentSetupFutureUsageOffSession))
	}
	return c.createIntent(ctx, params, in.PaymentID, "create payment intent")
}

// createIntent creates and confirms an intent for our payment paymentID
// (the Idempotency-Key derives from it) and maps Stripe's answer: a decline
// is a Declined result, not an error.
func (c *Client) createIntent(ctx context.Context, params *stripeapi.PaymentIntentCreateParams, paymentID, op string) (Result, error) {
	params.AddExpand("payment_method") // for the card's brand and last four digits
	params.SetIdempotencyKey("tillpoint-authorize-" + paymentID)
	c.prepare(&params.Params)
	pi, err := c.api.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		if res, ok := declineOf(err); ok {
			return res, nil
		}
		return Result{}, classify(op, err)
	}
	return c.result(pi)
}

// Resume reads an intent again after the payer's next action
// (handleNextAction) and maps it as Authorize does.
func (c *Client) Resume(ctx context.Context, intentID string) (Result, error) {
	pi, err := c.retrieve(ctx, intentID)
	if err != nil {
		return Result{}, err
	}
	return c.result(pi)
}

// Capture takes amount (our minor units of currency, at most the authorised
// amount) of an authorised intent. A repeat with the same amount succeeds;
// with another amount after a capture it fails with ErrAlreadyCaptured.
func (c *Client) Capture(ctx context.Context, intentID string, amount int64, currency string) error {
	_, err := c.CaptureWithFee(ctx, intentID, amount, currency)
	return err
}

// CaptureWithFee is Capture that also reports Stripe's fee for the charge,
// read from its balance transaction (expanded on the same call), in the
// account's settlement currency and our minor units. The fee is zero when
// Stripe has no balance transaction for the charge yet.
func (c *Client) CaptureWithFee(ctx context.Context, intentID string, amount int64, currency string) (provider.Fee, error) {
	if err := checkIntentID(intentID); err != nil {
		return provider.Fee{}, err
	}
	want, _, err := toStripe(amount, currency)
	if err != nil {
		return provider.Fee{}, err
	}
	params := &stripeapi.PaymentIntentCaptureParams{AmountToCapture: stripeapi.Int64(want)}
	params.AddExpand(feeExpansion)
	params.SetIdempotencyKey("tillpoint-capture-" + intentID + "-" + strconv.FormatInt(want, 10))
	c.prepare(&params.Params)
	pi, err := c.api.V1PaymentIntents.Capture(ctx, intentID, params)
	if err == nil {
		return feeOf(pi), nil
	}
	var se *stripeapi.Error
	if !errors.As(err, &se) || se.Code != stripeapi.ErrorCodePaymentIntentUnexpectedState {
		if se != nil && se.Param == "amount_to_capture" {
			return provider.Fee{}, fmt.Errorf("%w: %w", provider.ErrCaptureAmount, classify("capture", err))
		}
		return provider.Fee{}, classify("capture", err)
	}
	// Not capturable now: say why, from the intent's state (a retry after
	// Stripe forgot the idempotency key lands here too).
	pi, rerr := c.retrieve(ctx, intentID, feeExpansion)
	if rerr != nil {
		return provider.Fee{}, rerr
	}
	switch pi.Status {
	case stripeapi.PaymentIntentStatusSucceeded:
		if pi.AmountReceived == want {
			return feeOf(pi), nil
		}
		return provider.Fee{}, fmt.Errorf("%w: %s captured %d, not %d", provider.ErrAlreadyCaptured, intentID, pi.AmountReceived, want)
	case stripeapi.PaymentIntentStatusCanceled:
		return provider.Fee{}, fmt.Errorf("%w: %s", provider.ErrAlreadyVoided, intentID)
	}
	return provider.Fee{}, fmt.Errorf("%w: %s is %s", provider.ErrNotCapturable, intentID, pi.Status)
}

// feeExpansion asks Stripe for the charge's balance transaction, which
// holds the fee.
const feeExpansion = "latest_charge.balance_transaction"

// feeOf reads Stripe's fee from an intent whose latest charge's balance
// transaction was expanded; zero when there is none (yet).
func feeOf(pi *stripeapi.PaymentIntent) provider.Fee {
	if pi == nil || pi.LatestCharge == nil || pi.LatestCharge.BalanceTransaction == nil {
		return provider.Fee{}
	}
	bt := pi.LatestCharge.BalanceTransaction
	amount, code, err := fromStripe(bt.Fee, string(bt.Currency))
	if err != nil {
		return provider.Fee{}
	}
	return provider.Fee{Amount: amount, Currency: code}
}

// Cancel voids an intent that will not be captured (the session closed
// meanwhile). A repeat succeeds; a captured intent fails with
// ErrAlreadyCaptured (refund it instead).
func (c *Client) Cancel(ctx context.Context, intentID string) error {
	if err := checkIntentID(intentID); err != nil {
		return err
	}
	params := &stripeapi.PaymentIntentCancelParams{}
	params.SetIdempotencyKey("tillpoint-cancel-" + intentID)
	c.prepare(&params.Params)
	_, err := c.api.V1PaymentIntents.Cancel(ctx, intentID, params)
	if err == nil {
		return nil
	}
	var se *stripeapi.Error
	if !errors.As(err, &se) || se.Code != stripeapi.ErrorCodePaymentIntentUnexpectedState {
		return classify("cancel", err)
	}
	pi, rerr := c.retrieve(ctx, intentID)
	if rerr != nil {
		return rerr
	}
	switch pi.Status {
	case stripeapi.PaymentIntentStatusCanceled:
		return nil
	case stripeapi.PaymentIntentStatusSucceeded:
		return fmt.Errorf("%w: %s", provider.ErrAlreadyCaptured, intentID)
	}
	return classify("cancel", err)
}

// Refund statuses, as our refund object has them.
const (
	RefundPending   = "pending"
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
)

// Refunded is Stripe's answer to a refund.
type Refunded struct {
	ID     string // re_…
	Status string // RefundPending, RefundSucceeded or RefundFailed; a webhook may finish a pending one
	// FailureReason is Stripe's reason for a failed refund (e.g.
	// "expired_or_canceled_card").
	FailureReason string
}

// Refund refunds amount (our minor units of currency) of a captured intent.
// refundID is our refund id (re_…): a retry with it gets the first refund
// back, never a second one.
func (c *Client) Refund(ctx context.Context, intentID string, amount int64, currency, refundID string) (Refunded, error) {
	if err := checkIntentID(intentID); err != nil {
		return Refunded{}, err
	}
	if err := checkID("refund id", refundID); err != nil {
		return Refunded{}, err
	}
	value, _, err := toStripe(amount, currency)
	if err != nil {
		return Refunded{}, err
	}
	params := &stripeapi.RefundCreateParams{
		PaymentIntent: stripeapi.String(intentID),
		Amount:        stripeapi.Int64(value),
		Metadata:      map[string]string{MetadataRefundID: refundID},
	}
	params.SetIdempotencyKey("tillpoint-refund-" + refundID)
	c.prepare(&params.Params)
	re, err := c.api.V1Refunds.Create(ctx, params)
	if err != nil {
		return Refunded{}, classify("refund", err)
	}
	out := Refunded{ID: re.ID, Status: RefundPending}
	switch re.Status {
	case stripeapi.RefundStatusSucceeded:
		out.Status = RefundSucceeded
	case stripeapi.RefundStatusFailed, stripeapi.RefundStatusCanceled:
		out.Status, out.FailureReason = RefundFailed, string(re.FailureReason)
	}
	return out, nil
}

// retrieve reads an intent, with its payment method.
func (c *Client) retrieve(ctx context.Context, intentID string, expand ...string) (*stripeapi.PaymentIntent, error) {
	if err := checkIntentID(intentID); err != nil {
		return nil, err
	}
	params := &stripeapi.PaymentIntentRetrieveParams{}
	params.AddExpand("payment_method")
	for _, e := range expand {
		params.AddExpand(e)
	}
	c.prepare(&params.Params)
	pi, err := c.api.V1PaymentIntents.Retrieve(ctx, intentID, params)
	if err != nil {
		return nil, classify("retrieve payment intent", err)
	}
	return pi, nil
}

// result maps an intent from this client's account to a Result.
func (c *Client) result(pi *stripeapi.PaymentIntent) (Result, error) {
	res, err := outcomeOf(pi)
	if err != nil {
		return Result{}, err
	}
	if res.Livemode != c.livemode {
		return Result{}, fmt.Errorf("%w: intent %s is livemode=%t, the key is livemode=%t", provider.ErrInvalidRequest, pi.ID, res.Livemode, c.livemode)
	}
	if pi.SetupFutureUsage == stripeapi.PaymentIntentSetupFutureUsageOffSession && res.Outcome == provider.Authorized {
		// Authorised now or after the payer's action (Resume): the card is saved.
		res.SavedToken = savedToken(pi)
	}
	return res, nil
}

// checkIntent validates an Intent before anything is sent.
func (c *Client) checkIntent(in Intent) error {
	if err := checkID("payment id", in.PaymentID); err != nil {
		return err
	}
	if !strings.HasPrefix(in.ConfirmationToken, "ctoken_") || !printable(in.ConfirmationToken) || len(in.ConfirmationToken) > maxID {
		return fmt.Errorf("%w: confirmation token: want the ctoken_… Stripe.js made", provider.ErrInvalidRequest)
	}
	if in.Livemode != c.livemode {
		return fmt.Errorf("%w: a livemode=%t payment with a livemode=%t key", provider.ErrInvalidRequest, in.Livemode, c.livemode)
	}
	if u, err := url.Parse(in.ReturnURL); err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && (c.livemode || u.Scheme != "http")) {
		return fmt.Errorf("%w: return URL must be an absolute https URL (http in test mode)", provider.ErrInvalidRequest)
	}
	if _, dup := in.Metadata[MetadataPaymentID]; dup || len(in.Metadata) >= maxMetadata {
		return fmt.Errorf("%w: metadata: at most %d keys, not %q", provider.ErrInvalidRequest, maxMetadata-1, MetadataPaymentID)
	}
	return nil
}

// checkIntentID validates a PaymentIntent id.
func checkIntentID(id string) error {
	if !strings.HasPrefix(id, "pi_") {
		return fmt.Errorf("%w: %q is not a PaymentIntent id", provider.ErrInvalidRequest, id)
	}
	return checkID("payment intent id", id)
}

// checkID validates one of our ids or Stripe's: it goes into a URL path or
// an Idempotency-Key, and into logs.
func checkID(what, id string) error {
	if id == "" || len(id) > maxID || !printable(id) {
		return fmt.Errorf("%w: %s must be 1–%d printable ASCII characters without spaces", provider.ErrInvalidRequest, what, maxID)
	}
	return nil
}

// printable reports whether s is printable ASCII without spaces.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
