package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Provider names, as used in the registry, in payment rows and in the
// callback route POST /hooks/{provider}.
const (
	NameTest         = "test"
	NameBankTransfer = "bank_transfer"
	// NameStripe is a merchant's own Stripe account (Registry.ForAccount).
	NameStripe = "stripe"
	// NamePaystack is a merchant's own Paystack account (mobile money).
	NamePaystack = "paystack"
	// NameGoCardless is a merchant's own GoCardless account: direct debit
	// (Registry.ForAccount).
	NameGoCardless = "gocardless"
)

// Provider authorises, captures and voids payments with one payment provider.
// Implementations are safe for concurrent use.
type Provider interface {
	// Name is the provider's registry name ("test", "bank_transfer").
	Name() string
	// Authorize asks the provider to authorise a payment. A refusal by the
	// provider or the card is a Declined Result, not an error; an error means
	// the request itself was wrong (ErrInvalidRequest) or the provider could
	// not be reached, and the attempt may be retried.
	Authorize(ctx context.Context, req AuthorizeRequest) (Result, error)
	// CompleteChallenge finishes a ChallengeRequired authorisation (a
	// 3-D Secure-like step): approve true authorises, false declines it with
	// "authentication_failed".
	CompleteChallenge(ctx context.Context, reference string, approve bool) (Result, error)
	// Capture takes amount (at most the authorised amount) of an authorised
	// payment. Repeating it with the same amount succeeds.
	Capture(ctx context.Context, reference string, amount int64) error
	// Void releases an authorisation that will not be captured. Repeating it
	// succeeds; voiding a captured payment fails.
	Void(ctx context.Context, reference string) error
	// Refund gives back part or all of a captured payment. The refunds of
	// one reference never total more than was captured (ErrRefundAmount);
	// an uncaptured reference is ErrNotRefundable. Repeating a call with the
	// same RefundID moves no more money and answers as the first did, so a
	// refund left pending by a crash is settled by asking again.
	Refund(ctx context.Context, req RefundRequest) (RefundResult, error)
}

// RefundRequest is one refund of a captured payment.
type RefundRequest struct {
	Reference string // the authorisation's reference (Result.Reference)
	RefundID  string // our refund id (re_…): the provider's idempotency key (Paystack: the merchant note)
	Amount    int64  // minor units, > 0
	Currency  string // ISO 4217; providers that count in other units need it (Stripe)
	// ProviderRef is the provider's id for this refund from an earlier
	// answer (RefundResult.Reference), "" if none was recorded. A provider
	// without idempotency keys (Paystack) reads that refund instead of
	// making another.
	ProviderRef string
	// FirstTried is when the refund was first sent to the provider; zero on
	// that first call. On a retry without ProviderRef, the earlier call may
	// have made the refund unanswered (a crash, a timeout): a provider
	// without idempotency keys looks for it among the refunds made since.
	FirstTried time.Time
}

// RefundStatus is where a refund stands at the provider.
type RefundStatus int

// The refund statuses.
const (
	RefundSucceeded RefundStatus = iota + 1 // the money is on its way back
	RefundPending                           // the provider answers later
	RefundFailed                            // refused; see FailureReason
)

// RefundResult is the provider's answer to Refund.
type RefundResult struct {
	Status        RefundStatus
	Reference     string // the provider's id for the refund
	FailureReason string // RefundFailed only: a short snake_case reason
}

// AuthorizeRequest is one authorisation attempt for a payment.
type AuthorizeRequest struct {
	PaymentID string // our payment id (pay_…); the bank-transfer reference too
	Amount    int64  // minor units, > 0
	Currency  string // ISO 4217
	Livemode  bool
	Card      *Card // test provider's card payments only; formats redacted
	// Token is what the provider's own component made in the browser:
	// Stripe's ConfirmationToken (ctoken_…). No card data reaches us.
	Token string
	// ReturnURL is where the provider sends the payer back after a
	// redirect-based next action (Stripe requires one when confirming).
	ReturnURL string
	// Attempt is this request's place in a route's cascade: 1 for the
	// first account tried, 2 for the next, …; 0 outside routing (as 1).
	Attempt int
	// MobileMoney is the payer's wallet for a mobile-money payment
	// (Paystack); nil for every other method.
	MobileMoney *MobileMoney
	// Email is the payer's address, for providers that require one (Paystack).
	Email string
	// SaveForOffSession asks the provider to keep the card for later
	// off-session charges (a subscription checkout's): a provider that
	// saves it this way returns Result.SavedToken (Stripe).
	SaveForOffSession bool
}

// SetupRequest asks a provider to save a card without charging it, for a
// checkout that charges nothing today (a subscription's free trial), as
// Stripe Checkout sets up a trial's payment method. The answer is a Result:
// Authorized with SavedToken (the card, for off-session charges later),
// Declined, or ChallengeRequired (Stripe: 3-D Secure, then Resumer.Resume
// with its Reference).
type SetupRequest struct {
	SetupID  string // our id for the setup (setup_…); idempotency keys derive from it
	Livemode bool
	Card     *Card  // the test provider's cards only
	Token    string // Stripe's ConfirmationToken (ctoken_…); no card data reaches us
	// ReturnURL is where a redirect-based next action sends the payer back.
	ReturnURL string
	Email     string // the payer's, for the provider's customer (optional)
}

// MobileMoney is a payer's mobile-money wallet, as the page validated it.
type MobileMoney struct {
	Phone   string // E.164, e.g. "+233551234987"
	Network string // the provider's operator code: "mtn", "vod", "atl", "mpesa"
}

// Outcome is what an authorisation attempt came to. The zero value is not a
// valid outcome, so an unset Result is never mistaken for an authorisation.
type Outcome int

// The outcomes.
const (
	Authorized        Outcome = iota + 1 // funds are held; Capture or Void next
	Declined                             // refused; see DeclineCode
	ChallengeRequired                    // the payer must pass a challenge; then CompleteChallenge
	Pending                              // the result arrives later by a signed callback
)

var outcomeNames = [...]string{
	Authorized:        "authorized",
	Declined:          "declined",
	ChallengeRequired: "challenge_required",
	Pending:           "pending",
}

// String is the outcome's snake_case name, as stored and logged.
func (o Outcome) String() string {
	if o > 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Result is the provider's answer to Authorize or CompleteChallenge. It holds
// no card data beyond the brand and the last four digits.
type Result struct {
	Outcome        Outcome
	Reference      string // the provider's id for this authorisation
	Brand          string // cards: "visa", "mastercard", "amex" or "card"
	Last4          string // cards: the last four digits
	DeclineCode    string // Declined only: one of the Decline… codes
	DeclineMessage string // Declined only: a sentence that can be shown to the payer
	// ClientSecret is set for a ChallengeRequired that the payer passes in
	// the provider's own script (Stripe.js handleNextAction); then the
	// runtime calls Resumer.Resume. It is not a key, but it is not logged.
	ClientSecret string
	// RedirectURL is set for a ChallengeRequired that the payer passes on
	// the provider's own page (GoCardless's billing request flow): the page
	// sends the payer there, and the provider sends them back to the
	// request's ReturnURL, where the runtime calls Resumer.Resume.
	RedirectURL string
	// Captured: the provider already took the money (a method that ignores
	// manual capture). Capture is not needed; a lost session is refunded,
	// not voided.
	Captured bool
	// NextAction says, for ChallengeRequired, what the page
	// shows while the payer acts: NextActionOTP (a code form, then
	// OTPSubmitter.SubmitOTP) or NextActionApproveOnPhone (a wait that
	// refreshes until the callback). Empty for cards.
	NextAction string
	// Amount and Currency are what the provider reports for an Authorized
	// result when the call carried no amount (Paystack's OTP submission and
	// verification): the caller compares them with the payment's. Zero and
	// empty when not reported.
	Amount   int64
	Currency string
	// DisplayText is the provider's sentence for the payer about NextAction
	// ("Please enter the OTP sent to your phone"); may be empty.
	DisplayText string
	// SavedToken is the reusable card of an authorisation made with
	// AuthorizeRequest.SaveForOffSession, for the provider's off-session
	// charges later; empty when the provider did not save it this way.
	SavedToken string
}

// Next actions of a mobile-money payment (Result.NextAction).
const (
	NextActionOTP            = "otp"
	NextActionApproveOnPhone = "approve_on_phone"
)

// OTPSubmitter is a provider whose challenge is a one-time code the payer
// received (Paystack's send_otp): SubmitOTP answers as Authorize does.
type OTPSubmitter interface {
	SubmitOTP(ctx context.Context, reference, otp string) (Result, error)
}

// AuthorizationFinder is a provider that can say which authorisation it
// gave one of our payments, by our payment id (AuthorizeRequest.PaymentID).
// The payment reconciler asks it when a runtime died after the provider's
// answer but before anything recorded it, so that the authorisation is
// voided rather than left to lapse. It answers ErrUnknownReference when it
// holds none for the payment (none given, or a decline).
type AuthorizationFinder interface {
	FindAuthorization(ctx context.Context, paymentID string) (Result, error)
}

// LaggingFinder is an AuthorizationFinder whose index can lag the
// provider's own records (Stripe's Search API): an authorisation made up to
// FindLag before may not be found yet, so that "none" is final only for a
// payment older than that.
type LaggingFinder interface {
	AuthorizationFinder
	FindLag() time.Duration
}

// Resumer is a provider whose next action happens at the provider (Stripe's
// 3-D Secure in Stripe.js): Resume reads the authorisation again afterwards
// and answers as Authorize does. The test provider's challenge is our own
// form instead (CompleteChallenge).
type Resumer interface {
	Resume(ctx context.Context, reference string) (Result, error)
}

// Decline codes, stable and machine-readable (they reach the hosted page and
// the payment.failed event).
const (
	DeclineCardDeclined         = "card_declined"
	DeclineInsufficientFunds    = "insufficient_funds"
	DeclineInvalidNumber        = "invalid_number"
	DeclineExpiredCard          = "expired_card"
	DeclineInvalidExpiry        = "invalid_expiry"
	DeclineInvalidCVC           = "invalid_cvc"
	DeclineLiveModeNotSupported = "live_mode_not_supported"
	DeclineAuthenticationFailed = "authentication_failed"
	DeclineTestCardUnknown      = "test_card_unknown"
	// DeclineMobileMoneyDeclined: the operator or the payer refused a
	// mobile-money payment (a rejected prompt, a wrong code, a blocked wallet).
	DeclineMobileMoneyDeclined = "mobile_money_declined"
	// DeclinePaymentTimeout: the payer did not approve in time.
	DeclinePaymentTimeout = "payment_timeout"
	// DeclineNotAuthorised: the payer left the provider's page (a direct
	// debit's authorisation) without finishing it.
	DeclineNotAuthorised = "payment_not_authorised"
	// DeclineDirectDebitFailed: the payer's bank refused or returned a
	// direct debit, or it was cancelled before it was collected.
	DeclineDirectDebitFailed = "direct_debit_failed"
	// DeclineProcessingError: the provider failed while processing; not
	// the payer's doing, so routing may try the next account.
	DeclineProcessingError = "processing_error"
	// DeclineIssuerUnavailable: the card's issuer could not be reached.
	DeclineIssuerUnavailable = "issuer_unavailable"
)

// Errors of the authorise/capture/void calls. Each is wrapped with detail
// (test with errors.Is); none of them carries card data.
var (
	// ErrInvalidRequest: the caller sent a request no provider could accept
	// (no payment id, a non-positive amount, a bad currency). A caller bug.
	ErrInvalidRequest = errors.New("provider: invalid request")
	// ErrUnknownReference: the provider never issued this reference, or it
	// has lapsed.
	ErrUnknownReference = errors.New("provider: unknown or expired reference")
	// ErrAlreadyCaptured: Void of a captured payment, or a second Capture
	// with another amount.
	ErrAlreadyCaptured = errors.New("provider: payment already captured")
	// ErrAlreadyVoided: Capture of a voided authorisation.
	ErrAlreadyVoided = errors.New("provider: authorisation already voided")
	// ErrNotCapturable: the reference is declined or still waits for its
	// challenge.
	ErrNotCapturable = errors.New("provider: authorisation is not in a capturable state")
	// ErrCaptureAmount: Capture of more than the authorised amount.
	ErrCaptureAmount = errors.New("provider: capture amount exceeds the authorised amount")
	// ErrNoChallenge: CompleteChallenge of a reference that had no challenge.
	ErrNoChallenge = errors.New("provider: no challenge for this reference")
	// ErrNotRefundable: Refund of a reference that was not captured.
	ErrNotRefundable = errors.New("provider: payment not captured, nothing to refund")
	// ErrRefundAmount: Refund of more than is left of the capture, or a
	// repeated refund id with another amount.
	ErrRefundAmount = errors.New("provider: refund exceeds what is left of the capture")
)

// decline builds a Declined result.
func decline(ref, brand, last4, code, message string) Result {
	return Result{Outcome: Declined, Reference: ref, Brand: brand, Last4: last4, DeclineCode: code, DeclineMessage: message}
}

// checkRefund validates the parts of a refund every provider needs.
func checkRefund(req RefundRequest) error {
	switch {
	case req.Reference == "":
		return fmt.Errorf("%w: empty reference", ErrUnknownReference)
	case req.RefundID == "":
		return fmt.Errorf("%w: refund id is required", ErrInvalidRequest)
	case req.Amount <= 0:
		return fmt.Errorf("%w: refund amount must be positive, got %d", ErrInvalidRequest, req.Amount)
	}
	return nil
}

// checkRequest validates the parts of a request every provider needs.
func checkRequest(req AuthorizeRequest) error {
	switch {
	case req.PaymentID == "":
		return fmt.Errorf("%w: payment id is required", ErrInvalidRequest)
	case req.Amount <= 0:
		return fmt.Errorf("%w: amount must be positive, got %d", ErrInvalidRequest, req.Amount)
	case !validCurrency(req.Currency):
		return fmt.Errorf("%w: currency %q is not a three-letter ISO 4217 code", ErrInvalidRequest, req.Currency)
	}
	return nil
}

// validCurrency reports whether code is an ISO 4217 currency code.
func validCurrency(code string) bool {
	_, err := money.ParseCurrency(code)
	return err == nil
}

// Fee is what a provider charged the merchant for a payment, in minor units
// of Currency (the account's settlement currency, which may differ from the
// payment's). The zero Fee means none is known.
type Fee struct {
	Amount   int64
	Currency string
}

// FeeCapturer is a Provider whose capture also reports its fee (Stripe's
// is on the charge's balance transaction). Providers that charge no fee
// (the test provider, bank transfer) do not implement it.
type FeeCapturer interface {
	// CaptureWithFee captures amount, in minor units of the payment's
	// currency, which the caller knows (so the provider need not be asked).
	CaptureWithFee(ctx context.Context, reference string, amount int64, currency string) (Fee, error)
}
