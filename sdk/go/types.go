package tillpoint

import (
	"encoding/json"
	"time"
)

// The API's objects, as its OpenAPI description gives them. Fields the API
// may answer with null are pointers. Amounts are integers in the currency's
// minor unit (5000 EUR is €50.00).

// CheckoutSession is a hosted checkout (cs_…): send the customer to URL.
type CheckoutSession struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	SiteID             string            `json:"site_id"`
	Status             string            `json:"status"`         // open, complete or expired
	PaymentStatus      string            `json:"payment_status"` // unpaid or paid
	URL                string            `json:"url"`
	Amount             int64             `json:"amount"`
	AmountSubtotal     int64             `json:"amount_subtotal"`
	AmountTax          int64             `json:"amount_tax"`
	AmountTotal        int64             `json:"amount_total"`
	Currency           string            `json:"currency"`
	LineItems          []LineItem        `json:"line_items"`
	TotalDetails       *TotalDetails     `json:"total_details"`
	Customer           *string           `json:"customer"`
	CustomerEmail      *string           `json:"customer_email"`
	CustomerPhone      *string           `json:"customer_phone"`
	SuccessURL         string            `json:"success_url"`
	CancelURL          string            `json:"cancel_url"`
	Metadata           map[string]string `json:"metadata"`
	OrderID            *string           `json:"order_id"`
	ClientReferenceID  *string           `json:"client_reference_id"`
	Description        *string           `json:"description"`
	Reference          string            `json:"reference"`
	Payment            *string           `json:"payment"`
	Livemode           bool              `json:"livemode"`
	PaymentMethodTypes []string          `json:"payment_method_types"`
	Locale             string            `json:"locale"`
	NotifyURL          *string           `json:"notify_url"`
	ProcessingFee      *int64            `json:"processing_fee"`
	NetAmount          *int64            `json:"net_amount"`
	ExpiresAt          time.Time         `json:"expires_at"`
	CreatedAt          time.Time         `json:"created_at"`
	CompletedAt        *time.Time        `json:"completed_at"`
	// Discounts is the applied discount (at most one).
	Discounts           []SessionDiscount `json:"discounts"`
	AllowPromotionCodes bool              `json:"allow_promotion_codes"`
	Route               *string           `json:"route"`
	// CustomFields is nil unless asked for with Expand / WithExpand.
	CustomFields     map[string]any `json:"custom_fields"`
	CascadeLineItems []CascadeTier  `json:"cascade_line_items"`
	// CascadeTier is 0 for the session's own line items, n for the n-th
	// of CascadeLineItems.
	CascadeTier      int32   `json:"cascade_tier"`
	CascadePayment   *string `json:"cascade_payment"`
	Mode             string  `json:"mode"` // payment or subscription
	Subscription     *string `json:"subscription"`
	CustomerCreation string  `json:"customer_creation"`
}

// SessionDiscount is a discount applied to a session.
type SessionDiscount struct {
	Coupon        string  `json:"coupon"`
	PromotionCode *string `json:"promotion_code"`
}

// CascadeTier is a fallback pricing tier of a session.
type CascadeTier struct {
	LineItems        []LineItem `json:"line_items"`
	ProcessorRouteID *string    `json:"processor_route_id"`
	AmountSubtotal   int64      `json:"amount_subtotal"`
}

// LineItem is a line of a session.
type LineItem struct {
	Name           string  `json:"name"`
	Description    *string `json:"description"`
	UnitAmount     int64   `json:"unit_amount"`
	Quantity       int64   `json:"quantity"`
	ImageURL       *string `json:"image_url"`
	PriceID        *string `json:"price_id"`
	ProductID      *string `json:"product_id"`
	AmountSubtotal int64   `json:"amount_subtotal"`
	AmountDiscount int64   `json:"amount_discount"`
	AmountTotal    int64   `json:"amount_total"`
}

// TotalDetails breaks a session's total down.
type TotalDetails struct {
	AmountDiscount int64 `json:"amount_discount"`
	AmountTax      int64 `json:"amount_tax"`
}

// Payment is an attempt to pay a session (pay_…).
type Payment struct {
	ID              string `json:"id"`
	Object          string `json:"object"`
	CheckoutSession string `json:"checkout_session"`
	// Invoice is the invoice (in_…) an off-session renewal payment pays.
	Invoice        *string      `json:"invoice"`
	Status         string       `json:"status"`
	Method         string       `json:"method"`
	Provider       string       `json:"provider"`
	Amount         int64        `json:"amount"`
	AmountTax      int64        `json:"amount_tax"`
	AmountReceived int64        `json:"amount_received"`
	AmountRefunded int64        `json:"amount_refunded"`
	AmountOverpaid int64        `json:"amount_overpaid"`
	Currency       string       `json:"currency"`
	Fee            int64        `json:"fee"`
	FeeCurrency    string       `json:"fee_currency"`
	ProcessingFee  *int64       `json:"processing_fee"`
	NetAmount      *int64       `json:"net_amount"`
	FailureCode    *string      `json:"failure_code"`
	FailureMessage *string      `json:"failure_message"`
	Card           *PaymentCard `json:"card"`
	Refunds        []Refund     `json:"refunds"`
	Livemode       bool         `json:"livemode"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

// PaymentCard is the card a payment was made with.
type PaymentCard struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// Refund gives money back from a succeeded payment (re_…).
type Refund struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Payment       string            `json:"payment"`
	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	Status        string            `json:"status"` // pending, succeeded or failed
	Reason        *string           `json:"reason"`
	FailureReason *string           `json:"failure_reason"`
	Metadata      map[string]string `json:"metadata"`
	Livemode      bool              `json:"livemode"`
	CreatedAt     time.Time         `json:"created_at"`
}

// WebhookEndpoint is a URL that receives events (we_…). Secret is set only
// in the answers to Create and RotateSecret.
type WebhookEndpoint struct {
	ID              string    `json:"id"`
	Object          string    `json:"object"`
	URL             string    `json:"url"`
	Description     string    `json:"description"`
	EnabledEvents   []string  `json:"enabled_events"`
	Status          string    `json:"status"`
	DisabledReason  *string   `json:"disabled_reason"`
	APIVersion      *string   `json:"api_version"`
	SignatureFormat string    `json:"signature_format"`
	Secret          *string   `json:"secret"`
	Livemode        bool      `json:"livemode"`
	CreatedAt       time.Time `json:"created_at"`
}

// Event is a state change of a session, payment or refund (evt_…), and the
// body of a webhook delivery.
type Event struct {
	ID       string    `json:"id"`
	Object   string    `json:"object"`
	Type     string    `json:"type"`
	Sequence int64     `json:"sequence"`
	Livemode bool      `json:"livemode"`
	Created  time.Time `json:"created"`
	Data     EventData `json:"data"`
}

// EventData carries the whole object the event is about; decode it with
// the event's type in mind (Event.Data.Session, Payment, Refund).
type EventData struct {
	Object json.RawMessage `json:"object"`
}

// Session decodes the data of a checkout.session.* event.
func (d EventData) Session() (*CheckoutSession, error) { return decode[CheckoutSession](d.Object) }

// Payment decodes the data of a payment.* event.
func (d EventData) Payment() (*Payment, error) { return decode[Payment](d.Object) }

// Refund decodes the data of a refund.* event.
func (d EventData) Refund() (*Refund, error) { return decode[Refund](d.Object) }

func decode[T any](raw json.RawMessage) (*T, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Customer is a person who pays (cus_…).
type Customer struct {
	ID        string            `json:"id"`
	Object    string            `json:"object"`
	Name      *string           `json:"name"`
	Email     *string           `json:"email"`
	Phone     *string           `json:"phone"`
	Address   *Address          `json:"address"`
	Metadata  map[string]string `json:"metadata"`
	Livemode  bool              `json:"livemode"`
	CreatedAt time.Time         `json:"created_at"`
	// TestClock is the test clock (clock_…) its subscriptions follow.
	TestClock *string `json:"test_clock"`
}

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	State      string `json:"state,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Product is what is sold (prod_…).
type Product struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Name        string            `json:"name"`
	Description *string           `json:"description"`
	Images      []string          `json:"images"`
	Active      bool              `json:"active"`
	Metadata    map[string]string `json:"metadata"`
	Livemode    bool              `json:"livemode"`
	CreatedAt   time.Time         `json:"created_at"`
}

// Price is how much a unit of a product costs (price_…).
type Price struct {
	ID         string            `json:"id"`
	Object     string            `json:"object"`
	Product    string            `json:"product"`
	Type       string            `json:"type"` // one_time or recurring
	UnitAmount int64             `json:"unit_amount"`
	Currency   string            `json:"currency"`
	Recurring  *Recurring        `json:"recurring"`
	Nickname   *string           `json:"nickname"`
	Active     bool              `json:"active"`
	Metadata   map[string]string `json:"metadata"`
	Livemode   bool              `json:"livemode"`
	CreatedAt  time.Time         `json:"created_at"`
}

// Recurring is a price's billing interval.
type Recurring struct {
	Interval      string `json:"interval"`
	IntervalCount int32  `json:"interval_count,omitempty"`
}

// Deleted is the answer to a delete.
type Deleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

func (o CheckoutSession) objectID() string { return o.ID }
func (o Payment) objectID() string         { return o.ID }
func (o Refund) objectID() string          { return o.ID }
func (o WebhookEndpoint) objectID() string { return o.ID }
func (o Event) objectID() string           { return o.ID }
func (o Customer) objectID() string        { return o.ID }
func (o Product) objectID() string         { return o.ID }
func (o Price) objectID() string           { return o.ID }
func (o Coupon) objectID() string          { return o.ID }
func (o PromotionCode) objectID() string   { return o.ID }
func (o Subscription) objectID() string    { return o.ID }
func (o Invoice) objectID() string         { return o.ID }

// String returns a pointer to s, for optional parameters.
func String(s string) *string { return &s }

// Int64 returns a pointer to n, for optional parameters.
func Int64(n int64) *int64 { return &n }

// Bool returns a pointer to b, for optional parameters.
func Bool(b bool) *bool { return &b }

// Coupon is a discount (an id chosen by the merchant, or coupon_…).
type Coupon struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Name             *string           `json:"name"`
	PercentOff       *float64          `json:"percent_off"`
	AmountOff        *int64            `json:"amount_off"`
	Currency         *string           `json:"currency"`
	Duration         string            `json:"duration"` // once, repeating or forever
	DurationInMonths *int32            `json:"duration_in_months"`
	MaxRedemptions   *int64            `json:"max_redemptions"`
	RedeemBy         *time.Time        `json:"redeem_by"`
	AppliesTo        *AppliesTo        `json:"applies_to"`
	Metadata         map[string]string `json:"metadata"`
	Valid            bool              `json:"valid"`
	TimesRedeemed    int64             `json:"times_redeemed"`
	// TimesReserved counts open sessions holding a redemption.
	TimesReserved int64     `json:"times_reserved"`
	Livemode      bool      `json:"livemode"`
	CreatedAt     time.Time `json:"created_at"`
	Deleted       bool      `json:"deleted"`
}

// AppliesTo limits a coupon to the lines of some products.
type AppliesTo struct {
	Products []string `json:"products"`
}

// PromotionCode is a code customers type for a coupon (promo_…).
type PromotionCode struct {
	ID             string                     `json:"id"`
	Object         string                     `json:"object"`
	Code           string                     `json:"code"`
	Coupon         Coupon                     `json:"coupon"`
	Active         bool                       `json:"active"`
	MaxRedemptions *int64                     `json:"max_redemptions"`
	ExpiresAt      *time.Time                 `json:"expires_at"`
	Restrictions   *PromotionCodeRestrictions `json:"restrictions"`
	Customer       *string                    `json:"customer"`
	TimesRedeemed  int64                      `json:"times_redeemed"`
	TimesReserved  int64                      `json:"times_reserved"`
	Metadata       map[string]string          `json:"metadata"`
	Livemode       bool                       `json:"livemode"`
	CreatedAt      time.Time                  `json:"created_at"`
}

// PromotionCodeRestrictions limit who may use a code.
type PromotionCodeRestrictions struct {
	FirstTimeTransaction  bool    `json:"first_time_transaction,omitempty"`
	MinimumAmount         *int64  `json:"minimum_amount,omitempty"`
	MinimumAmountCurrency *string `json:"minimum_amount_currency,omitempty"`
}

// Subscription is a customer's recurring purchase (sub_…).
type Subscription struct {
	ID                 string                `json:"id"`
	Object             string                `json:"object"`
	Customer           string                `json:"customer"`
	Status             string                `json:"status"` // trialing, active, past_due, unpaid, canceled, incomplete or incomplete_expired
	Items              []SubscriptionItem    `json:"items"`
	Currency           string                `json:"currency"`
	Recurring          *Recurring            `json:"recurring"`
	CurrentPeriodStart time.Time             `json:"current_period_start"`
	CurrentPeriodEnd   time.Time             `json:"current_period_end"`
	CancelAtPeriodEnd  bool                  `json:"cancel_at_period_end"`
	CanceledAt         *time.Time            `json:"canceled_at"`
	Discount           *SubscriptionDiscount `json:"discount"`
	CheckoutSession    string                `json:"checkout_session"`
	LatestInvoice      *string               `json:"latest_invoice"`
	Metadata           map[string]string     `json:"metadata"`
	Livemode           bool                  `json:"livemode"`
	CreatedAt          time.Time             `json:"created_at"`
	TestClock          *string               `json:"test_clock"`
}

// SubscriptionItem is one price of a subscription.
type SubscriptionItem struct {
	Price      string `json:"price"`
	Product    string `json:"product"`
	Name       string `json:"name"`
	UnitAmount int64  `json:"unit_amount"`
	Quantity   int64  `json:"quantity"`
}

// SubscriptionDiscount is the coupon a subscription keeps.
type SubscriptionDiscount struct {
	Coupon   string     `json:"coupon"`
	Duration string     `json:"duration"`
	End      *time.Time `json:"end"`
}

// Invoice is what one period of a subscription cost and how it was paid
// (in_…): AmountTotal = AmountSubtotal − AmountDiscount + AmountTax.
type Invoice struct {
	ID                 string        `json:"id"`
	Object             string        `json:"object"`
	Subscription       string        `json:"subscription"`
	Customer           string        `json:"customer"`
	Status             string        `json:"status"` // paid, open or uncollectible
	Currency           string        `json:"currency"`
	Lines              []InvoiceLine `json:"lines"`
	AmountSubtotal     int64         `json:"amount_subtotal"`
	AmountDiscount     int64         `json:"amount_discount"`
	AmountTax          int64         `json:"amount_tax"`
	AmountTotal        int64         `json:"amount_total"`
	DiscountCoupon     *string       `json:"discount_coupon"`
	PeriodStart        time.Time     `json:"period_start"`
	PeriodEnd          time.Time     `json:"period_end"`
	Payment            *string       `json:"payment"`
	AttemptCount       int32         `json:"attempt_count"`
	NextPaymentAttempt *time.Time    `json:"next_payment_attempt"`
	BillingReason      string        `json:"billing_reason"`
	PaidAt             *time.Time    `json:"paid_at"`
	Livemode           bool          `json:"livemode"`
	CreatedAt          time.Time     `json:"created_at"`
}

// InvoiceLine is one line of an invoice.
type InvoiceLine struct {
	Price          *string `json:"price"`
	Name           string  `json:"name"`
	UnitAmount     int64   `json:"unit_amount"`
	Quantity       int64   `json:"quantity"`
	AmountSubtotal int64   `json:"amount_subtotal"`
	AmountDiscount int64   `json:"amount_discount"`
}

// TestClock is a test mode clock (clock_…).
type TestClock struct {
	ID         string    `json:"id"`
	Object     string    `json:"object"`
	FrozenTime time.Time `json:"frozen_time"`
	Name       *string   `json:"name"`
	Status     string    `json:"status"`
	Livemode   bool      `json:"livemode"`
	CreatedAt  time.Time `json:"created_at"`
}
