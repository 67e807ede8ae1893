package e2e

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDashboardBrowser is a merchant's support person in a real Chromium:
// they sign in to the Admin Panel as the dev stack's demo owner, create a
// payment link in Create checkout (adding an item row, which the server
// does, without JavaScript), the customer opens the link and pays with the
// test card, and the Checkouts page then shows the session paid, with its
// payment on the detail page; then, as a developer would, they create an API
// key (its secret shown once) and look at the webhook endpoint's delivery
// log and the event's JSON, invite a colleague from the Team page, and open
// (then cancel) the two-factor sign-in set-up on their account page. Every
// page is screenshotted at phone and laptop widths, under
// test-artifacts/screenshots/dashboard-*.png.
func TestDashboardBrowser(t *testing.T) {
	if sys.DashboardURL == "" || sys.DashboardEmail == "" || sys.DashboardPassword == "" {
		t.Fatalf("stack.json lacks the dashboard sign-in: %+v", sys)
	}
	// A webhook endpoint, so that the checkout page has a delivery to show.
	hooks := newReceiver(t, 0)
	endpoint, _ := createEndpoint(t, hooks.srv.URL+"/hooks", "checkout.session.completed")
	shots := screenshotDir(t)
	browser := newChromium(t)
	// The bad price and refund answer 400 and the missing session 404, on
	// purpose. Each phase gets its own tab (and so its own tabTimeout); the
	// tabs share the browser's cookies, so the sign-in holds.
	expected := []string{"status of 400", "cs_doesnotexist"}
	tab := newTab(t, browser, expected...)
	both := func(name string) { t.Helper(); screenshotBoth(t, tab, shots, name) }

	do(t, tab, "open the dashboard", chromedp.Navigate(sys.DashboardURL), chromedp.WaitVisible(chromedp.ID("login-form")))
	both("01-login")
	do(t, tab, "sign in",
		chromedp.SendKeys(chromedp.ID("email"), sys.DashboardEmail),
		chromedp.SendKeys(chromedp.ID("password"), sys.DashboardPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("overview-intro")), // the landing page
	)
	do(t, tab, "open Checkouts", chromedp.Click(chromedp.ID("nav-checkouts")), chromedp.WaitVisible(chromedp.ID("filters")))
	if who := text(t, tab, "who"); !strings.Contains(who, sys.DashboardEmail) || !strings.Contains(who, "owner") {
		t.Errorf("signed in as %q", who)
	}
	both("02-checkouts")

	do(t, tab, "open Create checkout", chromedp.Click(chromedp.ID("nav-create")), chromedp.WaitVisible(chromedp.ID("create-form")))
	do(t, tab, "fill the first item and add a row",
		// Other tests add sites to the demo organization: pick the demo's.
		choose("site", sys.SiteID),
		chromedp.SendKeys(chromedp.ID("item_name_0"), "Consulting, half day"),
		chromedp.SendKeys(chromedp.ID("item_price_0"), "120.50"),
		chromedp.Click(chromedp.ID("add-item")),
		chromedp.WaitVisible(chromedp.ID("item_name_1")),
	)
	if v, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("item_name_0"))); err != nil || v != "Consulting, half day" {
		t.Errorf("the first row after adding one: %q %v", v, err)
	}
	do(t, tab, "fill the second item and the customer",
		chromedp.SendKeys(chromedp.ID("item_name_1"), "Travel"),
		chromedp.SendKeys(chromedp.ID("item_price_1"), "35"),
		chromedp.SendKeys(chromedp.ID("customer_email"), "client@example.com"),
		chromedp.SendKeys(chromedp.ID("success_url"), sys.CheckoutURL+"/checkout/{CHECKOUT_SESSION_ID}"),
		chromedp.SendKeys(chromedp.ID("metadata"), "invoice=INV-2026-042"),
	)
	both("03-create")
	// A price with too many decimals is refused, naming the field.
	do(t, tab, "submit a bad price",
		chromedp.SetValue(chromedp.ID("item_price_1"), "35.555"),
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("errors")),
	)
	both("04-create-error")
	do(t, tab, "fix it and create",
		chromedp.SetValue(chromedp.ID("item_price_1"), "35"),
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("share-url")),
	)
	loc, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id := regexp.MustCompile(`/checkouts/(cs_[A-Za-z0-9]+)`).FindStringSubmatch(loc)
	if id == nil {
		t.Fatalf("after create: %s", loc)
	}
	link, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("share-url")))
	if err != nil || link != sys.CheckoutURL+"/checkout/"+id[1] {
		t.Fatalf("payment link %q (%v), want the hosted page of %s", link, err, id[1])
	}
	if total := text(t, tab, "total"); total != "€155.50" {
		t.Errorf("total %q, want €155.50", total)
	}
	if qr, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("#qr svg path").length`)); err != nil || qr != 1 {
		t.Errorf("QR code paths: %d %v", qr, err)
	}
	both("05-created")

	// The customer opens the link and pays with the test card.
	tab = newTab(t, browser, expected...)
	do(t, tab, "open the payment link", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("pay-form")))
	fillBilling(t, tab, "FR", "75001")
	do(t, tab, "pay by card",
		chromedp.SendKeys(chromedp.ID("card_number"), "4242 4242 4242 4242"),
		chromedp.SendKeys(chromedp.ID("card_exp"), "12/34"),
		chromedp.SendKeys(chromedp.ID("card_cvc"), "123"),
		chromedp.Click(chromedp.ID("pay-button")),
		chromedp.WaitVisible(chromedp.ID("paid")),
	)

	// Back in the dashboard, the session is paid.
	tab = newTab(t, browser, expected...)
	do(t, tab, "open Checkouts", chromedp.Navigate(sys.DashboardURL+"checkouts"), chromedp.WaitVisible(chromedp.ID("row-"+id[1])))
	if row := text(t, tab, "row-"+id[1]); !strings.Contains(row, "Paid") || !strings.Contains(row, "client@example.com") {
		t.Errorf("the session's row: %q", row)
	}
	both("06-checkouts-paid")
	// The Overview counts it, with its day in the EUR chart.
	do(t, tab, "open Overview", chromedp.Click(chromedp.ID("nav-overview")), chromedp.WaitVisible(chromedp.ID("chart-EUR")))
	both("06b-overview")
	do(t, tab, "back to Checkouts", chromedp.Navigate(sys.DashboardURL+"checkouts"), chromedp.WaitVisible(chromedp.ID("row-"+id[1])))
	do(t, tab, "filter paid sessions by email",
		chromedp.SendKeys(chromedp.ID("q"), "client@example.com"),
		choose("payment", "paid"),
		chromedp.Click(chromedp.ID("apply")),
		chromedp.WaitReady(chromedp.CSS(`#payment option[value="paid"][selected]`)),
		chromedp.WaitVisible(chromedp.ID("row-"+id[1])),
	)
	if n, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("#checkouts tbody tr").length`)); err != nil || n < 1 {
		t.Errorf("filtered rows: %d %v", n, err)
	}
	both("07-checkouts-filtered")
	do(t, tab, "open the session", chromedp.Click(chromedp.CSS(`#row-`+id[1]+` a`)), chromedp.WaitVisible(chromedp.ID("payments")))
	if pays := text(t, tab, "payments"); !strings.Contains(pays, "pay_") || !strings.Contains(pays, "4242") || !strings.Contains(pays, "succeeded") {
		t.Errorf("payments on the detail page: %q", pays)
	}
	if status := text(t, tab, "status"); status != "Paid" {
		t.Errorf("status badge %q", status)
	}
	// Events reach hooks through NATS a moment later: reload until the
	// completion and its delivery to the endpoint are listed.
	eventually(t, "the completion's delivery on the checkout page", 30*time.Second, func() bool {
		do(t, tab, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("events-h")))
		page, err := chromedp.Run(tab, chromedp.Evaluate[string](`(document.getElementById("events") || {}).textContent || ""`))
		return err == nil && strings.Contains(page, "checkout.session.completed") && strings.Contains(page, endpoint) && strings.Contains(page, "Delivered")
	})
	both("08-checkout-paid")

	// Resend the completion: the receiver gets the same message again.
	before := len(hooks.deliveries())
	do(t, tab, "resend the delivery",
		chromedp.Click(chromedp.CSS(`#events button[id^="resend-"][id$="-`+endpoint+`"]`)),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	eventually(t, "the resent delivery to arrive", 30*time.Second, func() bool { return len(hooks.deliveries()) > before })

	// Support refunds part of it: a bad amount is refused on the form, then
	// 50.00 of the 155.50 goes back.
	payID := regexp.MustCompile(`pay_[A-Za-z0-9]+`).FindString(text(t, tab, "payments"))
	do(t, tab, "refund a bad amount",
		chromedp.SendKeys(chromedp.ID("refund-amount-"+payID), "12.345"),
		chromedp.Click(chromedp.ID("refund-submit-"+payID)),
		chromedp.WaitVisible(chromedp.ID("refund-amount-"+payID+"-error")),
	)
	do(t, tab, "refund 50.00",
		chromedp.SetValue(chromedp.ID("refund-amount-"+payID), "50.00"),
		choose("refund-reason-"+payID, "requested_by_customer"),
		chromedp.Click(chromedp.ID("refund-submit-"+payID)),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	if refunds := text(t, tab, "refunds-"+payID); !strings.Contains(refunds, "50.00") || !strings.Contains(refunds, "Requested by the customer") {
		t.Errorf("refunds after refunding 50.00: %q", refunds)
	}
	if pays := text(t, tab, "payments"); !strings.Contains(pays, "Refunded") {
		t.Errorf("payments after the refund: %q", pays)
	}
	both("09-checkout-refunded")

	// An open session can be expired from its page.
	tab = newTab(t, browser, expected...)
	open := newSession(t, nil)
	do(t, tab, "open an open session", chromedp.Navigate(sys.DashboardURL+"checkouts/"+open["id"].(string)), chromedp.WaitVisible(chromedp.ID("expire")))
	do(t, tab, "expire it", chromedp.Click(chromedp.ID("expire")), chromedp.WaitVisible(chromedp.ID("notice")))
	if status := text(t, tab, "status"); status != "Expired" {
		t.Errorf("after expiring: %q", status)
	}
	if got := session(t, open["id"].(string)); got["status"] != "expired" {
		t.Errorf("the API says %v", got["status"])
	}
	both("10-checkout-expired")

	// Sites: the list, a preview of the demo site's header in another colour
	// (not saved: other tests use the demo site), and a new site whose bank
	// transfers lack instructions until they are given.
	do(t, tab, "open Sites", chromedp.Click(chromedp.ID("nav-sites")), chromedp.WaitVisible(chromedp.ID("sites")))
	if list := text(t, tab, "sites"); !strings.Contains(list, sys.SiteID) {
		t.Errorf("the Sites list lacks the demo site: %q", list)
	}
	both("15-sites")
	do(t, tab, "preview the demo site in violet",
		chromedp.Navigate(sys.DashboardURL+"sites/"+sys.SiteID), chromedp.WaitVisible(chromedp.ID("site-form")),
		chromedp.SetValue(chromedp.ID("primary_color"), "#6d28d9"),
		chromedp.Click(chromedp.ID("preview-button")),
		chromedp.WaitVisible(chromedp.CSS(`#primary_color[value="#6d28d9"]`)),
	)
	if bg, err := chromedp.Run(tab, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(".preview-button")).backgroundColor`)); err != nil || bg != "rgb(109, 40, 217)" {
		t.Errorf("the preview's button colour: %q %v", bg, err)
	}
	both("16-site-preview")
	do(t, tab, "a new site with bank transfers and no instructions",
		chromedp.Navigate(sys.DashboardURL+"sites/new"), chromedp.WaitVisible(chromedp.ID("site-form")),
		chromedp.SendKeys(chromedp.ID("name"), "Atelier Lumière"),
		chromedp.SendKeys(chromedp.ID("default_currency"), "EUR"),
		chromedp.Click(chromedp.ID("method-bank_transfer")),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.ID("bank_transfer_instructions-error")),
	)
	both("17-site-error")
	do(t, tab, "give the instructions and save",
		chromedp.SendKeys(chromedp.ID("bank_transfer_instructions"), "IBAN FR76 3000 6000 0112 3456 7890 189, reference: the session id"),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.ID("notice")),
	)
	both("18-site-saved")

	// Catalog: a product with its first price typed as a decimal, its page
	// with the price, and the discounts page with a new coupon.
	do(t, tab, "open Catalog", chromedp.Click(chromedp.ID("nav-catalog")), chromedp.WaitVisible(chromedp.ID("product-form")))
	do(t, tab, "create a product with a price",
		chromedp.SendKeys(chromedp.ID("name"), "Loose-leaf tea"),
		chromedp.SendKeys(chromedp.ID("currency"), "EUR"),
		chromedp.SendKeys(chromedp.ID("unit_amount"), "4.50"),
		chromedp.Click(chromedp.ID("create-product")),
		chromedp.WaitVisible(chromedp.ID("prices")),
	)
	if prices := text(t, tab, "prices"); !strings.Contains(prices, "4.50") {
		t.Errorf("the product's prices: %q", prices)
	}
	both("18b-catalog-product")
	do(t, tab, "create a coupon",
		chromedp.Navigate(sys.DashboardURL+"catalog/discounts"), chromedp.WaitVisible(chromedp.ID("coupon-form")),
		chromedp.SendKeys(chromedp.ID("percent_off"), "15"),
		chromedp.SendKeys(chromedp.ID("coupon_max"), "100"),
		chromedp.Click(chromedp.ID("create-coupon")),
		chromedp.WaitVisible(chromedp.ID("coupons")),
	)
	both("18c-catalog-discounts")

	// Developers: an API key with its secret shown once, the webhook
	// endpoint with its delivery log, and the event's JSON.
	tab = newTab(t, browser, expected...)
	do(t, tab, "open Developers", chromedp.Navigate(sys.DashboardURL+"checkouts"), chromedp.WaitVisible(chromedp.ID("nav-developers")),
		chromedp.Click(chromedp.ID("nav-developers")), chromedp.WaitVisible(chromedp.ID("key-form")))
	do(t, tab, "create an API key", chromedp.SendKeys(chromedp.ID("name"), "Shop server"),
		chromedp.Click(chromedp.ID("create-key")), chromedp.WaitVisible(chromedp.ID("key-secret")))
	keySecret, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("key-secret")))
	if err != nil || !strings.HasPrefix(keySecret, "sk_test_") {
		t.Errorf("the key's secret is %q", keySecret)
	}
	both("19-api-key-created")
	do(t, tab, "back to the keys", chromedp.Click(chromedp.ID("done")), chromedp.WaitVisible(chromedp.ID("keys")))
	both("20-api-keys")
	do(t, tab, "webhook endpoints", chromedp.Navigate(sys.DashboardURL+"developers/webhooks"), chromedp.WaitVisible(chromedp.ID("endpoint-form")))
	both("21-webhooks")
	do(t, tab, "the endpoint", chromedp.Navigate(sys.DashboardURL+"developers/webhooks/"+endpoint), chromedp.WaitVisible(chromedp.ID("deliveries")))
	both("22-webhook")
	do(t, tab, "its event", chromedp.Click(chromedp.CSS(`#deliveries a`)), chromedp.WaitVisible(chromedp.ID("event-json")))
	both("23-event")
	do(t, tab, "the Team page", chromedp.Click(chromedp.ID("nav-team")), chromedp.WaitVisible(chromedp.ID("invite-form")))
	do(t, tab, "invite someone", chromedp.SendKeys(chromedp.ID("email"), "support-person@example.com"),
		choose("role", "support"), chromedp.Click(chromedp.ID("send-invite")), chromedp.WaitVisible(chromedp.ID("invite-link")))
	if link, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("invite-link"))); err != nil || !strings.HasPrefix(link, sys.DashboardURL+"invite/") {
		t.Errorf("invitation link %q (%v), want one under %sinvite/", link, err, sys.DashboardURL)
	}
	both("24-team-invited")
	do(t, tab, "back to the team", chromedp.Click(chromedp.ID("done")), chromedp.WaitVisible(chromedp.ID("invitations")))
	both("25-team")
	do(t, tab, "the audit log", chromedp.Click(chromedp.ID("nav-audit")), chromedp.WaitVisible(chromedp.ID("audit")))
	// Refunds and webhook endpoints are checkout-runtime's and hooks': their
	// entries are written after the forwarded call succeeds.
	log := text(t, tab, "audit")
	for _, action := range []string{"user.sign_in", "checkout_session.create", "refund.create", "event.resend", "site.create",
		"api_key.create", "team.invite", "webhook_endpoint.create " + endpoint} {
		if !strings.Contains(strings.Join(strings.Fields(log), " "), action) {
			t.Errorf("the audit log lacks %s:\n%s", action, log)
		}
	}
	both("26-audit")

	do(t, tab, "a page that does not exist", chromedp.Navigate(sys.DashboardURL+"checkouts/cs_doesnotexist"), chromedp.WaitVisible(chromedp.ID("error")))
	both("11-not-found")
	do(t, tab, "switch to French", chromedp.Click(chromedp.ID("lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="fr"] #error`)))
	if h := text(t, tab, "error"); !strings.Contains(h, "Page introuvable") {
		t.Errorf("French 404: %q", h)
	}
	do(t, tab, "French Checkouts", chromedp.Navigate(sys.DashboardURL+"checkouts"), chromedp.WaitVisible(chromedp.ID("filters")))
	both("12-checkouts-fr")
	do(t, tab, "back to English", chromedp.Click(chromedp.ID("lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #filters`)))
	// Each click loads a new page: wait for what only the new page has.
	do(t, tab, "switch to live mode", chromedp.Click(chromedp.ID("mode-switch")), chromedp.WaitVisible(chromedp.CSS("#mode.live")))
	if mode := text(t, tab, "mode"); mode != "Live mode" {
		t.Errorf("mode badge %q", mode)
	}
	both("13-live-mode")
	do(t, tab, "open the account page", chromedp.Click(chromedp.ID("who")), chromedp.WaitVisible(chromedp.ID("password-form")))
	both("14-account")
	// The two-factor set-up page; the demo owner keeps it off (Cancel).
	do(t, tab, "set up two-factor sign-in", chromedp.Click(chromedp.ID("setup-two-factor")), chromedp.WaitVisible(chromedp.ID("enable-form")))
	if qr, err := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll("#qr svg path").length`)); err != nil || qr != 1 {
		t.Errorf("two-factor QR code paths: %d %v", qr, err)
	}
	both("26-two-factor-setup")
	do(t, tab, "cancel the set-up", chromedp.Click(chromedp.ID("cancel-two-factor")), chromedp.WaitVisible(chromedp.ID("setup-two-factor")))
	do(t, tab, "log out", chromedp.Click(chromedp.ID("mode-switch")), chromedp.WaitVisible(chromedp.CSS("#mode.test")),
		chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("notice")))
	do(t, tab, "signed out", chromedp.Navigate(sys.DashboardURL+"checkouts"), chromedp.WaitVisible(chromedp.ID("login-form")))
	if loc, _ := chromedp.Run(tab, chromedp.Location()); !strings.Contains(loc, "next="+url.QueryEscape("/dashboard/checkouts")) {
		t.Errorf("after logout the dashboard went to %s", loc)
	}
}
