package stripecompat

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// Subscription is a subscription as Stripe's API shows it (version
// [APIVersion]: the billing period is on each item).
type Subscription struct {
	ID                 string                 `json:"id"`
	Object             string                 `json:"object"`
	BillingCycleAnchor int64                  `json:"billing_cycle_anchor"`
	CancelAtPeriodEnd  bool                   `json:"cancel_at_period_end"`
	CanceledAt         *int64                 `json:"canceled_at"`
	CollectionMethod   string                 `json:"collection_method"`
	Created            int64                  `json:"created"`
	Currency           string                 `json:"currency"`
	Customer           string                 `json:"customer"`
	EndedAt            *int64                 `json:"ended_at"`
	Items              List[SubscriptionItem] `json:"items"`
	LatestInvoice      *string                `json:"latest_invoice"`
	Livemode           bool                   `json:"livemode"`
	Metadata           map[string]string      `json:"metadata"`
	StartDate          int64                  `json:"start_date"`
	Status             string                 `json:"status"`
	TestClock          *string                `json:"test_clock"`
	TrialEnd           *int64                 `json:"trial_end"`
	TrialStart         *int64                 `json:"trial_start"`
}

// SubscriptionItem is one price of a subscription, with its period.
type SubscriptionItem struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Created            int64             `json:"created"`
	CurrentPeriodEnd   int64             `json:"current_period_end"`
	CurrentPeriodStart int64             `json:"current_period_start"`
	Metadata           map[string]string `json:"metadata"`
	Price              RecurringPrice    `json:"price"`
	Quantity           int64             `json:"quantity"`
	Subscription       string            `json:"subscription"`
}

// RecurringPrice is a subscription item's price (its product by id).
type RecurringPrice struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Active            bool              `json:"active"`
	BillingScheme     string            `json:"billing_scheme"`
	Currency          string            `json:"currency"`
	Livemode          bool              `json:"livemode"`
	Metadata          map[string]string `json:"metadata"`
	Product           string            `json:"product"`
	Recurring         Recurring         `json:"recurring"`
	Type              string            `json:"type"`
	UnitAmount        int64             `json:"unit_amount"`
	UnitAmountDecimal string            `json:"unit_amount_decimal"`
}

// Recurring is a price's billing interval.
type Recurring struct {
	Interval      string `json:"interval"`
	IntervalCount int32  `json:"interval_count"`
	UsageType     string `json:"usage_type"`
}

// NewSubscription renders s in Stripe's shape. Items have no ids of their
// own in Tillpoint: theirs are derived from the subscription's id and the
// price (`si_<subscription>_<price>`), stable across updates that keep the
// price. Amounts stay integers in minor units; the currency is lower case;
// timestamps are Unix seconds.
func NewSubscription(s *adminv1.Subscription) *Subscription {
	currency := strings.ToLower(s.GetCurrency())
	out := &Subscription{ID: s.GetId(), Object: "subscription", BillingCycleAnchor: s.GetCurrentPeriodEnd().GetSeconds(),
		CancelAtPeriodEnd: s.GetCancelAtPeriodEnd(), CanceledAt: unix(s.GetCanceledAt()), CollectionMethod: "charge_automatically",
		Created: s.GetCreatedAt().GetSeconds(), Currency: currency, Customer: s.GetCustomer(), LatestInvoice: s.LatestInvoice,
		Livemode: s.GetLivemode(), Metadata: s.GetMetadata(), StartDate: s.GetCreatedAt().GetSeconds(), Status: s.GetStatus(),
		TestClock: s.TestClock, TrialEnd: unix(s.GetTrialEnd()), TrialStart: unix(s.GetTrialStart())}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	if s.GetStatus() == "canceled" || s.GetStatus() == "incomplete_expired" {
		out.EndedAt = out.CanceledAt
	}
	items := make([]SubscriptionItem, len(s.GetItems()))
	for i, it := range s.GetItems() {
		items[i] = SubscriptionItem{ID: "si_" + strings.TrimPrefix(s.GetId(), "sub_") + "_" + strings.TrimPrefix(it.GetPrice(), "price_"),
			Object: "subscription_item", Created: out.Created, CurrentPeriodStart: s.GetCurrentPeriodStart().GetSeconds(),
			CurrentPeriodEnd: s.GetCurrentPeriodEnd().GetSeconds(), Metadata: map[string]string{}, Quantity: it.GetQuantity(), Subscription: s.GetId(),
			Price: RecurringPrice{ID: it.GetPrice(), Object: "price", Active: true, BillingScheme: "per_unit", Currency: currency,
				Livemode: s.GetLivemode(), Metadata: map[string]string{}, Product: it.GetProduct(), Type: "recurring",
				Recurring:  Recurring{Interval: s.GetRecurring().GetInterval(), IntervalCount: s.GetRecurring().GetIntervalCount(), UsageType: "licensed"},
				UnitAmount: it.GetUnitAmount(), UnitAmountDecimal: strconv.FormatInt(it.GetUnitAmount(), 10)}}
	}
	out.Items = NewList(items, false, "/v1/subscription_items?subscription="+s.GetId())
	return out
}

// Invoice is an invoice as Stripe's API shows it (version [APIVersion]:
// its subscription is under parent.subscription_details).
type Invoice struct {
	ID                 string                 `json:"id"`
	Object             string                 `json:"object"`
	AmountDue          int64                  `json:"amount_due"`
	AmountPaid         int64                  `json:"amount_paid"`
	AmountRemaining    int64                  `json:"amount_remaining"`
	AttemptCount       int32                  `json:"attempt_count"`
	Attempted          bool                   `json:"attempted"`
	BillingReason      string                 `json:"billing_reason"`
	CollectionMethod   string                 `json:"collection_method"`
	Created            int64                  `json:"created"`
	Currency           string                 `json:"currency"`
	Customer           string                 `json:"customer"`
	Lines              List[InvoiceLine]      `json:"lines"`
	Livemode           bool                   `json:"livemode"`
	Metadata           map[string]string      `json:"metadata"`
	NextPaymentAttempt *int64                 `json:"next_payment_attempt"`
	Parent             InvoiceParent          `json:"parent"`
	PeriodEnd          int64                  `json:"period_end"`
	PeriodStart        int64                  `json:"period_start"`
	Status             string                 `json:"status"`
	StatusTransitions  StatusTransitions      `json:"status_transitions"`
	Subtotal           int64                  `json:"subtotal"`
	Total              int64                  `json:"total"`
	TotalDiscounts     []InvoiceDiscountTotal `json:"total_discount_amounts"`
}

// InvoiceParent says what made an invoice: a subscription.
type InvoiceParent struct {
	Type                string              `json:"type"`
	SubscriptionDetails SubscriptionDetails `json:"subscription_details"`
}

// SubscriptionDetails names an invoice's subscription.
type SubscriptionDetails struct {
	Metadata     map[string]string `json:"metadata"`
	Subscription string            `json:"subscription"`
}

// StatusTransitions are when an invoice changed status.
type StatusTransitions struct {
	FinalizedAt           int64  `json:"finalized_at"`
	MarkedUncollectibleAt *int64 `json:"marked_uncollectible_at"`
	PaidAt                *int64 `json:"paid_at"`
	VoidedAt              *int64 `json:"voided_at"`
}

// InvoiceDiscountTotal is the amount a coupon took off an invoice.
type InvoiceDiscountTotal struct {
	Amount   int64  `json:"amount"`
	Discount string `json:"discount"`
}

// InvoiceLine is one line of an invoice.
type InvoiceLine struct {
	ID          string            `json:"id"`
	Object      string            `json:"object"`
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Description string            `json:"description"`
	Invoice     string            `json:"invoice"`
	Livemode    bool              `json:"livemode"`
	Metadata    map[string]string `json:"metadata"`
	Parent      LineParent        `json:"parent"`
	Period      Period            `json:"period"`
	Pricing     *LinePricing      `json:"pricing"`
	Quantity    int64             `json:"quantity"`
}

// LineParent says where an invoice line comes from: a subscription item,
// or a proration of one.
type LineParent struct {
	Type                    string                  `json:"type"`
	SubscriptionItemDetails SubscriptionItemDetails `json:"subscription_item_details"`
}

// SubscriptionItemDetails names a line's subscription and whether it is a
// proration.
type SubscriptionItemDetails struct {
	Proration    bool   `json:"proration"`
	Subscription string `json:"subscription"`
}

// Period is a line's billing period.
type Period struct {
	End   int64 `json:"end"`
	Start int64 `json:"start"`
}

// LinePricing is the price a line was billed at.
type LinePricing struct {
	Type              string       `json:"type"`
	PriceDetails      PriceDetails `json:"price_details"`
	UnitAmountDecimal string       `json:"unit_amount_decimal"`
}

// PriceDetails names a line's price.
type PriceDetails struct {
	Price string `json:"price"`
}

// NewInvoice renders in in Stripe's shape: amount_due is the total,
// amount_paid the total once paid, amount_remaining the total while open or
// uncollectible (0 once paid or void); each line's amount is its subtotal
// before the discount, which total_discount_amounts gives, as Stripe does.
func NewInvoice(in *adminv1.Invoice) *Invoice {
	currency := strings.ToLower(in.GetCurrency())
	out := &Invoice{ID: in.GetId(), Object: "invoice", AmountDue: in.GetAmountTotal(), AttemptCount: in.GetAttemptCount(),
		Attempted: in.GetAttemptCount() > 0, BillingReason: in.GetBillingReason(), CollectionMethod: "charge_automatically",
		Created: in.GetCreatedAt().GetSeconds(), Currency: currency, Customer: in.GetCustomer(), Livemode: in.GetLivemode(),
		Metadata: map[string]string{}, NextPaymentAttempt: unix(in.GetNextPaymentAttempt()), PeriodEnd: in.GetPeriodEnd().GetSeconds(),
		PeriodStart: in.GetPeriodStart().GetSeconds(), Status: in.GetStatus(), Subtotal: in.GetAmountSubtotal(), Total: in.GetAmountTotal(),
		Parent:            InvoiceParent{Type: "subscription_details", SubscriptionDetails: SubscriptionDetails{Metadata: map[string]string{}, Subscription: in.GetSubscription()}},
		StatusTransitions: StatusTransitions{FinalizedAt: in.GetCreatedAt().GetSeconds(), PaidAt: unix(in.GetPaidAt()), VoidedAt: unix(in.GetVoidedAt())},
		TotalDiscounts:    []InvoiceDiscountTotal{}}
	switch in.GetStatus() {
	case "paid":
		out.AmountPaid = in.GetAmountTotal()
	case "open", "uncollectible":
		out.AmountRemaining = in.GetAmountTotal()
	}
	if in.DiscountCoupon != nil && in.GetAmountDiscount() != 0 {
		out.TotalDiscounts = append(out.TotalDiscounts, InvoiceDiscountTotal{Amount: in.GetAmountDiscount(), Discount: in.GetDiscountCoupon()})
	}
	lines := make([]InvoiceLine, len(in.GetLines()))
	for i, l := range in.GetLines() {
		lines[i] = InvoiceLine{ID: "il_" + strings.TrimPrefix(in.GetId(), "in_") + "_" + strconv.Itoa(i+1), Object: "line_item",
			Amount: l.GetAmountSubtotal(), Currency: currency, Description: l.GetName(), Invoice: in.GetId(), Livemode: in.GetLivemode(),
			Metadata: map[string]string{}, Quantity: l.GetQuantity(),
			Parent: LineParent{Type: "subscription_item_details", SubscriptionItemDetails: SubscriptionItemDetails{Proration: l.GetProration(), Subscription: in.GetSubscription()}},
			Period: Period{Start: out.PeriodStart, End: out.PeriodEnd}}
		if l.Price != nil {
			lines[i].Pricing = &LinePricing{Type: "price_details", PriceDetails: PriceDetails{Price: l.GetPrice()},
				UnitAmountDecimal: strconv.FormatInt(l.GetUnitAmount(), 10)}
		}
	}
	out.Lines = NewList(lines, false, "/v1/invoices/"+in.GetId()+"/lines")
	return out
}

// unix is t in Unix seconds, or nil (JSON null) when unset.
func unix(t *timestamppb.Timestamp) *int64 {
	if t == nil {
		return nil
	}
	s := t.GetSeconds()
	return &s
}
