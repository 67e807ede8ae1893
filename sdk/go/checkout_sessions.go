package tillpoint

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// CheckoutSessionService is /v1/checkout/sessions.
type CheckoutSessionService struct{ c *Client }

// CheckoutSessionParams create a session: give Amount or LineItems.
type CheckoutSessionParams struct {
	SiteID              string            `json:"site_id,omitempty"`
	Amount              int64             `json:"amount,omitempty"`
	LineItems           []LineItemParams  `json:"line_items,omitempty"`
	Currency            string            `json:"currency,omitempty"`
	SuccessURL          string            `json:"success_url,omitempty"`
	CancelURL           string            `json:"cancel_url,omitempty"`
	Customer            string            `json:"customer,omitempty"`
	CustomerID          string            `json:"customer_id,omitempty"`
	CustomerEmail       string            `json:"customer_email,omitempty"`
	CustomerPhone       string            `json:"customer_phone,omitempty"`
	ClientReferenceID   string            `json:"client_reference_id,omitempty"`
	OrderID             string            `json:"order_id,omitempty"`
	Description         string            `json:"description,omitempty"`
	Metadata            map[string]string `json:"metadata,omitempty"`
	ExpiresAt           *time.Time        `json:"expires_at,omitempty"`
	ExpiresInMinutes    int64             `json:"expires_in_minutes,omitempty"`
	ExpiresInHours      int64             `json:"expires_in_hours,omitempty"`
	PaymentMethodTypes  []string          `json:"payment_method_types,omitempty"`
	Locale              string            `json:"locale,omitempty"`
	NotifyURL           string            `json:"notify_url,omitempty"`
	CouponID            string            `json:"coupon_id,omitempty"`
	PromotionCode       string            `json:"promotion_code,omitempty"`
	AllowPromotionCodes bool              `json:"allow_promotion_codes,omitempty"`
	// Discounts applies a coupon or a promotion code by id (at most one;
	// Stripe's form of CouponID and PromotionCode).
	Discounts []DiscountParams `json:"discounts,omitempty"`
	// Route names the processor route (rt_…) of the session's payments.
	Route string `json:"route,omitempty"`
	// CustomFields gives values of the site's custom fields, key → value.
	CustomFields map[string]string `json:"custom_fields,omitempty"`
	// Expand asks for fields the answer leaves out by default
	// ("custom_fields").
	Expand []string `json:"expand,omitempty"`
	// CascadeLineItems are fallback pricing tiers, tried in order after a
	// retryable decline.
	CascadeLineItems []CascadeTierParams `json:"cascade_line_items,omitempty"`
	// Mode is "payment" or "subscription" (inferred from recurring prices
	// when empty).
	Mode string `json:"mode,omitempty"`
	// CustomerCreation is "if_required" (default) or "always".
	CustomerCreation string `json:"customer_creation,omitempty"`
}

// DiscountParams is one discount of a session: a coupon id or a promotion
// code id (promo_…).
type DiscountParams struct {
	Coupon        string `json:"coupon,omitempty"`
	PromotionCode string `json:"promotion_code,omitempty"`
}

// CascadeTierParams is a fallback pricing tier: its line items and,
// optionally, the processor route that charges it.
type CascadeTierParams struct {
	LineItems        []LineItemParams `json:"line_items"`
	ProcessorRouteID string           `json:"processor_route_id,omitempty"`
}

// LineItemParams is a line: inline (Name, UnitAmount) or from the catalog
// (PriceID), with Quantity.
type LineItemParams struct {
	Name               string              `json:"name,omitempty"`
	Description        string              `json:"description,omitempty"`
	UnitAmount         int64               `json:"unit_amount,omitempty"`
	Quantity           int64               `json:"quantity,omitempty"`
	ImageURL           string              `json:"image_url,omitempty"`
	PriceID            string              `json:"price_id,omitempty"`
	AdjustableQuantity *AdjustableQuantity `json:"adjustable_quantity,omitempty"`
}

// AdjustableQuantity lets the payer change a line's quantity.
type AdjustableQuantity struct {
	Enabled bool   `json:"enabled"`
	Minimum *int64 `json:"minimum,omitempty"`
	Maximum *int64 `json:"maximum,omitempty"`
}

// CheckoutSessionListParams filter a list of sessions.
type CheckoutSessionListParams struct {
	ListParams
	SiteID        string
	Status        string
	PaymentStatus string
	Customer      string
	CustomerEmail string
	Payment       string
	OrderID       string
	Reference     string
	Currency      string
	AmountGTE     *int64
	AmountLTE     *int64
	Created       CreatedFilter
}

func (p *CheckoutSessionListParams) values() url.Values {
	if p == nil {
		return url.Values{}
	}
	v := p.ListParams.values()
	set(v, "site_id", p.SiteID)
	set(v, "status", p.Status)
	set(v, "payment_status", p.PaymentStatus)
	set(v, "customer", p.Customer)
	set(v, "customer_email", p.CustomerEmail)
	set(v, "payment", p.Payment)
	set(v, "order_id", p.OrderID)
	set(v, "reference", p.Reference)
	set(v, "currency", p.Currency)
	if p.AmountGTE != nil {
		v.Set("amount_gte", strconv.FormatInt(*p.AmountGTE, 10))
	}
	if p.AmountLTE != nil {
		v.Set("amount_lte", strconv.FormatInt(*p.AmountLTE, 10))
	}
	p.Created.add(v)
	return v
}

// Create creates a session (POST /v1/checkout/sessions).
func (s *CheckoutSessionService) Create(ctx context.Context, p *CheckoutSessionParams, opts ...RequestOption) (*CheckoutSession, error) {
	var out CheckoutSession
	return &out, s.c.do(ctx, "POST", "/v1/checkout/sessions", nil, p, &out, opts)
}

// Get retrieves a session; WithExpand("custom_fields") adds its custom
// field values.
func (s *CheckoutSessionService) Get(ctx context.Context, sessionID string, opts ...RequestOption) (*CheckoutSession, error) {
	var out CheckoutSession
	return &out, s.c.do(ctx, "GET", "/v1/checkout/sessions/"+id(sessionID), nil, nil, &out, opts)
}

// Expire expires an open session so it can no longer be paid.
func (s *CheckoutSessionService) Expire(ctx context.Context, sessionID string, opts ...RequestOption) (*CheckoutSession, error) {
	var out CheckoutSession
	return &out, s.c.do(ctx, "POST", "/v1/checkout/sessions/"+id(sessionID)+"/expire", nil, struct{}{}, &out, opts)
}

// List returns one page of sessions, newest first.
func (s *CheckoutSessionService) List(ctx context.Context, p *CheckoutSessionListParams, opts ...RequestOption) (*List[CheckoutSession], error) {
	return listPage[CheckoutSession](ctx, s.c, "/v1/checkout/sessions", p.values(), opts)
}

// All yields every session that matches p, fetching pages as needed.
func (s *CheckoutSessionService) All(ctx context.Context, p *CheckoutSessionListParams, opts ...RequestOption) iter.Seq2[CheckoutSession, error] {
	return all[CheckoutSession](ctx, s.c, "/v1/checkout/sessions", p.values(), opts)
}
