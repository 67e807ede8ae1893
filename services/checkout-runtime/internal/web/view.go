package web

// The view model of the hosted page: everything the templates show, already
// formatted for the page's language. Handlers fill it; templates only read it.

// State is which view of a session the page shows.
type State string

// The page's states.
const (
	StateOpen         State = "open"          // the payment form (possibly with errors or a decline)
	StateChallenge    State = "challenge"     // the card's authentication step (approve / fail)
	StateProcessing   State = "processing"    // paid by a method whose result comes later; refreshes itself
	StateBankTransfer State = "bank_transfer" // instructions: where to send the money, reference, exact amount
	StatePaid         State = "paid"          // receipt, with a link back to the merchant
	StateCompleted    State = "completed"     // completed earlier (e.g. in another tab): nothing to pay
	StateExpired      State = "expired"       // expired: link back to the merchant's cancel URL
	StateNotFound     State = "not_found"     // unknown id: says nothing else
	StateUnavailable  State = "unavailable"   // a dependency is down: try again in a moment
	StateReturn       State = "return"        // paid: the form that posts the payer back to the merchant
	StateMobileMoney  State = "mobile_money"  // a mobile-money payment waiting: the code form, or "approve on your phone"
)

// Page is the data of one render.
type Page struct {
	Lang      string // a catalog's language ("en", "fr", "es"); also the html lang attribute
	Nonce     string // CSP nonce for the inline <style> and <script>
	CSRFToken string // value of the hidden csrf_token input
	State     State
	TestMode  bool // shows the test-mode banner and the test card help

	Site    SiteView
	Session SessionView
	Items   []ItemView
	Totals  TotalsView

	Methods []string // enabled methods, in order: "card", "bank_transfer"
	Method  string   // the selected one

	Billing   BillingView
	Countries []CountryOption
	// CustomFields are the site's custom fields, in the site's order.
	CustomFields []CustomFieldView
	// Cascade is the next pricing tier offered after a retryable decline.
	Cascade *CascadeView

	// FieldErrors maps a form field name (name, email, country, postal_code,
	// card_number, card_exp, card_cvc, method) to its message.
	FieldErrors map[string]string
	// FormError is a message about the whole attempt (a decline, a limit).
	FormError string

	Payment PaymentView
	Bank    BankView
	// MobileMoney: the wallet fields (open), or the code or wait view.
	MobileMoney *MobileMoneyView
	// DirectDebit: the processing payment is a direct debit (its money is
	// collected days later).
	DirectDebit bool

	// PayURL, ChallengeURL are the form actions; RefreshSeconds > 0 makes the
	// processing page reload itself (meta refresh, works without JavaScript).
	PayURL, ChallengeURL string
	// QuantityURL is the action of the adjustable items' quantity forms.
	QuantityURL    string
	RefreshSeconds int
	// ContinueURL is where the paid page's button goes (the success URL with
	// the session id filled in).
	ContinueURL string

	// Installments are the installment options of a card payment, when the
	// session offers more than a single payment; InstallmentCount is the
	// chosen count (0: none chosen, a single payment).
	Installments     []InstallmentView
	InstallmentCount int

	// ReturnPost is set for a session whose return method is post: the way
	// back to the merchant is a form posting it, not a link.
	ReturnPost *ReturnPost

	// PromoURL is the promotion code form's action, "" when the session
	// takes no code (not allowed, or a discount is applied already);
	// PromotionCode is the code the payer typed, shown again with its error.
	PromoURL, PromotionCode string

	// Stripe is set when the site's card account is a Stripe account: the
	// page mounts Stripe's Payment Element instead of card inputs of ours.
	Stripe *StripeView
}

// StripeView is what the page's script needs to mount the Payment Element
// in deferred-intent mode. Nothing in it is a secret.
type StripeView struct {
	PublishableKey string
	Amount         int64  // in Stripe's units (stripe.ElementsAmount)
	Currency       string // lower-case, as Stripe.js wants it
	ResumeURL      string // POST after Stripe.js handleNextAction
	// Setup: the checkout charges nothing today (a free trial); the
	// Element is in setup mode, cards only, and Amount is 0.
	Setup bool
}

// InstallmentView is one installment option, formatted.
type InstallmentView struct {
	Count int
	// Label says it all in the page's language: the installments (the
	// last absorbs the remainder) and what the payer pays in all.
	Label string
}

// ReturnPost is the form field a post return sends: checkoutId = the
// session's UUID.
type ReturnPost struct {
	Field, Value string
}

// SiteView is the merchant's branding.
type SiteView struct {
	Name         string
	LogoURL      string // may be empty
	PrimaryColor string // #rrggbb, defaulted when the site has none
	AccentColor  string
}

// SessionView is what the page says about the session.
type SessionView struct {
	ID          string
	Reference   string
	Description string
	CancelURL   string
	// Subscription: paying it starts a subscription (the test cards then
	// include the one whose renewals fail).
	Subscription bool
}

// ItemView is one formatted line item.
type ItemView struct {
	Name, Description string
	// ImageURL is the item's picture (an absolute https URL), "" for none:
	// the page then shows the name's initial in its place.
	ImageURL         string
	Quantity         int64
	UnitPrice, Total string
	// Index is the item's position in the session's line items; when
	// Adjustable, the page offers a form to change Quantity within
	// Minimum – Maximum, and QuantityError is that form's refusal.
	Index            int
	Adjustable       bool
	Minimum, Maximum int64
	QuantityError    string
	// QuantityPosted is the refused quantity as typed, shown back in the form.
	QuantityPosted string
}

// TotalsView holds the formatted totals.
type TotalsView struct {
	Subtotal string `json:"subtotal"`
	// Discount is what the session's discount takes off, "" when none.
	Discount string `json:"discount"`
	// Tax is the exclusive tax added on top, "" when none applies.
	Tax string `json:"tax"`
	// TaxLabel names the rate, e.g. "VAT 20%".
	TaxLabel string `json:"tax_label"`
	// IncludedTax is the tax already in the prices, "" when none.
	IncludedTax string `json:"included_tax"`
	Total       string `json:"total"`
}

// BillingView holds the billing details as entered (or prefilled).
type BillingView struct {
	Name, Email, Country, PostalCode, Region string
}

// CountryOption is one entry of the country select.
type CountryOption struct {
	Code, Name string
	Selected   bool
}

// PaymentView describes the payment on the receipt and processing pages.
type PaymentView struct {
	ID, Brand, Last4, Amount string
}

// BankView is the bank-transfer instructions.
type BankView struct {
	Instructions string
	Reference    string
	Amount       string
	// IBAN is the account number found in Instructions (a valid IBAN,
	// grouped by four), offered with its own copy button; "" when there is
	// none.
	IBAN string
}
