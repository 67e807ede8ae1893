package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// createAccount connects an account of org in test mode through the API.
func (e *env) createAccount(org string, req *adminv1.CreateProviderAccountRequest) string {
	e.t.Helper()
	resp, err := adminv1.NewProviderAccountServiceClient(e.conn.Inline).CreateProviderAccount(e.as(org, false), req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetProviderAccount().GetId()
}

func (e *env) getRoute(id string) *adminv1.Route {
	e.t.Helper()
	resp, err := adminv1.NewRouteServiceClient(e.conn.Inline).GetRoute(e.as(e.orgA, false), &adminv1.GetRouteRequest{Id: id})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetRoute()
}

// routeForm is a route form over accounts, with their weights; blank rows
// as the page posts them.
func routeForm(csrf, method, typ string, accounts, weights []string) url.Values {
	return url.Values{"csrf_token": {csrf}, "name": {"EU split"}, "payment_method": {method}, "type": {typ},
		"account": append(accounts, ""), "weight": append(weights, ""), "currencies": {""}, "billing_countries": {""},
		"amount_min": {""}, "amount_max": {""}}
}

// TestRouteForms: an owner creates a volume split on the site page's form
// (each wrong input refused next to its field), edits it into a disabled
// priority list, sees it on the site page, and deletes it; a mobile-money
// priority list of two accounts is refused, since it cannot cascade.
func TestRouteForms(t *testing.T) {
	e := newEnv(t)
	a1 := e.createAccount(e.orgA, &adminv1.CreateProviderAccountRequest{Provider: "test", Name: "Acquirer A"})
	a2 := e.createAccount(e.orgA, &adminv1.CreateProviderAccountRequest{Provider: "test", Name: "Acquirer B"})
	b := e.browser()
	csrf := b.login(e.users["owner"])
	status, _, page := b.get("/dashboard/sites/" + e.siteA)
	contains(t, "the site page", page, `id="new-route"`, `id="no-routes"`, `id="accounts-link"`)
	status, _, page = b.get("/dashboard/sites/" + e.siteA + "/routes/new")
	if status != http.StatusOK {
		t.Fatalf("new route form: %d", status)
	}
	contains(t, "the new route form", page, `id="route-form"`, `id="account_0"`, `id="weight_1"`, "Acquirer A", a2, `<option value="mobile_money"`)

	newPath := "/dashboard/sites/" + e.siteA + "/routes"
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"a weight that is no number", routeForm(csrf, "card", "volume_split", []string{a1, a2}, []string{"70", "thirty"}), "weight_1"},
		{"weights not summing to 100", routeForm(csrf, "card", "volume_split", []string{a1, a2}, []string{"70", "20"}), "accounts"},
		{"an account twice, after a blank row", routeForm(csrf, "card", "priority", []string{a1, "", a1}, []string{"", "", ""}), "account_2"},
		{"an unknown currency", func() url.Values {
			f := routeForm(csrf, "card", "priority", []string{a1}, []string{""})
			f.Set("currencies", "EUR, XAU")
			return f
		}(), "currencies"},
		{"an amount with decimals", func() url.Values {
			f := routeForm(csrf, "card", "priority", []string{a1}, []string{""})
			f.Set("amount_min", "10.50")
			return f
		}(), "amount_min"},
		{"a card account for mobile money", routeForm(csrf, "mobile_money", "priority", []string{a1}, []string{""}), "account_0"},
	} {
		status, _, page := b.post(newPath, tc.form)
		if status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.name, status)
			continue
		}
		contains(t, tc.name, page, `id="`+tc.field+`-error"`, `aria-describedby="`+tc.field+`-error"`, `id="errors"`)
	}
	if n := len(e.listRoutes()); n != 0 {
		t.Fatalf("%d routes made by refused forms", n)
	}

	f := routeForm(csrf, "card", "volume_split", []string{a1, a2}, []string{"70", "30"})
	f.Set("currencies", "eur")
	f.Set("billing_countries", "fr de")
	f.Set("amount_min", "100")
	f.Set("default", "on")
	status, loc, body := b.post(newPath, f)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/routes/rt_") {
		t.Fatalf("create: %d %q\n%s", status, loc, body)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/dashboard/routes/"), "?notice=saved")
	rt := e.getRoute(id)
	if rt.GetType() != "volume_split" || !rt.GetDefault() || rt.GetName() != "EU split" || len(rt.GetAccounts()) != 2 ||
		rt.GetAccounts()[1].GetWeight() != 30 || fmt.Sprint(rt.GetRules().GetCurrencies(), rt.GetRules().GetBillingCountries()) != "[EUR] [FR DE]" ||
		rt.GetRules().GetAmountMin() != 100 || rt.GetRules().AmountMax != nil {
		t.Fatalf("created route: %v", rt)
	}
	_, _, page = b.get(loc)
	contains(t, "the route's form", page, `id="notice"`, `value="EU split"`, `value="70"`, `value="30"`, `value="EUR"`, `value="FR, DE"`,
		`value="100"`, `id="default" checked`, `id="disabled"`, `id="delete-route"`, `id="account_3"`)

	// Edit: a priority list in the other order, disabled.
	f = routeForm(csrf, "card", "priority", []string{a2, a1}, []string{"", ""})
	f.Set("disabled", "on")
	if status, loc, body = b.post("/dashboard/routes/"+id, f); status != http.StatusSeeOther {
		t.Fatalf("update: %d %q\n%s", status, loc, body)
	}
	rt = e.getRoute(id)
	if rt.GetType() != "priority" || !rt.GetDisabled() || rt.GetDefault() || rt.GetAccounts()[0].GetProviderAccount() != a2 ||
		rt.GetAccounts()[0].GetWeight() != 0 || len(rt.GetRules().GetCurrencies()) != 0 {
		t.Fatalf("updated route: %v", rt)
	}
	_, _, page = b.get("/dashboard/sites/" + e.siteA)
	contains(t, "the site page", page, `id="route-`+id+`"`, `id="edit-`+id+`"`, "disabled", "Priority")

	// Mobile money never cascades: a priority list of two is refused.
	p1 := e.createAccount(e.orgA, &adminv1.CreateProviderAccountRequest{Provider: "paystack",
		Credentials: &adminv1.ProviderCredentialsInput{SecretKey: "sk_test_RouteFormPaystackOne1"}})
	p2 := e.createAccount(e.orgA, &adminv1.CreateProviderAccountRequest{Provider: "paystack",
		Credentials: &adminv1.ProviderCredentialsInput{SecretKey: "sk_test_RouteFormPaystackTwo2"}})
	status, _, page = b.post(newPath, routeForm(csrf, "mobile_money", "priority", []string{p1, p2}, []string{"", ""}))
	if status != http.StatusBadRequest {
		t.Fatalf("mobile-money priority list of two: %d", status)
	}
	contains(t, "the refused mobile-money route", page, `id="accounts-error"`, "never cascades")
	if status, _, _ = b.post(newPath, routeForm(csrf, "mobile_money", "volume_split", []string{p1, p2}, []string{"50", "50"})); status != http.StatusSeeOther {
		t.Fatalf("mobile-money split: %d", status)
	}

	if status, loc, _ = b.post("/dashboard/routes/"+id+"/delete", url.Values{"csrf_token": {csrf}}); status != http.StatusSeeOther ||
		loc != "/dashboard/sites/"+e.siteA+"?notice=route_deleted" {
		t.Fatalf("delete: %d %q", status, loc)
	}
	if status, _, _ = b.get("/dashboard/routes/" + id); status != http.StatusNotFound {
		t.Errorf("a deleted route's page: %d", status)
	}
}

func (e *env) listRoutes() []*adminv1.Route {
	e.t.Helper()
	resp, err := adminv1.NewRouteServiceClient(e.conn.Inline).ListRoutes(e.as(e.orgA, false), &adminv1.ListRoutesRequest{Site: e.siteA})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetData()
}

// TestRouteAccess: other roles see a route read-only and cannot change it;
// another organization's route and site are not found.
func TestRouteAccess(t *testing.T) {
	e := newEnv(t)
	a1 := e.createAccount(e.orgA, &adminv1.CreateProviderAccountRequest{Provider: "test"})
	resp, err := adminv1.NewRouteServiceClient(e.conn.Inline).CreateRoute(e.as(e.orgA, false), &adminv1.CreateRouteRequest{Site: e.siteA,
		PaymentMethod: "card", Type: "priority", Name: "Only", Accounts: []*adminv1.RouteAccount{{ProviderAccount: a1}}})
	if err != nil {
		t.Fatal(err)
	}
	id := resp.GetRoute().GetId()
	for _, role := range []string{"developer", "support", "viewer"} {
		b := e.browser()
		csrf := b.login(e.users[role])
		status, _, page := b.get("/dashboard/routes/" + id)
		if status != http.StatusOK || strings.Contains(page, `id="save-route"`) || strings.Contains(page, `id="delete-route"`) || !strings.Contains(page, `value="Only"`) {
			t.Errorf("%s: the route page %d, not read-only", role, status)
		}
		if _, _, site := b.get("/dashboard/sites/" + e.siteA); strings.Contains(site, `id="new-route"`) {
			t.Errorf("%s is offered a new route", role)
		}
		for path, form := range map[string]url.Values{
			"/dashboard/sites/" + e.siteA + "/routes": routeForm(csrf, "card", "priority", []string{a1}, []string{""}),
			"/dashboard/routes/" + id:                 routeForm(csrf, "card", "priority", []string{a1}, []string{""}),
			"/dashboard/routes/" + id + "/delete":     {"csrf_token": {csrf}},
		} {
			if status, _, _ := b.post(path, form); status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", role, path, status)
			}
		}
		if status, _, _ := b.get("/dashboard/sites/" + e.siteA + "/routes/new"); status != http.StatusForbidden {
			t.Errorf("%s: the new route form %d, want 403", role, status)
		}
	}
	if rt := e.getRoute(id); rt.GetName() != "Only" {
		t.Errorf("refused posts changed the route: %v", rt)
	}
	b := e.browser()
	csrf := b.login(e.users["ownerB"])
	if status, _, _ := b.get("/dashboard/routes/" + id); status != http.StatusNotFound {
		t.Errorf("another organization's route: %d", status)
	}
	if status, _, _ := b.post("/dashboard/routes/"+id, routeForm(csrf, "card", "priority", []string{a1}, []string{""})); status != http.StatusNotFound {
		t.Errorf("updating another organization's route: %d", status)
	}
	if status, _, _ := b.get("/dashboard/sites/" + e.siteA + "/routes/new"); status != http.StatusNotFound {
		t.Errorf("a route form for another organization's site: %d", status)
	}
}
