package grpcapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// SessionProto renders a stored session as the API object; checkoutBase is
// scheme://MAIN_FRONTEND_DOMAIN.
func SessionProto(s db.AdminCheckoutSession, checkoutBase string) (*adminv1.CheckoutSession, error) {
	var items []session.LineItem
	if err := json.Unmarshal(s.LineItems, &items); err != nil {
		return nil, fmt.Errorf("session %s line items: %w", s.ID, err)
	}
	meta := map[string]string{}
	if err := json.Unmarshal(s.Metadata, &meta); err != nil {
		return nil, fmt.Errorf("session %s metadata: %w", s.ID, err)
	}
	out := &adminv1.CheckoutSession{
		Id: s.ID, Object: "checkout.session", SiteId: s.SiteID, Status: s.Status, PaymentStatus: s.PaymentStatus,
		Url:            checkoutBase + "/checkout/" + s.ID,
		AmountSubtotal: s.AmountSubtotal, AmountTax: s.AmountTax, AmountTotal: s.AmountTotal, Amount: s.AmountTotal,
		Currency: s.Currency, Customer: s.Customer, CustomerEmail: s.CustomerEmail, CustomerPhone: s.CustomerPhone,
		SuccessUrl: s.SuccessUrl, CancelUrl: s.CancelUrl, Metadata: meta, OrderId: s.OrderID,
		Description: s.Description, Reference: s.Reference, Payment: s.PaymentID, Livemode: s.Livemode,
		ExpiresAt: timestamppb.New(s.ExpiresAt), CreatedAt: timestamppb.New(s.CreatedAt),
		PaymentMethodTypes: s.PaymentMethodTypes, Locale: s.Locale, NotifyUrl: s.NotifyUrl,
		ClientReferenceId: s.ClientReferenceID, Route: s.RouteID,
		Uuid: s.Uuid, MaxInstallmentCount: s.MaxInstallmentCount,
		InstallmentInterestPaidBy: s.InstallmentInterestPaidBy, ReturnMethod: s.ReturnMethod,
		ProcessingFee: s.ProcessingFee, NetAmount: s.NetAmount, NotifyFormat: s.NotifyFormat,
		TotalDetails:        &adminv1.TotalDetails{AmountDiscount: s.AmountDiscount, AmountTax: s.AmountTax},
		AllowPromotionCodes: s.AllowPromotionCodes,
		Mode:                s.Mode, Subscription: s.SubscriptionID, CustomerCreation: s.CustomerCreation,
	}
	values, err := sessionCustomFields(s)
	if err != nil {
		return nil, err
	}
	out.CustomFields = customFieldsStruct(values)
	if s.DiscountCoupon != nil {
		out.Discounts = []*adminv1.SessionDiscount{{Coupon: *s.DiscountCoupon, PromotionCode: s.DiscountPromotionCode}}
	}
	if s.CompletedAt != nil {
		out.CompletedAt = timestamppb.New(*s.CompletedAt)
	}
	out.LineItems = lineItemsProto(items)
	tiers, err := sessionCascade(s)
	if err != nil {
		return nil, err
	}
	out.CascadeLineItems, out.CascadeTier, out.CascadePayment = cascadeProto(tiers), s.CascadeTier, s.CascadePaymentID
	return out, nil
}

// lineItemsProto is the API form of stored line items.
func lineItemsProto(items []session.LineItem) []*adminv1.LineItem {
	out := make([]*adminv1.LineItem, len(items))
	for i, it := range items {
		out[i] = &adminv1.LineItem{Name: it.Name, Description: optional(it.Description),
			UnitAmount: it.UnitAmount, Quantity: it.Quantity, ImageUrl: optional(it.ImageURL), AmountTotal: it.AmountTotal,
			PriceId: optional(it.PriceID), ProductId: optional(it.ProductID),
			AmountDiscount: it.AmountDiscount, AmountSubtotal: it.AmountTotal + it.AmountDiscount}
		if a := it.Adjustable; a != nil {
			out[i].AdjustableQuantity = &adminv1.AdjustableQuantity{Enabled: true, Minimum: &a.Minimum, Maximum: &a.Maximum}
		}
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timeOf(ts *timestamppb.Timestamp) *time.Time {
	if ts == nil {
		return nil
	}
	t := ts.AsTime()
	return &t
}

// setStatus sets the HTTP status of a REST answer (201 for creations made
// outside a transaction of ours, such as forwarded ones).
func setStatus(ctx context.Context, code int) error {
	return grpc.SetHeader(ctx, metadata.Pairs(idempotency.HTTPCodeHeader, strconv.Itoa(code)))
}
