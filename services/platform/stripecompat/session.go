// Package stripecompat renders Tillpoint's objects in the shapes of Stripe's
// API, for merchants who keep using Stripe's official SDKs: the checkout
// session as Stripe's `checkout.session` object (admin-api's Stripe dialect
// and Stripe-format webhooks both use [NewSession]), the list and event
// envelopes, and Stripe's webhook signature.
//
// The shapes follow Stripe's API version [APIVersion]. Fields Tillpoint has
// no meaning for are left out (the SDKs decode a missing field as its zero
// value) rather than invented; fields Stripe documents as nullable are null
// when Tillpoint has no value.
package stripecompat

import (
	"strconv"
	"strings"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// APIVersion is the Stripe API version whose object shapes this package
// writes (the one stripe-go v82 pins), and the default api_version of
// Stripe-format events.
const APIVersion = "2025-08-27.basil"

// Session is a checkout session as Stripe's API shows it.
type Session struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	AmountSubtotal    int64             `json:"amount_subtotal"`
	AmountTotal       int64             `json:"amount_total"`
	CancelURL         string            `json:"cancel_url"`
	ClientReferenceID *string           `json:"client_reference_id"`
	Created           int64             `json:"created"`
	Currency          string            `json:"currency"`
	Customer          *string           `json:"customer"`
	CustomerDetails   *CustomerDetails  `json:"customer_details"`
	CustomerEmail     *string           `json:"customer_email"`
	Discounts         []Discount        `json:"discounts"`
	ExpiresAt         int64             `json:"expires_at"`
	LineItems         *LineItemList     `json:"line_items,omitempty"`
	Livemode          bool              `json:"livemode"`
	Locale            string            `json:"locale"`
	Metadata          map[string]string `json:"metadata"`
	Mode              string            `json:"mode"`
	// Subscription is the subscription a paid subscription-mode session made.
	Subscription       *string      `json:"subscription"`
	PaymentIntent      *string      `json:"payment_intent"`
	PaymentMethodTypes []string     `json:"payment_method_types"`
	PaymentStatus      string       `json:"payment_status"`
	Status             string       `json:"status"`
	SuccessURL         string       `json:"success_url"`
	TotalDetails       TotalDetails `json:"total_details"`
	UIMode             string       `json:"ui_mode"`
	URL                *string      `json:"url"`
}

// CustomerDetails is what is known of the payer: the email and phone the
// merchant prefilled.
type CustomerDetails struct {
	Email     *string  `json:"email"`
	Phone     *string  `json:"phone"`
	Name      *string  `json:"name"`
	TaxExempt string   `json:"tax_exempt"`
	TaxIDs    []string `json:"tax_ids"`
}

// Discount is a discount applied to a session: a coupon's id and, when it
// came through one, the promotion code's id.
type Discount struct {
	Coupon        string  `json:"coupon"`
	PromotionCode *string `json:"promotion_code"`
}

// TotalDetails splits the total. Tillpoint has no shipping.
type TotalDetails struct {
	AmountDiscount int64 `json:"amount_discount"`
	AmountShipping int64 `json:"amount_shipping"`
	AmountTax      int64 `json:"amount_tax"`
}

// LineItemList is a session's line items as an expanded list.
type LineItemList struct {
	Object  string      `json:"object"`
	Data    []*LineItem `json:"data"`
	HasMore bool        `json:"has_more"`
	URL     string      `json:"url"`
}

// LineItem is one line of a session. Its price and product are the catalog
// price and product it was made from (with their ids), or the inline
// `price_data` it was created with, whose ids are derived from the session id
// and the line's position (they are not resources of their own).
type LineItem struct {
	ID             string `json:"id"`
	Object         string `json:"object"`
	AmountDiscount int64  `json:"amount_discount"`
	AmountSubtotal int64  `json:"amount_subtotal"`
	AmountTax      int64  `json:"amount_tax"`
	AmountTotal    int64  `json:"amount_total"`
	Currency       string `json:"currency"`
	Description    string `json:"description"`
	Price          Price  `json:"price"`
	Quantity       int64  `json:"quantity"`
}

// Price is a line item's one-time unit price.
type Price struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Active            bool              `json:"active"`
	BillingScheme     string            `json:"billing_scheme"`
	Created           int64             `json:"created"`
	Currency          string            `json:"currency"`
	Livemode          bool              `json:"livemode"`
	Metadata          map[string]string `json:"metadata"`
	Product           Product           `json:"product"`
	Type              string            `json:"type"`
	UnitAmount        int64             `json:"unit_amount"`
	UnitAmountDecimal string            `json:"unit_amount_decimal"`
}

// Product is a line item's product, expanded: the `product_data` the line
// was created with.
type Product struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Active      bool              `json:"active"`
	Created     int64             `json:"created"`
	Description *string           `json:"description"`
	Images      []string          `json:"images"`
	Livemode    bool              `json:"livemode"`
	Metadata    map[string]string `json:"metadata"`
	Name        string            `json:"name"`
}

// NewSession renders cs in Stripe's shape; withLineItems includes the line
// items (Stripe sends them only when `expand[]=line_items` asks for them).
//
// The translation: amounts stay integers in minor units; the currency is
// lower case; timestamps are Unix seconds; `payment_intent` is the id of the
// session's payment; `url` is null once the session is no longer open, as on
// Stripe; `total_details.amount_tax` is the session's tax (lines carry none:
// Tillpoint taxes the whole session from the payer's billing address), and
// `total_details.amount_discount` and each line's `amount_discount` its
// discount (docs/discounts.md).
func NewSession(cs *adminv1.CheckoutSession, withLineItems bool) *Session {
	s := &Session{
		ID: cs.GetId(), Object: "checkout.session", AmountSubtotal: cs.GetAmountSubtotal(), AmountTotal: cs.GetAmountTotal(),
		CancelURL: cs.GetCancelUrl(), ClientReferenceID: cs.ClientReferenceId, Created: cs.GetCreatedAt().GetSeconds(),
		Currency: strings.ToLower(cs.GetCurrency()), Customer: cs.Customer, CustomerEmail: cs.CustomerEmail,
		ExpiresAt: cs.GetExpiresAt().GetSeconds(), Livemode: cs.GetLivemode(), Locale: cs.GetLocale(),
		Metadata: cs.GetMetadata(), Mode: cs.GetMode(), Subscription: cs.Subscription, PaymentIntent: cs.Payment, PaymentMethodTypes: cs.GetPaymentMethodTypes(),
		PaymentStatus: cs.GetPaymentStatus(), Status: cs.GetStatus(), SuccessURL: cs.GetSuccessUrl(),
		TotalDetails: TotalDetails{AmountTax: cs.GetAmountTax(), AmountDiscount: cs.GetTotalDetails().GetAmountDiscount()},
		UIMode:       "hosted", Discounts: []Discount{},
	}
	if s.Mode == "" {
		s.Mode = "payment"
	}
	for _, d := range cs.GetDiscounts() {
		s.Discounts = append(s.Discounts, Discount{Coupon: d.GetCoupon(), PromotionCode: d.PromotionCode})
	}
	if s.Metadata == nil {
		s.Metadata = map[string]string{}
	}
	if s.PaymentMethodTypes == nil {
		s.PaymentMethodTypes = []string{}
	}
	if cs.GetStatus() == "open" {
		s.URL = &cs.Url
	}
	if cs.CustomerEmail != nil || cs.CustomerPhone != nil {
		s.CustomerDetails = &CustomerDetails{Email: cs.CustomerEmail, Phone: cs.CustomerPhone, TaxExempt: "none", TaxIDs: []string{}}
	}
	if withLineItems {
		s.LineItems = NewLineItemList(cs)
	}
	return s
}

// NewLineItemList renders cs's line items as Stripe's list object.
func NewLineItemList(cs *adminv1.CheckoutSession) *LineItemList {
	l := &LineItemList{Object: "list", Data: make([]*LineItem, len(cs.GetLineItems())),
		URL: "/v1/checkout/sessions/" + cs.GetId() + "/line_items"}
	suffix := strings.TrimPrefix(cs.GetId(), "cs_")
	currency := strings.ToLower(cs.GetCurrency())
	created := cs.GetCreatedAt().GetSeconds()
	for i, it := range cs.GetLineItems() {
		n := suffix + "_" + strconv.Itoa(i+1)
		images := []string{}
		if it.ImageUrl != nil {
			images = append(images, it.GetImageUrl())
		}
		l.Data[i] = &LineItem{
			ID: "li_" + n, Object: "item", AmountSubtotal: it.GetAmountTotal() + it.GetAmountDiscount(),
			AmountDiscount: it.GetAmountDiscount(), AmountTotal: it.GetAmountTotal(),
			Currency: currency, Description: it.GetName(), Quantity: it.GetQuantity(),
			Price: Price{ID: "price_" + n, Object: "price", BillingScheme: "per_unit", Created: created, Currency: currency,
				Livemode: cs.GetLivemode(), Metadata: map[string]string{}, Type: "one_time", UnitAmount: it.GetUnitAmount(),
				UnitAmountDecimal: strconv.FormatInt(it.GetUnitAmount(), 10),
				Product: Product{ID: "prod_" + n, Object: "product", Created: created, Description: it.Description,
					Images: images, Livemode: cs.GetLivemode(), Metadata: map[string]string{}, Name: it.GetName()}},
		}
		if it.PriceId != nil && it.ProductId != nil {
			l.Data[i].Price.ID, l.Data[i].Price.Product.ID = it.GetPriceId(), it.GetProductId()
		}
	}
	return l
}

// List is Stripe's list envelope.
type List[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

// NewList wraps a page of objects.
func NewList[T any](data []T, hasMore bool, url string) List[T] {
	if data == nil {
		data = []T{}
	}
	return List[T]{Object: "list", Data: data, HasMore: hasMore, URL: url}
}
