package dashboard

import (
	"net/url"
	"testing"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// TestSiteFormBothWays: a site shown in the form and posted back unchanged
// is the same site.
func TestSiteFormBothWays(t *testing.T) {
	s := &adminv1.Site{Id: "site_1", Name: "Shop", DefaultCurrency: "EUR", DefaultSuccessUrl: "https://a.example/ok",
		DefaultCancelUrl: "https://a.example/no", PaymentMethodTypes: []string{"card", "bank_transfer"},
		Branding:                 &adminv1.Branding{LogoUrl: "https://a.example/l.png", PrimaryColor: "#112233", AccentColor: "#445566"},
		BankTransferInstructions: "IBAN", AppendTransactionId: true, Default: true,
		TaxRates: []*adminv1.TaxRate{{Country: "FR", PercentageBps: 2000, DisplayName: "TVA", Inclusive: true},
			{Country: "CA", Region: "QC", PercentageBps: 997, DisplayName: "QST"}},
		InstallmentPlans: []*adminv1.InstallmentPlan{{Currency: "BRL", Count: 3, MonthlyInterestBps: 199}},
		ProviderAccounts: map[string]string{"card": "pa_1", "bank_transfer": "pa_2"},
		CustomFields: []*adminv1.CustomField{
			{Key: "company", Label: map[string]string{"en": "Company", "fr": "Société"}, Type: "text", Optional: true, MaximumLength: 100},
			{Key: "seats", Label: map[string]string{"en": "Seats"}, Type: "numeric", MaximumLength: 3},
			{Key: "size", Label: map[string]string{"en": "Size", "fr": "Taille"}, Type: "dropdown", Options: []*adminv1.CustomFieldOption{
				{Value: "s", Label: map[string]string{"en": "Small", "fr": "Petit"}}, {Value: "l", Label: map[string]string{"en": "Large"}}}}}}
	sv := siteForm(s)
	f := url.Values{"name": {sv.Name}, "logo_url": {sv.LogoURL}, "primary_color": {sv.PrimaryColor}, "accent_color": {sv.AccentColor},
		"default_currency": {sv.Currency}, "default_success_url": {sv.SuccessURL}, "default_cancel_url": {sv.CancelURL},
		"payment_method_types": sv.Methods, "bank_transfer_instructions": {sv.Instructions}, "tax_rates": {sv.TaxRates},
		"installment_plans": {sv.Plans}, "provider_accounts": {sv.Accounts}, "custom_fields": {sv.CustomFields}, "append_transaction_id": {"on"}, "default": {"on"}}
	back := readSiteForm(f)
	got := back.apiSite(translator("en"))
	if len(back.Errors) > 0 {
		t.Fatalf("errors: %v", back.Errors)
	}
	got.Id = s.Id
	if !proto.Equal(got, s) {
		t.Errorf("round trip:\n got %v\nwant %v", got, s)
	}
}

func TestBPS(t *testing.T) {
	for _, c := range []struct {
		in  string
		bps int64
		ok  bool
	}{{"20", 2000, true}, {"9.97", 997, true}, {"0.5", 50, true}, {"100", 10000, true}, {"9.975", 0, false}, {"-1", 0, false}, {"", 0, false}, {"x", 0, false}} {
		bps, err := parseBPS(c.in)
		if (err == nil) != c.ok || bps != c.bps {
			t.Errorf("parseBPS(%q) = %d, %v", c.in, bps, err)
		}
		if c.ok {
			if again, _ := parseBPS(formatBPS(bps)); again != bps {
				t.Errorf("formatBPS(%d) = %q reads back as %d", bps, formatBPS(bps), again)
			}
		}
	}
}

func TestSiteFieldOfParam(t *testing.T) {
	for param, want := range map[string]string{"branding[logo_url]": "logo_url", "branding[primary_color]": "primary_color",
		"tax_rates[2][country]": "tax_rates", "installment_plans[0][count]": "installment_plans", "provider_accounts[card]": "provider_accounts",
		"payment_method_types[1]": "payment_method_types", "name": "name", "default_currency": "default_currency", "": "save", "livemode": "save"} {
		if got := siteFieldOfParam(param); got != want {
			t.Errorf("siteFieldOfParam(%q) = %q, want %q", param, got, want)
		}
	}
}

// TestLogoSource: only an https URL a CSP can name exactly is allowed.
func TestLogoSource(t *testing.T) {
	for in, want := range map[string]string{
		"https://cdn.example/logo.png":         "https://cdn.example/logo.png",
		"https://cdn.example:8443/a/b.svg?v=1": "https://cdn.example:8443/a/b.svg",
		"https://cdn.example/a%20b.png":        "https://cdn.example/a%20b.png",
		"http://cdn.example/logo.png":          "",
		"https://u:p@cdn.example/logo.png":     "",
		"https://cdn.example/a;b.png":          "",
		"https://cdn.example/a,b.png":          "",
		"https://cdn.example/a'b.png":          "",
		"https://*.example/logo.png":           "",
		"data:image/png;base64,AAAA":           "",
		"javascript:alert(1)":                  "",
		"":                                     "",
	} {
		src, csp := logoSource(in)
		if src != want || csp != want {
			t.Errorf("logoSource(%q) = %q, %q, want %q", in, src, csp, want)
		}
	}
}
