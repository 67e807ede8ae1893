package tillpoint

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// CouponService is /v1/coupons.
type CouponService struct{ c *Client }

// CouponParams create a coupon: PercentOff, or AmountOff with Currency. A
// coupon's terms never change: Update takes Name and Metadata.
type CouponParams struct {
	// ID is the coupon's id, chosen by the merchant (one is made when empty).
	ID               string            `json:"id,omitempty"`
	Name             *string           `json:"name,omitempty"`
	PercentOff       *float64          `json:"percent_off,omitempty"`
	AmountOff        *int64            `json:"amount_off,omitempty"`
	Currency         string            `json:"currency,omitempty"`
	Duration         string            `json:"duration,omitempty"` // once, repeating or forever
	DurationInMonths *int32            `json:"duration_in_months,omitempty"`
	MaxRedemptions   *int64            `json:"max_redemptions,omitempty"`
	RedeemBy         *time.Time        `json:"redeem_by,omitempty"`
	AppliesTo        *AppliesTo        `json:"applies_to,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
}

// Create creates a coupon.
func (s *CouponService) Create(ctx context.Context, p *CouponParams, opts ...RequestOption) (*Coupon, error) {
	var out Coupon
	return &out, s.c.do(ctx, "POST", "/v1/coupons", nil, p, &out, opts)
}

// Get retrieves a coupon.
func (s *CouponService) Get(ctx context.Context, couponID string, opts ...RequestOption) (*Coupon, error) {
	var out Coupon
	return &out, s.c.do(ctx, "GET", "/v1/coupons/"+id(couponID), nil, nil, &out, opts)
}

// Update changes the fields of p that are set (Name, Metadata).
func (s *CouponService) Update(ctx context.Context, couponID string, p *CouponParams, opts ...RequestOption) (*Coupon, error) {
	var out Coupon
	return &out, s.c.do(ctx, "POST", "/v1/coupons/"+id(couponID), nil, p, &out, opts)
}

// Delete ends a coupon: no new session takes it; those that have it keep it.
func (s *CouponService) Delete(ctx context.Context, couponID string, opts ...RequestOption) (*Coupon, error) {
	var out Coupon
	return &out, s.c.do(ctx, "DELETE", "/v1/coupons/"+id(couponID), nil, nil, &out, opts)
}

// List returns one page of coupons, newest first.
func (s *CouponService) List(ctx context.Context, p *ListParams, opts ...RequestOption) (*List[Coupon], error) {
	return listPage[Coupon](ctx, s.c, "/v1/coupons", p.orZero().values(), opts)
}

// All yields every coupon.
func (s *CouponService) All(ctx context.Context, p *ListParams, opts ...RequestOption) iter.Seq2[Coupon, error] {
	return all[Coupon](ctx, s.c, "/v1/coupons", p.orZero().values(), opts)
}

// PromotionCodeService is /v1/promotion_codes.
type PromotionCodeService struct{ c *Client }

// PromotionCodeParams create a promotion code for a coupon; Update takes
// Active and Metadata.
type PromotionCodeParams struct {
	Coupon         string                     `json:"coupon,omitempty"`
	Code           string                     `json:"code,omitempty"`
	Active         *bool                      `json:"active,omitempty"`
	MaxRedemptions *int64                     `json:"max_redemptions,omitempty"`
	ExpiresAt      *time.Time                 `json:"expires_at,omitempty"`
	Restrictions   *PromotionCodeRestrictions `json:"restrictions,omitempty"`
	// Customer limits the code to one catalog customer.
	Customer string            `json:"customer,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// PromotionCodeListParams filter a list of promotion codes.
type PromotionCodeListParams struct {
	ListParams
	Code   string
	Coupon string
	Active *bool
}

func (p *PromotionCodeListParams) values() url.Values {
	if p == nil {
		return url.Values{}
	}
	v := p.ListParams.values()
	set(v, "code", p.Code)
	set(v, "coupon", p.Coupon)
	if p.Active != nil {
		v.Set("active", strconv.FormatBool(*p.Active))
	}
	return v
}

// Create creates a promotion code.
func (s *PromotionCodeService) Create(ctx context.Context, p *PromotionCodeParams, opts ...RequestOption) (*PromotionCode, error) {
	var out PromotionCode
	return &out, s.c.do(ctx, "POST", "/v1/promotion_codes", nil, p, &out, opts)
}

// Get retrieves a promotion code.
func (s *PromotionCodeService) Get(ctx context.Context, codeID string, opts ...RequestOption) (*PromotionCode, error) {
	var out PromotionCode
	return &out, s.c.do(ctx, "GET", "/v1/promotion_codes/"+id(codeID), nil, nil, &out, opts)
}

// Update changes the fields of p that are set (Active, Metadata).
func (s *PromotionCodeService) Update(ctx context.Context, codeID string, p *PromotionCodeParams, opts ...RequestOption) (*PromotionCode, error) {
	var out PromotionCode
	return &out, s.c.do(ctx, "POST", "/v1/promotion_codes/"+id(codeID), nil, p, &out, opts)
}

// List returns one page of promotion codes, newest first.
func (s *PromotionCodeService) List(ctx context.Context, p *PromotionCodeListParams, opts ...RequestOption) (*List[PromotionCode], error) {
	return listPage[PromotionCode](ctx, s.c, "/v1/promotion_codes", p.values(), opts)
}

// All yields every promotion code that matches p.
func (s *PromotionCodeService) All(ctx context.Context, p *PromotionCodeListParams, opts ...RequestOption) iter.Seq2[PromotionCode, error] {
	return all[PromotionCode](ctx, s.c, "/v1/promotion_codes", p.values(), opts)
}

// SubscriptionService is /v1/subscriptions. Subscriptions are made by
// paying a checkout session with a recurring price.
type SubscriptionService struct{ c *Client }

// SubscriptionParams change a subscription.
type SubscriptionParams struct {
	// CancelAtPeriodEnd ends it at current_period_end (true) or keeps it
	// renewing (false).
	CancelAtPeriodEnd *bool `json:"cancel_at_period_end,omitempty"`
	// Metadata is merged into the stored metadata; "" removes a key.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// SubscriptionListParams filter a list of subscriptions.
type SubscriptionListParams struct {
	ListParams
	Customer string
	Status   string
}

func (p *SubscriptionListParams) values() url.Values {
	if p == nil {
		return url.Values{}
	}
	v := p.ListParams.values()
	set(v, "customer", p.Customer)
	set(v, "status", p.Status)
	return v
}

// Get retrieves a subscription.
func (s *SubscriptionService) Get(ctx context.Context, subID string, opts ...RequestOption) (*Subscription, error) {
	var out Subscription
	return &out, s.c.do(ctx, "GET", "/v1/subscriptions/"+id(subID), nil, nil, &out, opts)
}

// Update changes the fields of p that are set.
func (s *SubscriptionService) Update(ctx context.Context, subID string, p *SubscriptionParams, opts ...RequestOption) (*Subscription, error) {
	var out Subscription
	return &out, s.c.do(ctx, "POST", "/v1/subscriptions/"+id(subID), nil, p, &out, opts)
}

// Cancel cancels a subscription now: no more invoices.
func (s *SubscriptionService) Cancel(ctx context.Context, subID string, opts ...RequestOption) (*Subscription, error) {
	var out Subscription
	return &out, s.c.do(ctx, "DELETE", "/v1/subscriptions/"+id(subID), nil, nil, &out, opts)
}

// List returns one page of subscriptions, newest first.
func (s *SubscriptionService) List(ctx context.Context, p *SubscriptionListParams, opts ...RequestOption) (*List[Subscription], error) {
	return listPage[Subscription](ctx, s.c, "/v1/subscriptions", p.values(), opts)
}

// All yields every subscription that matches p.
func (s *SubscriptionService) All(ctx context.Context, p *SubscriptionListParams, opts ...RequestOption) iter.Seq2[Subscription, error] {
	return all[Subscription](ctx, s.c, "/v1/subscriptions", p.values(), opts)
}

// InvoiceService is /v1/invoices.
type InvoiceService struct{ c *Client }

// InvoiceListParams filter a list of invoices.
type InvoiceListParams struct {
	ListParams
	Subscription string
	Customer     string
	Status       string
}

func (p *InvoiceListParams) values() url.Values {
	if p == nil {
		return url.Values{}
	}
	v := p.ListParams.values()
	set(v, "subscription", p.Subscription)
	set(v, "customer", p.Customer)
	set(v, "status", p.Status)
	return v
}

// Get retrieves an invoice.
func (s *InvoiceService) Get(ctx context.Context, invoiceID string, opts ...RequestOption) (*Invoice, error) {
	var out Invoice
	return &out, s.c.do(ctx, "GET", "/v1/invoices/"+id(invoiceID), nil, nil, &out, opts)
}

// List returns one page of invoices, newest first.
func (s *InvoiceService) List(ctx context.Context, p *InvoiceListParams, opts ...RequestOption) (*List[Invoice], error) {
	return listPage[Invoice](ctx, s.c, "/v1/invoices", p.values(), opts)
}

// All yields every invoice that matches p.
func (s *InvoiceService) All(ctx context.Context, p *InvoiceListParams, opts ...RequestOption) iter.Seq2[Invoice, error] {
	return all[Invoice](ctx, s.c, "/v1/invoices", p.values(), opts)
}

// TestClockService is /v1/test_helpers/test_clocks (test mode only): a
// clock that customers' subscriptions follow, advanced to see renewals and
// retries at once.
type TestClockService struct{ c *Client }

// TestClockParams create a test clock.
type TestClockParams struct {
	FrozenTime time.Time `json:"frozen_time"`
	Name       string    `json:"name,omitempty"`
}

// Create creates a test clock at p.FrozenTime.
func (s *TestClockService) Create(ctx context.Context, p *TestClockParams, opts ...RequestOption) (*TestClock, error) {
	var out TestClock
	return &out, s.c.do(ctx, "POST", "/v1/test_helpers/test_clocks", nil, p, &out, opts)
}

// Get retrieves a test clock.
func (s *TestClockService) Get(ctx context.Context, clockID string, opts ...RequestOption) (*TestClock, error) {
	var out TestClock
	return &out, s.c.do(ctx, "GET", "/v1/test_helpers/test_clocks/"+id(clockID), nil, nil, &out, opts)
}

// Advance moves a clock forward to frozenTime; the renewals and retries
// that fall due have run when it answers.
func (s *TestClockService) Advance(ctx context.Context, clockID string, frozenTime time.Time, opts ...RequestOption) (*TestClock, error) {
	var out TestClock
	body := struct {
		FrozenTime time.Time `json:"frozen_time"`
	}{frozenTime.UTC()}
	return &out, s.c.do(ctx, "POST", "/v1/test_helpers/test_clocks/"+id(clockID)+"/advance", nil, body, &out, opts)
}
