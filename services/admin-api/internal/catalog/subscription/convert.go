package subscription

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
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
	// Proration marks an update's charge or credit (negative) for the rest
	// of a period, or a credit carried from one.
	Proration bool `json:"proration,omitempty"`
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
		TrialStart: optionalTime(s.TrialStart), TrialEnd: optionalTime(s.TrialEnd),
	}
	var pending []Line
	if err := json.Unmarshal(s.PendingLines, &pending); err != nil {
		return nil, fmt.Errorf("subscription %s pending lines: %w", s.ID, err)
	}
	out.PendingInvoiceLines = lineProtos(pending)
	fields, err := fieldsStruct(s.CustomFields)
	if err != nil {
		return nil, fmt.Errorf("subscription %s custom fields: %w", s.ID, err)
	}
	out.CustomFields = fields
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
		CreatedAt: timestamppb.New(in.CreatedAt), VoidedAt: optionalTime(in.VoidedAt), Lines: lineProtos(lines),
	}
	fields, err := fieldsStruct(in.CustomFields)
	if err != nil {
		return nil, fmt.Errorf("invoice %s custom fields: %w", in.ID, err)
	}
	out.CustomFields = fields
	return out, nil
}

// fieldsStruct is the API form of stored custom field values (an object
// of strings; nil when none were given).
func fieldsStruct(stored []byte) (*structpb.Struct, error) {
	values := map[string]string{}
	if len(stored) > 0 {
		if err := json.Unmarshal(stored, &values); err != nil {
			return nil, err
		}
	}
	out := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(values))}
	for k, v := range values {
		out.Fields[k] = structpb.NewStringValue(v)
	}
	return out, nil
}

// expanded leaves out of a subscription what expand does not ask for.
func expanded(s *adminv1.Subscription, expand []string) (*adminv1.Subscription, error) {
	for i, e := range expand {
		if e != "custom_fields" {
			return nil, errs.Param(fmt.Sprintf("expand[%d]", i), "parameter_invalid", "Only custom_fields can be expanded; got %q.", e)
		}
	}
	if !slices.Contains(expand, "custom_fields") {
		s.CustomFields = nil
	}
	return s, nil
}

func lineProtos(lines []Line) []*adminv1.InvoiceLine {
	out := make([]*adminv1.InvoiceLine, len(lines))
	for i, l := range lines {
		var price *string
		if l.Price != "" {
			price = &l.Price
		}
		out[i] = &adminv1.InvoiceLine{Price: price, Name: l.Name, UnitAmount: l.UnitAmount, Quantity: l.Quantity,
			AmountSubtotal: l.AmountSubtotal, AmountDiscount: l.AmountDiscount, Proration: l.Proration}
	}
	return out
}

func optionalTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}
