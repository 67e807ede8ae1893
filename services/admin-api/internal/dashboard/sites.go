package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/site"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// sitesView is the Sites page's data.
type sitesView struct {
	Sites     []*adminv1.Site
	CanManage bool
}

func (h *Handler) listSitesPage(w http.ResponseWriter, r *http.Request, v visit) {
	sites, err := h.listSites(v.principal(r.Context()))
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	h.render(w, r, http.StatusOK, "sites", &v, "sites", sitesView{Sites: sites, CanManage: Allowed(v.role, ActionManageSites)})
}

// siteView is the site form's data: the fields as typed (tax rates,
// installment plans and provider accounts one per line), the problems, and
// the preview of the hosted page's header.
type siteView struct {
	// ID is empty on the new-site form.
	ID, Name, LogoURL, PrimaryColor, AccentColor, Currency, SuccessURL, CancelURL string
	Methods                                                                       []string
	Instructions, TaxRates, Plans, Accounts, CustomFields                         string
	AppendID, Default                                                             bool
	Errors                                                                        []formError
	Field                                                                         map[string]string
	// DunningEnd is what the end of dunning does to the site's
	// subscriptions (site.DunningEnds).
	DunningEnd string
	// CanManage shows the form's buttons; others see it read-only.
	CanManage bool
	// Preview is shown when asked for; Logo is its image, only an https URL.
	Preview bool
	Logo    string
	Notice  string
	// Routes are the site's routes (docs/routing.md), listed on a stored
	// site's page; CanRoute links to their forms (routes.go).
	Routes   []*adminv1.Route
	CanRoute bool
}

func (sv *siteView) fail(id, msg string) {
	if _, dup := sv.Field[id]; dup {
		return
	}
	sv.Field[id] = msg
	sv.Errors = append(sv.Errors, formError{ID: id, Message: msg})
}

// HasMethod reports whether the form enables the payment method m.
func (sv *siteView) HasMethod(m string) bool { return slices.Contains(sv.Methods, m) }

// DunningEnds are the choices of the dunning-end select.
func (sv *siteView) DunningEnds() []string { return site.DunningEnds }

// AllMethods are the payment methods the form offers.
func (sv *siteView) AllMethods() []string { return site.Methods }

// Colour is the preview's brand colour: c when it is #rrggbb, else the
// hosted page's default. Only a checked value reaches the page's CSS.
func (sv *siteView) Colour(c, fallback string) string {
	if colourValue.MatchString(c) {
		return strings.ToLower(c)
	}
	return fallback
}

var colourValue = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (h *Handler) newSite(w http.ResponseWriter, r *http.Request, v visit) {
	h.showSiteForm(w, r, v, http.StatusOK, &siteView{Methods: []string{"card"}, AppendID: true, Field: map[string]string{}})
}

func (h *Handler) editSite(w http.ResponseWriter, r *http.Request, v visit) {
	resp, err := h.sites.GetSite(v.principal(r.Context()), &adminv1.GetSiteRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	sv := siteForm(resp.GetSite())
	routes, err := h.routes.ListRoutes(v.principal(r.Context()), &adminv1.ListRoutesRequest{Site: sv.ID, Limit: proto.Int32(100)})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	sv.Routes = routes.GetData()
	switch r.URL.Query().Get("notice") {
	case "saved":
		sv.Notice = "sites.saved"
	case "route_deleted":
		sv.Notice = "routes.deleted"
	}
	h.showSiteForm(w, r, v, http.StatusOK, sv)
}

// showSiteForm renders the form; with a preview, the page's CSP lets the
// logo's one https URL load as an image, and nothing else.
func (h *Handler) showSiteForm(w http.ResponseWriter, r *http.Request, v visit, status int, sv *siteView) {
	sv.CanManage, sv.CanRoute = Allowed(v.role, ActionManageSites), Allowed(v.role, ActionManageProviders)
	img := ""
	if sv.Preview {
		sv.Logo, img = logoSource(sv.LogoURL)
	}
	h.renderPage(w, r, status, "site", &v, "sites", sv, img)
}

// logoSource is the logo's URL for the preview and the CSP source that
// allows exactly it: an absolute https URL whose host and path need no
// escaping in a CSP (else no image is shown). CSP matches the path but not
// the query, which is dropped.
func logoSource(raw string) (src, csp string) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || !cspHost.MatchString(u.Host) || !cspPath.MatchString(u.EscapedPath()) {
		return "", ""
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String(), u.String()
}

var (
	cspHost = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$`)
	cspPath = regexp.MustCompile(`^(/[A-Za-z0-9._~%!$&+=@-]*)*$`)
)

// siteForm is a stored site as the form shows it.
func siteForm(s *adminv1.Site) *siteView {
	sv := &siteView{ID: s.GetId(), Name: s.GetName(), LogoURL: s.GetBranding().GetLogoUrl(), PrimaryColor: s.GetBranding().GetPrimaryColor(),
		AccentColor: s.GetBranding().GetAccentColor(), Currency: s.GetDefaultCurrency(), SuccessURL: s.GetDefaultSuccessUrl(),
		CancelURL: s.GetDefaultCancelUrl(), Methods: s.GetPaymentMethodTypes(), Instructions: s.GetBankTransferInstructions(),
		AppendID: s.GetAppendTransactionId(), Default: s.GetDefault(), DunningEnd: s.GetSubscriptionDunningEnd(),
		Field: map[string]string{}, Preview: true}
	var b strings.Builder
	for _, t := range s.GetTaxRates() {
		incl := "exclusive"
		if t.GetInclusive() {
			incl = "inclusive"
		}
		fmt.Fprintf(&b, "%s, %s, %s, %s, %s\n", t.GetCountry(), t.GetRegion(), formatBPS(t.GetPercentageBps()), t.GetDisplayName(), incl)
	}
	sv.TaxRates, b = b.String(), strings.Builder{}
	for _, p := range s.GetInstallmentPlans() {
		fmt.Fprintf(&b, "%s, %d, %s\n", p.GetCurrency(), p.GetCount(), formatBPS(p.GetMonthlyInterestBps()))
	}
	sv.Plans, b = b.String(), strings.Builder{}
	methods := make([]string, 0, len(s.GetProviderAccounts()))
	for m := range s.GetProviderAccounts() {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	for _, m := range methods {
		fmt.Fprintf(&b, "%s=%s\n", m, s.GetProviderAccounts()[m])
	}
	sv.Accounts, b = b.String(), strings.Builder{}
	for _, f := range s.GetCustomFields() {
		need, last := "required", strconv.Itoa(int(f.GetMaximumLength()))
		if f.GetOptional() {
			need = "optional"
		}
		if f.GetType() == site.FieldDropdown {
			opts := make([]string, len(f.GetOptions()))
			for i, o := range f.GetOptions() {
				opts[i] = o.GetValue() + "=" + o.GetLabel()["en"]
				if fr := o.GetLabel()["fr"]; fr != "" {
					opts[i] += ";" + fr
				}
			}
			last = strings.Join(opts, " | ")
		}
		fmt.Fprintf(&b, "%s, %s, %s, %s, %s, %s\n", f.GetKey(), f.GetType(), f.GetLabel()["en"], f.GetLabel()["fr"], need, last)
	}
	sv.CustomFields = b.String()
	return sv
}

// readSiteForm reads the posted form.
func readSiteForm(f url.Values) *siteView {
	tv := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	return &siteView{Name: tv("name"), LogoURL: tv("logo_url"), PrimaryColor: tv("primary_color"), AccentColor: tv("accent_color"),
		Currency: strings.ToUpper(tv("default_currency")), SuccessURL: tv("default_success_url"), CancelURL: tv("default_cancel_url"),
		Methods: f["payment_method_types"], Instructions: f.Get("bank_transfer_instructions"), TaxRates: f.Get("tax_rates"),
		Plans: f.Get("installment_plans"), Accounts: f.Get("provider_accounts"), CustomFields: f.Get("custom_fields"), AppendID: f.Get("append_transaction_id") == "on",
		Default: f.Get("default") == "on", DunningEnd: tv("subscription_dunning_end"), Field: map[string]string{}}
}

// siteFields are the update-mask paths the form sets: all of them, since
// it shows every field.
var siteFields = []string{"name", "branding", "default_currency", "default_success_url", "default_cancel_url", "payment_method_types",
	"tax_rates", "bank_transfer_instructions", "append_transaction_id", "provider_accounts", "installment_plans", "default", "custom_fields",
	"subscription_dunning_end"}

// saveSite creates (no id in the path) or updates a site through the Site
// service, or with op=preview only re-shows the form with the preview.
func (h *Handler) saveSite(w http.ResponseWriter, r *http.Request, v visit) {
	sv := readSiteForm(r.PostForm)
	sv.ID = r.PathValue("id")
	if r.PostForm.Get("op") == "preview" {
		sv.Preview = true
		h.showSiteForm(w, r, v, http.StatusOK, sv)
		return
	}
	tr := translator(pageLang(r))
	s := sv.apiSite(tr)
	if len(sv.Errors) > 0 {
		h.showSiteForm(w, r, v, http.StatusBadRequest, sv)
		return
	}
	ctx := v.principal(r.Context())
	var err error
	id := sv.ID
	if id == "" {
		var resp *adminv1.CreateSiteResponse
		resp, err = h.sites.CreateSite(ctx, &adminv1.CreateSiteRequest{Name: s.Name, Branding: s.Branding, DefaultCurrency: s.DefaultCurrency,
			DefaultSuccessUrl: s.DefaultSuccessUrl, DefaultCancelUrl: s.DefaultCancelUrl, PaymentMethodTypes: s.PaymentMethodTypes,
			TaxRates: s.TaxRates, BankTransferInstructions: s.BankTransferInstructions, AppendTransactionId: proto.Bool(s.AppendTransactionId),
			ProviderAccounts: s.ProviderAccounts, InstallmentPlans: s.InstallmentPlans, Default: proto.Bool(s.Default),
			CustomFields: s.CustomFields, SubscriptionDunningEnd: s.SubscriptionDunningEnd})
		id = resp.GetSite().GetId()
	} else {
		_, err = h.sites.UpdateSite(ctx, &adminv1.UpdateSiteRequest{Id: id, Name: s.Name, Branding: s.Branding, DefaultCurrency: s.DefaultCurrency,
			DefaultSuccessUrl: s.DefaultSuccessUrl, DefaultCancelUrl: s.DefaultCancelUrl, PaymentMethodTypes: s.PaymentMethodTypes,
			TaxRates: s.TaxRates, BankTransferInstructions: s.BankTransferInstructions, AppendTransactionId: s.AppendTransactionId,
			ProviderAccounts: s.ProviderAccounts, InstallmentPlans: s.InstallmentPlans, Default: s.Default,
			CustomFields: s.CustomFields, SubscriptionDunningEnd: s.SubscriptionDunningEnd, UpdateMask: &fieldmaskpb.FieldMask{Paths: siteFields}})
	}
	if isNotFound(err) && sv.ID != "" {
		h.errorPage(w, r, &v, http.StatusNotFound)
		return
	}
	if e := apiError(err); e != nil {
		sv.fail(siteFieldOfParam(e.Param), e.Message)
		h.showSiteForm(w, r, v, http.StatusBadRequest, sv)
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/sites/"+url.PathEscape(id)+"?notice=saved", http.StatusSeeOther)
}

// apiSite turns the form into the API's site, recording in sv the lines that
// cannot be read. Rates are percentages with at most two decimals ("20",
// "5.5", "19,6"), converted exactly to basis points, never rounded.
func (sv *siteView) apiSite(tr translator) *adminv1.Site {
	s := &adminv1.Site{Name: sv.Name, DefaultCurrency: sv.Currency, DefaultSuccessUrl: sv.SuccessURL, DefaultCancelUrl: sv.CancelURL,
		Branding:           &adminv1.Branding{LogoUrl: sv.LogoURL, PrimaryColor: sv.PrimaryColor, AccentColor: sv.AccentColor},
		PaymentMethodTypes: sv.Methods, BankTransferInstructions: sv.Instructions, AppendTransactionId: sv.AppendID, Default: sv.Default,
		SubscriptionDunningEnd: sv.DunningEnd}
	for n, line := range lines(sv.TaxRates) {
		p, ok := splitLine(line, 5)
		bps, err := parseBPS(p[2])
		incl := strings.ToLower(p[4])
		if !ok || p[0] == "" || err != nil || (incl != "inclusive" && incl != "exclusive" && incl != "") {
			sv.fail("tax_rates", tr.T("sites.err_tax_line", n))
			break
		}
		s.TaxRates = append(s.TaxRates, &adminv1.TaxRate{Country: p[0], Region: p[1], PercentageBps: bps, DisplayName: p[3], Inclusive: incl == "inclusive"})
	}
	for n, line := range lines(sv.Plans) {
		p, ok := splitLine(line, 3)
		count, cerr := strconv.ParseInt(p[1], 10, 32)
		bps, err := parseBPS(p[2])
		if !ok || p[0] == "" || cerr != nil || err != nil {
			sv.fail("installment_plans", tr.T("sites.err_plan_line", n))
			break
		}
		s.InstallmentPlans = append(s.InstallmentPlans, &adminv1.InstallmentPlan{Currency: p[0], Count: int32(count), MonthlyInterestBps: bps})
	}
	for n, line := range lines(sv.CustomFields) {
		f, ok := customFieldLine(line)
		if !ok {
			sv.fail("custom_fields", tr.T("sites.err_field_line", n))
			break
		}
		s.CustomFields = append(s.CustomFields, f)
	}
	accounts, ok := parseMetadata(sv.Accounts)
	if !ok {
		sv.fail("provider_accounts", tr.T("sites.err_accounts"))
	}
	s.ProviderAccounts = accounts
	return s
}

// customFieldLine reads a custom field written on one line as
// "key, type, English label, French label, required|optional, last", where
// last is the maximum length of a text or numeric field (empty: the
// default) and a dropdown's options, "value=English;French | …". The API
// checks the field itself.
func customFieldLine(line string) (*adminv1.CustomField, bool) {
	p, ok := splitLine(line, 6)
	if !ok || (p[4] != "required" && p[4] != "optional") {
		return nil, false
	}
	f := &adminv1.CustomField{Key: p[0], Type: p[1], Label: labels(p[2], p[3]), Optional: p[4] == "optional"}
	if p[1] != site.FieldDropdown {
		if p[5] != "" {
			n, err := strconv.ParseInt(p[5], 10, 32)
			if err != nil {
				return nil, false
			}
			f.MaximumLength = int32(n)
		}
		return f, true
	}
	for _, o := range strings.Split(p[5], "|") {
		value, label, ok := strings.Cut(o, "=")
		if !ok {
			return nil, false
		}
		en, fr, _ := strings.Cut(label, ";")
		f.Options = append(f.Options, &adminv1.CustomFieldOption{Value: strings.TrimSpace(value), Label: labels(en, fr)})
	}
	return f, true
}

// labels is a label per locale; an empty French text is left out.
func labels(en, fr string) map[string]string {
	l := map[string]string{"en": strings.TrimSpace(en)}
	if fr = strings.TrimSpace(fr); fr != "" {
		l["fr"] = fr
	}
	return l
}

// lines yields the non-blank lines of s with their 1-based numbers.
func lines(s string) func(yield func(int, string) bool) {
	return func(yield func(int, string) bool) {
		n := 0
		for line := range strings.Lines(s) {
			n++
			if line = strings.TrimSpace(line); line != "" && !yield(n, line) {
				return
			}
		}
	}
}

// splitLine is line's comma-separated fields, trimmed, padded to n; false
// when there are more than n.
func splitLine(line string, n int) ([]string, bool) {
	p := strings.Split(line, ",")
	for i := range p {
		p[i] = strings.TrimSpace(p[i])
	}
	ok := len(p) <= n
	for len(p) < n {
		p = append(p, "")
	}
	return p, ok
}

// percent is a percentage in basis points: decimals with an exponent of 2,
// as any currency with cents has (the money package's exact decimal
// conversion, reused; the code is never shown).
var percent, _ = money.ParseCurrency("EUR")

// parseBPS reads a percentage ("5.5"; on the form a comma separates fields) exactly into basis points:
// a third decimal is an error, never rounded.
func parseBPS(s string) (int64, error) { return parseAmount(s, percent) }

// formatBPS writes basis points as a percentage: 550 is "5.50".
func formatBPS(bps int64) string { return money.FormatDecimal(bps, percent) }

// siteFieldOfParam is the form input an API error names: branding[logo_url]
// is logo_url, tax_rates[2][country] is tax_rates.
func siteFieldOfParam(param string) string {
	if strings.HasPrefix(param, "branding[") {
		return strings.TrimSuffix(strings.TrimPrefix(param, "branding["), "]")
	}
	base, _, _ := strings.Cut(param, "[")
	switch base {
	case "name", "default_currency", "default_success_url", "default_cancel_url", "payment_method_types", "tax_rates",
		"bank_transfer_instructions", "provider_accounts", "installment_plans", "custom_fields", "subscription_dunning_end":
		return base
	}
	return "save"
}
