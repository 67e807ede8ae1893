package subscription

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// Item is a stored subscription item (admin.subscriptions.items).
type Item struct {
	Price      string `json:"price"`
	Product    string `json:"product"`
	Name       string `json:"name"`
	UnitAmount int64  `json:"unit_amount"`
	Quantity   int64  `json:"quantity"`
}

// Line is a stored invoice line (admin.invoices.lines).
type Line struct {
	Price          string `json:"price,omitempty"`
	Name           string `json:"name"`
	UnitAmount     int64  `json:"unit_amount"`
	Quantity       int64  `json:"quantity"`
	AmountSubtotal int64  `json:"amount_subtotal"`
	AmountDiscount int64  `json:"amount_discount"`
}

// Proto renders a stored subscription as the API object.
func Proto(s db.AdminSubscription) (*adminv1.Subscription, error) {
	var items []Item
	if err := json.Unmarshal(s.Items, &items); err != nil {
		return nil, fmt.Errorf("subscription %s items: %w", s.ID, err)
	}
	meta := map[string]string{}
	if err := json.Unmarshal(s.Metadata, &meta); err != nil {
		return nil, fmt.Errorf("subscription %s metadata: %w", s.ID, err)
	}
	out := &adminv1.Subscription{
		Id: s.ID, Object: "subscription", Customer: s.CustomerID, Status: s.Status, Currency: s.Currency,
		Recurring:          &adminv1.Recurring{Interval: s.RecurringInterval, IntervalCount: s.RecurringIntervalCount},
		CurrentPeriodStart: timestamppb.New(s.CurrentPeriodStart), CurrentPeriodEnd: timestamppb.New(s.CurrentPeriodEnd),
		CancelAtPeriodEnd: s.CancelAtPeriodEnd, CanceledAt: optionalTime(s.CanceledAt),
		CheckoutSession: s.CheckoutSessionID, LatestInvoice: s.LatestInvoiceID, Metadata: meta,
		Livemode: s.Livemode, CreatedAt: timestamppb.New(s.CreatedAt), TestClock: s.TestClockID,
	}
	for _, it := range items {
		out.Items = append(out.Items, &adminv1.SubscriptionItem{Price: it.Price, Product: it.Product, Name: it.Name,
			UnitAmount: it.UnitAmount, Quantity: it.Quantity})
	}
	if s.DiscountCoupon != nil {
		out.Discount = &adminv1.SubscriptionDiscount{Coupon: *s.DiscountCoupon, Duration: *s.DiscountDuration, End: optionalTime(s.DiscountEnd)}
	}
	return out, nil
}

// InvoiceProto renders a stored invoice as the API object.
func InvoiceProto(in db.AdminInvoice) (*adminv1.Invoice, error) {
	var lines []Line
	if err := json.Unmarshal(in.Lines, &lines); err != nil {
		return nil, fmt.Errorf("invoice %s lines: %w", in.ID, err)
	}
	out := &adminv1.Invoice{
		Id: in.ID, Object: "invoice", Subscription: in.SubscriptionID, Customer: in.CustomerID, Status: in.Status,
		Currency: in.Currency, AmountSubtotal: in.AmountSubtotal, AmountDiscount: in.AmountDiscount,
		AmountTax: in.AmountTax, AmountTotal: in.AmountTotal, DiscountCoupon: in.DiscountCoupon,
		PeriodStart: timestamppb.New(in.PeriodStart), PeriodEnd: timestamppb.New(in.PeriodEnd),
		Payment: in.PaymentID, AttemptCount: in.AttemptCount, NextPaymentAttempt: optionalTime(in.NextPaymentAttempt),
		BillingReason: in.BillingReason, PaidAt: optionalTime(in.PaidAt), Livemode: in.Livemode,
		CreatedAt: timestamppb.New(in.CreatedAt),
	}
	for _, l := range lines {
		var price *string
		if l.Price != "" {
			price = &l.Price
		}
		out.Lines = append(out.Lines, &adminv1.InvoiceLine{Price: price, Name: l.Name, UnitAmount: l.UnitAmount,
			Quantity: l.Quantity, AmountSubtotal: l.AmountSubtotal, AmountDiscount: l.AmountDiscount})
	}
	return out, nil
}

func optionalTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}
