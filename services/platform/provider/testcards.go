package provider

import "strings"

// The documented test card numbers. Any expiry in the future and any 3- or
// 4-digit CVC work with them; no other number is accepted in test mode.
const (
	// TestCardSuccess is authorised at once.
	TestCardSuccess = "4242424242424242"
	// TestCardDeclined is declined with card_declined.
	TestCardDeclined = "4000000000000002"
	// TestCardInsufficientFunds is declined with insufficient_funds.
	TestCardInsufficientFunds = "4000000000009995"
	// TestCardChallenge needs a challenge (3-D Secure-like): approving it
	// authorises, refusing declines with authentication_failed.
	TestCardChallenge = "4000000000003220"
	// TestCardPending is Pending; its success arrives later as a signed
	// payment.succeeded callback through /hooks/test.
	TestCardPending = "4000000000000077"
	// TestCardProcessingError fails with processing_error on the first
	// account of a route (AuthorizeRequest.Attempt 1) and succeeds on any
	// later one: it shows a cascade (docs/routing.md).
	TestCardProcessingError = "4000000000000119"
	// TestCardOffSessionDeclined is authorised at checkout, and can be
	// saved for a subscription, but its later off-session charges are
	// declined with card_declined (Stripe's "attaching succeeds, charges
	// fail" card): renewals of a subscription paid with it fail.
	TestCardOffSessionDeclined = "4000000000000341"
)

// TestCard documents one test card number, for the hosted page's test-mode
// hint and for API documentation.
type TestCard struct {
	Number      string  // digits only
	Outcome     Outcome // what Authorize returns
	DeclineCode string  // for Declined
	Description string  // one line for people
	// OffSessionDecline is the decline code of its off-session charges
	// ("" when they succeed).
	OffSessionDecline string
}

var testCards = []TestCard{
	{TestCardSuccess, Authorized, "", "succeeds", ""},
	{TestCardDeclined, Declined, DeclineCardDeclined, "is declined", ""},
	{TestCardInsufficientFunds, Declined, DeclineInsufficientFunds, "is declined for insufficient funds", ""},
	{TestCardChallenge, ChallengeRequired, "", "asks for an authentication challenge", ""},
	{TestCardPending, Pending, "", "succeeds later, by a signed callback", ""},
	{TestCardOffSessionDeclined, Authorized, "", "succeeds, but its later subscription renewals are declined", DeclineCardDeclined},
	{TestCardProcessingError, Declined, DeclineProcessingError, "fails with a processing error on a route's first account, then succeeds on the next", ""},
}

// TestCards lists the documented test cards (a fresh copy).
func TestCards() []TestCard {
	return append([]TestCard(nil), testCards...)
}

// lookupTestCard finds a test card by its normalised number.
func lookupTestCard(digits string) (TestCard, bool) {
	for _, c := range testCards {
		if c.Number == digits {
			return c, true
		}
	}
	return TestCard{}, false
}

// groupDigits writes a number in groups of four, as printed on cards.
func groupDigits(digits string) string {
	var b strings.Builder
	for i := 0; i < len(digits); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(digits[i])
	}
	return b.String()
}

// unknownTestCardMessage tells the payer which numbers work.
var unknownTestCardMessage = func() string {
	var b strings.Builder
	b.WriteString("Only the documented test cards work in test mode: ")
	for i, c := range testCards {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(groupDigits(c.Number) + " " + c.Description)
	}
	b.WriteString(". Use any future expiry date and any 3-digit CVC.")
	return b.String()
}()

// declineMessages are the payer-facing sentences for each decline code.
var declineMessages = map[string]string{
	DeclineCardDeclined:         "Your card was declined.",
	DeclineInsufficientFunds:    "Your card has insufficient funds.",
	DeclineInvalidNumber:        "Your card number is not valid. Check it and try again.",
	DeclineExpiredCard:          "Your card has expired.",
	DeclineInvalidExpiry:        "Your card's expiry date is not valid. Enter it as MM/YY.",
	DeclineInvalidCVC:           "Your card's security code is not valid. It is the 3 or 4 digits on the card.",
	DeclineLiveModeNotSupported: "The test provider cannot take live-mode payments.",
	DeclineAuthenticationFailed: "The card's authentication was not completed, so the payment was declined.",
	DeclineTestCardUnknown:      unknownTestCardMessage,
	DeclineMobileMoneyDeclined:  "Your mobile-money payment was declined.",
	DeclinePaymentTimeout:       "The payment was not approved in time. You can try again.",
	DeclineNotAuthorised:        "The Direct Debit was not set up, so nothing will be collected. You can try again.",
	DeclineDirectDebitFailed:    "The Direct Debit could not be collected from your bank account.",
	DeclineProcessingError:      "The payment could not be processed just now; nothing was charged. Try again.",
	DeclineIssuerUnavailable:    "Your card's bank could not be reached; nothing was charged. Try again.",
}

// DeclineMessage returns the payer-facing sentence for a decline code, or a
// generic one for a code it does not know.
func DeclineMessage(code string) string {
	if m, ok := declineMessages[code]; ok {
		return m
	}
	return "Your payment was declined."
}
