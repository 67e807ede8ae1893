// Package grpcapi implements checkout-runtime's internal gRPC API, which
// admin-api calls for the merchant's payment actions.
package grpcapi

import (
	"context"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/payment"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// Payments implements internalapiv1.PaymentServiceServer.
type Payments struct {
	internalapiv1.UnimplementedPaymentServiceServer
	Service *payment.Service
}

// ConfirmBankTransfer records funds for one of the organization's payments.
func (p *Payments) ConfirmBankTransfer(ctx context.Context, req *internalapiv1.ConfirmBankTransferRequest) (*internalapiv1.ConfirmBankTransferResponse, error) {
	cur, err := p.Service.Store.GetPayment(ctx, req.GetPaymentId())
	if store.IsNoRows(err) || (err == nil && (cur.OrganizationID != req.GetOrganizationId() || cur.Livemode != req.GetLivemode())) {
		return nil, errs.NotFoundf("id", "No such payment: '%s'.", req.GetPaymentId())
	} else if err != nil {
		return nil, err
	}
	if req.GetReceiptId() == "" {
		return nil, errs.Missing("receipt_id")
	}
	got, err := p.Service.FundsReceived(ctx, payment.Receipt{ID: "confirm:" + req.GetReceiptId(), Livemode: req.GetLivemode(),
		Amount: req.GetAmount()}, cur.ID)
	if err != nil {
		return nil, err
	}
	return &internalapiv1.ConfirmBankTransferResponse{Payment: payment.Proto(got)}, nil
}
