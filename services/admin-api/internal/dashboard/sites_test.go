package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// siteForm is a valid site form named name.
func siteForm(csrf, name string) url.Values {
	return url.Values{"csrf_token": {csrf}, "op": {"save"}, "name": {name}, "default_currency": {"eur"},
		"default_success_url": {"https://shop.example/ok"}, "default_cancel_url": {"https://shop.example/cart"},
		"payment_method_types": {"card"}, "append_transaction_id": {"on"}}
}

func (e *env) getSite(org, id string) *adminv1.Site {
	e.t.Helper()
	resp, err := adminv1.NewSiteServiceClient(e.conn.Inline).GetSite(e.as(org, false), &adminv1.GetSiteRequest{Id: id})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetSite()
}

// TestSiteForm creates a site with every field through the form, reads it
// back through the API, sees it in the list and its form, and edits it.
func TestSiteForm(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["developer"])
	f := siteForm(csrf, "Boutique")
	f["logo_url"] = []string{"https://cdn.example/logo.png"}
	f["primary_color"], f["accent_color"] = []string{"#AA0011"}, []string{"#00aa11"}
	f["payment_method_types"] = []string{"card", "bank_transfer"}
	f["bank_transfer_instructions"] = []string{"IBAN FR76 0000"}
	f["tax_rates"] = []string{"fr, , 20, TVA, inclusive\n\nCA, QC, 9.97, QST, exclusive\n"}
	f["installment_plans"] = []string{"eur, 3, 1.5"}
	f["custom_fields"] = []string{"seats, numeric, Seats, Places, optional, 3\nsize, dropdown, Size, Taille, required, s=Small;Petit | l=Large\n"}
	f["default"] = []string{"on"}
	f["subscription_dunning_end"] = []string{"unpaid"}
	status, loc, body := b.post("/dashboard/sites/new", f)
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/sites/site_") {
		t.Fatalf("create: %d %q\n%s", status, loc, body)
	}
	id := strings.TrimPrefix(strings.TrimSuffix(loc, "?notice=saved"), "/dashboard/sites/")
	s := e.getSite(e.orgA, id)
	if s.GetName() != "Boutique" || s.GetDefaultCurrency() != "EUR" || s.GetBranding().GetPrimaryColor() != "#aa0011" ||
		s.GetBranding().GetLogoUrl() != "https://cdn.example/logo.png" || !s.GetDefault() || !s.GetAppendTransactionId() ||
		len(s.GetPaymentMethodTypes()) != 2 || s.GetBankTransferInstructions() != "IBAN FR76 0000" || s.GetSubscriptionDunningEnd() != "unpaid" {
		t.Errorf("created site: %v", s)
	}
	if r := s.GetTaxRates(); len(r) != 2 || r[0].GetCountry() != "FR" || r[0].GetPercentageBps() != 2000 || !r[0].GetInclusive() ||
		r[1].GetRegion() != "QC" || r[1].GetPercentageBps() != 997 || r[1].GetInclusive() {
		t.Errorf("tax rates: %v", r)
	}
	if p := s.GetInstallmentPlans(); len(p) != 1 || p[0].GetCurrency() != "EUR" || p[0].GetCount() != 3 || p[0].GetMonthlyInterestBps() != 150 {
		t.Errorf("plans: %v", p)
	}
	if cf := s.GetCustomFields(); len(cf) != 2 || cf[0].GetKey() != "seats" || cf[0].GetMaximumLength() != 3 || !cf[0].GetOptional() ||
		cf[0].GetLabel()["fr"] != "Places" || cf[1].GetType() != "dropdown" || cf[1].GetOptional() || len(cf[1].GetOptions()) != 2 ||
		cf[1].GetOptions()[0].GetLabel()["fr"] != "Petit" || cf[1].GetOptions()[1].GetValue() != "l" || len(cf[1].GetOptions()[1].GetLabel()) != 1 {
		t.Errorf("custom fields: %v", cf)
	}

	_, _, list := b.get("/dashboard/sites")
	contains(t, "the list", list, id, "Boutique", `id="default-`+id+`"`, "Bank transfer", "EUR")
	// The form shows the stored site as typed, and its preview.
	resp, err := b.c.Get(e.url + loc)
	if err != nil {
		t.Fatal(err)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	_, _, page := read(t, resp)
	contains(t, "the site's form", page, `id="notice"`, `value="Boutique"`, "FR, , 20.00, TVA, inclusive", "CA, QC, 9.97, QST, exclusive",
		"EUR, 3, 1.50", "seats, numeric, Seats, Places, optional, 3", "size, dropdown, Size, Taille, required, s=Small;Petit | l=Large",
		`id="method-bank_transfer" checked`, `id="default" checked`, `<option value="unpaid" selected>Mark the subscription unpaid</option>`, `id="preview-logo"`, "--brand:#aa0011",
		`id="method-direct_debit"> Direct Debit</label>`)
	if !strings.Contains(csp, "img-src 'self' data: https://cdn.example/logo.png;") {
		t.Errorf("the form's CSP does not allow the logo: %s", csp)
	}

	// Edit: the whole form is the new state (methods unticked are off).
	f = siteForm(csrf, "Boutique 2")
	if status, _, body := b.post("/dashboard/sites/"+id, f); status != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", status, body)
	}
	s = e.getSite(e.orgA, id)
	if s.GetName() != "Boutique 2" || len(s.GetTaxRates()) != 0 || len(s.GetInstallmentPlans()) != 0 || s.GetDefault() ||
		len(s.GetPaymentMethodTypes()) != 1 || s.GetBranding().GetLogoUrl() != "" {
		t.Errorf("edited site: %v", s)
	}
}

// TestSiteFormErrors: the form's own and the API's validation errors are
// shown next to their fields, the form keeps what was typed, and nothing
// is written.
func TestSiteFormErrors(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["owner"])
	before := e.getSite(e.orgA, e.siteA)
	cases := []struct {
		name, field, value, input, message string
	}{
		{"three decimals of a rate", "tax_rates", "FR, , 19.975, TVA, inclusive", "tax_rates", "Line 1:"},
		{"a tax line too long", "tax_rates", "FR, , 20, TVA, inclusive, extra", "tax_rates", "Line 1:"},
		{"an unknown country", "tax_rates", "ZZ, , 20, TVA, inclusive", "tax_rates", "ISO 3166-1"},
		{"an installment count", "installment_plans", "EUR, 20, 1", "installment_plans", "from 2 to"},
		{"a custom field line", "custom_fields", "size, dropdown, Size, Taille, maybe, s=Small", "custom_fields", "Line 1:"},
		{"a custom field type", "custom_fields", "when, date, When, Quand, required,", "custom_fields", "type must be"},
		{"a colour", "primary_color", "red", "primary_color", "#rrggbb"},
		{"an http logo", "logo_url", "http://cdn.example/logo.png", "logo_url", "https"},
		{"a currency", "default_currency", "EURO", "default_currency", "EURO"},
		{"no name", "name", " ", "name", "name"},
		{"bank transfer without instructions", "payment_method_types", "bank_transfer", "bank_transfer_instructions", "instructions"},
		{"an account line", "provider_accounts", "card", "provider_accounts", "method=account"},
		{"an unknown account", "provider_accounts", "card=pa_nope", "provider_accounts", "pa_nope"},
		{"a dunning end", "subscription_dunning_end", "delete", "subscription_dunning_end", "must be one of"},
	}
	for _, c := range cases {
		for _, path := range []string{"/dashboard/sites/new", "/dashboard/sites/" + e.siteA} {
			f := siteForm(csrf, "Changed")
			f[c.field] = []string{c.value}
			status, _, page := b.post(path, f)
			if status != http.StatusBadRequest {
				t.Errorf("%s at %s: %d, want 400", c.name, path, status)
				continue
			}
			kept := `id="name" name="name" value="Changed"` // what was typed stays
			if c.field == "name" {
				kept = `id="default_currency" name="default_currency" value="EUR"`
			}
			contains(t, c.name, page, `<p class="ferr" id="`+c.input+`-error">`, `href="#`+c.input+`"`, c.message, kept)
		}
	}
	var changed int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM admin.sites WHERE name = 'Changed'`).Scan(&changed); err != nil {
		t.Fatal(err)
	}
	if changed != 0 || e.getSite(e.orgA, e.siteA).GetName() != before.GetName() {
		t.Errorf("a refused form wrote a site (%d named Changed)", changed)
	}
}

// TestSitePreview: the Preview button re-shows the form with the header as
// the hosted page would show it, saves nothing, and lets the page load the
// logo's one https URL; a logo that is not https is not loaded, and the
// CSP stays as strict as on the other pages.
func TestSitePreview(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["owner"])
	preview := func(logo, colour string) (string, string) {
		f := siteForm(csrf, "Preview shop")
		f["op"], f["logo_url"], f["primary_color"] = []string{"preview"}, []string{logo}, []string{colour}
		resp, err := b.c.PostForm(e.url+"/dashboard/sites/"+e.siteA, f)
		if err != nil {
			t.Fatal(err)
		}
		status, _, page := read(t, resp)
		if status != http.StatusOK {
			t.Fatalf("preview: %d\n%s", status, page)
		}
		return resp.Header.Get("Content-Security-Policy"), page
	}
	csp, page := preview("https://img.example/brand/logo.svg?v=2", "#123ABC")
	contains(t, "the preview", page, `id="preview"`, `src="https://img.example/brand/logo.svg"`, "--brand:#123abc", "Preview shop")
	if !strings.Contains(csp, "img-src 'self' data: https://img.example/brand/logo.svg;") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("preview CSP: %s", csp)
	}
	if e.getSite(e.orgA, e.siteA).GetName() == "Preview shop" {
		t.Error("the preview saved the site")
	}
	for _, logo := range []string{"http://img.example/logo.png", "https://img.example/a b;script-src *", "javascript:alert(1)"} {
		csp, page := preview(logo, "red;}body{display:none")
		if strings.Contains(page, `id="preview-logo"`) || strings.Contains(csp, "img.example") || strings.Contains(csp, "script-src *") {
			t.Errorf("logo %q was allowed: %s", logo, csp)
		}
		contains(t, "a refused logo's preview", page, `id="preview-no-logo"`, "--brand:#1d4ed8")
	}
	// Another page keeps the strict CSP.
	resp, err := b.c.Get(e.url + "/dashboard/sites")
	if err != nil {
		t.Fatal(err)
	}
	read(t, resp)
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "img-src 'self' data:;") {
		t.Errorf("the list's CSP: %s", got)
	}
}

// TestSiteReadOnly: support and viewer see a site's settings in a disabled
// form, without the buttons or the New site link.
func TestSiteReadOnly(t *testing.T) {
	e := newEnv(t)
	for _, role := range []string{"support", "viewer"} {
		b := e.browser()
		b.login(e.users[role])
		_, _, list := b.get("/dashboard/sites")
		contains(t, role+"'s list", list, e.siteA)
		if strings.Contains(list, `id="new-site"`) {
			t.Errorf("%s sees New site", role)
		}
		_, _, page := b.get("/dashboard/sites/" + e.siteA)
		contains(t, role+"'s site page", page, `<fieldset class="plain" disabled>`, `value="Shop `+e.orgA+`"`)
		if strings.Contains(page, `id="save"`) || strings.Contains(page, `id="preview-button"`) {
			t.Errorf("%s sees the form's buttons", role)
		}
	}
	b := e.browser()
	b.login(e.users["developer"])
	_, _, page := b.get("/dashboard/sites/" + e.siteA)
	contains(t, "the developer's site page", page, `<fieldset class="plain">`, `id="save"`, `id="preview-button"`)
}

// TestSiteShowsItsRoutes: a site's page lists its routes, read-only, with
// their accounts in order, weights and rules.
func TestSiteShowsItsRoutes(t *testing.T) {
	e := newEnv(t)
	site := e.createSite(e.orgA, false)
	ctx := e.as(e.orgA, false)
	var accts []string
	for range 2 {
		a, err := adminv1.NewProviderAccountServiceClient(e.conn.Inline).CreateProviderAccount(ctx, &adminv1.CreateProviderAccountRequest{Provider: "test"})
		if err != nil {
			t.Fatal(err)
		}
		accts = append(accts, a.GetProviderAccount().GetId())
	}
	min := int64(500)
	rt, err := adminv1.NewRouteServiceClient(e.conn.Inline).CreateRoute(ctx, &adminv1.CreateRouteRequest{Site: site, PaymentMethod: "card",
		Type: "volume_split", Default: true, Name: "Split", Accounts: []*adminv1.RouteAccount{{ProviderAccount: accts[0], Weight: 70}, {ProviderAccount: accts[1], Weight: 30}},
		Rules: &adminv1.RouteRules{Currencies: []string{"eur", "gbp"}, AmountMin: &min, BillingCountries: []string{"fr"}}})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login(e.users["support"])
	status, _, page := b.get("/dashboard/sites/" + site)
	if status != http.StatusOK {
		t.Fatalf("site page: %d", status)
	}
	contains(t, "the site's routes", page, `id="route-`+rt.GetRoute().GetId()+`"`, "Volume split", accts[0]+" · 70 %", accts[1]+" · 30 %",
		"EUR, GBP", "Amount from (minor units): 500", "Billing countries: FR", "default")
}
