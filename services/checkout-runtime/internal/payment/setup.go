package payment

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/routing"
)

// cardSetup is a provider that saves a card without charging it, for a
// checkout that charges nothing (a subscription's free trial), as Stripe
// Checkout sets up the payment method of a trial: the test provider from
// the card's data, Stripe with a SetupIntent from the page's token.
type cardSetup interface {
	SetupCard(ctx context.Context, req provider.SetupRequest) (provider.Result, error)
}

// SetupPrefix starts the id of a card setup (setup_…). The page resumes a
// setup that needed the payer by this id, where a payment has its pay_….
const SetupPrefix = "setup"

// errSetupUnsupported: the provider that would take the card cannot save
// it without a charge.
var errSetupUnsupported = fmt.Errorf("%w: this checkout charges nothing today and its card provider cannot save a card without a charge", provider.ErrInvalidRequest)

// setup answers an attempt on a subscription checkout that charges nothing
// (its recurring prices are in a free trial): the card is checked and
// saved by the provider without a payment, and the session completes,
// paid, with that payment method for the first charge at the trial's end.
// It goes where a payment would (plan), and cascades along a route as a
// payment does (routing.Retryable). A card the provider declines is
// answered as a failed attempt (Payment holds only its status and decline,
// no payment row is made). Each attempt is a card setup row, counted with
// the payments in the card-testing limits; one that needs the payer
// (Stripe's 3-D Secure) is answered requires_action with the client
// secret, and the page resumes it by its id (resumeSetup).
func (s *Service) setup(ctx context.Context, a Attempt, q Quote) (Result, error) {
	cs := a.Checkout.GetCheckoutSession()
	if a.Method != "card" {
		return Result{}, errSetupUnsupported
	}
	id := ids.New(SetupPrefix)
	route, err := s.plan(a, 0, id)
	if err != nil {
		return Result{}, err
	}
	targets := route.targets
	if route.routeID != "" && s.Breaker != nil {
		targets = s.allowed(targets)
	}
	var ip *netip.Addr
	if a.ClientIP.IsValid() {
		ip = &a.ClientIP
	}
	// Recorded first, within the card-testing limits: a setup checks a
	// card as a payment does.
	_, ok, err := s.Store.CreateCardSetupWithinLimits(ctx, db.RuntimeCardSetup{ID: id, SessionID: cs.GetId(),
		OrganizationID: a.Checkout.GetOrganizationId(), Livemode: cs.GetLivemode(), Provider: targets[0].Provider,
		ProviderAccount: optional(targets[0].AccountID), Currency: cs.GetCurrency(), TaxBps: exclusiveBps(q), ClientIp: ip},
		store.AttemptLimits{PerSession: s.Limits.PerSession, PerIP: s.Limits.PerIP, Since: time.Now().Add(-s.Limits.Window)})
	if err != nil {
		return Result{}, fmt.Errorf("record card setup: %w", err)
	} else if !ok {
		return Result{}, ErrRateLimited
	}
	req := provider.SetupRequest{SetupID: id, Livemode: cs.GetLivemode(), Card: a.Card, Token: a.Token,
		ReturnURL: withPaymentID(a.ReturnURL, id), Email: a.Billing.Email}
	target, res, err := s.setupAlong(ctx, route.routeID, targets, req)
	answer, err := setupAnswer(id, target, res, err)
	answered, aerr := s.Store.AnswerCardSetup(ctx, answer)
	if err != nil {
		if aerr != nil {
			s.Logger.ErrorContext(ctx, "recording a failed card setup", "setup", id, "err", aerr)
		}
		return Result{}, err
	} else if aerr != nil {
		return Result{}, fmt.Errorf("record card setup: %w", aerr)
	}
	switch res.Outcome {
	case provider.Declined:
		return declinedSetup(answered, res), nil
	case provider.ChallengeRequired:
		return Result{Payment: setupPayment(answered), ClientSecret: res.ClientSecret}, nil
	}
	return s.completeSetup(ctx, answered, res)
}

// setupAlong asks the targets in order to set the card up, going on to the
// next while the answer is retryable on a route (as authorize cascades);
// it returns the target that answered last and its answer.
func (s *Service) setupAlong(ctx context.Context, routeID string, targets []routing.Target, req provider.SetupRequest) (routing.Target, provider.Result, error) {
	for i, t := range targets {
		res, err := s.setupOn(ctx, t, req)
		retry := routeID != "" && routing.Retryable(t.Provider, res, err)
		if routeID != "" && s.Breaker != nil {
			s.Breaker.Report(t, retry)
		}
		if !retry || i == len(targets)-1 {
			return t, res, err
		}
		s.Logger.InfoContext(ctx, "card setup cascades to the route's next account", "setup", req.SetupID, "route", routeID,
			"account", t.AccountID, "code", attemptCode(res, err))
	}
	return routing.Target{}, provider.Result{}, errSetupUnsupported // no targets: plan always gives one
}

// setupAnswer is how setup id stores target's answer (res, or err); the
// error is err, or the provider's answering an outcome a setup has not.
func setupAnswer(id string, target routing.Target, res provider.Result, err error) (db.AnswerCardSetupParams, error) {
	answer := db.AnswerCardSetupParams{ID: id, Provider: target.Provider, ProviderAccount: optional(target.AccountID),
		ProviderRef: optional(res.Reference), Status: StatusFailed}
	switch {
	case err != nil:
		answer.FailureCode = optional(attemptCode(res, err))
	case res.Outcome == provider.Declined:
		answer.FailureCode, answer.FailureMessage = optional(res.DeclineCode), optional(res.DeclineMessage)
	case res.Outcome == provider.ChallengeRequired:
		answer.Status = StatusRequiresAction
	case res.Outcome == provider.Authorized:
		answer.Status = StatusSucceeded
	default:
		answer.FailureCode = optional("provider_error")
		err = fmt.Errorf("set up card: the provider answered outcome %v", res.Outcome)
	}
	return answer, err
}

// setupOn asks target's provider to set the card up.
func (s *Service) setupOn(ctx context.Context, target routing.Target, req provider.SetupRequest) (provider.Result, error) {
	prov, err := s.providerOf(ctx, target)
	if err != nil {
		return provider.Result{}, err
	}
	saver, ok := prov.(cardSetup)
	if !ok {
		return provider.Result{}, errSetupUnsupported
	}
	res, err := saver.SetupCard(ctx, req)
	if err != nil {
		return provider.Result{}, fmt.Errorf("set up card: %w", err)
	}
	return res, nil
}

// resumeSetup carries on with card setup id of session sessionID after
// the payer's action in the provider's script (Stripe.js handleNextAction):
// the provider is asked where the setup stands, as Resume asks for a
// payment. A setup that ended already is answered as it is.
func (s *Service) resumeSetup(ctx context.Context, sessionID, id string) (Result, error) {
	st, err := s.Store.GetCardSetup(ctx, id)
	if store.IsNoRows(err) || (err == nil && st.SessionID != sessionID) {
		return Result{}, errs.NotFoundf("payment_id", "No such payment.")
	} else if err != nil {
		return Result{}, err
	}
	if st.Status != StatusRequiresAction {
		return Result{Payment: setupPayment(st)}, nil
	}
	prov, err := s.providerOf(ctx, routing.Target{Provider: st.Provider, AccountID: deref(st.ProviderAccount)})
	if err != nil {
		return Result{}, err
	}
	r, ok := prov.(provider.Resumer)
	if !ok {
		return Result{}, ErrNotResumable
	}
	res, err := r.Resume(ctx, deref(st.ProviderRef))
	if err != nil {
		return Result{}, fmt.Errorf("resume setup: %w", err)
	}
	switch res.Outcome {
	case provider.ChallengeRequired:
		return Result{Payment: setupPayment(st), ClientSecret: res.ClientSecret}, nil
	case provider.Declined:
		ended, err := s.endSetup(ctx, st, StatusFailed, res.DeclineCode, res.DeclineMessage)
		if err != nil || ended.Status != StatusFailed {
			return Result{Payment: setupPayment(ended)}, err
		}
		return declinedSetup(ended, res), nil
	case provider.Authorized:
		out, err := s.completeSetup(ctx, st, res)
		if err != nil {
			return out, err
		}
		// Saved and completed: the setup is done (a concurrent resume
		// that got here too saved nothing more).
		if _, err := s.endSetup(ctx, st, StatusSucceeded, "", ""); err != nil {
			return Result{}, err
		}
		return out, nil
	}
	return Result{}, fmt.Errorf("resume setup: the provider answered outcome %v", res.Outcome)
}

// endSetup moves a setup that waited for the payer to status; one that
// ended meanwhile (another tab) is returned as it is.
func (s *Service) endSetup(ctx context.Context, st db.RuntimeCardSetup, status, code, msg string) (db.RuntimeCardSetup, error) {
	ended, err := s.Store.SetCardSetupStatus(ctx, db.SetCardSetupStatusParams{ID: st.ID, Status: status,
		FailureCode: optional(code), FailureMessage: optional(msg)})
	if store.IsNoRows(err) {
		ended, err = s.Store.GetCardSetup(ctx, st.ID)
	}
	if err != nil {
		return st, fmt.Errorf("end card setup: %w", err)
	}
	return ended, nil
}

// completeSetup saves the card the provider set up (res.SavedToken) as the
// session's payment method and completes the session, paid, naming it.
func (s *Service) completeSetup(ctx context.Context, st db.RuntimeCardSetup, res provider.Result) (Result, error) {
	if res.SavedToken == "" {
		return Result{}, fmt.Errorf("set up card: the provider saved no card")
	}
	pm, err := s.Store.CreateSetupPaymentMethod(ctx, db.CreateSetupPaymentMethodParams{ID: ids.New("pm"),
		OrganizationID: st.OrganizationID, Livemode: st.Livemode, Provider: st.Provider, ProviderToken: res.SavedToken,
		CardBrand: optional(res.Brand), CardLast4: optional(res.Last4), SessionID: &st.SessionID, ProviderAccount: st.ProviderAccount})
	if store.IsNoRows(err) {
		// Saved by an earlier attempt whose completion did not land: that
		// one completes the session.
		pm, err = s.Store.GetPaymentMethodBySession(ctx, &st.SessionID)
	}
	if err != nil {
		return Result{}, fmt.Errorf("save payment method: %w", err)
	}
	resp, err := s.Admin.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{SessionId: st.SessionID, Paid: true,
		PaymentMethod: "card", OrganizationId: st.OrganizationID, Livemode: st.Livemode,
		Currency: st.Currency, SavedPaymentMethod: pm.ID, TaxBps: st.TaxBps})
	if status.Code(err) == codes.FailedPrecondition {
		return Result{Closed: true}, nil
	} else if err != nil {
		return Result{}, fmt.Errorf("complete session: %w", err)
	}
	return Result{Payment: db.RuntimePayment{SessionID: st.SessionID, Status: StatusSucceeded, Method: "card", CardBrand: pm.CardBrand, CardLast4: pm.CardLast4},
		Session: resp.GetCheckoutSession()}, nil
}

// setupPayment is how a setup waiting for the payer, or ended, is
// answered to the page: a payment-shaped Result whose ID is the setup's.
func setupPayment(st db.RuntimeCardSetup) db.RuntimePayment {
	return db.RuntimePayment{ID: st.ID, SessionID: st.SessionID, Status: st.Status, Method: "card",
		FailureCode: st.FailureCode, FailureMessage: st.FailureMessage}
}

// declinedSetup answers a card the provider refused to set up as a failed
// attempt; no payment row is made.
func declinedSetup(st db.RuntimeCardSetup, res provider.Result) Result {
	return Result{Payment: db.RuntimePayment{SessionID: st.SessionID, Status: StatusFailed, Method: "card",
		FailureCode: optional(res.DeclineCode), FailureMessage: optional(res.DeclineMessage)}}
}
