package payment

import (
	"context"
	"fmt"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/routing"
)

// cardSaver is a provider that keeps a card from its number for
// off-session charges (the test provider). Stripe saves the card with the
// authorisation instead (provider.Result.SavedToken).
type cardSaver interface {
	SaveCard(ctx context.Context, livemode bool, card *provider.Card) (string, error)
}

// savedCharger is a provider that charges a saved card off-session (the
// test provider, Stripe).
type savedCharger interface {
	AuthorizeSaved(ctx context.Context, req provider.AuthorizeRequest, token string) (provider.Result, error)
}

// ErrChargeInProgress: a charge with this idempotency key started and has
// not ended (its worker stopped mid-way); the caller retries later.
var ErrChargeInProgress = errs.E(errs.FailedPrecondition, "charge_in_progress", "A charge with this idempotency key is still in progress.")

// saveCard keeps the card of subscription checkout payment p for renewals,
// when its provider can; a failure to save is logged (the renewal then
// fails and is retried as dunning says), not a failed checkout.
func (s *Service) saveCard(ctx context.Context, prov provider.Provider, p db.RuntimePayment, card *provider.Card, res provider.Result) string {
	if res.Outcome == provider.Declined {
		return ""
	}
	token, err := res.SavedToken, error(nil)
	if token == "" {
		saver, ok := prov.(cardSaver)
		if !ok || card == nil {
			return ""
		}
		token, err = saver.SaveCard(ctx, p.Livemode, card)
	}
	if err == nil {
		var pm db.RuntimePaymentMethod
		pm, err = s.Store.CreatePaymentMethod(ctx, db.CreatePaymentMethodParams{ID: ids.New("pm"), OrganizationID: p.OrganizationID,
			Livemode: p.Livemode, Provider: p.Provider, ProviderToken: token, CardBrand: optional(res.Brand), CardLast4: optional(res.Last4),
			PaymentID: &p.ID, ProviderAccount: p.ProviderAccount})
		if err == nil {
			return pm.ID
		}
	}
	s.Logger.ErrorContext(ctx, "saving the card of a subscription checkout", "payment", p.ID, "err", err)
	return ""
}

// completion is what the payment of a subscription checkout tells
// admin-api besides itself: the card saved for renewals and the exclusive
// tax rate they apply.
type completion struct {
	savedPaymentMethod string
	taxBps             int64
}

// exclusiveBps is the exclusive rate of a quote (0: none, or inclusive,
// already in the prices).
func exclusiveBps(q Quote) int64 {
	if q.Rate == nil || q.Rate.GetInclusive() {
		return 0
	}
	return int64(q.Rate.GetPercentageBps())
}

// completionFor is the completion of payment p when it finishes after its
// attempt (a challenge, a provider action, a later result): the card
// saved from it, if any (only subscription checkouts save one), and the
// rate of its billing address, read again from the session's site.
func (s *Service) completionFor(ctx context.Context, p db.RuntimePayment) (completion, error) {
	pm, err := s.Store.GetPaymentMethodByPayment(ctx, &p.ID)
	if store.IsNoRows(err) {
		return completion{}, nil
	} else if err != nil {
		return completion{}, err
	}
	co, err := s.Admin.GetCheckout(ctx, &internalapiv1.GetCheckoutRequest{SessionId: p.SessionID})
	if err != nil {
		return completion{}, fmt.Errorf("get checkout: %w", err)
	}
	q := QuoteFor(co.GetCheckoutSession(), co.GetSite().GetTaxRates(), p.BillingCountry, p.BillingRegion)
	return completion{savedPaymentMethod: pm, taxBps: exclusiveBps(q)}, nil
}

// ChargeOffSession charges a saved payment method for an invoice: a
// payment row, the provider's authorisation of the saved card, capture,
// and the payment's event, as on the hosted page. A repeated idempotency
// key returns the first charge's payment.
func (s *Service) ChargeOffSession(ctx context.Context, req *internalapiv1.ChargeOffSessionRequest) (db.RuntimePayment, error) {
	switch {
	case req.GetIdempotencyKey() == "" || req.GetInvoiceId() == "" || req.GetCurrency() == "":
		return db.RuntimePayment{}, errs.Missing("idempotency_key, invoice_id and currency")
	case req.GetAmount() <= 0:
		return db.RuntimePayment{}, errs.Param("amount", "amount_invalid", "amount must be positive.")
	}
	if p, err := s.Store.GetPaymentByIdempotencyKey(ctx, &req.IdempotencyKey); err == nil {
		return s.repeatedCharge(p)
	} else if !store.IsNoRows(err) {
		return p, err
	}
	pm, err := s.Store.GetPaymentMethod(ctx, db.GetPaymentMethodParams{ID: req.GetPaymentMethod(), OrganizationID: req.GetOrganizationId(), Livemode: req.GetLivemode()})
	if store.IsNoRows(err) {
		return db.RuntimePayment{}, errs.NotFoundf("payment_method", "No such payment method: '%s'.", req.GetPaymentMethod())
	} else if err != nil {
		return db.RuntimePayment{}, err
	}
	// The provider that saved it: its account's (Stripe), or the built-in one.
	prov, err := s.providerOf(ctx, routing.Target{Provider: pm.Provider, AccountID: deref(pm.ProviderAccount)})
	if err != nil {
		return db.RuntimePayment{}, err
	}
	saver, ok := prov.(savedCharger)
	if !ok {
		return db.RuntimePayment{}, fmt.Errorf("provider %q cannot charge saved cards", pm.Provider)
	}
	p, err := s.Store.CreateOffSessionPayment(ctx, db.CreateOffSessionPaymentParams{ID: ids.New("pay"), InvoiceID: req.GetInvoiceId(),
		OrganizationID: pm.OrganizationID, Livemode: pm.Livemode, Provider: pm.Provider, Currency: req.GetCurrency(),
		Amount: req.GetAmount(), AmountTax: req.GetAmountTax(), PaymentMethodID: &pm.ID, IdempotencyKey: &req.IdempotencyKey,
		ProviderAccount: pm.ProviderAccount})
	if store.IsNoRows(err) {
		// A concurrent request with the same key inserted it first.
		if p, err = s.Store.GetPaymentByIdempotencyKey(ctx, &req.IdempotencyKey); err != nil {
			return p, err
		}
		return s.repeatedCharge(p)
	} else if err != nil {
		return p, fmt.Errorf("create payment: %w", err)
	}
	res, err := saver.AuthorizeSaved(ctx, provider.AuthorizeRequest{PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency, Livemode: p.Livemode}, pm.ProviderToken)
	if err != nil {
		s.fail(ctx, p, "provider_error", "The payment provider did not answer; nothing was charged.")
		return p, fmt.Errorf("authorize saved card: %w", err)
	}
	set := db.SetAuthorizationParams{ID: p.ID, Status: StatusProcessing, ProviderRef: optional(res.Reference), CardBrand: optional(res.Brand), CardLast4: optional(res.Last4)}
	if res.Outcome != provider.Authorized {
		set.Status, set.FailureCode, set.FailureMessage = StatusFailed, optional(res.DeclineCode), optional(res.DeclineMessage)
	}
	stored, err := s.setAuthorization(ctx, set)
	if store.IsNoRows(err) {
		// Failed meanwhile by the payment reconciler (past its grace):
		// release this late authorisation.
		late, err := s.releaseLate(ctx, prov, p, res)
		return late.Payment, err
	} else if err != nil || stored.Status == StatusFailed {
		return stored, err
	}
	p = stored
	if err := s.capture(ctx, prov, p, res.Reference); err != nil {
		return p, fmt.Errorf("capture %s: %w", p.ID, err)
	}
	return s.move(ctx, p, StatusSucceeded, "", "", StatusProcessing)
}

// repeatedCharge answers a repeated idempotency key with the first
// charge's payment once it has ended.
func (s *Service) repeatedCharge(p db.RuntimePayment) (db.RuntimePayment, error) {
	if p.Status != StatusSucceeded && p.Status != StatusFailed {
		return p, ErrChargeInProgress
	}
	return p, nil
}
