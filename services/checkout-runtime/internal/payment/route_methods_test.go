package payment

import (
	"fmt"
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
	"github.com/tillpoint/tillpoint/services/platform/routing"
)

// methodRoute is admin-api's view of a route of method over accounts of
// prov.
func methodRoute(id, method, typ string, def bool, rules *adminv1.RouteRules, prov string, accounts ...*adminv1.RouteAccount) *internalapiv1.CheckoutRoute {
	cr := routeOf(id, typ, def, rules, accounts...)
	cr.Route.PaymentMethod = method
	for i := range cr.Providers {
		cr.Providers[i] = prov
	}
	return cr
}

// TestMobileMoneyRoutesChooseTheAccount: mobile-money routes choose among
// Paystack accounts by their rules (here the currency) and by volume, one
// account per payment; a card route is not taken for mobile money.
func TestMobileMoneyRoutesChooseTheAccount(t *testing.T) {
	s, fake, _ := paystackService(t)
	fake.Set(paystack.StatusSendOTP, 2500)
	kes := methodRoute("rt_kes", routing.MethodMobileMoney, routing.TypePriority, false, &adminv1.RouteRules{Currencies: []string{"KES"}},
		provider.NamePaystack, acct(paystackAccount, 0))
	ghs := methodRoute("rt_ghs", routing.MethodMobileMoney, routing.TypePriority, true, nil, provider.NamePaystack, acct(otherPaystack, 0))
	card := routeOf("rt_card", routing.TypePriority, false, nil, acct("pa_a", 0))
	a := mobileMoneyAttempt()
	a.Checkout.Routes = []*internalapiv1.CheckoutRoute{card, kes, ghs}
	res, err := s.Pay(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	// GHS: the KES route's rules refuse it, the default route takes it
	// (not the site's account, paystackAccount).
	if got := fmt.Sprint(attemptsOf(t, s, res.Payment.ID)); deref(res.Payment.ProviderAccount) != otherPaystack || got != "["+otherPaystack+" challenge_required  false]" {
		t.Fatalf("GHS payment on %s, attempts %s", deref(res.Payment.ProviderAccount), got)
	}

	// A 50/50 split: each payment goes to the account its id's bucket
	// picks, and to that one alone.
	split := methodRoute("rt_split", routing.MethodMobileMoney, routing.TypeVolumeSplit, true, nil, provider.NamePaystack,
		acct(paystackAccount, 50), acct(otherPaystack, 50))
	seen := map[string]int{}
	for range 12 {
		a := mobileMoneyAttempt()
		a.Checkout.Routes = []*internalapiv1.CheckoutRoute{split}
		res, err := s.Pay(t.Context(), a)
		if err != nil {
			t.Fatal(err)
		}
		p := res.Payment
		want := routing.Order(checkoutRoutes(a.Checkout.Routes, routing.MethodMobileMoney)[0], p.ID)[0].AccountID
		if deref(p.ProviderAccount) != want || len(attemptsOf(t, s, p.ID)) != 1 {
			t.Fatalf("payment %s on %s with attempts %v, want one attempt on %s", p.ID, deref(p.ProviderAccount), attemptsOf(t, s, p.ID), want)
		}
		seen[want]++
	}
	t.Logf("split over 12 payments: %v", seen)
}

// TestMobileMoneyNeverCascades: an account that fails (here one gone, a
// retryable error for a card) fails the payment: the payer approves a
// mobile-money charge on their phone, so it is never sent to a second
// account.
func TestMobileMoneyNeverCascades(t *testing.T) {
	s, fake, _ := paystackService(t)
	fake.Set(paystack.StatusSuccess, 2500)
	// Weights the API would refuse (100/0), to fix the lead account.
	split := methodRoute("rt_split", routing.MethodMobileMoney, routing.TypeVolumeSplit, true, nil, provider.NamePaystack,
		acct("pa_gone", 100), acct(paystackAccount, 0))
	a := mobileMoneyAttempt()
	a.Checkout.Routes = []*internalapiv1.CheckoutRoute{split}
	res, err := s.Pay(t.Context(), a)
	if err == nil && res.Payment.Status != StatusFailed {
		t.Fatalf("payment %+v on a gone account", res.Payment)
	}
	var id string
	if err := s.Store.Pool.QueryRow(t.Context(), `SELECT id FROM runtime.payments WHERE session_id = $1`, a.Checkout.GetCheckoutSession().GetId()).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(attemptsOf(t, s, id)); got != "[pa_gone error provider_error true]" || len(fake.Calls()) != 0 {
		t.Fatalf("attempts %s, Paystack calls %v: want one attempt, on pa_gone, and no charge", got, fake.Calls())
	}
}

// TestDirectDebitRoutePlansOneAccount: a direct-debit route chooses one
// GoCardless account per payment; without a route that admits the payment,
// the site's account.
func TestDirectDebitRoutePlansOneAccount(t *testing.T) {
	s := newService(t)
	split := methodRoute("rt_dd", routing.MethodDirectDebit, routing.TypeVolumeSplit, true, &adminv1.RouteRules{Currencies: []string{"GBP"}},
		provider.NameGoCardless, acct("pa_gc1", 30), acct("pa_gc2", 70))
	a := Attempt{Method: MethodDirectDebit, ReturnURL: "https://checkout.example/return",
		Checkout: &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1", Site: &adminv1.Site{},
			DirectDebitProviderAccount: &internalapiv1.CardProviderAccount{Id: "pa_site", Provider: provider.NameGoCardless},
			CheckoutSession:            &adminv1.CheckoutSession{Id: ids.New("cs"), Status: "open", Currency: "GBP", AmountTotal: 5000},
			Routes:                     []*internalapiv1.CheckoutRoute{split}}}
	for range 5 {
		id := ids.New("pay")
		plan, err := s.plan(a, 5000, id)
		want := routing.Order(checkoutRoutes(a.Checkout.Routes, routing.MethodDirectDebit)[0], id)[0]
		if err != nil || plan.routeID != "rt_dd" || len(plan.targets) != 1 || plan.targets[0] != want {
			t.Fatalf("plan %+v %v, want rt_dd with %+v alone", plan, err, want)
		}
	}
	a.Checkout.CheckoutSession.Currency = "EUR"
	if plan, err := s.plan(a, 5000, ids.New("pay")); err != nil || plan.routeID != "" || len(plan.targets) != 1 || plan.targets[0].AccountID != "pa_site" {
		t.Fatalf("EUR plan %+v %v, want the site's account", plan, err)
	}
}
