package grpcapi

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// refundReasons are the reasons a refund may give (Stripe's).
var refundReasons = []string{"duplicate", "fraudulent", "requested_by_customer"}

// Refunds implements adminv1.RefundServiceServer by forwarding to
// checkout-runtime, which owns payments and their refunds.
type Refunds struct {
	adminv1.UnimplementedRefundServiceServer
	Runtime internalapiv1.PaymentServiceClient
}

// CreateRefund validates the merchant's parameters and has the runtime
// refund the payment; the runtime bounds the amount under the payment's lock.
func (s *Refunds) CreateRefund(ctx context.Context, req *adminv1.CreateRefundRequest) (*adminv1.CreateRefundResponse, error) {
	p := auth.FromContext(ctx)
	if req.GetPayment() == "" {
		return nil, errs.Missing("payment")
	}
	// The bound is the largest amount a payment may have: a larger refund
	// is never possible, and the runtime names it amount_too_large anyway.
	if req.Amount != nil && (req.GetAmount() < 1 || req.GetAmount() > money.MaxAmount) {
		return nil, errs.Param("amount", "amount_invalid", "amount must be between 1 and %d minor units.", int64(money.MaxAmount))
	}
	if r := req.GetReason(); r != "" && !slices.Contains(refundReasons, r) {
		return nil, errs.Param("reason", "parameter_invalid", "reason must be one of %s.", strings.Join(refundReasons, ", "))
	}
	meta, err := session.Metadata(req.GetMetadata())
	if err != nil {
		return nil, err
	}
	req.Metadata = meta
	// With an Idempotency-Key the runtime remembers which refund the key
	// made, so a retry past the replay window (or after admin-api lost the
	// first answer) refunds once. Scoped like ConfirmPayment's receipts.
	var key string
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get(idempotency.KeyHeader)) > 0 {
		scope := p.OrganizationID
		if !p.Livemode {
			scope += "/test"
		}
		key = scope + ":" + md.Get(idempotency.KeyHeader)[0]
	}
	ctx, cancel := withForwardTimeout(ctx)
	defer cancel()
	resp, err := s.Runtime.CreateRefund(ctx, &internalapiv1.CreateRefundRequest{OrganizationId: p.OrganizationID, Livemode: p.Livemode,
		Params: req, IdempotencyKey: key})
	if err != nil {
		return nil, grpcx.DomainError(err)
	}
	return &adminv1.CreateRefundResponse{Refund: resp.GetRefund()}, nil
}

// GetRefund returns one of the caller's refunds.
func (s *Refunds) GetRefund(ctx context.Context, req *adminv1.GetRefundRequest) (*adminv1.GetRefundResponse, error) {
	p := auth.FromContext(ctx)
	ctx, cancel := withForwardTimeout(ctx)
	defer cancel()
	resp, err := s.Runtime.GetRefund(ctx, &internalapiv1.GetRefundRequest{OrganizationId: p.OrganizationID, Livemode: p.Livemode,
		RefundId: req.GetId()})
	if err != nil {
		return nil, grpcx.DomainError(err)
	}
	return &adminv1.GetRefundResponse{Refund: resp.GetRefund()}, nil
}

// ListRefunds pages through the caller's refunds, newest first.
func (s *Refunds) ListRefunds(ctx context.Context, req *adminv1.ListRefundsRequest) (*adminv1.ListRefundsResponse, error) {
	p := auth.FromContext(ctx)
	ctx, cancel := withForwardTimeout(ctx)
	defer cancel()
	resp, err := s.Runtime.ListRefunds(ctx, &internalapiv1.ListRefundsRequest{OrganizationId: p.OrganizationID, Livemode: p.Livemode,
		Params: req})
	if err != nil {
		return nil, grpcx.DomainError(err)
	}
	return resp.GetPage(), nil
}
