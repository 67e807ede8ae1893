package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// maxPageBytes is the page-weight budget of the hosted page (HTML with its
// inline CSS and JS), which must load fast on a poor mobile connection.
const maxPageBytes = 30 * 1024

// allStates lists every view, in the order the tests report them.
var allStates = []State{
	StateOpen, StateChallenge, StateProcessing, StateBankTransfer,
	StatePaid, StateCompleted, StateExpired, StateNotFound, StateUnavailable, StateReturn, StateMobileMoney,
}

const (
	testSessionID = "cs_test_Q2hrT3V0U2Vzc2lvbklEMTIzNDU2"
	testLogoURL   = "https://cdn.example.com/brand/logo.png"
	testCancelURL = "https://shop.example.com/cart?cancelled=1"
	testContinue  = "https://shop.example.com/thanks?session_id=" + testSessionID
	testSiteName  = "Atelier Lumière"
)

var (
	countriesOnce sync.Once
	countryCodes  []string
)

// countries returns the full country list (about 250 entries, as the real
// select has), named in lang, with selected marked.
func countries(lang, selected string) []CountryOption {
	countriesOnce.Do(func() {
		for a := 'A'; a <= 'Z'; a++ {
			for b := 'A'; b <= 'Z'; b++ {
				r, err := language.ParseRegion(string([]rune{a, b}))
				if err == nil && r.IsCountry() && r.String() == string([]rune{a, b}) {
					countryCodes = append(countryCodes, r.String())
				}
			}
		}
	})
	namer := display.Regions(language.Make(lang))
	out := make([]CountryOption, 0, len(countryCodes))
	for _, code := range countryCodes {
		name := namer.Name(language.MustParseRegion(code))
		if name == "" {
			name = code
		}
		out = append(out, CountryOption{Code: code, Name: name, Selected: code == selected})
	}
	return out
}

// samplePage is a realistic page: three items, VAT, both methods, the full
// country list, every URL filled in.
func samplePage(state State, lang string, testMode bool) *Page {
	money := func(s string) string { return "€" + s }
	if lang == "fr" {
		money = func(s string) string { return strings.Replace(s, ".", ",", 1) + "\u00a0€" }
	}
	base := "/checkout/" + testSessionID
	p := &Page{
		Lang:      lang,
		Nonce:     "cmFuZG9tLW5vbmNlLTEyMzQ1Ng",
		CSRFToken: "Y3NyZi10b2tlbi1mb3ItdGhpcy1zZXNzaW9u",
		State:     state,
		TestMode:  testMode,
		Site: SiteView{
			Name:         testSiteName,
			LogoURL:      testLogoURL,
			PrimaryColor: "#0a7cff",
			AccentColor:  "#ffb400",
		},
		Session: SessionView{
			ID:          testSessionID,
			Reference:   "TP-7KQ2-9XJD",
			Description: "Order #1042",
			CancelURL:   testCancelURL,
		},
		Items: []ItemView{
			{Name: "Linen table cloth", Description: "Natural, 160 × 250 cm", Quantity: 1, UnitPrice: money("25.00"), Total: money("25.00")},
			{Name: "Beeswax candle", Quantity: 3, UnitPrice: money("4.17"), Total: money("12.50")},
			{Name: "Gift wrapping", Quantity: 1, UnitPrice: money("4.17"), Total: money("4.17")},
		},
		Totals: TotalsView{
			Subtotal: money("41.67"),
			Tax:      money("8.33"),
			TaxLabel: "VAT 20%",
			Total:    money("50.00"),
		},
		Methods:   []string{"card", "bank_transfer"},
		Method:    "card",
		Billing:   BillingView{Name: "Camille Martin", Email: "camille@example.fr", Country: "FR", PostalCode: "75011"},
		Countries: countries(lang, "FR"),
		Payment: PaymentView{
			ID: "pay_test_9f8e7d6c5b4a3", Brand: "Visa", Last4: "4242", Amount: money("50.00"),
		},
		Bank: BankView{
			Instructions: "Bank: Banque Exemple\nIBAN: FR76 3000 6000 0112 3456 7890 189\nBIC: BEXAFRPPXXX",
			Reference:    "TP-7KQ2-9XJD",
			Amount:       money("50.00"),
		},
		PayURL:       base + "/pay",
		ChallengeURL: base + "/challenge",
		ContinueURL:  testContinue,
	}
	if state == StateProcessing {
		p.RefreshSeconds = 5
	}
	if state == StateReturn {
		p.ReturnPost = &ReturnPost{Field: "checkoutId", Value: testUUID}
	}
	if state == StateMobileMoney {
		p.RefreshSeconds = 5
		p.MobileMoney = &MobileMoneyView{NextAction: "approve_on_phone", OTPURL: base + "/otp", WaitURL: base + "/return?payment_id=" + p.Payment.ID}
	}
	return p
}

// withInstallments adds installment options to an open sample page, with
// amounts formatted by money.
func withInstallments(p *Page, money func(string) string) *Page {
	p.Installments = []InstallmentView{{Count: 1, Label: "Single payment of " + money("50.00")},
		{Count: 3, Label: "3 installments: 2 of " + money("16.66") + " and a last one of " + money("16.68") + " (total " + money("50.00") + ")"},
		{Count: 6, Label: "6 installments of " + money("8.50") + " (total " + money("51.00") + ")"}}
	return p
}

// testUUID is a PayPorter checkoutId.
const testUUID = "123e4567-e89b-42d3-a456-426614174000"

// mustRenderer builds the renderer once per test binary.
var mustRenderer = sync.OnceValues(newRenderer)

// renderPage renders p and returns the recorder, failing the test on error.
func renderPage(t *testing.T, p *Page) *httptest.ResponseRecorder {
	t.Helper()
	r, err := mustRenderer()
	if err != nil {
		t.Fatalf("newRenderer: %v", err)
	}
	rec := httptest.NewRecorder()
	if err := r.render(rec, http.StatusOK, p); err != nil {
		t.Fatalf("render %s/%s: %v", p.State, p.Lang, err)
	}
	return rec
}

func renderHTML(t *testing.T, p *Page) string {
	t.Helper()
	return renderPage(t, p).Body.String()
}

// tag is one start tag of the page with its attributes.
type tag struct {
	name  string
	attrs map[string]string
	raw   string
}

func (tg tag) has(attr string) bool { _, ok := tg.attrs[attr]; return ok }

var (
	tagRE  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:="[^"]*")?)*)\s*/?>`)
	attrRE = regexp.MustCompile(`([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?`)
)

// startTags returns the page's start tags named one of names (all when none).
func startTags(page string, names ...string) []tag {
	var out []tag
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		name := strings.ToLower(m[1])
		if len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		tg := tag{name: name, attrs: map[string]string{}, raw: m[0]}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			tg.attrs[strings.ToLower(a[1])] = a[2] // as written, entities kept
		}
		out = append(out, tg)
	}
	return out
}

// byID returns the start tag with the given id, or fails.
func byID(t *testing.T, page, id string) tag {
	t.Helper()
	var found []tag
	for _, tg := range startTags(page) {
		if tg.attrs["id"] == id {
			found = append(found, tg)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one element with id=%q, found %d", id, len(found))
	}
	return found[0]
}

// textOf returns the text content of the element with the given id (tags
// stripped), or fails.
func textOf(t *testing.T, page, id string) string {
	t.Helper()
	tg := byID(t, page, id)
	start := strings.Index(page, tg.raw) + len(tg.raw)
	end := strings.Index(page[start:], "</"+tg.name+">")
	if end < 0 {
		t.Fatalf("#%s is not closed", id)
	}
	inner := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page[start:start+end], "")
	return strings.TrimSpace(inner)
}

var voidElements = map[string]bool{"meta": true, "input": true, "img": true, "br": true, "link": true, "hr": true}

// checkBalanced fails when the page's elements do not nest properly (every
// non-void element closed, in order) and when ids repeat.
func checkBalanced(t *testing.T, page string) {
	t.Helper()
	body := regexp.MustCompile(`(?s)(<(?:script|style)[^>]*>).*?(</(?:script|style)>)`).ReplaceAllString(page, "$1$2")
	var stack []string
	for _, m := range regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>`).FindAllStringSubmatch(body, -1) {
		name := strings.ToLower(m[2])
		switch {
		case voidElements[name], strings.HasSuffix(m[0], "/>"): // void, or self-closed inside <svg>
		case m[1] == "":
			stack = append(stack, name)
		case len(stack) == 0 || stack[len(stack)-1] != name:
			t.Fatalf("unbalanced </%s>, open: %v", name, stack)
		default:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements: %v", stack)
	}
	seen := map[string]bool{}
	for _, tg := range startTags(page) {
		if id, ok := tg.attrs["id"]; ok {
			if seen[id] {
				t.Errorf("duplicate id %q", id)
			}
			seen[id] = true
		}
	}
}

// TestRenderEveryState renders each view in both languages, in and out of
// test mode, checks the basics and reports the page weight.
func TestRenderEveryState(t *testing.T) {
	for _, state := range allStates {
		for _, lang := range []string{"en", "fr"} {
			for _, testMode := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s/test=%v", state, lang, testMode)
				t.Run(name, func(t *testing.T) {
					p := samplePage(state, lang, testMode)
					rec := renderPage(t, p)
					page := rec.Body.String()
					if rec.Code != http.StatusOK {
						t.Errorf("status %d", rec.Code)
					}
					if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
						t.Errorf("Content-Type %q", ct)
					}
					for _, h := range []string{"Content-Security-Policy", "Strict-Transport-Security", "Cache-Control"} {
						if rec.Header().Get(h) != "" {
							t.Errorf("render set %s; that is the handler's job", h)
						}
					}
					if len(page) >= maxPageBytes {
						t.Errorf("page is %d bytes, budget %d", len(page), maxPageBytes)
					}
					if testMode {
						t.Logf("%-13s %s: %6d bytes", state, lang, len(page))
					}
					if !strings.HasPrefix(page, "<!doctype html>\n<html lang=\""+lang+"\">") {
						t.Errorf("page does not start with the doctype and lang: %.60q", page)
					}
					checkBalanced(t, page)
					checkNoExternalRequests(t, p, page)
					checkLabels(t, page)
					if strings.Contains(page, "ZgotmplZ") {
						t.Errorf("a value was rejected by html/template (ZgotmplZ)")
					}
					// Every inline style and script carries the CSP nonce.
					for _, tg := range startTags(page, "style", "script") {
						if tg.attrs["nonce"] != p.Nonce {
							t.Errorf("<%s> without the nonce: %s", tg.name, tg.raw)
						}
					}
					banner := strings.Contains(page, `id="test-mode"`)
					if want := testMode && state != StateNotFound; banner != want {
						t.Errorf("test-mode banner shown=%v, want %v", banner, want)
					}
				})
			}
		}
	}
}

// checkNoExternalRequests: the logo is the only thing the page loads from
// elsewhere; other absolute URLs may only be links the payer follows.
func checkNoExternalRequests(t *testing.T, p *Page, page string) {
	t.Helper()
	for _, bad := range []string{"<link", "@import", "url(", "<iframe", "<object", "<embed", "<base", "srcset"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, tg := range startTags(page) {
		if src, ok := tg.attrs["src"]; ok && src != testLogoURL {
			t.Errorf("<%s src=%q>: only the logo may be loaded", tg.name, src)
		}
		if tg.name == "script" && tg.has("src") {
			t.Errorf("external script: %s", tg.raw)
		}
		for _, attr := range []string{"href", "action"} {
			u, ok := tg.attrs[attr]
			if !ok || strings.HasPrefix(u, "#") || strings.HasPrefix(u, "/checkout/") {
				continue
			}
			// A merchant URL is a link, or a form's action when the
			// session returns the payer by POST.
			if (attr == "href" || p.ReturnPost != nil) && (u == html(testCancelURL) || u == html(testContinue)) {
				continue
			}
			t.Errorf("<%s %s=%q>: not a same-origin or merchant link", tg.name, attr, u)
		}
	}
	// Absolute URLs anywhere else (text, CSS, JS) must be one of the known ones.
	rest := page
	for _, u := range []string{testLogoURL, html(testCancelURL), html(testContinue)} {
		rest = strings.ReplaceAll(rest, u, "")
	}
	if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindString(rest); m != "" {
		t.Errorf("unexpected absolute URL %q", m)
	}
	if p.State == StateNotFound && strings.Contains(page, testLogoURL) {
		t.Errorf("not-found page shows the logo")
	}
}

// html is s as html/template writes it in an attribute.
func html(s string) string { return strings.ReplaceAll(s, "&", "&amp;") }

// checkLabels: every visible input and select has an id and a <label for>.
func checkLabels(t *testing.T, page string) {
	t.Helper()
	labels := map[string]bool{}
	for _, tg := range startTags(page, "label") {
		labels[tg.attrs["for"]] = true
	}
	for _, tg := range startTags(page, "input", "select", "textarea") {
		if typ := tg.attrs["type"]; typ == "hidden" || typ == "submit" {
			continue
		}
		id := tg.attrs["id"]
		if id == "" || !labels[id] {
			t.Errorf("input without a label: %s", tg.raw)
		}
	}
}

// TestOpenFormContract checks the names, ids and attributes the handlers and
// the browser test rely on.
func TestOpenFormContract(t *testing.T) {
	p := samplePage(StateOpen, "en", true)
	page := renderHTML(t, p)

	form := byID(t, page, "pay-form")
	if form.attrs["method"] != "post" || form.attrs["action"] != p.PayURL {
		t.Errorf("form: %s", form.raw)
	}
	if et, ok := form.attrs["enctype"]; ok && et != "application/x-www-form-urlencoded" {
		t.Errorf("form enctype %q", et)
	}
	if got := form.attrs["data-quote"]; got != "/checkout/"+testSessionID+"/quote" {
		t.Errorf("data-quote = %q", got)
	}

	names := map[string]bool{}
	for _, tg := range startTags(page, "input", "select", "button") {
		if n, ok := tg.attrs["name"]; ok {
			names[n] = true
		}
	}
	want := []string{"csrf_token", "method", "name", "email", "country", "postal_code", "region", "card_number", "card_exp", "card_cvc", "action"}
	for _, n := range want {
		if !names[n] {
			t.Errorf("no field named %q", n)
		}
		delete(names, n)
	}
	if len(names) != 0 {
		t.Errorf("unexpected field names: %v", names)
	}

	var csrfInputs []tag
	for _, tg := range startTags(page, "input") {
		if tg.attrs["name"] == "csrf_token" {
			csrfInputs = append(csrfInputs, tg)
		}
	}
	if len(csrfInputs) != 1 || csrfInputs[0].attrs["type"] != "hidden" || csrfInputs[0].attrs["value"] != p.CSRFToken {
		t.Errorf("csrf_token inputs: %v", csrfInputs)
	}

	for id, attrs := range map[string]map[string]string{
		"card_number":          {"name": "card_number", "autocomplete": "cc-number", "inputmode": "numeric"},
		"card_exp":             {"name": "card_exp", "autocomplete": "cc-exp", "inputmode": "numeric"},
		"card_cvc":             {"name": "card_cvc", "autocomplete": "cc-csc", "inputmode": "numeric"},
		"name":                 {"name": "name", "value": "Camille Martin", "autocomplete": "name"},
		"email":                {"name": "email", "type": "email", "value": "camille@example.fr", "autocomplete": "email"},
		"country":              {"name": "country", "autocomplete": "country"},
		"postal_code":          {"name": "postal_code", "value": "75011", "autocomplete": "postal-code"},
		"region":               {"name": "region", "autocomplete": "address-level1"},
		"method-card":          {"name": "method", "type": "radio", "value": "card", "checked": ""},
		"method-bank_transfer": {"name": "method", "type": "radio", "value": "bank_transfer"},
		"pay-button":           {"name": "action", "value": "pay", "type": "submit"},
		"update-total":         {"name": "action", "value": "update_total", "type": "submit", "formnovalidate": ""},
	} {
		tg := byID(t, page, id)
		for k, v := range attrs {
			if got, ok := tg.attrs[k]; !ok || got != v {
				t.Errorf("#%s %s=%q, want %q (%s)", id, k, got, v, tg.raw)
			}
		}
	}
	if byID(t, page, "method-bank_transfer").has("checked") {
		t.Errorf("bank_transfer checked too")
	}
	// Card inputs never echo what was typed.
	for _, id := range []string{"card_number", "card_exp", "card_cvc"} {
		if byID(t, page, id).has("value") {
			t.Errorf("#%s has a value", id)
		}
	}

	// Enter presses a "pay" button, not "update_total": the first submit
	// button of the form says pay.
	formHTML := page[strings.Index(page, form.raw):]
	if first := startTags(formHTML, "button")[0]; first.attrs["value"] != "pay" {
		t.Errorf("first button of the form is %s", first.raw)
	}

	if got := textOf(t, page, "pay-button"); got != "Pay €50.00" {
		t.Errorf("pay button %q", got)
	}
	if got := byID(t, page, "pay-button").attrs["data-label"]; got != "Pay %s" {
		t.Errorf("pay button data-label %q", got)
	}
	if got := textOf(t, page, "total"); got != "€50.00" {
		t.Errorf("#total %q", got)
	}
	if got := textOf(t, page, "tax"); got != "€8.33" {
		t.Errorf("#tax %q", got)
	}
	if got := textOf(t, page, "tax-label"); got != "VAT 20%" {
		t.Errorf("#tax-label %q", got)
	}
	if byID(t, page, "tax-row").has("hidden") {
		t.Errorf("tax row hidden although there is tax")
	}
	if !byID(t, page, "included-row").has("hidden") {
		t.Errorf("included-tax row shown although there is none")
	}
	if cancel := byID(t, page, "cancel"); cancel.attrs["href"] != html(testCancelURL) {
		t.Errorf("cancel link %s", cancel.raw)
	}
	sel := `<option value=FR selected>France</option>`
	if !strings.Contains(page, sel) {
		t.Errorf("country FR not selected")
	}
	if strings.Contains(page, `id="errors"`) {
		t.Errorf("error summary without errors")
	}
	for _, tg := range startTags(page) {
		if tg.has("aria-invalid") {
			t.Errorf("aria-invalid without errors: %s", tg.raw)
		}
	}
	// The six test cards.
	for _, n := range []string{"4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0000 0000 9995", "4000 0000 0000 3220", "4000 0000 0000 0077", "4000 0000 0000 0119"} {
		if !strings.Contains(page, n) {
			t.Errorf("test card %s missing", n)
		}
	}
	// Colours reach the stylesheet, with a readable text colour.
	if !strings.Contains(page, ":root{--p:#0a7cff;--on-p:#111;--a:#ffb400;--ink:") {
		t.Errorf("colour variables missing: %s", regexp.MustCompile(`:root\{[^}]*\}`).FindString(page))
	}
}

func TestOpenFormLiveModeHasNoTestHelp(t *testing.T) {
	page := renderHTML(t, samplePage(StateOpen, "en", false))
	for _, s := range []string{"4242 4242 4242 4242", `id="test-mode"`, "Test cards"} {
		if strings.Contains(page, s) {
			t.Errorf("live page contains %q", s)
		}
	}
}

func TestOpenFormMethods(t *testing.T) {
	t.Run("bank transfer preselected", func(t *testing.T) {
		p := samplePage(StateOpen, "en", true)
		p.Method = "bank_transfer"
		page := renderHTML(t, p)
		if !byID(t, page, "method-bank_transfer").has("checked") || byID(t, page, "method-card").has("checked") {
			t.Errorf("Method not preselected")
		}
		byID(t, page, "bank-fields")
	})
	t.Run("unknown method selects the first", func(t *testing.T) {
		p := samplePage(StateOpen, "en", true)
		p.Method = ""
		page := renderHTML(t, p)
		if !byID(t, page, "method-card").has("checked") {
			t.Errorf("first method not checked")
		}
	})
	t.Run("card only", func(t *testing.T) {
		p := samplePage(StateOpen, "en", true)
		p.Methods, p.Method = []string{"card"}, ""
		page := renderHTML(t, p)
		if strings.Contains(page, `type="radio" name="method"`) || strings.Contains(page, `id="bank-fields"`) {
			t.Errorf("one method but radios or bank text shown")
		}
		if !strings.Contains(page, `<input type="hidden" name="method" value="card">`) {
			t.Errorf("single method not submitted")
		}
		byID(t, page, "card_number")
	})
	t.Run("bank transfer only", func(t *testing.T) {
		p := samplePage(StateOpen, "fr", true)
		p.Methods, p.Method = []string{"bank_transfer"}, "bank_transfer"
		page := renderHTML(t, p)
		if strings.Contains(page, `name="card_number"`) || strings.Contains(page, "4242 4242") {
			t.Errorf("card fields or test cards shown without the card method")
		}
		if !strings.Contains(page, `<input type="hidden" name="method" value="bank_transfer">`) {
			t.Errorf("single method not submitted")
		}
		if !strings.Contains(textOf(t, page, "bank-fields"), "coordonnées bancaires") {
			t.Errorf("bank explanation not in French")
		}
	})
}

func TestOpenFormNoTax(t *testing.T) {
	p := samplePage(StateOpen, "en", false)
	p.Totals = TotalsView{Subtotal: "€50.00", IncludedTax: "€8.33", TaxLabel: "VAT 20%", Total: "€50.00"}
	page := renderHTML(t, p)
	if !byID(t, page, "tax-row").has("hidden") {
		t.Errorf("tax row shown without tax")
	}
	if byID(t, page, "included-row").has("hidden") || textOf(t, page, "included-tax") != "€8.33" {
		t.Errorf("included tax not shown")
	}
}

func TestFieldErrors(t *testing.T) {
	for _, lang := range []string{"en", "fr"} {
		t.Run(lang, func(t *testing.T) {
			tr := newTranslator(lang)
			p := samplePage(StateOpen, lang, true)
			p.FieldErrors = map[string]string{
				"card_number": tr.T("err.card_number"),
				"email":       tr.T("err.email"),
				"method":      tr.T("err.method"),
				"nickname":    "unknown field message",
			}
			p.FormError = tr.T("decline.card_declined")
			page := renderHTML(t, p)
			checkBalanced(t, page)
			checkLabels(t, page)

			summary := byID(t, page, "errors")
			if summary.attrs["role"] != "alert" || summary.attrs["tabindex"] != "-1" || !summary.has("autofocus") {
				t.Errorf("summary: %s", summary.raw)
			}
			text := textOf(t, page, "errors")
			if !strings.Contains(text, tr.T("decline.card_declined")) {
				t.Errorf("summary lacks the form error: %q", text)
			}
			// Links to the fields, in form order, each naming its field.
			var hrefs []string
			for _, m := range regexp.MustCompile(`<li><a href="#([^"]+)">([^<]*)</a></li>`).FindAllStringSubmatch(page, -1) {
				hrefs = append(hrefs, m[1])
			}
			if want := []string{"email", "method-card", "card_number", "nickname"}; !slices.Equal(hrefs, want) {
				t.Errorf("summary links %v, want %v", hrefs, want)
			}
			if !strings.Contains(page, template.HTMLEscapeString(tr.T("err.item", tr.T("field.email"), tr.T("err.email")))) {
				t.Errorf("summary item does not name the field")
			}
			for _, id := range []string{"email", "card_number", "method-card", "method-bank_transfer"} {
				tg := byID(t, page, id)
				errID := id + "-error"
				if strings.HasPrefix(id, "method-") {
					errID = "method-card-error"
				}
				if tg.attrs["aria-invalid"] != "true" || tg.attrs["aria-describedby"] != errID {
					t.Errorf("#%s not marked invalid: %s", id, tg.raw)
				}
				byID(t, page, errID)
			}
			for _, id := range []string{"name", "country", "postal_code", "card_exp"} {
				if byID(t, page, id).has("aria-invalid") {
					t.Errorf("#%s marked invalid", id)
				}
			}
			if !strings.Contains(page, "<title>"+template.HTMLEscapeString(tr.T("page.error_prefix"))) {
				t.Errorf("title does not start with the error prefix")
			}
		})
	}
}

func TestHostileValuesAreEscaped(t *testing.T) {
	p := samplePage(StateOpen, "en", true)
	p.Items[0].Name = "<script>alert(1)</script>"
	p.Items[1].Description = `"><img src=x onerror=alert(2)>`
	p.Site.Name = `</title><script>alert(3)</script>`
	p.Site.PrimaryColor = "red;}</style><script>alert(4)</script>"
	p.Site.AccentColor = "expression(alert(5))"
	p.Billing.Name = `" autofocus onfocus="alert(6)`
	p.Session.CancelURL = "javascript:alert(7)"
	p.FormError = "<b>declined</b>"
	page := renderHTML(t, p)

	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("hostile item name not escaped as text")
	}
	for i := 1; i <= 7; i++ {
		if strings.Contains(page, fmt.Sprintf("alert(%d)", i)) &&
			!strings.Contains(page, fmt.Sprintf("&lt;script&gt;alert(%d)", i)) &&
			!strings.Contains(page, fmt.Sprintf("onerror=alert(%d)&gt;", i)) &&
			!strings.Contains(page, fmt.Sprintf("&#34; autofocus onfocus=&#34;alert(%d)", i)) {
			t.Errorf("alert(%d) appears unescaped", i)
		}
	}
	if strings.Count(page, "<script") != 1 {
		t.Errorf("want exactly the one inline script, got %d", strings.Count(page, "<script"))
	}
	if !strings.Contains(page, ":root{--p:"+defaultPrimary+";") || !strings.Contains(page, "--a:"+defaultAccent+";") {
		t.Errorf("bad colours not replaced by the defaults")
	}
	if byID(t, page, "cancel").attrs["href"] != "#ZgotmplZ" {
		t.Errorf("javascript: URL not neutralised")
	}
	if !strings.Contains(page, "&lt;b&gt;declined&lt;/b&gt;") {
		t.Errorf("form error not escaped")
	}
	if byID(t, page, "name").has("onfocus") {
		t.Errorf("attribute injection through a value")
	}
}

func TestFrenchPage(t *testing.T) {
	page := renderHTML(t, samplePage(StateOpen, "fr", true))
	for id, want := range map[string]string{
		"pay-button": "Payer 50,00\u00a0€",
		"summary-h":  "Récapitulatif de la commande",
		"pay-h":      "Informations de paiement",
	} {
		if got := textOf(t, page, id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	for _, s := range []string{`<label for="email">Adresse e-mail</label>`, "Mode test", "Carte bancaire", "Virement bancaire", `<option value=DE>Allemagne</option>`, `placeholder="MM / AA"`} {
		if !strings.Contains(page, s) {
			t.Errorf("French page lacks %q", s)
		}
	}
	if strings.Contains(page, ">Pay ") || strings.Contains(page, "Billing details") {
		t.Errorf("English text on the French page")
	}
}

func TestUnknownLanguageFallsBackToEnglish(t *testing.T) {
	p := samplePage(StateOpen, "de", false)
	page := renderHTML(t, p)
	if !strings.Contains(page, ">Pay €50.00<") {
		t.Errorf("unknown language did not fall back to English")
	}
}

func TestChallengeView(t *testing.T) {
	for _, lang := range []string{"en", "fr"} {
		p := samplePage(StateChallenge, lang, true)
		page := renderHTML(t, p)
		form := byID(t, page, "challenge-form")
		if form.attrs["action"] != p.ChallengeURL || form.attrs["method"] != "post" {
			t.Errorf("challenge form: %s", form.raw)
		}
		for id, value := range map[string]string{"approve": "approve", "fail": "fail"} {
			b := byID(t, page, id)
			if b.name != "button" || b.attrs["name"] != "decision" || b.attrs["value"] != value || b.attrs["type"] != "submit" {
				t.Errorf("#%s: %s", id, b.raw)
			}
		}
		for name, value := range map[string]string{"csrf_token": p.CSRFToken, "payment_id": p.Payment.ID} {
			want := fmt.Sprintf(`<input type="hidden" name="%s" value="%s">`, name, value)
			if !strings.Contains(page, want) {
				t.Errorf("missing %s", want)
			}
		}
		label := map[string]string{"en": "Approve", "fr": "Approuver"}[lang]
		if got := textOf(t, page, "approve"); got != label {
			t.Errorf("approve button %q", got)
		}
	}
}

func TestProcessingView(t *testing.T) {
	p := samplePage(StateProcessing, "en", true)
	page := renderHTML(t, p)
	want := `<meta http-equiv="refresh" content="5;url=/checkout/` + testSessionID + `">`
	if !strings.Contains(page, want) {
		t.Errorf("missing %s", want)
	}
	if !strings.Contains(page, "Visa ending in 4242") {
		t.Errorf("card not described")
	}
	p.RefreshSeconds = 0
	if page := renderHTML(t, p); strings.Contains(page, "http-equiv") {
		t.Errorf("refresh without RefreshSeconds")
	}
	// Without a page URL the refresh reloads the current URL.
	p.RefreshSeconds, p.PayURL = 7, ""
	if page := renderHTML(t, p); !strings.Contains(page, `<meta http-equiv="refresh" content="7">`) || strings.Contains(page, `id="check"`) {
		t.Errorf("refresh without a page URL")
	}
	// Only the processing page refreshes itself.
	if page := renderHTML(t, samplePage(StateOpen, "en", true)); strings.Contains(page, "http-equiv") {
		t.Errorf("open page refreshes")
	}
}

func TestBankTransferView(t *testing.T) {
	p := samplePage(StateBankTransfer, "fr", true)
	page := renderHTML(t, p)
	if got := textOf(t, page, "bank-reference"); got != p.Bank.Reference {
		t.Errorf("#bank-reference %q", got)
	}
	if got := textOf(t, page, "bank-amount"); got != p.Bank.Amount {
		t.Errorf("#bank-amount %q", got)
	}
	if !strings.Contains(page, "IBAN: FR76 3000 6000 0112 3456 7890 189") {
		t.Errorf("instructions missing")
	}
	if !strings.Contains(page, "Payer par virement bancaire") {
		t.Errorf("heading not in French")
	}
}

func TestPaidView(t *testing.T) {
	p := samplePage(StatePaid, "en", false)
	page := renderHTML(t, p)
	if got := textOf(t, page, "paid"); got != "Payment successful" {
		t.Errorf("#paid %q", got)
	}
	if got := textOf(t, page, "paid-card"); got != "Visa ending in 4242" {
		t.Errorf("#paid-card %q", got)
	}
	c := byID(t, page, "continue")
	if c.attrs["href"] != html(testContinue) || !strings.Contains(textOf(t, page, "continue"), "Continue to "+testSiteName) {
		t.Errorf("continue link: %s", c.raw)
	}
}

func TestCompletedAndExpiredViews(t *testing.T) {
	p := samplePage(StateExpired, "fr", false)
	p.FormError = newTranslator("fr").T("state.closed")
	page := renderHTML(t, p)
	if byID(t, page, "cancel").attrs["href"] != html(testCancelURL) {
		t.Errorf("expired page does not link to the cancel URL")
	}
	if !strings.Contains(page, "Aucun montant n’a été débité") {
		t.Errorf("expired page does not say nothing was charged")
	}
	if strings.Contains(page, "<title>Erreur") {
		t.Errorf("closed pages are not errors")
	}

	page = renderHTML(t, samplePage(StateCompleted, "en", false))
	if !strings.Contains(page, "Already paid") || strings.Contains(page, `name="card_number"`) {
		t.Errorf("completed page")
	}
}

func TestNotFoundRevealsNothing(t *testing.T) {
	p := samplePage(StateNotFound, "en", true)
	page := renderHTML(t, p)
	for _, s := range []string{testSiteName, testLogoURL, "#0a7cff", "#ffb400", testSessionID, "TP-7KQ2", p.CSRFToken, "€", "test-mode", testCancelURL, "<form", "<script"} {
		if strings.Contains(page, s) {
			t.Errorf("not-found page reveals %q", s)
		}
	}
	if !strings.Contains(page, "Page not found") {
		t.Errorf("not-found heading missing")
	}
}

// TestRenderWritesNothingOnError: a failing template leaves the response
// untouched, so the handler can still send an error page.
func TestRenderWritesNothingOnError(t *testing.T) {
	fail := template.Must(template.New("x").Funcs(template.FuncMap{
		"boom": func() (string, error) { return "", errors.New("boom") },
	}).Parse(`<!doctype html><p>half a page{{boom}}</p>`))
	r := &renderer{views: map[string]map[State]*template.Template{"en": {StateOpen: fail}}}
	rec := httptest.NewRecorder()
	if err := r.render(rec, http.StatusOK, &Page{Lang: "en", State: StateOpen}); err == nil {
		t.Fatal("no error from a failing template")
	}
	if rec.Body.Len() != 0 || len(rec.Header()) != 0 || rec.Flushed {
		t.Errorf("response written: %d bytes, headers %v", rec.Body.Len(), rec.Header())
	}

	pages, err := mustRenderer()
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	if err := pages.render(rec, http.StatusOK, &Page{Lang: "en", State: "bogus"}); err == nil || rec.Body.Len() != 0 {
		t.Errorf("unknown state: err=%v, %d bytes", err, rec.Body.Len())
	}
	if err := pages.render(rec, http.StatusOK, nil); err == nil {
		t.Errorf("nil page rendered")
	}
}

func TestRenderStatus(t *testing.T) {
	r, err := mustRenderer()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := r.render(rec, http.StatusNotFound, &Page{Lang: "en", State: StateNotFound}); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusNotFound {
		t.Errorf("status %d", rec.Code)
	}
}

func TestRenderConcurrently(t *testing.T) {
	r, err := mustRenderer()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			p := samplePage(allStates[i%len(allStates)], []string{"en", "fr"}[i%2], i%3 == 0)
			if err := r.render(httptest.NewRecorder(), http.StatusOK, p); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestReadableOn(t *testing.T) {
	for bg, want := range map[string]string{
		"#ffffff": "#111", "#000000": "#fff", "#1d4ed8": "#fff", "#ffb400": "#111",
		"#0a7cff": "#111", "#7c2d12": "#fff", "#006eff": "#000", "#FFF": "#111", "": "#fff", "not-a-colour": "#fff",
	} {
		if got := readableOn(bg); got != want {
			t.Errorf("readableOn(%q) = %s, want %s", bg, got, want)
		}
	}
	// Whatever the background, the chosen text reaches 4.5:1 (WCAG AA).
	for r := 0; r < 256; r += 5 {
		for g := 0; g < 256; g += 5 {
			for b := 0; b < 256; b += 15 {
				bg := fmt.Sprintf("#%02x%02x%02x", r, g, b)
				fg := readableOn(bg)
				fgRGB, _ := parseHexColor(fg)
				bgRGB, _ := parseHexColor(bg)
				if c := contrast(luminance(fgRGB), luminance(bgRGB)); c < minContrast {
					t.Fatalf("readableOn(%s) = %s: contrast %.2f", bg, fg, c)
				}
				ink := string(inkOn(bg))
				inkRGB, ok := parseHexColor(ink)
				pageRGB, _ := parseHexColor(pageBackground)
				if !ok || contrast(luminance(inkRGB), luminance(pageRGB)) < minContrast {
					t.Fatalf("inkOn(%s) = %s: not readable on the page", bg, ink)
				}
			}
		}
	}
	if got := inkOn("#1d4ed8"); got != "#1d4ed8" {
		t.Errorf("inkOn changed a colour that was already dark enough: %s", got)
	}
}

// TestFixedColoursContrast checks the stylesheet's own text colours against
// the backgrounds they are drawn on.
func TestFixedColoursContrast(t *testing.T) {
	pairs := [][2]string{
		{"#1a1f36", "#f6f7f9"}, {"#1a1f36", "#ffffff"}, // body text
		{"#566074", "#ffffff"}, {"#566074", "#f6f7f9"}, // muted text, footer, method tiles
		{"#30313d", "#ffffff"}, {"#30313d", "#f6f7f9"}, // labels, notes
		{"#6b7385", "#ffffff"},                         // placeholders (the card box's only labels in sight)
		{"#5c2c00", "#ffde92"}, {"#5c2c00", "#fffaf0"}, // test-mode banner, test cards
		{"#b42318", "#ffffff"}, {"#b42318", "#fef3f2"}, // errors
		{"#ffffff", "#b42318"}, // errors on the brand-coloured side
	}
	for _, p := range pairs {
		fg, _ := parseHexColor(p[0])
		bg, _ := parseHexColor(p[1])
		if c := contrast(luminance(fg), luminance(bg)); c < minContrast {
			t.Errorf("%s on %s: %.2f", p[0], p[1], c)
		}
	}
}

func TestScriptAndStyleBudget(t *testing.T) {
	js, err := templateFS.ReadFile("templates/script.js")
	if err != nil {
		t.Fatal(err)
	}
	// 4 KB: submit-once, the live tax quote, card-number grouping and brand,
	// the expiry's "MM / YY", copy buttons and the summary's fold. The
	// page's whole budget (maxPageBytes) still holds it.
	if len(js) > 4096 {
		t.Errorf("script.js is %d bytes, budget 4096", len(js))
	}
	css, _ := templateFS.ReadFile("templates/style.css")
	t.Logf("style.css %d bytes, script.js %d bytes", len(css), len(js))
	for _, s := range []string{"http:", "https:", "//cdn", "@import", "url(", "@font-face"} {
		if strings.Contains(string(css)+string(js), s) {
			t.Errorf("CSS/JS contains %q", s)
		}
	}
}

func TestCountryOptionsEscapesAndSelects(t *testing.T) {
	got := string(countryOptions([]CountryOption{{Code: "FR", Name: `<b>"France"</b>`}, {Code: "DE", Name: "Allemagne"}}, "DE"))
	want := "<option value=FR>&lt;b&gt;&#34;France&#34;&lt;/b&gt;</option><option value=DE selected>Allemagne</option>"
	if got != want {
		t.Fatalf("countryOptions =\n%q\nwant\n%q", got, want)
	}
}

// TestInlinedLabelsRenderTheSame: writing the fixed labels into the
// templates changes no byte of any page.
func TestInlinedLabelsRenderTheSame(t *testing.T) {
	inlined, err := buildRenderer(true)
	if err != nil {
		t.Fatal(err)
	}
	called, err := buildRenderer(false)
	if err != nil {
		t.Fatal(err)
	}
	for lang := range catalogs {
		for _, state := range allStates {
			for _, testMode := range []bool{true, false} {
				p := samplePage(state, lang, testMode)
				a, err := inlined.bytes(p)
				if err != nil {
					t.Fatal(err)
				}
				b, err := called.bytes(p)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Errorf("%s %s (test mode %v): the pages differ", lang, state, testMode)
				}
			}
		}
	}
	if n := len(literalT.FindAllString(string(mustRead(t, "templates/open.html")), -1)); n < 20 {
		t.Errorf("only %d fixed labels found in open.html; is the pattern right?", n)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := templateFS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReturnByPost: for a session whose return method is post, every way
// back to the merchant is a form posting checkoutId (a button: it works
// without JavaScript), and the return page's form is submitted by the
// page's nonce'd script.
func TestReturnByPost(t *testing.T) {
	for _, tc := range []struct {
		state State
		id    string
		url   string
	}{
		{StateReturn, "continue", testContinue}, {StatePaid, "continue", testContinue}, {StateCompleted, "continue", testContinue},
		{StateExpired, "cancel", testCancelURL}, {StateOpen, "cancel", testCancelURL},
	} {
		p := samplePage(tc.state, "en", true)
		p.ReturnPost = &ReturnPost{Field: "checkoutId", Value: testUUID}
		page := renderPage(t, p).Body.String()
		form := `<form method="post" action="` + html(tc.url) + `"`
		field := `<input type="hidden" name="checkoutId" value="` + testUUID + `">`
		button := `<button type="submit" class=`
		at := strings.Index(page, form)
		if at < 0 || !strings.Contains(page[at:], field) || !strings.Contains(page[at:], button) || !strings.Contains(page, `id="`+tc.id+`"`) {
			t.Errorf("%s: no form posting checkoutId to %s:\n%s", tc.state, tc.url, page)
		}
		if strings.Contains(page, `href="`+html(tc.url)+`"`) {
			t.Errorf("%s: still links to %s", tc.state, tc.url)
		}
		scripted := strings.Contains(page, `<script nonce="`+p.Nonce+`">`)
		if tc.state == StateReturn && (!scripted || !strings.Contains(page, `id="return-form"`)) {
			t.Errorf("return page without its form or script:\n%s", page)
		}
	}
	// Without ReturnPost, the ways back stay links.
	if page := renderPage(t, samplePage(StatePaid, "en", true)).Body.String(); !strings.Contains(page, `<a class="button primary" href="`+html(testContinue)+`" id="continue">`) {
		t.Errorf("paid page without its link:\n%s", page)
	}
}

// TestInstallmentOptions: the open page offers the installments as
// labelled radios; the chosen one stays checked, and the pay button names
// no amount (each option says its total).
func TestInstallmentOptions(t *testing.T) {
	euros := func(s string) string { return "€" + s }
	p := withInstallments(samplePage(StateOpen, "en", true), euros)
	p.InstallmentCount = 3
	page := renderPage(t, p).Body.String()
	checkBalanced(t, page)
	checkLabels(t, page)
	for _, want := range []string{
		`<fieldset id="installments">`, `<legend>Installments</legend>`,
		`<input type="radio" name="installments" id="installments-1" value="1">`,
		`<label for="installments-1" id="plan-1">Single payment of €50.00</label>`,
		`<input type="radio" name="installments" id="installments-3" value="3" checked>`,
		`<label for="installments-3" id="plan-3">3 installments: 2 of €16.66 and a last one of €16.68 (total €50.00)</label>`,
		`<label for="installments-6" id="plan-6">6 installments of €8.50 (total €51.00)</label>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("open page lacks %q", want)
		}
	}
	p.FieldErrors = map[string]string{"installments": "Choose one of the installment options offered."}
	page = renderPage(t, p).Body.String()
	if !strings.Contains(page, `<a href="#installments-3">Installments: Choose one`) || !strings.Contains(page, `aria-describedby="installments-3-error"`) {
		t.Errorf("the installments error is not linked and described:\n%s", page)
	}
	if !strings.Contains(page, `id="pay-button" name="action" value="pay" class="primary" data-label="Pay" data-busy="Processing…">Pay</button>`) {
		t.Errorf("the pay button of an installment choice names an amount")
	}
	p = withInstallments(samplePage(StateOpen, "fr", true), euros)
	if page := renderPage(t, p).Body.String(); !strings.Contains(page, "<legend>Paiement en plusieurs fois</legend>") {
		t.Errorf("French installments legend missing")
	}
}
