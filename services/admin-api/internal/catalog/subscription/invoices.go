package subscription

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/events"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// notOpen refuses to pay or void an invoice that is no longer open.
func notOpen(in db.AdminInvoice) error {
	return &errs.Error{Kind: errs.FailedPrecondition, Code: "invoice_not_open", Param: "id",
		Message: fmt.Sprintf("Invoice %s is %s: only an open invoice can be paid or voided.", in.ID, in.Status)}
}

// lockOpenInvoice locks one of the caller's invoices and its subscription
// for a change that needs it open: an invoice already in status done (the
// change's own end, as a repeat finds it) is returned as it is, without its
// subscription; any other status is refused.
func lockOpenInvoice(ctx context.Context, q *db.Queries, p auth.Principal, id, done string) (db.AdminInvoice, db.AdminSubscription, error) {
	in, err := q.LockInvoiceOf(ctx, db.LockInvoiceOfParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	switch {
	case err != nil:
		return in, db.AdminSubscription{}, notFound(err, "invoice", id)
	case in.Status == done:
		return in, db.AdminSubscription{}, nil
	case in.Status != "open":
		return in, db.AdminSubscription{}, notOpen(in)
	}
	sub, err := q.LockSubscriptionByID(ctx, in.SubscriptionID)
	if err != nil {
		return in, sub, store.Wrap(err, "lock subscription")
	}
	return in, sub, nil
}

// answered is the answer to a repeated change (the invoice as it is), or
// err.
func answered(in db.AdminInvoice, err error) (*adminv1.Invoice, error) {
	if err != nil {
		return nil, err
	}
	return InvoiceProto(in)
}

// PayInvoice charges an open invoice now, off-session, with its
// subscription's saved payment method: one more attempt, outside the
// dunning schedule (which it leaves as it is when declined). A paid
// invoice is answered as it is.
func (s *Invoices) PayInvoice(ctx context.Context, req *adminv1.PayInvoiceRequest) (*adminv1.PayInvoiceResponse, error) {
	p := auth.FromContext(ctx)
	var (
		w    work
		done *adminv1.Invoice
	)
	err := s.Store.InTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		in, sub, err := lockOpenInvoice(ctx, q, p, req.GetId(), "paid")
		if err != nil || in.Status == "paid" {
			done, err = answered(in, err)
			return err
		}
		if sub.DefaultPaymentMethod == nil && in.AmountTotal > 0 {
			return &errs.Error{Kind: errs.FailedPrecondition, Code: "no_payment_method", Param: "id",
				Message: fmt.Sprintf("Subscription %s has no saved payment method to charge.", sub.ID)}
		}
		w = work{sub: sub, invoice: in, attempt: in.AttemptCount + 1}
		return nil
	})
	if err != nil {
		return nil, err
	} else if done != nil {
		return &adminv1.PayInvoiceResponse{Invoice: done}, nil
	}
	res, err := s.Renewer.charge(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("charge invoice %s: %w", w.invoice.ID, err)
	}
	var resp *adminv1.PayInvoiceResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		in, err := s.Renewer.recordManual(ctx, tx, q, w, res, s.Renewer.now())
		if err != nil {
			return err
		}
		out, err := InvoiceProto(in)
		if err != nil {
			return err
		}
		resp = &adminv1.PayInvoiceResponse{Invoice: out}
		if !res.Succeeded {
			return nil // the declined attempt is recorded; the answer is the error below
		}
		return audit.Record(ctx, tx, resp)
	})
	if err == nil && !res.Succeeded {
		return nil, &errs.Error{Kind: errs.FailedPrecondition, Code: "invoice_payment_failed", Param: "id",
			Message: fmt.Sprintf("The charge of invoice %s was declined (%s); it stays open.", w.invoice.ID, res.DeclineCode)}
	}
	return resp, err
}

// VoidInvoice voids an open invoice. A past_due subscription whose unpaid
// invoice it is moves into that period, active again; an incomplete one
// (its first invoice) never starts. A void invoice is answered as it is.
func (s *Invoices) VoidInvoice(ctx context.Context, req *adminv1.VoidInvoiceRequest) (*adminv1.VoidInvoiceResponse, error) {
	p := auth.FromContext(ctx)
	var resp *adminv1.VoidInvoiceResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		in, sub, err := lockOpenInvoice(ctx, q, p, req.GetId(), "void")
		if err != nil || in.Status == "void" {
			out, err := answered(in, err)
			resp = &adminv1.VoidInvoiceResponse{Invoice: out}
			return err
		}
		now := time.Now().UTC().Truncate(time.Second)
		if in, err = q.VoidInvoice(ctx, db.VoidInvoiceParams{ID: in.ID, VoidedAt: &now}); err != nil {
			return store.Wrap(err, "void invoice")
		}
		if err := emitInvoice(ctx, tx, in, events.InvoiceVoided); err != nil {
			return err
		}
		if err := forgive(ctx, tx, q, sub, in); err != nil {
			return err
		}
		out, err := InvoiceProto(in)
		if err != nil {
			return err
		}
		resp = &adminv1.VoidInvoiceResponse{Invoice: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// forgive moves sub on after its invoice in was voided: a past_due or
// unpaid subscription into in's period (active, renewing at its end); an
// incomplete one, whose first invoice it was, to incomplete_expired.
func forgive(ctx context.Context, tx pgx.Tx, q *db.Queries, sub db.AdminSubscription, in db.AdminInvoice) error {
	var err error
	switch {
	case (sub.Status == "past_due" || sub.Status == "unpaid") && in.PeriodNumber == sub.PeriodNumber+1:
		sub, err = q.RenewSubscription(ctx, db.RenewSubscriptionParams{ID: sub.ID, PeriodNumber: in.PeriodNumber,
			CurrentPeriodStart: in.PeriodStart, CurrentPeriodEnd: in.PeriodEnd, LatestInvoiceID: &in.ID})
	case sub.Status == "incomplete":
		sub, err = q.ExpireSubscription(ctx, sub.ID)
	default:
		return nil
	}
	if err != nil {
		return store.Wrap(err, "move subscription")
	}
	return emitSubscription(ctx, tx, sub, events.SubscriptionUpdated)
}
