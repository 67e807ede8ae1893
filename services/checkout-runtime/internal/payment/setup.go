package payment

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// cardSetup is a provider that saves a card without charging it, for a
// checkout that charges nothing (a subscription's free trial), as Stripe
// Checkout sets up the payment method of a trial.
type cardSetup interface {
	SetupCard(ctx context.Context, livemode bool, card *provider.Card) (provider.Result, string, error)
}

// errSetupUnsupported: the provider that would take the card cannot save
// it without a charge.
var errSetupUnsupported = fmt.Errorf("%w: this checkout charges nothing today and its card provider cannot save a card without a charge", provider.ErrInvalidRequest)

// setup answers an attempt on a subscription checkout that charges nothing
// (its recurring prices are in a free trial): the card is checked and
// saved by the provider without a payment, and the session completes,
// paid, with that payment method for the first charge at the trial's end.
// A card the provider declines is answered as a failed attempt (Payment
// holds only its status and decline, no payment row is made).
func (s *Service) setup(ctx context.Context, a Attempt, q Quote) (Result, error) {
	cs := a.Checkout.GetCheckoutSession()
	if a.Method != "card" || a.Card == nil {
		return Result{}, errSetupUnsupported
	}
	route, err := s.plan(a, 0, ids.New("pay"))
	if err != nil {
		return Result{}, err
	}
	target := route.targets[0]
	prov, err := s.providerOf(ctx, target)
	if err != nil {
		return Result{}, err
	}
	saver, ok := prov.(cardSetup)
	if !ok {
		return Result{}, errSetupUnsupported
	}
	res, token, err := saver.SetupCard(ctx, cs.GetLivemode(), a.Card)
	if err != nil {
		return Result{}, fmt.Errorf("set up card: %w", err)
	}
	if res.Outcome == provider.Declined {
		return Result{Payment: db.RuntimePayment{SessionID: cs.GetId(), Status: StatusFailed,
			FailureCode: optional(res.DeclineCode), FailureMessage: optional(res.DeclineMessage)}}, nil
	}
	pm, err := s.Store.CreateSetupPaymentMethod(ctx, db.CreateSetupPaymentMethodParams{ID: ids.New("pm"),
		OrganizationID: a.Checkout.GetOrganizationId(), Livemode: cs.GetLivemode(), Provider: target.Provider,
		ProviderToken: token, CardBrand: optional(res.Brand), CardLast4: optional(res.Last4), SessionID: &cs.Id})
	if store.IsNoRows(err) {
		// Saved by an earlier attempt whose completion did not land: that
		// one completes the session.
		pm, err = s.Store.GetPaymentMethodBySession(ctx, &cs.Id)
	}
	if err != nil {
		return Result{}, fmt.Errorf("save payment method: %w", err)
	}
	resp, err := s.Admin.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{SessionId: cs.GetId(), Paid: true,
		PaymentMethod: a.Method, OrganizationId: a.Checkout.GetOrganizationId(), Livemode: cs.GetLivemode(),
		Currency: cs.GetCurrency(), SavedPaymentMethod: pm.ID, TaxBps: exclusiveBps(q)})
	if status.Code(err) == codes.FailedPrecondition {
		return Result{Closed: true}, nil
	} else if err != nil {
		return Result{}, fmt.Errorf("complete session: %w", err)
	}
	return Result{Payment: db.RuntimePayment{SessionID: cs.GetId(), Status: StatusSucceeded, CardBrand: pm.CardBrand, CardLast4: pm.CardLast4},
		Session: resp.GetCheckoutSession()}, nil
}
