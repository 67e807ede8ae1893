package payment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/stripe"
	"github.com/tillpoint/tillpoint/services/platform/routing"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// routedService is a service whose test-provider accounts pa_a, pa_b and
// pa_c are built from the built-in test provider, as in production.
func routedService(t *testing.T) (*Service, *provider.Test, *sessionsRecorder) {
	t.Helper()
	s := newService(t)
	builtin, _ := s.Providers.Lookup(provider.NameTest)
	s.Providers.WithAccounts(func(_ context.Context, id string) (provider.Credentials, error) {
		switch id {
		case "pa_a", "pa_b", "pa_c":
			return provider.Credentials{AccountID: id, Provider: provider.NameTest}, nil
		}
		return provider.Credentials{}, status.Error(codes.NotFound, "no such account")
	}, map[string]provider.Factory{provider.NameTest: provider.TestAccountFactory(builtin)})
	return s, builtin.(*provider.Test), s.Admin.(*sessionsRecorder)
}

// routeOf builds admin-api's view of a route over test-provider accounts.
func routeOf(id, typ string, def bool, rules *adminv1.RouteRules, accounts ...*adminv1.RouteAccount) *internalapiv1.CheckoutRoute {
	cr := &internalapiv1.CheckoutRoute{Route: &adminv1.Route{Id: id, Type: typ, PaymentMethod: "card", Default: def, Accounts: accounts, Rules: rules}}
	for range accounts {
		cr.Providers = append(cr.Providers, provider.NameTest)
	}
	return cr
}

func acct(id string, weight int32) *adminv1.RouteAccount {
	return &adminv1.RouteAccount{ProviderAccount: id, Weight: weight}
}

// routedAttempt pays a fresh session of 5000 EUR with number, the site
// having routes.
func routedAttempt(number, named string, routes ...*internalapiv1.CheckoutRoute) Attempt {
	cs := &adminv1.CheckoutSession{Id: ids.New("cs"), Status: "open", Currency: "EUR", AmountSubtotal: 5000, AmountTotal: 5000}
	if named != "" {
		cs.Route = &named
	}
	return Attempt{Method: "card", Card: &provider.Card{Number: number, Exp: "12/34", CVC: "123"},
		Billing:  Billing{Name: "Ada", Email: "ada@example.com", Country: "FR", PostalCode: "75001"},
		Checkout: &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1", Site: &adminv1.Site{}, CheckoutSession: cs, Routes: routes}}
}

// attemptsOf returns a payment's recorded attempts as "account outcome code retryable".
func attemptsOf(t *testing.T, s *Service, id string) []string {
	t.Helper()
	rows, err := s.Store.AttemptsOfPayments(t.Context(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, a := range rows {
		out[i] = fmt.Sprintf("%s %s %s %v", deref(a.ProviderAccount), a.Outcome, deref(a.DeclineCode), a.Retryable)
	}
	return out
}

func TestRoutePriorityOrder(t *testing.T) {
	s, _, _ := routedService(t)
	rt := routeOf("rt_p", routing.TypePriority, true, nil, acct("pa_b", 0), acct("pa_a", 0))
	res, err := s.Pay(t.Context(), routedAttempt(provider.TestCardSuccess, "", rt))
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Payment; p.Status != StatusSucceeded || deref(p.ProviderAccount) != "pa_b" {
		t.Fatalf("payment %s on %s, want succeeded on pa_b", p.Status, deref(p.ProviderAccount))
	}
	if got := fmt.Sprint(attemptsOf(t, s, res.Payment.ID)); got != "[pa_b authorized  false]" {
		t.Fatalf("attempts %s", got)
	}
	// An account deleted since (admin-api sends it without a provider) is
	// skipped, not tried.
	rt = routeOf("rt_p", routing.TypePriority, true, nil, acct("pa_gone", 0), acct("pa_a", 0))
	rt.Providers[0] = ""
	res, err = s.Pay(t.Context(), routedAttempt(provider.TestCardSuccess, "", rt))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(attemptsOf(t, s, res.Payment.ID)); res.Payment.Status != StatusSucceeded || got != "[pa_a authorized  false]" {
		t.Fatalf("payment %s, attempts %s", res.Payment.Status, got)
	}
}

// TestRouteRulesChooseTheRoute: the rules see the currency, the amount and
// the billing country; the session's named route wins when its rules admit
// the payment.
func TestRouteRulesChooseTheRoute(t *testing.T) {
	s, _, _ := routedService(t)
	min := int64(4000)
	routes := []*internalapiv1.CheckoutRoute{
		routeOf("rt_default", routing.TypePriority, true, nil, acct("pa_a", 0)),
		routeOf("rt_gbp", routing.TypePriority, false, &adminv1.RouteRules{Currencies: []string{"GBP"}}, acct("pa_c", 0)),
		routeOf("rt_de_big", routing.TypePriority, false, &adminv1.RouteRules{BillingCountries: []string{"DE"}, AmountMin: &min}, acct("pa_b", 0)),
		routeOf("rt_named", routing.TypePriority, false, &adminv1.RouteRules{Currencies: []string{"EUR"}, BillingCountries: []string{"NL"}}, acct("pa_c", 0)),
	}
	for _, c := range []struct {
		country, named string
		amount         int64
		want           string
	}{
		{"FR", "", 5000, "pa_a"},
		{"DE", "", 5000, "pa_b"},
		{"DE", "", 3999, "pa_a"},
		{"NL", "rt_named", 5000, "pa_c"},
		{"FR", "rt_named", 5000, "pa_a"}, // its rules refuse FR: the site's choice
	} {
		a := routedAttempt(provider.TestCardSuccess, c.named, routes...)
		a.Billing.Country = c.country
		a.Checkout.CheckoutSession.AmountSubtotal, a.Checkout.CheckoutSession.AmountTotal = c.amount, c.amount
		res, err := s.Pay(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		if got := deref(res.Payment.ProviderAccount); got != c.want {
			t.Errorf("%s %d named %q: paid on %s, want %s", c.country, c.amount, c.named, got, c.want)
		}
	}
}

// TestRouteWithoutUsableAccountIsPassedOver: a route whose only account
// admin-api sends without a provider (disabled or deleted since) routes
// nothing: the payment its rules admit goes to the next route, or the
// default, not to the site's fallback; a named route without one too.
func TestRouteWithoutUsableAccountIsPassedOver(t *testing.T) {
	s, _, _ := routedService(t)
	disabled := func(rt *internalapiv1.CheckoutRoute) *internalapiv1.CheckoutRoute {
		for i := range rt.Providers {
			rt.Providers[i] = ""
		}
		return rt
	}
	routes := []*internalapiv1.CheckoutRoute{
		disabled(routeOf("rt_fr", routing.TypePriority, false, &adminv1.RouteRules{BillingCountries: []string{"FR"}}, acct("pa_off", 0))),
		routeOf("rt_eur", routing.TypePriority, false, &adminv1.RouteRules{Currencies: []string{"EUR"}}, acct("pa_b", 0)),
		routeOf("rt_default", routing.TypePriority, true, nil, acct("pa_a", 0)),
	}
	for _, c := range []struct {
		name, named string
		routes      []*internalapiv1.CheckoutRoute
		wantRoute   string
		wantAccount string
	}{
		{"next route", "", routes, "rt_eur", "pa_b"},
		{"named route without an account", "rt_fr", routes, "rt_eur", "pa_b"},
		{"default", "", []*internalapiv1.CheckoutRoute{routes[0], routes[2]}, "rt_default", "pa_a"},
		{"disabled default: as without routes", "", []*internalapiv1.CheckoutRoute{routes[0],
			disabled(routeOf("rt_off", routing.TypePriority, true, nil, acct("pa_off", 0)))}, "", ""},
	} {
		plan, err := s.plan(routedAttempt(provider.TestCardSuccess, c.named, c.routes...), 5000, ids.New("pay"))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if plan.routeID != c.wantRoute || len(plan.targets) != 1 || plan.targets[0].AccountID != c.wantAccount {
			t.Errorf("%s: %+v, want route %q on account %q", c.name, plan, c.wantRoute, c.wantAccount)
		}
	}
}

// TestRouteVolumeSplitOverPayments: 1,000 routings of a 70/30 split lead on
// the 70 account 700 ± 50 times (±5 points; the binomial σ is 1.45 points).
func TestRouteVolumeSplitOverPayments(t *testing.T) {
	s, _, _ := routedService(t)
	rt := routeOf("rt_split", routing.TypeVolumeSplit, true, nil, acct("pa_a", 70), acct("pa_b", 30))
	led := map[string]int{}
	// Fixed ids, so that the count is the same on every run: random ones
	// would leave the count outside any tolerance now and then.
	for i := range 1000 {
		plan, err := s.plan(routedAttempt(provider.TestCardSuccess, "", rt), 5000, fmt.Sprintf("pay_split%04d", i))
		if err != nil || plan.routeID != "rt_split" || len(plan.targets) != 2 {
			t.Fatalf("routing %d: %+v %v", i, plan, err)
		}
		led[plan.targets[0].AccountID]++
	}
	if n := led["pa_a"]; n < 650 || n > 750 {
		t.Fatalf("pa_a led %d of 1000, want 700 ± 50 (%v)", n, led)
	}
}

// TestCascadeOnRetryableFailure: card 0119 fails the route's first account
// with processing_error; the payment goes on to the second, which
// authorises; the session is completed once, one reference is captured,
// and the failed attempt holds nothing.
func TestCascadeOnRetryableFailure(t *testing.T) {
	s, tp, admin := routedService(t)
	rt := routeOf("rt_c", routing.TypePriority, true, nil, acct("pa_a", 0), acct("pa_b", 0))
	res, err := s.Pay(t.Context(), routedAttempt(provider.TestCardProcessingError, "", rt))
	if err != nil {
		t.Fatal(err)
	}
	p := res.Payment
	if p.Status != StatusSucceeded || deref(p.ProviderAccount) != "pa_b" {
		t.Fatalf("payment %s on %s, want succeeded on pa_b", p.Status, deref(p.ProviderAccount))
	}
	if got := fmt.Sprint(attemptsOf(t, s, p.ID)); got != "[pa_a declined processing_error true pa_b authorized  false]" {
		t.Fatalf("attempts %s", got)
	}
	if fmt.Sprint(admin.completed) != "["+p.ID+"]" {
		t.Fatalf("sessions completed by %v, want only %s", admin.completed, p.ID)
	}
	// The winning reference is captured (a void is refused); the failed
	// attempt's was never authorised, so nothing can capture it.
	if err := tp.Void(t.Context(), deref(p.ProviderRef)); !errors.Is(err, provider.ErrAlreadyCaptured) {
		t.Fatalf("void of the winning attempt: %v, want ErrAlreadyCaptured", err)
	}
	rows, _ := s.Store.AttemptsOfPayments(t.Context(), []string{p.ID})
	if err := tp.Capture(t.Context(), deref(rows[0].ProviderRef), p.Amount); !errors.Is(err, provider.ErrNotCapturable) {
		t.Fatalf("capture of the failed attempt: %v, want ErrNotCapturable", err)
	}
	// The API object carries both attempts.
	obj, err := PaymentObject(t.Context(), s.Store.Queries, p)
	if err != nil || len(obj.GetAttempts()) != 2 || obj.GetAttempts()[0].GetDeclineCode() != "processing_error" ||
		obj.GetAttempts()[1].GetProviderAccount() != "pa_b" || obj.GetAttempts()[1].GetRoute() != "rt_c" {
		t.Fatalf("payment object attempts: %v %v", obj.GetAttempts(), err)
	}
}

// TestNoCascadeOnPayerDecline: a decline for the payer's own reasons stops
// on the first account.
func TestNoCascadeOnPayerDecline(t *testing.T) {
	s, _, admin := routedService(t)
	rt := routeOf("rt_c", routing.TypePriority, true, nil, acct("pa_a", 0), acct("pa_b", 0))
	for number, code := range map[string]string{provider.TestCardDeclined: provider.DeclineCardDeclined,
		provider.TestCardInsufficientFunds: provider.DeclineInsufficientFunds} {
		res, err := s.Pay(t.Context(), routedAttempt(number, "", rt))
		if err != nil {
			t.Fatal(err)
		}
		if p := res.Payment; p.Status != StatusFailed || deref(p.FailureCode) != code || deref(p.ProviderAccount) != "pa_a" {
			t.Fatalf("%s: payment %s %s on %s", number, p.Status, deref(p.FailureCode), deref(p.ProviderAccount))
		}
		if got := fmt.Sprint(attemptsOf(t, s, res.Payment.ID)); got != "[pa_a declined "+code+" false]" {
			t.Fatalf("%s: attempts %s", number, got)
		}
	}
	if len(admin.completed) != 0 {
		t.Fatalf("declined payments completed sessions: %v", admin.completed)
	}
}

// TestCascadeLastAccountFailsThePayment: the last account's retryable
// failure is the payment's failure (nothing left to try).
func TestCascadeLastAccountFailsThePayment(t *testing.T) {
	s, _, _ := routedService(t)
	rt := routeOf("rt_one", routing.TypePriority, true, nil, acct("pa_a", 0))
	res, err := s.Pay(t.Context(), routedAttempt(provider.TestCardProcessingError, "", rt))
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Payment; p.Status != StatusFailed || deref(p.FailureCode) != provider.DeclineProcessingError {
		t.Fatalf("payment %s %s", p.Status, deref(p.FailureCode))
	}
}

// TestCascadeOnUnreachableAccount: an account that cannot be built or
// reached (here: deleted after admin-api listed the route) is a retryable
// error; the next account takes the payment.
func TestCascadeOnUnreachableAccount(t *testing.T) {
	s, _, _ := routedService(t)
	rt := routeOf("rt_gone", routing.TypePriority, true, nil, acct("pa_deleted", 0), acct("pa_b", 0))
	rt.Providers[0] = provider.NameTest
	res, err := s.Pay(t.Context(), routedAttempt(provider.TestCardSuccess, "", rt))
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Payment; p.Status != StatusSucceeded || deref(p.ProviderAccount) != "pa_b" {
		t.Fatalf("payment %s on %s", p.Status, deref(p.ProviderAccount))
	}
	if got := fmt.Sprint(attemptsOf(t, s, res.Payment.ID)); got != "[pa_deleted error provider_error true pa_b authorized  false]" {
		t.Fatalf("attempts %s", got)
	}
}

// TestBreakerSkipsAndProbes: two retryable failures of pa_a open its
// breaker; the next payment goes straight to pa_b; after the cool-down one
// payment probes pa_a (failing, it reopens); a later passing probe closes it.
func TestBreakerSkipsAndProbes(t *testing.T) {
	s, _, _ := routedService(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b, err := routing.NewBreaker(routing.BreakerConfig{Threshold: 2, Window: time.Minute, Cooldown: 30 * time.Second},
		func() time.Time { return now }, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s.Breaker = b
	rt := routeOf("rt_b", routing.TypePriority, true, nil, acct("pa_a", 0), acct("pa_b", 0))
	pay := func(number, want string) {
		t.Helper()
		res, err := s.Pay(t.Context(), routedAttempt(number, "", rt))
		if err != nil {
			t.Fatal(err)
		}
		if res.Payment.Status != StatusSucceeded {
			t.Fatalf("payment %s", res.Payment.Status)
		}
		if got := fmt.Sprint(attemptsOf(t, s, res.Payment.ID)); got != want {
			t.Fatalf("attempts %s, want %s", got, want)
		}
	}
	cascaded := "[pa_a declined processing_error true pa_b authorized  false]"
	pay(provider.TestCardProcessingError, cascaded)
	pay(provider.TestCardProcessingError, cascaded) // the second failure in a row: open
	// Skipped: the card's second place in the route is pa_b's, so it passes.
	pay(provider.TestCardProcessingError, "[pa_b authorized  false]")
	now = now.Add(30 * time.Second)
	pay(provider.TestCardProcessingError, cascaded) // the probe fails: open again
	pay(provider.TestCardSuccess, "[pa_b authorized  false]")
	now = now.Add(30 * time.Second)
	pay(provider.TestCardSuccess, "[pa_a authorized  false]") // the probe passes: closed
	pay(provider.TestCardSuccess, "[pa_a authorized  false]")
}

// TestCascadeWhenStripeIsUnavailable: the route's first Stripe account
// answers 503 (after the client's own retries, stripe: unavailable); the
// payment goes on to the second account (stripe-mock), which authorises and
// is captured: the down account saw no capture.
func TestCascadeWhenStripeIsUnavailable(t *testing.T) {
	s, proxy := stripeService(t, &closingSessions{})
	proxy.setStatus("requires_capture")
	downCalls := withDownStripeAccount(t, s, proxy)
	a := stripeAttempt()
	a.Checkout.Routes = []*internalapiv1.CheckoutRoute{downThenUpRoute()}
	res, err := s.Pay(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Payment
	if p.Status != StatusSucceeded || deref(p.ProviderAccount) != "pa_stripe" {
		t.Fatalf("payment %s on %s", p.Status, deref(p.ProviderAccount))
	}
	if got := fmt.Sprint(attemptsOf(t, s, p.ID)); got != "[pa_down error provider_error true pa_stripe authorized  false]" {
		t.Fatalf("attempts %s", got)
	}
	if downCalls.Load() == 0 {
		t.Fatal("the down account was never asked")
	}
	wantCalls(t, proxy.paths(t), "POST /v1/payment_intents", "POST /v1/payment_intents/{pi}/capture")
}

// downThenUpRoute is a card route over two Stripe accounts, pa_down first.
func downThenUpRoute() *internalapiv1.CheckoutRoute {
	rt := routeOf("rt_stripe", routing.TypePriority, true, nil, acct("pa_down", 0), acct("pa_stripe", 0))
	rt.Providers = []string{provider.NameStripe, provider.NameStripe}
	return rt
}

// withDownStripeAccount gives s two Stripe accounts: pa_stripe at
// stripe-mock behind proxy, and pa_down, whose every call is answered 503;
// it returns the count of pa_down's calls.
func withDownStripeAccount(t *testing.T, s *Service, proxy *stripeProxy) *atomic.Int32 {
	t.Helper()
	const downKey = testkit.StripeMockKey + "Down"
	downCalls := &atomic.Int32{}
	up := proxy.handler(t)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+downKey {
			downCalls.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"type":"api_error","message":"down"}}`))
			return
		}
		up.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	s.Providers = provider.NewDefaultRegistry().WithAccounts(func(_ context.Context, id string) (provider.Credentials, error) {
		key := map[string]string{"pa_down": downKey, "pa_stripe": testkit.StripeMockKey}[id]
		return provider.Credentials{AccountID: id, Provider: provider.NameStripe, SecretKey: key}, nil
	}, map[string]provider.Factory{provider.NameStripe: stripe.Factory(front.URL, nil)})
	return downCalls
}

// firstWins is admin-api completing a session once: the first payment to
// ask wins, the others are refused as for a session completed meanwhile.
type firstWins struct {
	sessionsRecorder
	mu     sync.Mutex
	winner map[string]string // session → payment
}

func (f *firstWins) CompleteSession(_ context.Context, req *internalapiv1.CompleteSessionRequest, _ ...grpc.CallOption) (*internalapiv1.CompleteSessionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w, ok := f.winner[req.GetSessionId()]; ok && w != req.GetPaymentId() {
		return nil, status.Error(codes.FailedPrecondition, "session is not open")
	}
	f.winner[req.GetSessionId()] = req.GetPaymentId()
	return &internalapiv1.CompleteSessionResponse{}, nil
}

// TestCascadeKeepsOneCapturePerSession: payers in several tabs pay one
// session at once with card 0119, each cascading to the second account:
// one payment captures, every other is voided at the account that
// authorised it (DESIGN §5.1).
func TestCascadeKeepsOneCapturePerSession(t *testing.T) {
	s, tp, _ := routedService(t)
	s.Admin = &firstWins{winner: map[string]string{}}
	rt := routeOf("rt_c", routing.TypePriority, true, nil, acct("pa_a", 0), acct("pa_b", 0))
	a := routedAttempt(provider.TestCardProcessingError, "", rt)
	const tabs = 6
	results := make([]Result, tabs)
	errs := make([]error, tabs)
	var wg sync.WaitGroup
	for i := range tabs {
		wg.Go(func() { results[i], errs[i] = s.Pay(context.Background(), a) })
	}
	wg.Wait()
	succeeded := 0
	for i, res := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		p := res.Payment
		if got := fmt.Sprint(attemptsOf(t, s, p.ID)); got != "[pa_a declined processing_error true pa_b authorized  false]" {
			t.Fatalf("attempts %s", got)
		}
		switch p.Status {
		case StatusSucceeded:
			succeeded++
			if err := tp.Void(t.Context(), deref(p.ProviderRef)); !errors.Is(err, provider.ErrAlreadyCaptured) {
				t.Errorf("the winner's reference: void = %v, want ErrAlreadyCaptured", err)
			}
		case StatusCanceled:
			if err := tp.Capture(t.Context(), deref(p.ProviderRef), p.Amount); !errors.Is(err, provider.ErrAlreadyVoided) {
				t.Errorf("a loser's reference: capture = %v, want ErrAlreadyVoided", err)
			}
		default:
			t.Errorf("payment %s", p.Status)
		}
	}
	if succeeded != 1 {
		t.Fatalf("%d payments succeeded, want 1", succeeded)
	}
}
