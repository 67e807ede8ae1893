package payment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/routing"
)

// routePlan is where a payment is tried: the accounts of a route in the
// order routing chose, or the one provider of a payment without a route.
type routePlan struct {
	routeID string           // "" without a route
	targets []routing.Target // at least one; AccountID "" is a built-in provider
}

// plan decides where a payment of total (minor units) with id goes. A
// payment follows the site's routes of its method (routing.Choose: the
// session's route, else the first whose rules admit it, else the default).
// A card payment keeps the route's accounts that take what the page posted:
// card data for the test provider's accounts, a provider component's token
// for the others (an account deleted since, which admin-api sends without a
// provider, is dropped; a route left with none is not chosen); they are its cascade. A direct-debit or
// mobile-money payment is approved by the payer at the provider and never
// cascades (routing.PayerApproved): it goes to the route's first account
// alone. With no route, or none of whose accounts fits, a payment goes as
// before routes existed: the site's provider account for the method, or,
// for cards, the built-in test provider.
func (s *Service) plan(a Attempt, total int64, id string) (routePlan, error) {
	cs := a.Checkout.GetCheckoutSession()
	facts := routing.Facts{Currency: cs.GetCurrency(), Amount: total, BillingCountry: a.Billing.Country}
	var routed routePlan
	if r, ok := routing.Choose(checkoutRoutes(a.Checkout.GetRoutes(), a.Method), cs.GetRoute(), facts); ok {
		routed.routeID = r.ID
		for _, t := range routing.Order(r, id) {
			if t.Provider != "" && (routing.PayerApproved(a.Method) || takesCardData(t.Provider) == (a.Card != nil)) {
				routed.targets = append(routed.targets, t)
			}
		}
		if routing.PayerApproved(a.Method) && len(routed.targets) > 1 {
			routed.targets = routed.targets[:1]
		}
	}
	switch a.Method {
	case "bank_transfer":
		return routePlan{targets: []routing.Target{{Provider: provider.NameBankTransfer}}}, nil
	case MethodMobileMoney:
		// A route's Paystack account, else the site's.
		account := a.Checkout.GetSite().GetProviderAccounts()[MethodMobileMoney]
		if a.MobileMoney == nil || (account == "" && len(routed.targets) == 0) {
			return routePlan{}, fmt.Errorf("%w: mobile money needs the site's account and the payer's wallet", provider.ErrInvalidRequest)
		}
		if len(routed.targets) > 0 {
			return routed, nil
		}
		return routePlan{targets: []routing.Target{{AccountID: account, Provider: provider.NamePaystack}}}, nil
	case MethodDirectDebit:
		// A route's GoCardless account, else the site's: the payer
		// authorises the debit on the provider's page.
		acct := a.Checkout.GetDirectDebitProviderAccount()
		if (acct.GetId() == "" && len(routed.targets) == 0) || a.Card != nil || a.Token != "" || a.ReturnURL == "" {
			return routePlan{}, fmt.Errorf("%w: direct debit needs the site's account and a return URL, and takes no card data", provider.ErrInvalidRequest)
		}
		if len(routed.targets) > 0 {
			return routed, nil
		}
		return routePlan{targets: []routing.Target{{AccountID: acct.GetId(), Provider: acct.GetProvider()}}}, nil
	}
	if len(routed.targets) > 0 {
		return routed, nil
	}
	acct := a.Checkout.GetCardProviderAccount()
	if acct.GetId() == "" {
		return routePlan{targets: []routing.Target{{Provider: provider.NameTest}}}, nil
	}
	if !takesCardData(acct.GetProvider()) && (a.Card != nil || a.Token == "") {
		// The site's own card account (Stripe): the page sent a token,
		// never card data.
		return routePlan{}, fmt.Errorf("%w: a card payment through %s takes a token, not card data", provider.ErrInvalidRequest, acct.GetProvider())
	}
	return routePlan{targets: []routing.Target{{AccountID: acct.GetId(), Provider: acct.GetProvider()}}}, nil
}

// takesCardData: the test provider's accounts take the test cards' data;
// every other provider takes a token made by its own component.
func takesCardData(prov string) bool { return prov == provider.NameTest }

// checkoutRoutes converts admin-api's routes of a payment method for
// routing. A route none of whose accounts has a provider (each was deleted
// or disabled since: admin-api sends such an account without one) is left
// out, so that a payment its rules admit goes to the next route, or the
// default, rather than to no account.
func checkoutRoutes(in []*internalapiv1.CheckoutRoute, method string) []routing.Route {
	out := make([]routing.Route, 0, len(in))
	for _, cr := range in {
		r := cr.GetRoute()
		if r.GetPaymentMethod() != method {
			continue
		}
		rr := routing.Route{ID: r.GetId(), Type: r.GetType(), Method: r.GetPaymentMethod(), Default: r.GetDefault()}
		if rules := r.GetRules(); rules != nil {
			rr.Rules = routing.Rules{Currencies: rules.GetCurrencies(), AmountMin: rules.AmountMin,
				AmountMax: rules.AmountMax, BillingCountries: rules.GetBillingCountries()}
		}
		for i, acct := range r.GetAccounts() {
			t := routing.Target{AccountID: acct.GetProviderAccount(), Weight: acct.GetWeight()}
			if i < len(cr.GetProviders()) {
				t.Provider = cr.GetProviders()[i]
			}
			rr.Targets = append(rr.Targets, t)
		}
		if slices.ContainsFunc(rr.Targets, func(t routing.Target) bool { return t.Provider != "" }) {
			out = append(out, rr)
		}
	}
	return out
}

// authorize runs the payment's attempts: on the plan's first account, then,
// while an attempt fails retryably (routing.Retryable) and accounts remain,
// the same request on the next one. Each attempt is recorded. The last
// attempt's answer goes on to afterAuthorize, which alone completes the
// session and captures: only an authorised attempt is ever captured, and
// only one attempt of a payment is ever authorised, since a cascade stops
// at the first answer that is not a retryable failure (DESIGN §5.1).
// Accounts whose circuit breaker is open are skipped, unless all are.
// save, when not nil, saves the payer's card for a subscription's renewals
// once the final attempt has answered.
func (s *Service) authorize(ctx context.Context, p db.RuntimePayment, plan routePlan, req provider.AuthorizeRequest,
	save func(provider.Provider, db.RuntimePayment, provider.Result) completion) (Result, error) {
	targets := plan.targets
	if plan.routeID != "" && s.Breaker != nil {
		targets = s.allowed(targets)
	}
	var lastErr error
	for i, t := range targets {
		last := i == len(targets)-1
		if p.Provider != t.Provider || deref(p.ProviderAccount) != t.AccountID {
			moved, err := s.Store.MovePaymentToAccount(ctx, db.MovePaymentToAccountParams{ID: p.ID, Provider: t.Provider, ProviderAccount: optional(t.AccountID)})
			if err != nil {
				return Result{}, fmt.Errorf("cascade %s to %s: %w", p.ID, t.AccountID, err)
			}
			p = moved
		}
		req.Attempt = slices.Index(plan.targets, t) + 1 // its place in the route: the test card 0119 fails the first
		started := time.Now()
		prov, err := s.providerOf(ctx, t)
		var res provider.Result
		if err == nil {
			res, err = prov.Authorize(ctx, req)
		}
		retry := plan.routeID != "" && routing.Retryable(t.Provider, res, err)
		if plan.routeID != "" && s.Breaker != nil {
			s.Breaker.Report(t, retry)
		}
		attempt := attemptOf(p, plan.routeID, i+1, t, res, err, retry, time.Since(started))
		if retry && !last {
			s.recordAttempt(ctx, attempt)
			s.Logger.InfoContext(ctx, "payment cascades to the route's next account", "payment", p.ID, "route", plan.routeID,
				"account", t.AccountID, "code", attemptCode(res, err))
			continue
		}
		if err != nil {
			s.recordAttempt(ctx, attempt)
			lastErr = err
			break
		}
		// The answered attempt is logged by the statement that stores the
		// answer on the payment (SetAuthorization), the first write after
		// the provider's answer: no write of its own. Saving a card calls
		// the provider and writes first, so then the attempt is logged
		// before, keeping the authorisation's reference durable one
		// statement after the answer (the reconciler voids it from there).
		logged := &attempt
		var done completion
		if save != nil {
			s.recordAttempt(ctx, attempt)
			logged = nil
			done = save(prov, p, res)
		}
		return s.afterAuthorize(ctx, prov, p, res, done, logged)
	}
	s.fail(ctx, p, "provider_error", "The payment provider did not answer; nothing was charged.")
	return Result{}, fmt.Errorf("authorize: %w", lastErr)
}

// allowed are the targets whose breaker lets an attempt through now, or all
// of them when it lets none: a payer is never refused without one try.
// Allow is asked in order, so that a half-open account's single probe goes
// to a payment that will try it.
func (s *Service) allowed(ts []routing.Target) []routing.Target {
	out := make([]routing.Target, 0, len(ts))
	for _, t := range ts {
		if s.Breaker.Allow(t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return ts
	}
	return out
}

// providerOf is the provider of a target: its account's, or the built-in
// provider it names.
func (s *Service) providerOf(ctx context.Context, t routing.Target) (provider.Provider, error) {
	if t.AccountID != "" {
		return s.Providers.ForAccount(ctx, t.AccountID)
	}
	if prov := s.lookup(t.Provider); prov != nil {
		return prov, nil
	}
	return nil, fmt.Errorf("no provider %q", t.Provider)
}

// Attempt outcomes beyond provider.Outcome's names.
const attemptError = "error" // the provider could not be reached, or failed

// attemptCode is the code an attempt is recorded with: the decline code, or
// provider_error for an error.
func attemptCode(res provider.Result, err error) string {
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "provider_timeout"
		}
		return "provider_error"
	}
	return res.DeclineCode
}

// attemptOf is the attempt log's row for one attempt of p.
func attemptOf(p db.RuntimePayment, routeID string, seq int, t routing.Target, res provider.Result, err error, retry bool, took time.Duration) db.RecordPaymentAttemptParams {
	outcome := attemptError
	if err == nil {
		outcome = res.Outcome.String()
	}
	return db.RecordPaymentAttemptParams{PaymentID: p.ID, Sequence: int32(seq),
		Provider: t.Provider, ProviderAccount: optional(t.AccountID), RouteID: optional(routeID), Outcome: outcome,
		DeclineCode: optional(attemptCode(res, err)), Retryable: retry, ProviderRef: optional(res.Reference),
		LatencyMs: took.Milliseconds(), CreatedAt: time.Now().Add(-took)}
}

// recordAttempt stores an attempt that no answer is stored with (one that
// cascaded, or failed); a failure to record it is logged, not the payment's:
// the payment goes on either way.
func (s *Service) recordAttempt(ctx context.Context, a db.RecordPaymentAttemptParams) {
	if err := s.Store.RecordPaymentAttempt(context.WithoutCancel(ctx), a); err != nil {
		s.Logger.ErrorContext(ctx, "recording a payment attempt", "payment", a.PaymentID, "sequence", a.Sequence, "err", err)
	}
}

// withAttempt has SetAuthorization log attempt with the answer it stores.
func withAttempt(set db.SetAuthorizationParams, a db.RecordPaymentAttemptParams) db.SetAuthorizationParams {
	set.AttemptSequence, set.AttemptProvider, set.AttemptProviderAccount = &a.Sequence, a.Provider, a.ProviderAccount
	set.AttemptRouteID, set.AttemptOutcome, set.AttemptDeclineCode = a.RouteID, a.Outcome, a.DeclineCode
	set.AttemptRetryable, set.AttemptLatencyMs, set.AttemptCreatedAt = a.Retryable, a.LatencyMs, a.CreatedAt
	return set
}

// AttemptProto renders a recorded attempt.
func AttemptProto(a db.RuntimePaymentAttempt) *adminv1.PaymentAttempt {
	return &adminv1.PaymentAttempt{Sequence: a.Sequence, Provider: a.Provider, ProviderAccount: deref(a.ProviderAccount),
		Route: deref(a.RouteID), Outcome: a.Outcome, DeclineCode: deref(a.DeclineCode), Retryable: a.Retryable,
		LatencyMs: a.LatencyMs, CreatedAt: timestamppb.New(a.CreatedAt)}
}
