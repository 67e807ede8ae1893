// Package grpcapi implements the merchant API's gRPC services; the REST API is
// the same services through grpc-gateway.
package grpcapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/audit"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/discount"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/events"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/money"
	"github.com/tillpoint/tillpoint/services/platform/outbox"
	"github.com/tillpoint/tillpoint/services/platform/paging"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// OutboxSchema is the schema whose outbox admin-api writes events to.
const OutboxSchema = "admin"

// referenceAttempts: references carry ~40 bits and are unique across the
// deployment, so a clash is rare and three in a row practically never happen.
const referenceAttempts = 3

// Sessions implements adminv1.CheckoutSessionServiceServer.
type Sessions struct {
	adminv1.UnimplementedCheckoutSessionServiceServer
	Store *store.Store
	// CheckoutBase is scheme://MAIN_FRONTEND_DOMAIN, the start of session URLs.
	CheckoutBase string
	Now          func() time.Time
	// Targets is the policy notify_url must pass, the same as hooks applies
	// to it and to webhook endpoints.
	Targets webhook.TargetPolicy
}

// CreateCheckoutSession validates and stores a new open session.
func (s *Sessions) CreateCheckoutSession(ctx context.Context, req *adminv1.CreateCheckoutSessionRequest) (*adminv1.CreateCheckoutSessionResponse, error) {
	p := auth.FromContext(ctx)
	if err := checkExpand(req.GetExpand()); err != nil {
		return nil, err
	}
	site, err := s.site(ctx, req.GetSiteId(), p)
	if err != nil {
		return nil, err
	}
	taxBps, err := maxExclusiveBps(site.TaxRates)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", site.ID, err)
	}
	resolved, err := catalog.ResolveSession(ctx, s.Store.Queries, p.OrganizationID, p.Livemode, req)
	if err != nil {
		return nil, err
	}
	rules := session.Site{ID: site.ID, DefaultCurrency: site.DefaultCurrency,
		DefaultSuccessURL: site.DefaultSuccessUrl, DefaultCancelURL: site.DefaultCancelUrl,
		PaymentMethodTypes: site.PaymentMethodTypes, MaxExclusiveTaxBps: taxBps, CheckNotifyURL: func(raw string) error {
			return s.Targets.CheckURL(raw, p.OrganizationID, p.Livemode)
		}}
	n, err := session.Validate(resolved.Request, rules, p.Livemode, s.Now())
	if err != nil {
		return nil, err
	}
	tiers, err := s.cascadeTiers(ctx, p, req, n, rules)
	if err != nil {
		return nil, err
	}
	var tiersJSON []byte
	if tiers != nil {
		if tiersJSON, err = json.Marshal(tiers); err != nil {
			return nil, err
		}
	}
	resolved.Annotate(n.LineItems)
	routeID, err := s.sessionRoute(ctx, p.OrganizationID, p.Livemode, n.SiteID, req.GetRoute())
	if err != nil {
		return nil, err
	}
	fields, err := siteCustomFieldValues(site, req.GetCustomFields(), nil, false)
	if err != nil {
		return nil, err
	}
	if resolved.SubscriptionFields, err = subscriptionFieldValues(site, resolved.Subscription(), req.GetParamsForSub()); err != nil {
		return nil, err
	}
	var fieldsJSON []byte
	if len(fields) > 0 {
		if fieldsJSON, err = json.Marshal(fields); err != nil {
			return nil, err
		}
	}
	spec, discounted, err := discount.Requested(req)
	if err != nil {
		return nil, err
	}
	items, err := json.Marshal(n.LineItems)
	if err != nil {
		return nil, err
	}
	meta, err := json.Marshal(n.Metadata)
	if err != nil {
		return nil, err
	}
	var token string
	if req.GetIssueSecureToken() {
		token = session.NewSecureToken()
	}
	for attempt := 1; ; attempt++ {
		params := db.CreateSessionParams{
			ID: n.ID, OrganizationID: p.OrganizationID, SiteID: n.SiteID, Livemode: p.Livemode,
			Currency: n.Currency, AmountSubtotal: n.Subtotal, LineItems: items, Customer: n.Customer,
			CustomerEmail: n.CustomerEmail, CustomerPhone: n.CustomerPhone, SuccessUrl: n.SuccessURL,
			CancelUrl: n.CancelURL, Metadata: meta, OrderID: n.OrderID, Description: n.Description,
			Reference: n.Reference, PaymentMethodTypes: n.PaymentMethodTypes, Locale: n.Locale,
			NotifyUrl: n.NotifyURL, ExpiresAt: n.ExpiresAt, ClientReferenceID: n.ClientReferenceID, MaxInstallmentCount: n.MaxInstallmentCount,
			InstallmentInterestPaidBy: n.InterestPaidBy, ReturnMethod: n.ReturnMethod,
			NotifyFormat: n.NotifyFormat, RouteID: routeID,
		}
		var resp *adminv1.CreateCheckoutSessionResponse
		respond := func(tx pgx.Tx, row db.AdminCheckoutSession) error {
			cs, err := SessionProto(row, s.CheckoutBase)
			if err != nil {
				return err
			}
			resp = &adminv1.CreateCheckoutSessionResponse{CheckoutSession: applyExpand(cs, req.GetExpand()), SecureToken: token}
			return audit.Finish(ctx, tx, resp, http.StatusCreated)
		}
		modal := resolved.Subscription() || resolved.CustomerCreation != catalog.CreationIfRequired
		if idempotency.Keyed(ctx) || token != "" || audit.Pending(ctx) || discounted || req.GetAllowPromotionCodes() || fieldsJSON != nil || tiersJSON != nil || modal {
			// The stored response, the token's hash, the audit entry (a
			// dashboard user's session) and the discount's reservation
			// commit with the row.
			err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
				row, err := q.CreateSession(ctx, params)
				if err != nil {
					return err
				}
				if token != "" {
					if err := q.SetSessionSecureToken(ctx, db.SetSessionSecureTokenParams{ID: row.ID, SecureTokenHash: session.HashSecureToken(token)}); err != nil {
						return err
					}
				}
				if modal {
					if row, err = catalog.SetSessionMode(ctx, q, row.ID, resolved); err != nil {
						return err
					}
				}
				if discounted {
					if row, err = discount.Apply(ctx, q, row, spec); err != nil {
						return err
					}
				}
				if req.GetAllowPromotionCodes() {
					if err := q.AllowPromotionCodes(ctx, row.ID); err != nil {
						return err
					}
					row.AllowPromotionCodes = true
				}
				if tiersJSON != nil {
					if row, err = q.SetSessionCascade(ctx, db.SetSessionCascadeParams{ID: row.ID, CascadeLineItems: tiersJSON}); err != nil {
						return err
					}
				}
				if fieldsJSON != nil {
					if row, err = q.SetSessionCustomFields(ctx, db.SetSessionCustomFieldsParams{ID: row.ID, CustomFields: fieldsJSON}); err != nil {
						return err
					}
				}
				return respond(tx, row)
			})
		} else {
			// The INSERT is the only write: no transaction, and it may share
			// a statement with other requests' rows (store/batch.go).
			var row db.AdminCheckoutSession
			if row, err = s.Store.InsertSession(ctx, params); err == nil {
				err = respond(nil, row)
			}
		}
		constraint, dup := store.UniqueViolation(err)
		switch {
		case err == nil:
			return resp, nil
		case dup && constraint == "checkout_sessions_order_idx":
			return nil, &errs.Error{Kind: errs.Conflict, Code: "resource_already_exists", Param: "order_id",
				Message: "A checkout session with order_id '" + *n.OrderID + "' already exists for this site."}
		case dup && constraint == "checkout_sessions_reference_key" && attempt < referenceAttempts:
			n.Reference = session.NewReference()
		default:
			return nil, store.Wrap(err, "create session")
		}
	}
}

// site is the session's site: the one named, or without a name the
// organization's default in the caller's mode (the site marked default, else
// the oldest), so that seed 001's create works without site_id.
func (s *Sessions) site(ctx context.Context, id string, p auth.Principal) (db.AdminSite, error) {
	if id == "" {
		site, err := s.Store.CachedDefaultSite(ctx, db.GetDefaultSiteParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if store.IsNoRows(err) {
			return site, errs.Param("site_id", "parameter_missing", "Missing required param: site_id (the organization has no %s site to default to; create one with POST /v1/sites).", modeName(p.Livemode))
		} else if err != nil {
			return site, store.Wrap(err, "get default site")
		}
		return site, nil
	}
	site, err := s.Store.CachedSite(ctx, db.GetSiteParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if store.IsNoRows(err) {
		return site, errs.NotFoundf("site_id", "No such site: '%s'.", id)
	} else if err != nil {
		return site, store.Wrap(err, "get site")
	}
	return site, nil
}

// modeName names a mode in messages.
func modeName(live bool) string {
	if live {
		return "live-mode"
	}
	return "test-mode"
}

// GetCheckoutSession returns one of the caller's sessions.
func (s *Sessions) GetCheckoutSession(ctx context.Context, req *adminv1.GetCheckoutSessionRequest) (*adminv1.GetCheckoutSessionResponse, error) {
	p := auth.FromContext(ctx)
	if err := checkExpand(req.GetExpand()); err != nil {
		return nil, err
	}
	row, err := s.Store.GetSession(ctx, db.GetSessionParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
	if store.IsNoRows(err) {
		return nil, errs.NotFoundf("id", "No such checkout session: '%s'.", req.GetId())
	} else if err != nil {
		return nil, store.Wrap(err, "get session")
	}
	cs, err := SessionProto(row, s.CheckoutBase)
	if err != nil {
		return nil, err
	}
	return &adminv1.GetCheckoutSessionResponse{CheckoutSession: applyExpand(cs, req.GetExpand())}, nil
}

// ListCheckoutSessions pages through the caller's sessions, newest first.
func (s *Sessions) ListCheckoutSessions(ctx context.Context, req *adminv1.ListCheckoutSessionsRequest) (*adminv1.ListCheckoutSessionsResponse, error) {
	p := auth.FromContext(ctx)
	// The list is ordered by (created_at, seq): the cursor is both.
	var cursorCreated time.Time
	pg, err := paging.Parse(req.Limit, req.GetStartingAfter(), req.GetEndingBefore(), func(id string) (int64, error) {
		c, err := s.Store.GetSessionCursor(ctx, db.GetSessionCursorParams{ID: id, OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		cursorCreated = c.CreatedAt
		return c.Seq, err
	})
	if err != nil {
		return nil, err
	}
	if st := req.GetStatus(); st != "" && st != "open" && st != "complete" && st != "expired" {
		return nil, errs.Param("status", "parameter_invalid", "status must be open, complete or expired.")
	}
	if u := req.GetUuid(); u != "" && !isUUID(u) {
		return nil, errs.Param("uuid", "parameter_invalid", "uuid must be a UUID such as 123e4567-e89b-12d3-a456-426614174000.")
	}
	if ps := req.GetPaymentStatus(); ps != "" && ps != "unpaid" && ps != "paid" {
		return nil, errs.Param("payment_status", "parameter_invalid", "payment_status must be unpaid or paid.")
	}
	if req.AmountGte != nil && req.GetAmountGte() < 0 {
		return nil, errs.Param("amount_gte", "parameter_invalid", "amount_gte must be 0 or more (minor units).")
	}
	if req.AmountLte != nil && (req.GetAmountLte() < 0 || req.AmountGte != nil && req.GetAmountLte() < req.GetAmountGte()) {
		return nil, errs.Param("amount_lte", "parameter_invalid", "amount_lte must be 0 or more (minor units) and not below amount_gte.")
	}
	var currency *string
	if c := req.GetCurrency(); c != "" {
		cur, err := money.ParseCurrency(c)
		if err != nil {
			return nil, errs.Param("currency", "parameter_invalid", "currency must be an ISO 4217 code such as EUR.")
		}
		currency = nonEmpty(cur.Code())
	}
	params := db.ListSessionsParams{
		OrganizationID: p.OrganizationID, Livemode: p.Livemode,
		SiteID: nonEmpty(req.GetSiteId()), Status: nonEmpty(req.GetStatus()), Customer: nonEmpty(req.GetCustomer()),
		PaymentID: nonEmpty(req.GetPayment()), OrderID: nonEmpty(req.GetOrderId()), Uuid: nonEmpty(strings.ToLower(req.GetUuid())),
		PaymentStatus: nonEmpty(req.GetPaymentStatus()), CustomerEmail: nonEmpty(req.GetCustomerEmail()),
		Reference: nonEmpty(req.GetReference()), Currency: currency, AmountGte: req.AmountGte, AmountLte: req.AmountLte,
		BeforeSeq: pg.Before, RowLimit: pg.Fetch(),
	}
	if pg.Before != nil {
		params.BeforeCreated = &cursorCreated
	}
	if c := req.GetCreated(); c != nil {
		params.CreatedGte, params.CreatedGt = timeOf(c.GetGte()), timeOf(c.GetGt())
		params.CreatedLte, params.CreatedLt = timeOf(c.GetLte()), timeOf(c.GetLt())
	}
	var rows []db.AdminCheckoutSession
	if pg.After != nil {
		rows, err = s.Store.ListSessionsAfter(ctx, sessionsAfter(params, cursorCreated, *pg.After))
	} else {
		rows, err = s.Store.ListSessions(ctx, params)
	}
	if err != nil {
		return nil, store.Wrap(err, "list sessions")
	}
	rows, more := paging.Trim(rows, pg)
	out := &adminv1.ListCheckoutSessionsResponse{Object: "list", HasMore: more, Url: "/v1/checkout/sessions",
		Data: make([]*adminv1.CheckoutSession, len(rows))}
	for i, r := range rows {
		if out.Data[i], err = SessionProto(r, s.CheckoutBase); err != nil {
			return nil, err
		}
		applyExpand(out.Data[i], nil)
	}
	return out, nil
}

// sessionsAfter is the ending_before query with p's filters.
func sessionsAfter(p db.ListSessionsParams, afterCreated time.Time, after int64) db.ListSessionsAfterParams {
	return db.ListSessionsAfterParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode, SiteID: p.SiteID,
		Status: p.Status, Customer: p.Customer, PaymentID: p.PaymentID, OrderID: p.OrderID, Uuid: p.Uuid, PaymentStatus: p.PaymentStatus,
		CustomerEmail: p.CustomerEmail, Reference: p.Reference, Currency: p.Currency, AmountGte: p.AmountGte, AmountLte: p.AmountLte,
		CreatedGte: p.CreatedGte, CreatedGt: p.CreatedGt, CreatedLte: p.CreatedLte, CreatedLt: p.CreatedLt,
		AfterCreated: afterCreated, AfterSeq: after, RowLimit: p.RowLimit}
}

// ExpireCheckoutSession expires an open session and emits
// checkout.session.expired in the same transaction.
func (s *Sessions) ExpireCheckoutSession(ctx context.Context, req *adminv1.ExpireCheckoutSessionRequest) (*adminv1.ExpireCheckoutSessionResponse, error) {
	p := auth.FromContext(ctx)
	var resp *adminv1.ExpireCheckoutSessionResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.ExpireSession(ctx, db.ExpireSessionParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
		if store.IsNoRows(err) {
			cur, gerr := q.GetSession(ctx, db.GetSessionParams{ID: req.GetId(), OrganizationID: p.OrganizationID, Livemode: p.Livemode})
			if store.IsNoRows(gerr) {
				return errs.NotFoundf("id", "No such checkout session: '%s'.", req.GetId())
			} else if gerr != nil {
				return store.Wrap(gerr, "get session")
			}
			return &errs.Error{Kind: errs.FailedPrecondition, Code: "checkout_session_not_open",
				Message: "Only an open checkout session can be expired; this one is " + cur.Status + "."}
		} else if err != nil {
			return store.Wrap(err, "expire session")
		}
		if err := discount.End(ctx, q, row, false); err != nil {
			return err
		}
		cs, err := EmitSessionEvent(ctx, tx, row, events.SessionExpired, s.CheckoutBase)
		if err != nil {
			return err
		}
		resp = &adminv1.ExpireCheckoutSessionResponse{CheckoutSession: applyExpand(cs, nil)}
		return audit.Finish(ctx, tx, resp, http.StatusOK)
	})
	return resp, err
}

// EmitSessionEvent renders the changed session and writes its event to the
// outbox in the caller's transaction.
func EmitSessionEvent(ctx context.Context, tx pgx.Tx, row db.AdminCheckoutSession, typ, checkoutBase string) (*adminv1.CheckoutSession, error) {
	cs, err := SessionProto(row, checkoutBase)
	if err != nil {
		return nil, err
	}
	msg, err := events.ForSession(typ, row.OrganizationID, row.EventSequence, cs)
	if err != nil {
		return nil, err
	}
	if err := outbox.Add(ctx, tx, OutboxSchema, msg); err != nil {
		return nil, store.Wrap(err, "write event")
	}
	return cs, nil
}

// isUUID reports whether s is a UUID in its canonical text form (8-4-4-4-12
// hexadecimal digits), any case: what PostgreSQL's uuid type is given here,
// so that nothing else reaches it as one.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", c):
			return false
		}
	}
	return true
}
