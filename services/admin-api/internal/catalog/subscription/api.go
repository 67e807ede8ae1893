package subscription

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/events"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/paging"
)

// Statuses a list may filter on.
var (
	subscriptionStatuses = []string{"trialing", "active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired"}
	invoiceStatuses      = []string{"open", "paid", "uncollectible", "void"}
)

// Subscriptions implements adminv1.SubscriptionServiceServer.
type Subscriptions struct {
	adminv1.UnimplementedSubscriptionServiceServer
	Store *store.Store
	Now   func() time.Time
}

// GetSubscription returns one of the caller's subscriptions.
func (s *Subscriptions) GetSubscription(ctx context.Context, req *adminv1.GetSubscriptionRequest) (*adminv1.GetSubscriptionResponse, error) {
	p := auth.FromContext(ctx)
	row, err := s.Store.GetSubscription(ctx, db.GetSubscriptionParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if err != nil {
		return nil, notFound(err, "subscription", req.GetId())
	}
	out, err := Proto(row)
	if err != nil {
		return nil, err
	}
	out, err = expanded(out, req.GetExpand())
	return &adminv1.GetSubscriptionResponse{Subscription: out}, err
}

// ListSubscriptions pages through the caller's subscriptions, newest first.
func (s *Subscriptions) ListSubscriptions(ctx context.Context, req *adminv1.ListSubscriptionsRequest) (*adminv1.ListSubscriptionsResponse, error) {
	p := auth.FromContext(ctx)
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetSubscriptionSeq(ctx, db.GetSubscriptionSeqParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	})
	if err != nil {
		return nil, err
	}
	status, err := filter("status", req.GetStatus(), subscriptionStatuses)
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListSubscriptions(ctx, db.ListSubscriptionsParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		Customer: nonEmpty(req.GetCustomer()), Status: status, BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, store.Wrap(err, "list subscriptions")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListSubscriptionsResponse{Object: "list", HasMore: more, Url: "/v1/subscriptions", Data: make([]*adminv1.Subscription, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = Proto(r); err != nil {
			return nil, err
		}
		if out.Data[i], err = expanded(out.Data[i], req.GetExpand()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UpdateSubscription sets cancel_at_period_end and merges metadata, with
// a customer.subscription.updated event.
func (s *Subscriptions) UpdateSubscription(ctx context.Context, req *adminv1.UpdateSubscriptionRequest) (*adminv1.UpdateSubscriptionResponse, error) {
	p := auth.FromContext(ctx)
	var resp *adminv1.UpdateSubscriptionResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.LockSubscription(ctx, db.LockSubscriptionParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if err != nil {
			return notFound(err, "subscription", req.GetId())
		}
		if row.Status == "canceled" {
			return errs.Param("id", "subscription_canceled", "Subscription %s is canceled and cannot change.", row.ID)
		}
		meta, err := catalog.MergeMetadataJSON(row.Metadata, req.GetMetadata())
		if err != nil {
			return err
		}
		cancelAtEnd := row.CancelAtPeriodEnd
		if req.CancelAtPeriodEnd != nil {
			cancelAtEnd = req.GetCancelAtPeriodEnd()
		}
		now, err := subscriptionNow(ctx, q, row, s.Now())
		if err != nil {
			return err
		}
		if row, err = changeItems(ctx, q, row, req, now); err != nil {
			return err
		}
		if row, err = q.UpdateSubscription(ctx, db.UpdateSubscriptionParams{ID: row.ID, CancelAtPeriodEnd: cancelAtEnd, Metadata: meta}); err != nil {
			return store.Wrap(err, "update subscription")
		}
		if err := emitSubscription(ctx, tx, row, events.SubscriptionUpdated); err != nil {
			return err
		}
		out, err := Proto(row)
		if err != nil {
			return err
		}
		out.CustomFields = nil // with expand=custom_fields on retrieval
		resp = &adminv1.UpdateSubscriptionResponse{Subscription: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// CancelSubscription cancels a subscription now, with a
// customer.subscription.deleted event.
func (s *Subscriptions) CancelSubscription(ctx context.Context, req *adminv1.CancelSubscriptionRequest) (*adminv1.CancelSubscriptionResponse, error) {
	p := auth.FromContext(ctx)
	var resp *adminv1.CancelSubscriptionResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.LockSubscription(ctx, db.LockSubscriptionParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if err != nil {
			return notFound(err, "subscription", req.GetId())
		}
		// A subscription on a test clock ends at the clock's time.
		now, err := subscriptionNow(ctx, q, row, s.Now())
		if err != nil {
			return err
		}
		if row, err = cancel(ctx, tx, q, row, now); err != nil {
			return err
		}
		out, err := Proto(row)
		if err != nil {
			return err
		}
		out.CustomFields = nil // with expand=custom_fields on retrieval
		resp = &adminv1.CancelSubscriptionResponse{Subscription: out}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// cancel ends locked subscription row at now, with its event.
func cancel(ctx context.Context, tx pgx.Tx, q *db.Queries, row db.AdminSubscription, now time.Time) (db.AdminSubscription, error) {
	now = now.UTC().Truncate(time.Second)
	out, err := q.CancelSubscription(ctx, db.CancelSubscriptionParams{ID: row.ID, CanceledAt: &now})
	if store.IsNoRows(err) {
		return row, errs.Param("id", "subscription_canceled", "Subscription %s is already canceled.", row.ID)
	} else if err != nil {
		return row, store.Wrap(err, "cancel subscription")
	}
	if err := q.StopInvoiceRetries(ctx, row.ID); err != nil {
		return row, store.Wrap(err, "stop invoice retries")
	}
	return out, emitSubscription(ctx, tx, out, events.SubscriptionDeleted)
}

// Invoices implements adminv1.InvoiceServiceServer.
type Invoices struct {
	adminv1.UnimplementedInvoiceServiceServer
	Store *store.Store
	// Renewer charges an invoice paid on request, as it charges renewals.
	Renewer *Renewer
}

// GetInvoice returns one of the caller's invoices.
func (s *Invoices) GetInvoice(ctx context.Context, req *adminv1.GetInvoiceRequest) (*adminv1.GetInvoiceResponse, error) {
	p := auth.FromContext(ctx)
	row, err := s.Store.GetInvoice(ctx, db.GetInvoiceParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if err != nil {
		return nil, notFound(err, "invoice", req.GetId())
	}
	out, err := InvoiceProto(row)
	return &adminv1.GetInvoiceResponse{Invoice: out}, err
}

// ListInvoices pages through the caller's invoices, newest first.
func (s *Invoices) ListInvoices(ctx context.Context, req *adminv1.ListInvoicesRequest) (*adminv1.ListInvoicesResponse, error) {
	p := auth.FromContext(ctx)
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		return s.Store.GetInvoiceSeq(ctx, db.GetInvoiceSeqParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	})
	if err != nil {
		return nil, err
	}
	status, err := filter("status", req.GetStatus(), invoiceStatuses)
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.ListInvoices(ctx, db.ListInvoicesParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		Subscription: nonEmpty(req.GetSubscription()), Customer: nonEmpty(req.GetCustomer()), Status: status,
		BeforeSeq: pg.Before, AfterSeq: pg.After, RowLimit: pg.Fetch()})
	if err != nil {
		return nil, store.Wrap(err, "list invoices")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListInvoicesResponse{Object: "list", HasMore: more, Url: "/v1/invoices", Data: make([]*adminv1.Invoice, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = InvoiceProto(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// notFound translates a failed lookup by id: no row (another
// organization's or mode's included) is a 404 naming id.
func notFound(err error, what, id string) error {
	if store.IsNoRows(err) {
		return errs.NotFoundf("id", "No such %s: '%s'.", what, id)
	}
	return store.Wrap(err, "get "+what)
}

// filter checks a status filter against the allowed values ("" is none).
func filter(param, v string, allowed []string) (*string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if !slices.Contains(allowed, v) {
		return nil, errs.Param(param, "parameter_invalid", "%s must be one of %s.", param, strings.Join(allowed, ", "))
	}
	return &v, nil
}

func nonEmpty(s string) *string {
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	return &s
}
