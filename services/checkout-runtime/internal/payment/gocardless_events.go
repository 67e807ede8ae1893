package payment

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/gocardless"
)

// applyGoCardless decodes and applies one published GoCardless event from
// src; it returns the event id for the log.
func (c *Callbacks) applyGoCardless(ctx context.Context, src provider.CallbackSource, data []byte) (string, error) {
	var msg gocardless.Message
	if err := json.Unmarshal(data, &msg); err != nil || msg.ProviderAccount == "" || msg.Event.ID == "" {
		return msg.Event.ID, fmt.Errorf("%w: not a GoCardless event message", provider.ErrInvalidCallback)
	}
	return msg.Event.ID, c.Service.GoCardlessEvent(ctx, src, msg.ProviderAccount, msg.Event)
}

// GoCardlessEvent applies a GoCardless event that hooks verified with the
// webhook secret of provider account `account`, in src's mode. It applies
// only to a Direct Debit payment made through that account in that mode,
// found by our payment id in the resource's metadata or else by the
// GoCardless payment or billing request it names; anything else is refused
// with ErrNotProvidersPayment. Each move is conditional on the payment's
// status, so a repeat or an event that comes after a later one changes
// nothing:
//
//   - billing_requests fulfilled: the payer authorised the debit. A payment
//     still requires_action (the payer has not come back yet) goes on as
//     Resume would: processing, its session complete and unpaid. The
//     payment's reference becomes the GoCardless payment (PM…).
//   - payments confirmed / paid_out: the money was collected: the payment
//     succeeds and the session is paid (checkout.session.async_payment_succeeded).
//     A payment still requires_action completes its session paid at once.
//   - payments failed / cancelled / customer_approval_denied, and
//     billing_requests cancelled: a processing or requires_action payment
//     fails (checkout.session.async_payment_failed for a session that
//     waited for it).
//   - payments charged_back: a dispute on the payment (payment.disputed).
//   - refunds paid / failed / bounced: our pending refund of the payment
//     (its id in the refund's metadata) succeeds or fails, once.
//   - mandates cancelled / failed / expired: logged for the merchant; the
//     payment made under the mandate is reported by its own events.
func (s *Service) GoCardlessEvent(ctx context.Context, src provider.CallbackSource, account string, ev gocardless.Event) error {
	p, err := s.findGoCardlessPayment(ctx, ev)
	if store.IsNoRows(err) {
		s.Logger.WarnContext(ctx, "gocardless event refused: no payment of ours", "account", account, "mode", src.Mode,
			"event", ev.ID, "resource", ev.ResourceType, "action", ev.Action)
		return ErrNotProvidersPayment
	} else if err != nil {
		return err
	}
	if err := s.checkSource(ctx, src, p); err != nil {
		return err
	}
	if deref(p.ProviderAccount) != account {
		s.Logger.WarnContext(ctx, "gocardless event refused: not this account's payment", "account", account, "mode", src.Mode,
			"event", ev.ID, "payment", p.ID, "payment_account", deref(p.ProviderAccount))
		return ErrNotProvidersPayment
	}
	if p, err = s.adoptGoCardlessPayment(ctx, p, ev); err != nil {
		return err
	}
	switch ev.Effect() {
	case gocardless.EffectFulfilled:
		if p.Status != StatusRequiresAction {
			return nil // the payer came back first (Resume), or it settled since
		}
		prov, err := s.ProviderFor(ctx, p)
		if err != nil {
			return err
		}
		_, err = s.afterAuthorize(ctx, prov, p, provider.Result{Outcome: provider.Pending, Reference: orElse(ev.Links.PaymentRequestPayment, deref(p.ProviderRef))}, completion{}, nil)
		return err
	case gocardless.EffectSucceeded:
		return s.providerSucceeded(ctx, p, ev.ID)
	case gocardless.EffectFailed:
		return s.providerFailed(ctx, p, provider.DeclineDirectDebitFailed, provider.DeclineMessage(provider.DeclineDirectDebitFailed))
	case gocardless.EffectRequestCanceled:
		return s.providerFailed(ctx, p, provider.DeclineNotAuthorised, provider.DeclineMessage(provider.DeclineNotAuthorised))
	case gocardless.EffectChargedBack:
		// GoCardless has no dispute object: the charge back event is it.
		return s.recordDispute(ctx, p, ev.ID, ev.ID, orElse(ev.Details.Cause, "charged_back"), "charged_back", p.Amount, p.Currency)
	case gocardless.EffectRefundPaid, gocardless.EffectRefundFailed:
		return s.gcRefunded(ctx, p, ev)
	case gocardless.EffectMandateEnded:
		s.Logger.WarnContext(ctx, "gocardless mandate ended", "payment", p.ID, "mandate", ev.Links.Mandate, "action", ev.Action,
			"cause", ev.Details.Cause, "event", ev.ID)
		return nil
	}
	return errs.Param("type", "callback_type_unknown", "GoCardless event %s.%s is not applied.", ev.ResourceType, ev.Action)
}

// gcRefunded finishes the pending refund of p that a refunds event reports.
// A refund without our id was made in GoCardless's dashboard: logged for
// the operator, not counted (GoCardless's events carry no refunded total to
// reconcile it by).
func (s *Service) gcRefunded(ctx context.Context, p db.RuntimePayment, ev gocardless.Event) error {
	id := ev.RefundID()
	if id == "" {
		s.Logger.WarnContext(ctx, "gocardless refund not made here; record it by hand", "payment", p.ID, "refund", ev.Links.Refund,
			"action", ev.Action, "event", ev.ID)
		return nil
	}
	ref, err := s.Store.GetRefund(ctx, id)
	if store.IsNoRows(err) || (err == nil && ref.PaymentID != p.ID) {
		return errs.NotFoundf("refund", "No refund %s of payment %s.", id, p.ID)
	} else if err != nil {
		return err
	}
	if ref.Status != RefundPending {
		return nil // finished already (a repeat, or the reconciler first)
	}
	if ev.Effect() == gocardless.EffectRefundPaid {
		_, err = s.finishRefund(ctx, ref, RefundSucceeded, "")
	} else {
		_, err = s.finishRefund(ctx, ref, RefundFailed, "refund_"+ev.Action)
	}
	return err
}

// findGoCardlessPayment finds the payment an event is about: by our id in
// the resource's metadata, else by the GoCardless payment or billing
// request it links.
func (s *Service) findGoCardlessPayment(ctx context.Context, ev gocardless.Event) (db.RuntimePayment, error) {
	if id := ev.PaymentID(); id != "" {
		return s.Store.GetPayment(ctx, id)
	}
	for _, ref := range []string{ev.Links.Payment, ev.Links.PaymentRequestPayment, ev.Links.BillingRequest} {
		if ref == "" {
			continue
		}
		p, err := s.Store.FindProviderPayment(ctx, db.FindProviderPaymentParams{Provider: provider.NameGoCardless, ProviderRef: &ref})
		if !store.IsNoRows(err) {
			return p, err
		}
	}
	return db.RuntimePayment{}, pgx.ErrNoRows
}

// adoptGoCardlessPayment makes the GoCardless payment (PM…) an event names
// p's reference when p still has its billing request's (BRQ…): refunds and
// later events use the payment.
func (s *Service) adoptGoCardlessPayment(ctx context.Context, p db.RuntimePayment, ev gocardless.Event) (db.RuntimePayment, error) {
	pm := orElse(ev.Links.PaymentRequestPayment, ev.Links.Payment)
	old := deref(p.ProviderRef)
	if pm == "" || !strings.HasPrefix(old, "BRQ") || p.Status == StatusRequiresAction {
		// requires_action moves with its new reference (afterAuthorize).
		return p, nil
	}
	moved, err := s.Store.SetProviderRef(ctx, db.SetProviderRefParams{ID: p.ID, ProviderRef: &pm, OldRef: &old})
	if store.IsNoRows(err) {
		return s.Store.GetPayment(ctx, p.ID) // changed meanwhile
	} else if err != nil {
		return p, fmt.Errorf("record the gocardless payment of %s: %w", p.ID, err)
	}
	return moved, nil
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
