package grpcapi

import (
	"context"

	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Payments implements adminv1.PaymentServiceServer by forwarding to
// checkout-runtime, which owns payments.
type Payments struct {
	adminv1.UnimplementedPaymentServiceServer
	Runtime internalapiv1.PaymentServiceClient
}

// ConfirmPayment records bank-transfer funds for one of the caller's payments.
func (s *Payments) ConfirmPayment(ctx context.Context, req *adminv1.ConfirmPaymentRequest) (*adminv1.ConfirmPaymentResponse, error) {
	p := auth.FromContext(ctx)
	// The bound is the largest amount a session may have: no one transfer
	// pays more, and sums of such amounts cannot overflow.
	if req.Amount != nil && (req.GetAmount() < 1 || req.GetAmount() > money.MaxAmount) {
		return nil, errs.Param("amount", "amount_invalid", "amount must be between 1 and %d minor units.", int64(money.MaxAmount))
	}
	// With an Idempotency-Key, a retried confirmation counts once even past
	// the replay window; without one, each call records funds.
	// Idempotency keys are per organization and mode: a test-mode key must
	// not make a live confirmation with the same key look like a repeat.
	// Live receipts keep the form they had before modes were in it; test
	// ones put "/test" after the organization id, which holds no "/", so no
	// test receipt can equal a live one.
	receipt := ids.New("rcpt")
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("idempotency-key")) > 0 {
		scope := p.OrganizationID
		if !p.Livemode {
			scope += "/test"
		}
		receipt = scope + ":" + md.Get("idempotency-key")[0]
	}
	resp, err := s.Runtime.ConfirmBankTransfer(ctx, &internalapiv1.ConfirmBankTransferRequest{OrganizationId: p.OrganizationID,
		Livemode: p.Livemode, PaymentId: req.GetId(), Amount: req.GetAmount(), ReceiptId: receipt})
	if err != nil {
		return nil, grpcx.DomainError(err)
	}
	return &adminv1.ConfirmPaymentResponse{Payment: resp.GetPayment()}, nil
}

// GetPayment returns one of the caller's payments, with its refunds.
func (s *Payments) GetPayment(ctx context.Context, req *adminv1.GetPaymentRequest) (*adminv1.GetPaymentResponse, error) {
	p := auth.FromContext(ctx)
	ctx, cancel := withForwardTimeout(ctx)
	defer cancel()
	resp, err := s.Runtime.GetPayment(ctx, &internalapiv1.GetPaymentRequest{OrganizationId: p.OrganizationID, Livemode: p.Livemode,
		PaymentId: req.GetId()})
	if err != nil {
		return nil, grpcx.DomainError(err)
	}
	return &adminv1.GetPaymentResponse{Payment: resp.GetPayment()}, nil
}

// ListPayments pages through the caller's payments, newest first.
func (s *Payments) ListPayments(ctx context.Context, req *adminv1.ListPaymentsRequest) (*adminv1.ListPaymentsResponse, error) {
	p := auth.FromContext(ctx)
	ctx, cancel := withForwardTimeout(ctx)
	defer cancel()
	resp, err := s.Runtime.ListPayments(ctx, &internalapiv1.ListPaymentsRequest{OrganizationId: p.OrganizationID, Livemode: p.Livemode,
		Params: req})
	if err != nil {
		return nil, grpcx.DomainError(err)
	}
	return resp.GetPage(), nil
}

// withForwardTimeout bounds a call to the runtime when the merchant set no
// deadline (see forwardTimeout).
func withForwardTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, forwardTimeout)
}
