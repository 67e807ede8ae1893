// Package grpcapi implements checkout-runtime's internal gRPC API, which
// admin-api calls for the merchant's payment actions.
package grpcapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/payment"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/paging"
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
	obj, err := payment.PaymentObject(ctx, p.Service.Store.Queries, got)
	if err != nil {
		return nil, err
	}
	return &internalapiv1.ConfirmBankTransferResponse{Payment: obj}, nil
}

// paymentStatuses are the statuses a payment list may filter on.
var paymentStatuses = []string{payment.StatusRequiresAction, payment.StatusProcessing, payment.StatusSucceeded,
	payment.StatusFailed, payment.StatusCanceled}

// GetPayment returns one of the organization's payments, with its refunds.
func (p *Payments) GetPayment(ctx context.Context, req *internalapiv1.GetPaymentRequest) (*internalapiv1.GetPaymentResponse, error) {
	cur, err := p.Service.Store.GetPayment(ctx, req.GetPaymentId())
	if store.IsNoRows(err) || (err == nil && (cur.OrganizationID != req.GetOrganizationId() || cur.Livemode != req.GetLivemode())) {
		return nil, errs.NotFoundf("id", "No such payment: '%s'.", req.GetPaymentId())
	} else if err != nil {
		return nil, err
	}
	obj, err := payment.PaymentObject(ctx, p.Service.Store.Queries, cur)
	if err != nil {
		return nil, err
	}
	return &internalapiv1.GetPaymentResponse{Payment: obj}, nil
}

// ListPayments pages through the organization's payments, newest first.
func (p *Payments) ListPayments(ctx context.Context, req *internalapiv1.ListPaymentsRequest) (*internalapiv1.ListPaymentsResponse, error) {
	org, live, in := req.GetOrganizationId(), req.GetLivemode(), req.GetParams()
	session := in.GetSession()
	if cs := in.GetCheckoutSession(); cs != "" {
		if session != "" && session != cs {
			return nil, errs.Param("checkout_session", "parameter_invalid", "Give session or checkout_session, not two different ones.")
		}
		session = cs
	}
	if st := in.GetStatus(); st != "" && !slices.Contains(paymentStatuses, st) {
		return nil, errs.Param("status", "parameter_invalid", "status must be one of %s.", strings.Join(paymentStatuses, ", "))
	}
	pg, err := paging.Parse(in.Limit, in.GetStartingAfter(), in.GetEndingBefore(), func(id string) (int64, error) {
		return p.Service.Store.GetPaymentSeq(ctx, db.GetPaymentSeqParams{ID: id, OrganizationID: org, Livemode: live})
	})
	if err != nil {
		return nil, err
	}
	params := db.ListPaymentsParams{OrganizationID: org, Livemode: live, SessionID: nonEmpty(session), Status: nonEmpty(in.GetStatus()),
		BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()}
	if c := in.GetCreated(); c != nil {
		params.CreatedGte, params.CreatedGt = timeOf(c.GetGte()), timeOf(c.GetGt())
		params.CreatedLte, params.CreatedLt = timeOf(c.GetLte()), timeOf(c.GetLt())
	}
	rows, err := p.Service.Store.ListPayments(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	rows, more := paging.Trim(rows, pg)
	data, err := payment.PaymentObjects(ctx, p.Service.Store.Queries, rows)
	if err != nil {
		return nil, err
	}
	return &internalapiv1.ListPaymentsResponse{Page: &adminv1.ListPaymentsResponse{Object: "list", Data: data, HasMore: more, Url: "/v1/payments"}}, nil
}

// CreateRefund refunds one of the organization's payments (reason and
// metadata were validated by admin-api; the amount is bounded here, under
// the payment's lock).
func (p *Payments) CreateRefund(ctx context.Context, req *internalapiv1.CreateRefundRequest) (*internalapiv1.CreateRefundResponse, error) {
	in := req.GetParams()
	if in.GetPayment() == "" {
		return nil, errs.Missing("payment")
	}
	if in.Amount != nil && in.GetAmount() < 1 {
		return nil, errs.Param("amount", "amount_invalid", "amount must be a positive number of minor units.")
	}
	r, err := p.Service.CreateRefund(ctx, payment.RefundRequest{OrganizationID: req.GetOrganizationId(), Livemode: req.GetLivemode(),
		PaymentID: in.GetPayment(), Amount: in.GetAmount(), Reason: in.GetReason(), Metadata: in.GetMetadata(),
		IdempotencyKey: req.GetIdempotencyKey()})
	if err != nil {
		return nil, err
	}
	obj, err := payment.RefundProto(r)
	if err != nil {
		return nil, err
	}
	return &internalapiv1.CreateRefundResponse{Refund: obj}, nil
}

// GetRefund returns one of the organization's refunds.
func (p *Payments) GetRefund(ctx context.Context, req *internalapiv1.GetRefundRequest) (*internalapiv1.GetRefundResponse, error) {
	r, err := p.Service.Store.GetRefund(ctx, req.GetRefundId())
	if store.IsNoRows(err) || (err == nil && (r.OrganizationID != req.GetOrganizationId() || r.Livemode != req.GetLivemode())) {
		return nil, errs.NotFoundf("id", "No such refund: '%s'.", req.GetRefundId())
	} else if err != nil {
		return nil, err
	}
	obj, err := payment.RefundProto(r)
	if err != nil {
		return nil, err
	}
	return &internalapiv1.GetRefundResponse{Refund: obj}, nil
}

// ListRefunds pages through the organization's refunds, newest first.
func (p *Payments) ListRefunds(ctx context.Context, req *internalapiv1.ListRefundsRequest) (*internalapiv1.ListRefundsResponse, error) {
	org, live, in := req.GetOrganizationId(), req.GetLivemode(), req.GetParams()
	pg, err := paging.Parse(in.Limit, in.GetStartingAfter(), in.GetEndingBefore(), func(id string) (int64, error) {
		return p.Service.Store.GetRefundSeq(ctx, db.GetRefundSeqParams{ID: id, OrganizationID: org, Livemode: live})
	})
	if err != nil {
		return nil, err
	}
	rows, err := p.Service.Store.ListRefunds(ctx, db.ListRefundsParams{OrganizationID: org, Livemode: live,
		PaymentID: nonEmpty(in.GetPayment()), BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListRefundsResponse{Object: "list", HasMore: more, Url: "/v1/refunds", Data: make([]*adminv1.Refund, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = payment.RefundProto(r); err != nil {
			return nil, err
		}
	}
	return &internalapiv1.ListRefundsResponse{Page: out}, nil
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

// ChargeOffSession charges a saved payment method for an invoice (a
// subscription's renewal) through the payment service.
func (p *Payments) ChargeOffSession(ctx context.Context, req *internalapiv1.ChargeOffSessionRequest) (*internalapiv1.ChargeOffSessionResponse, error) {
	got, err := p.Service.ChargeOffSession(ctx, req)
	if err != nil {
		return nil, err
	}
	return &internalapiv1.ChargeOffSessionResponse{Payment: payment.Proto(got)}, nil
}
