package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack/paystacktest"
)

// paystackSite connects a Paystack account (its key is the scripted
// Paystack's, behind Prism) and makes a GHS site whose mobile money it
// serves; it returns the site and the account's webhook URL.
func paystackSite(t *testing.T) (siteID, webhookURL string) {
	t.Helper()
	status, acct := api(t, "POST", "/v1/provider_accounts", map[string]any{"provider": "paystack", "name": "Mobile money",
		"credentials": map[string]any{"secret_key": paystacktest.Key}})
	if status != http.StatusCreated {
		t.Fatalf("connect Paystack: %d %v", status, acct)
	}
	status, site := api(t, "POST", "/v1/sites", map[string]any{"name": "Accra shop", "default_currency": "GHS",
		"payment_method_types": []string{"mobile_money"}, "provider_accounts": map[string]string{"mobile_money": acct["id"].(string)}})
	if status != http.StatusCreated {
		t.Fatalf("site: %d %v", status, site)
	}
	return site["id"].(string), acct["webhook_url"].(string)
}

// ghsSession is a GHS 25.00 session of site whose success page is the
// hosted page itself (landing on it shows the receipt).
func ghsSession(t *testing.T, site string) map[string]any {
	t.Helper()
	status, s := api(t, "POST", "/v1/checkouts/"+site+"/create", map[string]any{
		"line_items":  []map[string]any{{"name": "Kente scarf", "unit_amount": 2500, "quantity": 1}},
		"currency":    "GHS",
		"success_url": sys.CheckoutURL + "/checkout/{CHECKOUT_SESSION_ID}",
		"cancel_url":  sys.CheckoutURL + "/checkout/{CHECKOUT_SESSION_ID}",
	})
	if status != http.StatusCreated {
		t.Fatalf("create session: %d %v", status, s)
	}
	return s
}

// fillWallet fills the billing details and the wallet for Ghana.
func fillWallet(t *testing.T, tab context.Context, network, phone string) {
	t.Helper()
	fillBilling(t, tab, "GH", "GA-123")
	do(t, tab, "fill the wallet", choose("network", network), chromedp.SendKeys(chromedp.ID("phone"), phone))
}

// TestMobileMoneyThroughTheStack: in Chromium, a payer pays a GHS session
// by mobile money: the code path (send_otp → the code → paid) and the phone
// path (pay_offline → "approve on your phone", refreshing without help →
// Paystack's signed webhook to hooks → verified → paid). Every call the
// stack makes to Paystack passes Prism's validation against Paystack's
// OpenAPI specification. Screenshots of each state.
func TestMobileMoneyThroughTheStack(t *testing.T) {
	shots := screenshotDir(t)
	browser := newChromium(t)
	site, webhookURL := paystackSite(t)

	t.Run("code", func(t *testing.T) {
		s := ghsSession(t, site)
		// The short number is answered 400, which the browser logs.
		tab := newTab(t, browser, "status of 400 (Bad Request)")
		do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("mobile-money-fields")))
		fillWallet(t, tab, "mtn", "020 12")
		do(t, tab, "pay with a short number", chromedp.Click(chromedp.ID("pay-button")), chromedp.WaitVisible(chromedp.ID("phone-error")))
		shot(t, tab, shots, "mm-01-phone-error.png")
		paystackFake.Set(paystack.StatusSendOTP, 2500)
		do(t, tab, "pay", chromedp.SetValue(chromedp.ID("phone"), "055 123 4987"), chromedp.Click(chromedp.ID("pay-button")),
			chromedp.WaitVisible(chromedp.ID("otp-form")))
		shot(t, tab, shots, "mm-02-otp.png")
		paystackFake.Set(paystack.StatusSuccess, 2500)
		do(t, tab, "type the code", chromedp.SendKeys(chromedp.ID("otp"), "123456"), chromedp.Click(chromedp.ID("otp-submit")),
			chromedp.WaitVisible(chromedp.ID("paid")))
		shot(t, tab, shots, "mm-03-paid.png")
		if got := session(t, s["id"].(string)); got["status"] != "complete" || got["payment_status"] != "paid" {
			t.Errorf("session %v/%v", got["status"], got["payment_status"])
		}
	})

	t.Run("phone prompt and webhook", func(t *testing.T) {
		s := ghsSession(t, site)
		id := s["id"].(string)
		tab := newTab(t, browser)
		do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("mobile-money-fields")))
		fillWallet(t, tab, "vod", "+233 20 123 4567")
		paystackFake.Set(paystack.StatusPayOffline, 2500)
		do(t, tab, "pay", chromedp.Click(chromedp.ID("pay-button")), chromedp.WaitVisible(chromedp.ID("mm-h")))
		if h := text(t, tab, "mm-h"); h != "Approve the payment on your phone" {
			t.Fatalf("heading %q", h)
		}
		shot(t, tab, shots, "mm-04-approve-on-phone.png")
		if got := session(t, id); got["status"] != "open" {
			t.Fatalf("session while waiting: %v", got["status"])
		}

		// Paystack's webhook, signed with the key (a bad signature is 401).
		href, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("check").getAttribute("href")`))
		if err != nil || !strings.Contains(href, "payment_id=pay_") {
			t.Fatalf("check link %q: %v", href, err)
		}
		ref := href[strings.Index(href, "payment_id=")+len("payment_id="):]
		body := []byte(`{"event":"charge.success","data":{"id":4099260516,"domain":"test","status":"success","reference":"` + ref +
			`","amount":2500,"currency":"GHS","channel":"mobile_money"}}`)
		post := func(sig string) int {
			req, _ := http.NewRequest("POST", webhookURL, strings.NewReader(string(body)))
			req.Header.Set("x-paystack-signature", sig)
			resp, err := merchant.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := post(paystack.Sign(body, "sk_test_SomeoneElse")); code != http.StatusUnauthorized {
			t.Errorf("bad signature: %d", code)
		}
		paystackFake.Set(paystack.StatusSuccess, 2500)
		if code := post(paystack.Sign(body, paystacktest.Key)); code != http.StatusOK {
			t.Fatalf("webhook: %d", code)
		}
		eventually(t, "the session paid", 20*time.Second, func() bool { return session(t, id)["payment_status"] == "paid" })
		// The page refreshes itself onto the receipt.
		do(t, tab, "the page refreshes", chromedp.WaitVisible(chromedp.ID("paid")))
		shot(t, tab, shots, "mm-05-paid-after-webhook.png")
	})
}
