package grpcapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/discount"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/subscription"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/events"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/fee"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/session"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// InternalSessions implements internalapiv1.SessionServiceServer for
// checkout-runtime and hooks.
type InternalSessions struct {
	internalapiv1.UnimplementedSessionServiceServer
	Store        *store.Store
	CheckoutBase string
}

// GetCheckout returns a session with its site.
func (s *InternalSessions) GetCheckout(ctx context.Context, req *internalapiv1.GetCheckoutRequest) (*internalapiv1.GetCheckoutResponse, error) {
	row, err := s.Store.GetSessionByID(ctx, req.GetSessionId())
	if store.IsNoRows(err) {
		return nil, errs.NotFoundf("session_id", "No such checkout session: '%s'.", req.GetSessionId())
	} else if err != nil {
		return nil, store.Wrap(err, "get session")
	}
	site, err := s.Store.CachedSite(ctx, db.GetSiteParams{ID: row.SiteID, OrganizationID: row.OrganizationID, Livemode: row.Livemode})
	if err != nil {
		return nil, store.Wrap(err, "get site")
	}
	cs, err := SessionProto(row, s.CheckoutBase)
	if err != nil {
		return nil, err
	}
	sp, err := SiteProto(site)
	if err != nil {
		return nil, err
	}
	out := &internalapiv1.GetCheckoutResponse{CheckoutSession: cs, Site: sp, OrganizationId: row.OrganizationID}
	for method, id := range sp.GetProviderAccounts() {
		acct, err := s.pageAccount(ctx, id, row.OrganizationID, row.Livemode)
		if err != nil {
			return nil, err
		}
		switch {
		case acct == nil:
			// Deleted or disabled: the page offers the method as a site
			// without an account for it.
			delete(sp.ProviderAccounts, method)
		case method == "card":
			out.CardProviderAccount = acct
		case method == "direct_debit":
			out.DirectDebitProviderAccount = acct
		}
	}
	if row.Status == "open" {
		// Only an open session takes payments: the routes are read then.
		if out.Routes, err = checkoutRoutes(ctx, s.Store.Queries, row.SiteID, row.Livemode); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pageAccount is the public part of the site's provider account id for a
// method, or nil when there is none or it is disabled: only what the page
// renders with, never the secrets.
func (s *InternalSessions) pageAccount(ctx context.Context, id, org string, live bool) (*internalapiv1.CardProviderAccount, error) {
	if id == "" {
		return nil, nil
	}
	acct, err := s.Store.GetProviderAccount(ctx, db.GetProviderAccountParams{ID: id, OrganizationID: org, Livemode: live})
	switch {
	case store.IsNoRows(err):
		// Only a stale cached site can name a deleted account (delete
		// is refused while a site uses it): the page offers no account.
		return nil, nil
	case err != nil:
		return nil, store.Wrap(err, "get provider account")
	case acct.Disabled:
		return nil, nil
	}
	return &internalapiv1.CardProviderAccount{Id: acct.ID, Provider: acct.Provider, PublishableKey: acct.PublishableKey}, nil
}

// ResolveSecureToken finds the session a secure token opens.
func (s *InternalSessions) ResolveSecureToken(ctx context.Context, req *internalapiv1.ResolveSecureTokenRequest) (*internalapiv1.ResolveSecureTokenResponse, error) {
	notFound := errs.NotFoundf("secure_token", "No checkout session has this secure token.")
	if !session.IsSecureToken(req.GetSecureToken()) {
		return nil, notFound
	}
	id, err := s.Store.GetSessionIDBySecureToken(ctx, session.HashSecureToken(req.GetSecureToken()))
	if store.IsNoRows(err) {
		return nil, notFound
	} else if err != nil {
		return nil, store.Wrap(err, "resolve secure token")
	}
	return &internalapiv1.ResolveSecureTokenResponse{SessionId: id}, nil
}

// CompleteSession completes an open, unexpired session in one conditional
// update, with its checkout.session.completed event.
func (s *InternalSessions) CompleteSession(ctx context.Context, req *internalapiv1.CompleteSessionRequest) (*internalapiv1.CompleteSessionResponse, error) {
	if req.GetSessionId() == "" || req.GetOrganizationId() == "" || req.GetCurrency() == "" {
		return nil, errs.Missing("session_id, organization_id and currency")
	}
	// A checkout that charges nothing (a free trial) completes without a
	// payment: the runtime saved the payment method only.
	setup := req.GetPaymentId() == ""
	if setup && (req.GetAmountTotal() != 0 || !req.GetPaid() || req.GetSavedPaymentMethod() == "") {
		return nil, errs.Missing("payment_id")
	}
	var paymentID *string
	if !setup {
		paymentID = &req.PaymentId
	}
	if req.GetAmountTax() < 0 {
		return nil, errs.Param("amount_tax", "amount_invalid", "amount_tax cannot be negative.")
	}
	if req.GetAmountTotal() < 0 {
		return nil, errs.Param("amount_total", "amount_invalid", "amount_total cannot be negative.")
	}
	status := "unpaid"
	if req.GetPaid() {
		status = "paid"
	}
	rules, err := s.Store.CachedFeeRules(ctx, db.ListFeeRulesParams{OrganizationID: req.GetOrganizationId(), Livemode: req.GetLivemode()})
	if err != nil {
		return nil, store.Wrap(err, "list fee rules")
	}
	processingFee, net := fee.Compute(FeeRules(rules), req.GetPaymentMethod(), req.GetCurrency(), req.GetAmountTotal())
	var resp *internalapiv1.CompleteSessionResponse
	err = s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.CompleteSession(ctx, db.CompleteSessionParams{ID: req.GetSessionId(), PaymentStatus: status,
			PaymentID: paymentID, AmountTax: req.GetAmountTax(), AmountTotal: req.GetAmountTotal(),
			ProcessingFee: &processingFee, NetAmount: &net,
			OrganizationID: req.GetOrganizationId(), Livemode: req.GetLivemode(), Currency: req.GetCurrency()})
		if store.IsNoRows(err) {
			cur, err := s.current(ctx, q, req.GetSessionId())
			if err != nil {
				return err
			}
			if cur.OrganizationID != req.GetOrganizationId() || cur.Livemode != req.GetLivemode() || cur.Currency != req.GetCurrency() {
				return errs.Param("currency", "parameter_invalid",
					"The session's organization, mode or currency is not the one given.")
			}
			samePayment := cur.PaymentID != nil && *cur.PaymentID == req.GetPaymentId()
			// A session completes once, so a complete one without a payment
			// was completed by this setup (the runtime saves one per session).
			sameSetup := setup && cur.PaymentID == nil && cur.AmountTotal == 0
			if cur.Status == "complete" && (samePayment || sameSetup) {
				// A retry of the call that completed it: same answer, no second event.
				cs, err := SessionProto(cur, s.CheckoutBase)
				resp = &internalapiv1.CompleteSessionResponse{CheckoutSession: cs}
				return err
			}
			return notOpen(cur)
		} else if err != nil {
			return store.Wrap(err, "complete session")
		}
		if row.AmountSubtotal-row.AmountDiscount+row.AmountTax != row.AmountTotal {
			return errs.Param("amount_total", "amount_invalid", "amount_total %d is not amount_subtotal %d − amount_discount %d + amount_tax %d.",
				row.AmountTotal, row.AmountSubtotal, row.AmountDiscount, row.AmountTax)
		}
		// Paid now: its discount counts; complete unpaid: it keeps its
		// reservation until RecordAsyncPayment.
		if req.GetPaid() {
			if err := discount.End(ctx, q, row, true); err != nil {
				return err
			}
			if row, err = subscription.OnPaid(ctx, tx, q, row, subscription.Paid{PaymentMethod: req.GetSavedPaymentMethod(), TaxBps: req.GetTaxBps()}); err != nil {
				return err
			}
		} else if row, err = subscription.OnPending(ctx, tx, q, row, subscription.Paid{PaymentMethod: req.GetSavedPaymentMethod(), TaxBps: req.GetTaxBps()}); err != nil {
			return err
		}
		cs, err := EmitSessionEvent(ctx, tx, row, events.SessionCompleted, s.CheckoutBase)
		resp = &internalapiv1.CompleteSessionResponse{CheckoutSession: cs}
		return err
	})
	return resp, err
}

// RecordAsyncPayment marks a complete, unpaid session paid or its payment
// failed, with the async_payment_succeeded or _failed event, once.
func (s *InternalSessions) RecordAsyncPayment(ctx context.Context, req *internalapiv1.RecordAsyncPaymentRequest) (*internalapiv1.RecordAsyncPaymentResponse, error) {
	var resp *internalapiv1.RecordAsyncPaymentResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		var (
			row db.AdminCheckoutSession
			err error
		)
		typ := events.SessionAsyncPaymentSucceed
		if req.GetSucceeded() {
			row, err = q.MarkSessionPaid(ctx, db.MarkSessionPaidParams{ID: req.GetSessionId(), PaymentID: &req.PaymentId})
		} else {
			typ = events.SessionAsyncPaymentFailed
			row, err = q.RecordAsyncPaymentFailed(ctx, db.RecordAsyncPaymentFailedParams{ID: req.GetSessionId(), PaymentID: &req.PaymentId})
		}
		if store.IsNoRows(err) {
			cur, err := s.current(ctx, q, req.GetSessionId())
			if err != nil {
				return err
			}
			samePayment := cur.PaymentID != nil && *cur.PaymentID == req.GetPaymentId()
			repeat := samePayment && ((req.GetSucceeded() && cur.PaymentStatus == "paid") ||
				(!req.GetSucceeded() && cur.AsyncPaymentFailedAt != nil))
			if !repeat {
				return &errs.Error{Kind: errs.FailedPrecondition, Code: "checkout_session_not_awaiting_payment",
					Message: "The session is not complete and unpaid with this payment."}
			}
			cs, err := SessionProto(cur, s.CheckoutBase)
			resp = &internalapiv1.RecordAsyncPaymentResponse{CheckoutSession: cs}
			return err
		} else if err != nil {
			return store.Wrap(err, "record async payment")
		}
		if err := discount.End(ctx, q, row, req.GetSucceeded()); err != nil {
			return err
		}
		if req.GetSucceeded() {
			if row, err = subscription.OnPaid(ctx, tx, q, row, subscription.Paid{PaymentMethod: req.GetSavedPaymentMethod(), TaxBps: req.GetTaxBps()}); err != nil {
				return err
			}
		} else if err := subscription.OnPaymentFailed(ctx, tx, q, row); err != nil {
			return err
		}
		cs, err := EmitSessionEvent(ctx, tx, row, typ, s.CheckoutBase)
		resp = &internalapiv1.RecordAsyncPaymentResponse{CheckoutSession: cs}
		return err
	})
	return resp, err
}

// ApplyPromotionCode applies a code typed on the hosted page to an open
// session that allows promotion codes, reserving a redemption.
func (s *InternalSessions) ApplyPromotionCode(ctx context.Context, req *internalapiv1.ApplyPromotionCodeRequest) (*internalapiv1.ApplyPromotionCodeResponse, error) {
	code := strings.TrimSpace(req.GetCode())
	if code == "" {
		return nil, errs.Param("promotion_code", "parameter_missing", "Enter a promotion code.")
	}
	var resp *internalapiv1.ApplyPromotionCodeResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := s.lockOpen(ctx, q, req.GetSessionId())
		if err != nil {
			return err
		}
		switch {
		case !row.AllowPromotionCodes:
			return &errs.Error{Kind: errs.FailedPrecondition, Code: "promotion_codes_not_allowed", Param: "promotion_code",
				Message: "This checkout does not take promotion codes."}
		case row.DiscountCoupon != nil:
			return &errs.Error{Kind: errs.FailedPrecondition, Code: "discount_already_applied", Param: "promotion_code",
				Message: "A discount is already applied to this checkout."}
		}
		if row, err = discount.Apply(ctx, q, row, discount.Spec{Code: code, Param: "promotion_code"}); err != nil {
			return err
		}
		cs, err := SessionProto(row, s.CheckoutBase)
		resp = &internalapiv1.ApplyPromotionCodeResponse{CheckoutSession: cs}
		return err
	})
	return resp, err
}

// lockOpen locks an open, unexpired session for a change from the hosted
// page (a quantity, a code, custom fields, a cascade tier), or says why it
// cannot change: unknown, expired or no longer open.
func (s *InternalSessions) lockOpen(ctx context.Context, q *db.Queries, id string) (db.AdminCheckoutSession, error) {
	row, err := q.LockOpenSession(ctx, id)
	if store.IsNoRows(err) {
		cur, err := s.current(ctx, q, id)
		if err != nil {
			return row, err
		}
		return row, notOpen(cur)
	} else if err != nil {
		return row, store.Wrap(err, "lock session")
	}
	return row, nil
}

func (s *InternalSessions) current(ctx context.Context, q *db.Queries, id string) (db.AdminCheckoutSession, error) {
	cur, err := q.GetSessionByID(ctx, id)
	if store.IsNoRows(err) {
		return cur, errs.NotFoundf("session_id", "No such checkout session: '%s'.", id)
	} else if err != nil {
		return cur, store.Wrap(err, "get session")
	}
	return cur, nil
}

// notOpen explains why a session cannot take a payment.
func notOpen(cur db.AdminCheckoutSession) error {
	if cur.Status == "open" && !cur.ExpiresAt.After(time.Now()) {
		return &errs.Error{Kind: errs.FailedPrecondition, Code: "checkout_session_expired", Message: "The checkout session has expired."}
	}
	return &errs.Error{Kind: errs.FailedPrecondition, Code: "checkout_session_not_open",
		Message: "The checkout session is " + cur.Status + " and cannot take a payment."}
}

// UpdateLineItemQuantity changes an adjustable line item's quantity on an
// open, unexpired session, with the totals, under the session's row lock.
func (s *InternalSessions) UpdateLineItemQuantity(ctx context.Context, req *internalapiv1.UpdateLineItemQuantityRequest) (*internalapiv1.UpdateLineItemQuantityResponse, error) {
	var resp *internalapiv1.UpdateLineItemQuantityResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := s.lockOpen(ctx, q, req.GetSessionId())
		if err != nil {
			return err
		}
		var items []session.LineItem
		if err := json.Unmarshal(row.LineItems, &items); err != nil {
			return fmt.Errorf("session %s line items: %w", row.ID, err)
		}
		site, err := s.Store.CachedSite(ctx, db.GetSiteParams{ID: row.SiteID, OrganizationID: row.OrganizationID, Livemode: row.Livemode})
		if err != nil {
			return store.Wrap(err, "get site")
		}
		taxBps, err := maxExclusiveBps(site.TaxRates)
		if err != nil {
			return fmt.Errorf("site %s: %w", site.ID, err)
		}
		subtotal, err := session.ChangeQuantity(items, int(req.GetLineItem()), req.GetQuantity(), taxBps)
		if err != nil {
			return err
		}
		off, err := discount.Reprice(ctx, q, row, items, subtotal, "quantity")
		if err != nil {
			return err
		}
		encoded, err := json.Marshal(items)
		if err != nil {
			return err
		}
		updated, err := q.SetSessionLineItems(ctx, db.SetSessionLineItemsParams{ID: row.ID, LineItems: encoded, AmountSubtotal: subtotal, AmountDiscount: off})
		if err != nil {
			return store.Wrap(err, "set line items")
		}
		cs, err := SessionProto(updated, s.CheckoutBase)
		resp = &internalapiv1.UpdateLineItemQuantityResponse{CheckoutSession: cs}
		return err
	})
	return resp, err
}

// SetCustomFields stores the custom field values the payer gave on the
// hosted page and checks that every required field now has one. Values the
// session already holds (given at creation, or on an earlier try) are kept:
// the page shows them without a form field.
func (s *InternalSessions) SetCustomFields(ctx context.Context, req *internalapiv1.SetCustomFieldsRequest) (*internalapiv1.SetCustomFieldsResponse, error) {
	var resp *internalapiv1.SetCustomFieldsResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := s.lockOpen(ctx, q, req.GetSessionId())
		if err != nil {
			return err
		}
		site, err := q.GetSite(ctx, db.GetSiteParams{ID: row.SiteID, OrganizationID: row.OrganizationID, Livemode: row.Livemode})
		if err != nil {
			return store.Wrap(err, "get site")
		}
		have, err := sessionCustomFields(row)
		if err != nil {
			return err
		}
		given, err := siteCustomFieldValues(site, req.GetValues(), have, true)
		if err != nil {
			return err
		}
		changed := false
		for k, v := range given {
			if _, ok := have[k]; !ok {
				have[k], changed = v, true
			}
		}
		if changed {
			b, err := json.Marshal(have)
			if err != nil {
				return err
			}
			if row, err = q.SetSessionCustomFields(ctx, db.SetSessionCustomFieldsParams{ID: row.ID, CustomFields: b}); err != nil {
				return store.Wrap(err, "set custom fields")
			}
		}
		cs, err := SessionProto(row, s.CheckoutBase)
		resp = &internalapiv1.SetCustomFieldsResponse{CheckoutSession: cs}
		return err
	})
	return resp, err
}

// SwitchCascadeTier moves an open session to its next fallback tier: the
// tier's line items and subtotal become the session's, the total follows
// (tax stays what the page computes from the billing address). A payment
// authorised for the previous total can no longer complete the session.
func (s *InternalSessions) SwitchCascadeTier(ctx context.Context, req *internalapiv1.SwitchCascadeTierRequest) (*internalapiv1.SwitchCascadeTierResponse, error) {
	var resp *internalapiv1.SwitchCascadeTierResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := s.lockOpen(ctx, q, req.GetSessionId())
		if err != nil {
			return err
		}
		tiers, err := sessionCascade(row)
		if err != nil {
			return err
		}
		if req.GetPaymentId() == "" || (row.CascadePaymentID != nil && *row.CascadePaymentID == req.GetPaymentId()) {
			return &errs.Error{Kind: errs.FailedPrecondition, Code: "cascade_tier_unavailable", Param: "payment_id",
				Message: "A switch follows a new declined payment of the current tier."}
		}
		if req.GetTier() != row.CascadeTier+1 || int(req.GetTier()) > len(tiers) {
			return &errs.Error{Kind: errs.FailedPrecondition, Code: "cascade_tier_unavailable", Param: "tier",
				Message: fmt.Sprintf("The session is on tier %d of %d; it can only move to the next one.", row.CascadeTier, len(tiers))}
		}
		t := tiers[req.GetTier()-1]
		items, err := json.Marshal(t.LineItems)
		if err != nil {
			return err
		}
		row, err = q.SwitchSessionCascadeTier(ctx, db.SwitchSessionCascadeTierParams{ID: row.ID, LineItems: items,
			AmountSubtotal: t.Subtotal, CascadeTier: req.GetTier(), CascadePaymentID: &req.PaymentId})
		if err != nil {
			return store.Wrap(err, "switch cascade tier")
		}
		cs, err := SessionProto(row, s.CheckoutBase)
		resp = &internalapiv1.SwitchCascadeTierResponse{CheckoutSession: cs}
		return err
	})
	return resp, err
}
