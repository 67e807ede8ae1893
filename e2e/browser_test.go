package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// tabTimeout bounds everything one subtest does in its tab: the page loads,
// the payment round trips and the screenshots take a few seconds on a laptop.
const tabTimeout = 60 * time.Second

// TestBrowserCheckout pays on the hosted page in a real Chromium, with its
// script and its CSP in force: what the HTTP tests cannot see (the live tax
// quote, the redirect the browser follows, CSP violations).
func TestBrowserCheckout(t *testing.T) {
	shots := screenshotDir(t)
	browser := newChromium(t)

	t.Run("card succeeds", func(t *testing.T) {
		s := newSession(t, map[string]any{
			// The hosted page is the success page: landing on it proves the
			// redirect and the session id substitution, and it shows the receipt.
			"success_url": sys.CheckoutURL + "/checkout/{CHECKOUT_SESSION_ID}",
			"cancel_url":  sys.CheckoutURL + "/checkout/{CHECKOUT_SESSION_ID}",
		})
		id := s["id"].(string)
		tab := newTab(t, browser)
		do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("pay-form")))
		before := text(t, tab, "total")
		shot(t, tab, shots, "01-open.png")

		do(t, tab, "fill the billing details",
			chromedp.SendKeys(chromedp.ID("name"), "Ada Lovelace"),
			chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
			choose("country", "US"),
			chromedp.SendKeys(chromedp.ID("postal_code"), "94103"),
			chromedp.SendKeys(chromedp.ID("region"), "CA"),
			// The script asks for a quote on change, which an input fires on blur.
			chromedp.Blur(chromedp.ID("region")),
		)
		// The quote arrives asynchronously; wait for the exclusive tax line.
		do(t, tab, "wait for the California sales tax",
			chromedp.WaitVisible(chromedp.ID("tax-row")),
			chromedp.Poll[chromedp.Void](`document.getElementById("total").textContent !== `+jsString(before)+
				` && document.getElementById("tax").textContent.trim() !== ""`, chromedp.WithPollingTimeout(10*time.Second)),
		)
		tax, label, after := text(t, tab, "tax"), text(t, tab, "tax-label"), text(t, tab, "total")
		if !strings.Contains(label, "Sales tax") || after == before {
			t.Errorf("after choosing US-CA: tax %q (%q), total %q (was %q)", tax, label, after, before)
		}
		if button := text(t, tab, "pay-button"); !strings.Contains(button, after) {
			t.Errorf("pay button %q does not show the new total %q", button, after)
		}
		shot(t, tab, shots, "02-tax-applied.png")

		do(t, tab, "pay by card",
			chromedp.SendKeys(chromedp.ID("card_number"), "4242 4242 4242 4242"),
			chromedp.SendKeys(chromedp.ID("card_exp"), "12/34"),
			chromedp.SendKeys(chromedp.ID("card_cvc"), "123"),
			chromedp.Click(chromedp.ID("pay-button")),
			chromedp.WaitVisible(chromedp.ID("paid")),
		)
		loc, err := chromedp.Run(tab, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		shot(t, tab, shots, "03-paid-redirect.png")
		u, _ := url.Parse(loc)
		if !strings.HasSuffix(u.Path, "/checkout/"+id) || !strings.HasPrefix(u.Query().Get("transaction_id"), "pay_") {
			t.Fatalf("landed on %s, want the session page with a transaction_id", loc)
		}
		if amount := text(t, tab, "paid-amount"); amount != after {
			t.Errorf("receipt shows %q, the form charged %q", amount, after)
		}
		if receipt := text(t, tab, "main"); !strings.Contains(receipt, s["reference"].(string)) {
			t.Errorf("receipt lacks the reference %v:\n%s", s["reference"], receipt)
		}
		if card := text(t, tab, "paid-card"); card != "Visa ending in 4242" {
			t.Errorf("receipt names the card %q, want \"Visa ending in 4242\"", card)
		}
		got := session(t, id)
		if got["status"] != "complete" || got["payment_status"] != "paid" || got["payment"] != u.Query().Get("transaction_id") {
			t.Fatalf("session after paying: %v", got)
		}
	})

	t.Run("promotion code", func(t *testing.T) {
		_, coupon := api(t, "POST", "/v1/coupons", map[string]any{"percent_off": 15, "name": "Fifteen"})
		if status, p := api(t, "POST", "/v1/promotion_codes", map[string]any{"coupon": coupon["id"], "code": "BROWSER15"}); status != 201 {
			t.Fatalf("promotion code: %d %v", status, p)
		}
		s := newSession(t, map[string]any{"allow_promotion_codes": true,
			"success_url": sys.CheckoutURL + "/checkout/{CHECKOUT_SESSION_ID}"})
		tab := newTab(t, browser, "status of 400") // the refused code's form answers 400
		do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("promo-form")))
		do(t, tab, "try a wrong code",
			chromedp.SendKeys(chromedp.ID("promotion_code"), "WRONG"),
			chromedp.Click(chromedp.ID("apply-code")),
			chromedp.WaitVisible(chromedp.ID("promotion_code-error")),
		)
		shot(t, tab, shots, "05-promotion-code-refused.png")
		if msg := text(t, tab, "promotion_code-error"); msg != "This promotion code is not valid." {
			t.Errorf("refusal %q", msg)
		}
		do(t, tab, "apply the code",
			chromedp.Clear(chromedp.ID("promotion_code")),
			chromedp.SendKeys(chromedp.ID("promotion_code"), "browser15"),
			chromedp.Click(chromedp.ID("apply-code")),
			chromedp.WaitVisible(chromedp.ID("discount-row")),
		)
		shot(t, tab, shots, "06-promotion-code-applied.png")
		// 15 % per line of 1350 and 1299: 202.5 → 203 and 194.85 → 195.
		total := text(t, tab, "total")
		if d := text(t, tab, "discount"); !strings.Contains(d, "3.98") || !strings.Contains(total, "22.51") {
			t.Errorf("discount %q, total %q", d, total)
		}
		fillBilling(t, tab, "FR", "75001")
		do(t, tab, "pay by card",
			chromedp.SendKeys(chromedp.ID("card_number"), "4242 4242 4242 4242"),
			chromedp.SendKeys(chromedp.ID("card_exp"), "12/34"),
			chromedp.SendKeys(chromedp.ID("card_cvc"), "123"),
			chromedp.Click(chromedp.ID("pay-button")),
			chromedp.WaitVisible(chromedp.ID("paid")),
		)
		if amount := text(t, tab, "paid-amount"); amount != total {
			t.Errorf("receipt shows %q, the page's total was %q", amount, total)
		}
		if got := session(t, s["id"].(string)); got["amount_total"] != 2251.0 || got["payment_status"] != "paid" {
			t.Fatalf("session after paying: %v", got)
		}
	})

	t.Run("card declined", func(t *testing.T) {
		s := newSession(t, nil)
		tab := newTab(t, browser)
		do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("pay-form")))
		fillBilling(t, tab, "FR", "75001")
		do(t, tab, "pay with the declined card",
			chromedp.SendKeys(chromedp.ID("card_number"), "4000000000000002"),
			chromedp.SendKeys(chromedp.ID("card_exp"), "1234"),
			chromedp.SendKeys(chromedp.ID("card_cvc"), "123"),
		)
		// The card box formats what is typed, and names the brand.
		if number, exp := value(t, tab, "card_number"), value(t, tab, "card_exp"); number != "4000 0000 0000 0002" || exp != "12 / 34" {
			t.Errorf("card box shows %q, %q; want \"4000 0000 0000 0002\", \"12 / 34\"", number, exp)
		}
		if brand, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("card-brand").dataset.brand`)); err != nil || brand != "visa" {
			t.Errorf("brand %q %v, want visa", brand, err)
		}
		shot(t, tab, shots, "09-card-typed.png")
		do(t, tab, "pay", chromedp.Click(chromedp.ID("pay-button")),
			chromedp.WaitVisible(chromedp.ID("errors")),
			chromedp.WaitVisible(chromedp.ID("pay-form")),
		)
		shot(t, tab, shots, "10-declined.png")
		if msg := text(t, tab, "errors"); !strings.Contains(strings.ToLower(msg), "declined") {
			t.Errorf("error summary %q does not say the card was declined", msg)
		}
		// Post/Redirect/Get: the browser is on the page's own URL, which a
		// reload gets again (the decline still shown) instead of re-posting.
		loc, err := chromedp.Run(tab, chromedp.Location())
		if u, _ := url.Parse(loc); err != nil || u.Path != "/checkout/"+s["id"].(string) || !strings.HasPrefix(u.Query().Get("attempt"), "pay_") {
			t.Fatalf("after the decline the browser is on %s", loc)
		}
		do(t, tab, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("errors")))
		if after, _ := chromedp.Run(tab, chromedp.Location()); after != loc {
			t.Errorf("reload went from %s to %s", loc, after)
		}
		// The payer can retry at once: the billing details are kept.
		if name, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("name"))); err != nil || name != "Ada Lovelace" {
			t.Errorf("name after the decline: %q %v", name, err)
		}
		if got := session(t, s["id"].(string)); got["status"] != "open" {
			t.Fatalf("a decline changed the session: %v", got["status"])
		}
	})

	t.Run("bank transfer", func(t *testing.T) {
		s := newSession(t, nil)
		ref := s["reference"].(string)
		tab := newTab(t, browser)
		do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("pay-form")))
		fillBilling(t, tab, "FR", "75001")
		do(t, tab, "choose bank transfer",
			chromedp.Click(chromedp.ID("method-bank_transfer")),
			chromedp.WaitNotVisible(chromedp.ID("card-fields")),
			chromedp.WaitVisible(chromedp.ID("bank-fields")),
			// French prices include TVA: the quote shows it as included.
			chromedp.WaitVisible(chromedp.ID("included-row")),
		)
		total := text(t, tab, "total")
		do(t, tab, "submit", chromedp.Click(chromedp.ID("pay-button")), chromedp.WaitVisible(chromedp.ID("bank-reference")))
		shot(t, tab, shots, "20-bank-transfer.png")
		// The copy buttons appear with the script, and the way back to the shop.
		if n, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("button.copy:not([hidden])").length`)); err != nil || n < 2 {
			t.Errorf("%d copy buttons shown (%v), want the amount's and the reference's", n, err)
		}
		if href, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("continue").href`)); err != nil || !strings.HasPrefix(href, "https://shop.example/success") {
			t.Errorf("way back to the shop %q %v", href, err)
		}
		if got := text(t, tab, "bank-reference"); got != ref {
			t.Errorf("bank reference %q, want %q", got, ref)
		}
		if got := text(t, tab, "bank-amount"); got != total || !strings.Contains(got, "26.49") {
			t.Errorf("bank amount %q, the form showed %q", got, total)
		}
	})

	// payCard fills the billing details and pays with the card number.
	payCard := func(t *testing.T, tab context.Context, number string) {
		t.Helper()
		fillBilling(t, tab, "FR", "75001")
		do(t, tab, "pay by card "+number,
			chromedp.SendKeys(chromedp.ID("card_number"), number),
			chromedp.SendKeys(chromedp.ID("card_exp"), "12/34"),
			chromedp.SendKeys(chromedp.ID("card_cvc"), "123"),
			chromedp.Click(chromedp.ID("pay-button")))
	}

	t.Run("authentication", func(t *testing.T) {
		// 3220 asks for authentication: the test provider's challenge page;
		// approved, the payer lands on the receipt (the page is the success URL).
		s := newSession(t, map[string]any{"success_url": sys.CheckoutURL + "/checkout/{CHECKOUT_SESSION_ID}"})
		tab := newTab(t, browser)
		do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("pay-form")))
		payCard(t, tab, "4000 0000 0000 3220")
		do(t, tab, "the challenge", chromedp.WaitVisible(chromedp.ID("challenge-form")))
		shot(t, tab, shots, "11-challenge.png")
		do(t, tab, "approve", chromedp.Click(chromedp.ID("approve")), chromedp.WaitVisible(chromedp.ID("paid")))
		shot(t, tab, shots, "12-paid.png")
	})

	t.Run("processing", func(t *testing.T) {
		// 0077 succeeds later: the processing page, which refreshes itself.
		s := newSession(t, nil)
		tab := newTab(t, browser)
		do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("pay-form")))
		payCard(t, tab, "4000 0000 0000 0077")
		do(t, tab, "processing", chromedp.WaitVisible(chromedp.ID("processing-h")))
		shot(t, tab, shots, "13-processing.png")
	})

	t.Run("expired and not found", func(t *testing.T) {
		s := newSession(t, nil)
		if status, body := api(t, "POST", "/v1/checkout/sessions/"+s["id"].(string)+"/expire", nil); status != 200 {
			t.Fatalf("expire: %d %v", status, body)
		}
		tab := newTab(t, browser, "status of 404") // the unknown page answers 404
		do(t, tab, "open the expired page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("expired-h")))
		shot(t, tab, shots, "55-expired.png")
		do(t, tab, "open an unknown page", chromedp.Navigate(sys.CheckoutURL+"/checkout/cs_test_nosuchsession"), chromedp.WaitVisible(chromedp.ID("notfound-h")))
		shot(t, tab, shots, "56-not-found.png")
	})

	t.Run("spanish", func(t *testing.T) {
		// A third language is a file of messages: the session's locale
		// chooses it, and amounts follow its CLDR pattern (13,50 €).
		s := newSession(t, map[string]any{"locale": "es"})
		tab := newTab(t, browser)
		do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("pay-form")))
		shot(t, tab, shots, "60-spanish.png")
		if got := text(t, tab, "pay-button"); got != "Pagar 26,49 €" {
			t.Errorf("Spanish pay button %q", got)
		}
	})

	t.Run("live page has no card entry", func(t *testing.T) {
		// A live site that enables cards too: until a provider's own card
		// component serves live payments, the page must offer no card input.
		s := liveSession(t, "card", "bank_transfer")
		tab := newTab(t, browser)
		do(t, tab, "open the live page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("pay-form")))
		shot(t, tab, shots, "30-live-no-card.png")
		cardInputs, err := chromedp.Run(tab, chromedp.Evaluate[int](
			`document.querySelectorAll('[name^="card_"], [autocomplete^="cc-"], #card-fields, input[value="card"]').length`))
		if err != nil {
			t.Fatal(err)
		}
		if cardInputs != 0 {
			t.Errorf("the live page has %d card inputs", cardInputs)
		}
		fillBilling(t, tab, "FR", "75001")
		do(t, tab, "pay by bank transfer", chromedp.Click(chromedp.ID("pay-button")), chromedp.WaitVisible(chromedp.ID("bank-reference")))
		if got := text(t, tab, "bank-reference"); got != s["reference"] {
			t.Errorf("bank reference %q, want %v", got, s["reference"])
		}
	})

	t.Run("stripe page", func(t *testing.T) {
		// A site whose cards go to its Stripe account: the page mounts
		// Stripe's Payment Element. This browser cannot reach js.stripe.com,
		// so Stripe.js fails to load (the one expected browser error) and
		// our script must say so instead of offering a card form that cannot
		// work; bank transfer keeps working.
		siteID, publishable := stripeSite(t)
		s := newSessionWithKey(t, sys.SecretKey, siteID)
		resp, err := newBrowser().Get(s["url"].(string))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "https://js.stripe.com") ||
			!strings.Contains(csp, "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com") ||
			!strings.Contains(csp, "connect-src 'self' https://api.stripe.com") {
			t.Errorf("CSP of the Stripe page: %q", csp)
		}
		tab := newTab(t, browser, "js.stripe.com")
		do(t, tab, "open the Stripe page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("pay-form")),
			chromedp.WaitVisible(chromedp.ID("stripe-error")))
		if got := text(t, tab, "stripe-error"); !strings.Contains(got, "Card payment could not be loaded") {
			t.Errorf("message when Stripe.js is unreachable: %q", got)
		}
		shot(t, tab, shots, "40-stripe-page.png")
		facts, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](`(() => {
			const s = document.querySelector('script[src="https://js.stripe.com/v3/"]');
			const el = document.getElementById("payment-element");
			return {script: !!s, nonce: !!(s && s.nonce), key: el ? el.dataset.key : "",
				cardInputs: document.querySelectorAll('[name^="card_"], [autocomplete^="cc-"]').length};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if facts["script"] != true || facts["nonce"] != true || facts["key"] != publishable || facts["cardInputs"] != 0.0 {
			t.Errorf("Stripe page: %v", facts)
		}
		// Paying by card does nothing but repeat the message; the page stays.
		fillBilling(t, tab, "FR", "75001")
		do(t, tab, "try to pay by card", chromedp.Click(chromedp.ID("pay-button")), chromedp.WaitVisible(chromedp.ID("stripe-error")))
		if loc, _ := chromedp.Run(tab, chromedp.Location()); loc != s["url"] {
			t.Errorf("paying by card without Stripe.js went to %s", loc)
		}
		do(t, tab, "pay by bank transfer", chromedp.Click(chromedp.ID("method-bank_transfer")),
			chromedp.Click(chromedp.ID("pay-button")), chromedp.WaitVisible(chromedp.ID("bank-reference")))
	})
}

// screenshotDir returns <repo root>/test-artifacts/screenshots, created.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "test-artifacts", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newChromium starts a headless Chromium for the test and returns its context.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		path = "chromium"
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		// Required when running as root, and harmless otherwise.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	// Bounds the browser's start and the whole test, should a tab hang.
	ctx, cancelAll := context.WithTimeout(context.Background(), 5*time.Minute)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelAll()
	})
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return browser
}

// newTab opens a tab bounded by tabTimeout that fails the test, when it ends,
// on an uncaught exception, a console error or a browser error (such as a CSP
// violation) that does not contain one of the expected strings.
func newTab(t *testing.T, browser context.Context, expected ...string) context.Context {
	t.Helper()
	ctx, cancelTimeout := context.WithTimeout(browser, tabTimeout)
	tab, cancelTab := chromedp.NewContext(ctx)
	var mu sync.Mutex
	var problems []string
	err := chromedp.Listen(tab, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
			if ex := ev.ExceptionDetails.Exception; ex != nil && ex.Description != "" {
				msg += " " + ex.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			msg = "console.error:"
			for _, a := range ev.Args {
				msg += " " + a.Description + string(a.Value)
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level != log.EntryLevelError {
				return
			}
			msg = "log (" + string(ev.Entry.Source) + "): " + ev.Entry.Text + " " + ev.Entry.URL
		default:
			return
		}
		mu.Lock()
		problems = append(problems, msg)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancelTab()
		cancelTimeout()
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			switch {
			case strings.Contains(p, "Content Security Policy") || strings.Contains(p, "Refused"):
				t.Errorf("CSP violation: %s", p)
			case containsAny(p, expected):
				t.Logf("expected browser error: %s", p)
			default:
				t.Errorf("browser error: %s", p)
			}
		}
	})
	return tab
}

// fillBilling fills the billing fieldset for a country without regions.
func fillBilling(t *testing.T, tab context.Context, country, postal string) {
	t.Helper()
	do(t, tab, "fill the billing details",
		chromedp.SendKeys(chromedp.ID("name"), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		choose("country", country),
		chromedp.SendKeys(chromedp.ID("postal_code"), postal),
	)
}

// choose selects value in the select with the given id as a payer does:
// the value changes, then input and change fire.
func choose(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.SetValue(chromedp.ID(id), value),
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById(`+jsString(id)+`);
			s.dispatchEvent(new Event("input", {bubbles: true})); s.dispatchEvent(new Event("change", {bubbles: true})) })()`),
	)
}

// do runs the steps in the tab, failing the test with what it was doing.
func do(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		loc, _ := chromedp.Run(tab, chromedp.Location())
		t.Fatalf("%s: %v (page %s)", what, err, loc)
	}
}

// text returns the visible text of the element with the given id.
func text(t *testing.T, tab context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// shotWidths are the widths every screenshot is taken at: the browser's
// desktop window, and a phone's (390 CSS pixels, an iPhone 12 – 15).
var shotWidths = []struct {
	width, height int64
	mobile        bool
}{{1280, 900, false}, {390, 844, true}}

// shot saves full-page PNGs of the tab at each of shotWidths, name-1280.png
// and name-390.png (quality 100 means PNG), then gives the tab its desktop
// window back. At each width it waits for the page's layout for that width
// (the order summary is folded on phones, open beside the form on desktop).
func shot(t *testing.T, tab context.Context, dir, name string) {
	t.Helper()
	resize := func(width, height int64, mobile bool) {
		t.Helper()
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		do(t, tab, fmt.Sprintf("resize to %d px", width), chromedp.EmulateViewport(width, height, opts...),
			chromedp.Poll[chromedp.Void](`(() => { const o = document.getElementById("order");
				return !o || o.open === matchMedia("(min-width:56rem)").matches })()`, chromedp.WithPollingTimeout(5*time.Second)))
	}
	desktop := shotWidths[0]
	defer resize(desktop.width, desktop.height, desktop.mobile) // the test goes on at the desktop width
	for _, w := range shotWidths {
		resize(w.width, w.height, w.mobile)
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s at %d px: %v", name, w.width, err)
		}
		path := filepath.Join(dir, fmt.Sprintf("%s-%d.png", strings.TrimSuffix(name, ".png"), w.width))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}

// value returns the value of the input with the given id.
func value(t *testing.T, tab context.Context, id string) string {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Value(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("value of #%s: %v", id, err)
	}
	return v
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
