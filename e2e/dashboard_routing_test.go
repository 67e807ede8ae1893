package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// TestDashboardProviderAccountsAndRoutes is the demo owner in a real
// Chromium connecting provider accounts (a Paystack key of the wrong mode
// refused next to its field, then a right one, whose page shows the webhook
// URL to register and only the key's last four characters; disabled and
// enabled again with its button) and building a
// route on a new site with the route form (a volume split whose weights do
// not sum to 100 refused next to the field, then saved, then edited into a
// disabled priority list). Screenshots at phone and laptop widths, under
// test-artifacts/screenshots/dashboard-3*.png.
func TestDashboardProviderAccountsAndRoutes(t *testing.T) {
	if sys.DashboardURL == "" || sys.DashboardEmail == "" || sys.DashboardPassword == "" {
		t.Fatalf("stack.json lacks the dashboard sign-in: %+v", sys)
	}
	// Routes go on a site of their own: other tests pay on the demo site.
	code, site := api(t, "POST", "/v1/sites", map[string]any{"name": "Routed boutique", "default_currency": "EUR",
		"payment_method_types": []string{"card"},
		"default_success_url":  "https://shop.example/success", "default_cancel_url": "https://shop.example/cart"})
	if code != http.StatusCreated {
		t.Fatalf("site: %d %v", code, site)
	}
	siteID := site["id"].(string)
	shots := screenshotDir(t)
	browser := newChromium(t)
	// The refused forms answer 400 on purpose.
	tab := newTab(t, browser, "status of 400")
	both := func(name string) { t.Helper(); screenshotBoth(t, tab, shots, name) }
	do(t, tab, "sign in", chromedp.Navigate(sys.DashboardURL+"login"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), sys.DashboardEmail),
		chromedp.SendKeys(chromedp.ID("password"), sys.DashboardPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("overview-intro")),
	)
	do(t, tab, "open Provider accounts from Sites", chromedp.Click(chromedp.ID("nav-sites")), chromedp.WaitVisible(chromedp.ID("nav-accounts")),
		chromedp.Click(chromedp.ID("nav-accounts")), chromedp.WaitVisible(chromedp.ID("connect-form")))
	both("40-provider-accounts")

	// A live key in test mode is refused next to the key's field, and the
	// field comes back empty.
	wrong := "sk_live_" + strings.TrimPrefix(ids.New("k"), "k_")
	do(t, tab, "connect a Paystack account with a live key",
		choose("provider", "paystack"),
		chromedp.SendKeys(chromedp.ID("name"), "Accra shop"),
		chromedp.SendKeys(chromedp.ID("secret_key"), wrong),
		chromedp.Click(chromedp.ID("connect")),
		chromedp.WaitVisible(chromedp.ID("secret_key-error")),
	)
	if html := outerHTML(t, tab); strings.Contains(html, wrong) {
		t.Errorf("the refused form shows the key back")
	}
	both("41-provider-connect-error")
	key := "sk_test_" + strings.TrimPrefix(ids.New("k"), "k_")
	do(t, tab, "connect it with a test key",
		chromedp.SendKeys(chromedp.ID("secret_key"), key),
		chromedp.Click(chromedp.ID("connect")),
		chromedp.WaitVisible(chromedp.ID("webhook-url")),
	)
	hook, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("webhook-url")))
	if err != nil || !regexp.MustCompile(`/hooks/paystack/pa_[A-Za-z0-9]+$`).MatchString(hook) {
		t.Errorf("webhook URL %q (%v)", hook, err)
	}
	if hints := text(t, tab, "secret-hints"); !strings.Contains(hints, "••••"+key[len(key)-4:]) {
		t.Errorf("secret hints %q", hints)
	}
	if html := outerHTML(t, tab); strings.Contains(html, key) {
		t.Errorf("the account's page shows the secret key")
	}
	both("42-provider-connected")
	// Disabled, it takes no new payment; the page says so and offers to
	// enable it again.
	acctID := hook[strings.LastIndex(hook, "/")+1:]
	do(t, tab, "disable it", chromedp.Click(chromedp.ID("disable")), chromedp.WaitVisible(chromedp.ID("enable")))
	if code, pa := api(t, "GET", "/v1/provider_accounts/"+acctID, nil); code != http.StatusOK || pa["disabled"] != true {
		t.Errorf("the disabled account through the API: %d %v", code, pa)
	}
	if status := text(t, tab, "account-status"); !strings.Contains(status, "Disabled") {
		t.Errorf("account status %q", status)
	}
	both("42b-provider-disabled")
	do(t, tab, "enable it again", chromedp.Click(chromedp.ID("enable")), chromedp.WaitVisible(chromedp.ID("disable")))
	if code, pa := api(t, "GET", "/v1/provider_accounts/"+acctID, nil); code != http.StatusOK || pa["disabled"] != false {
		t.Errorf("the enabled account through the API: %d %v", code, pa)
	}

	// Two test-provider accounts for the route.
	for _, name := range []string{"Acquirer A", "Acquirer B"} {
		do(t, tab, "connect "+name, chromedp.Navigate(sys.DashboardURL+"providers"), chromedp.WaitVisible(chromedp.ID("connect-form")),
			choose("provider", "test"), chromedp.SendKeys(chromedp.ID("name"), name),
			chromedp.Click(chromedp.ID("connect")), chromedp.WaitVisible(chromedp.ID("rotate-form")))
	}
	do(t, tab, "the accounts", chromedp.Navigate(sys.DashboardURL+"providers"), chromedp.WaitVisible(chromedp.ID("accounts")))
	both("43-provider-accounts-list")
	accounts, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#accounts tbody tr')].filter(r => /Acquirer/.test(r.textContent)).map(r => r.id.replace('account-', '')).slice(0, 2)`))
	if err != nil || len(accounts) != 2 {
		t.Fatalf("test accounts on the list: %v %v", accounts, err)
	}

	// The route phase in a tab of its own (each tab has tabTimeout).
	tab = newTab(t, browser, "status of 400")
	do(t, tab, "the site's new route form", chromedp.Navigate(sys.DashboardURL+"sites/"+siteID), chromedp.WaitVisible(chromedp.ID("new-route")),
		chromedp.Click(chromedp.ID("new-route")), chromedp.WaitVisible(chromedp.ID("route-form")))
	do(t, tab, "a split of 70 and 20",
		chromedp.SendKeys(chromedp.ID("name"), "EU split"),
		chromedp.Click(chromedp.ID("type-volume_split")),
		choose("account_0", accounts[0]), chromedp.SendKeys(chromedp.ID("weight_0"), "70"),
		choose("account_1", accounts[1]), chromedp.SendKeys(chromedp.ID("weight_1"), "20"),
		chromedp.SendKeys(chromedp.ID("currencies"), "EUR"),
		chromedp.SendKeys(chromedp.ID("billing_countries"), "FR, DE"),
		chromedp.Click(chromedp.ID("save-route")),
		chromedp.WaitVisible(chromedp.ID("accounts-error")),
	)
	both("44-route-error")
	do(t, tab, "fix the weights and save",
		chromedp.SetValue(chromedp.ID("weight_1"), "30"),
		chromedp.Click(chromedp.ID("save-route")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	both("45-route-saved")
	loc, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`/routes/(rt_[A-Za-z0-9]+)`).FindStringSubmatch(loc)
	if id == nil {
		t.Fatalf("after saving: %s", loc)
	}
	if code, rt := api(t, "GET", "/v1/routes/"+id[1], nil); code != http.StatusOK || rt["type"] != "volume_split" || rt["site"] != siteID {
		t.Errorf("the route through the API: %d %v", code, rt)
	}
	do(t, tab, "edit it into a disabled priority list",
		// The saved page shows the notice already: take it away, so that
		// waiting for it waits for the edit's own answer.
		chromedp.Evaluate[chromedp.Void](`document.getElementById("notice").remove()`),
		chromedp.Click(chromedp.ID("type-priority")),
		chromedp.Click(chromedp.ID("disabled")),
		chromedp.Click(chromedp.ID("save-route")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	if code, rt := api(t, "GET", "/v1/routes/"+id[1], nil); code != http.StatusOK || rt["type"] != "priority" || rt["disabled"] != true {
		t.Errorf("the edited route through the API: %d %v", code, rt)
	}
	do(t, tab, "the site page", chromedp.Navigate(sys.DashboardURL+"sites/"+siteID), chromedp.WaitVisible(chromedp.ID("route-"+id[1])))
	do(t, tab, "scroll to the routes", chromedp.ScrollIntoView(chromedp.ID("routes-section")))
	both("46-site-routes")
}

// outerHTML is the tab's whole document, form values included (an
// input's value property is not in its markup: they are added).
func outerHTML(t *testing.T, tab context.Context) string {
	t.Helper()
	html, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.outerHTML + [...document.querySelectorAll("input")].map(i => i.value).join(" ")`))
	if err != nil {
		t.Fatalf("the page's HTML: %v", err)
	}
	return html
}
