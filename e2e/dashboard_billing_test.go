package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// TestDashboardBilling is the demo owner in a real Chromium looking at a
// subscription whose renewal was declined: the Subscriptions list filtered
// by its customer, its page (past due, the open invoice), cancelling it at
// period end, the Invoices list and the open invoice with its failed charge
// attempt; then a checkout made from the catalog in Create checkout. Each
// page is screenshotted at phone and laptop widths under
// test-artifacts/screenshots/dashboard-3*.png.
func TestDashboardBilling(t *testing.T) {
	clock, customer, sub := clockCheckout(t, "2027-09-30T09:00:00Z", provider.TestCardOffSessionDeclined)
	id := sub["id"].(string)
	advanceClock(t, clock, "2027-10-30T09:00:00Z")
	invoices := subscriptionInvoices(t, id)
	if len(invoices) != 2 || invoices[1]["status"] != "open" {
		t.Fatalf("invoices: %v", invoices)
	}
	open := invoices[1]["id"].(string)
	price := sub["items"].([]any)[0].(map[string]any)["price"].(string)

	shots := screenshotDir(t)
	tab := newTab(t, newChromium(t))
	both := func(name string) { t.Helper(); screenshotBoth(t, tab, shots, name) }
	do(t, tab, "sign in", chromedp.Navigate(sys.DashboardURL), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("email"), sys.DashboardEmail),
		chromedp.SendKeys(chromedp.ID("password"), sys.DashboardPassword),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("overview-intro")),
	)
	do(t, tab, "open Billing", chromedp.Click(chromedp.ID("nav-billing")), chromedp.WaitVisible(chromedp.ID("filters")))
	do(t, tab, "filter by the customer", chromedp.SendKeys(chromedp.ID("customer"), customer), chromedp.Click(chromedp.ID("apply")),
		chromedp.WaitVisible(chromedp.ID("row-"+id)))
	if row := text(t, tab, "row-"+id); !strings.Contains(row, "Past due") || !strings.Contains(row, "club@example.com") {
		t.Errorf("the subscription's row: %q", row)
	}
	both("30-subscriptions")
	do(t, tab, "open the subscription", chromedp.Click(chromedp.CSS(`#row-`+id+` a`)), chromedp.WaitVisible(chromedp.ID("items")))
	if inv := text(t, tab, "invoices"); !strings.Contains(inv, open) || !strings.Contains(inv, "Open") {
		t.Errorf("the subscription's invoices: %q", inv)
	}
	both("31-subscription")
	do(t, tab, "cancel at period end", chromedp.Click(chromedp.ID("cancel-at-end")), chromedp.WaitVisible(chromedp.ID("notice")))
	if s := text(t, tab, "cancel-scheduled"); !strings.Contains(s, "Cancels on") {
		t.Errorf("after cancelling at period end: %q", s)
	}
	both("32-subscription-cancel-scheduled")
	do(t, tab, "the Invoices list", chromedp.Click(chromedp.ID("nav-invoices")), chromedp.WaitVisible(chromedp.ID("invoices")))
	both("33-invoices")
	do(t, tab, "the open invoice", chromedp.Navigate(sys.DashboardURL+"invoices/"+open), chromedp.WaitVisible(chromedp.ID("attempts")))
	if n := text(t, tab, "attempt-count"); n != "1" {
		t.Errorf("charge attempts shown: %q", n)
	}
	if ev := text(t, tab, "events-h"); ev == "" {
		t.Error("the invoice has no events section")
	}
	both("34-invoice")

	do(t, tab, "Create checkout from the catalog", chromedp.Click(chromedp.ID("nav-create")), chromedp.WaitVisible(chromedp.ID("catalog-lines")),
		choose("site", sys.SiteID), choose("cat_price_0", price))
	do(t, tab, "two of them", chromedp.SetValue(chromedp.ID("cat_qty_0"), "2"), chromedp.SendKeys(chromedp.ID("customer_email"), "club2@example.com"))
	both("35-create-catalog")
	do(t, tab, "create", chromedp.Click(chromedp.ID("create")), chromedp.WaitVisible(chromedp.ID("total")))
	if total := text(t, tab, "total"); !strings.Contains(total, "18.00") {
		t.Errorf("the catalog checkout's total: %q", total)
	}
}

// screenshotBoth screenshots the tab's dashboard page at a laptop's width and
// a phone's, as dashboard-NAME-1280.png and -390.png in shots (shot takes
// both widths).
func screenshotBoth(t *testing.T, tab context.Context, shots, name string) {
	t.Helper()
	shot(t, tab, shots, "dashboard-"+name+".png")
}
