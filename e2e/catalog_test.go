package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// created calls the merchant API and fails the test unless it answers 201.
func created(t *testing.T, path string, body any) map[string]any {
	t.Helper()
	status, out := api(t, "POST", path, body)
	if status != http.StatusCreated {
		t.Fatalf("POST %s: %d %v", path, status, out)
	}
	return out
}

// TestCatalogCheckout runs the catalog through the running stack: a product
// and its price, a customer, a session made of them (seed 002's
// `{price_id, quantity}` and `customer_id`), read back; the payer changes
// the adjustable quantity on the hosted page (a refused one first), pays by
// test card, and the session completes with the exact totals.
func TestCatalogCheckout(t *testing.T) {
	prod := created(t, "/v1/products", map[string]any{"name": "Loose-leaf tea", "description": "100 g tin"})
	price := created(t, "/v1/prices", map[string]any{"product": prod["id"], "currency": "EUR", "unit_amount": 450})
	cus := created(t, "/v1/customers", map[string]any{"email": "grace@example.com", "name": "Grace Hopper"})
	s := created(t, "/v1/checkout/sessions", map[string]any{
		"customer_id": cus["id"],
		"line_items": []any{
			map[string]any{"price_id": price["id"], "quantity": 2, "adjustable_quantity": map[string]any{"enabled": true, "minimum": 1, "maximum": 5}},
			map[string]any{"name": "Gift wrap", "unit_amount": 250, "quantity": 1},
		},
		"success_url": "https://shop.example/thanks?cs={CHECKOUT_SESSION_ID}", "cancel_url": "https://shop.example/cart",
	})
	id := s["id"].(string)
	status, got := api(t, "GET", "/v1/checkout/sessions/"+id, nil)
	item := got["line_items"].([]any)[0].(map[string]any)
	if status != http.StatusOK || got["customer"] != cus["id"] || got["customer_email"] != "grace@example.com" || got["currency"] != "EUR" ||
		got["amount_subtotal"] != 1150.0 || item["price_id"] != price["id"] || item["product_id"] != prod["id"] ||
		item["name"] != "Loose-leaf tea" || item["description"] != "100 g tin" || item["amount_total"] != 900.0 {
		t.Fatalf("read back: %d %v", status, got)
	}

	payer := newBrowser()
	page, csrf := open(t, payer, s["url"].(string))
	for _, want := range []string{"Loose-leaf tea", `value="grace@example.com"`, `name="quantity"`, `min="1" max="5"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	quantityURL := sys.CheckoutURL + "/checkout/" + id + "/quantity"
	resp, _, body := post(t, payer, quantityURL, url.Values{"csrf_token": {csrf}, "line_item": {"0"}, "quantity": {"9"}}, false)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Choose a quantity from 1 to 5.") {
		t.Fatalf("quantity 9: %d %.300q", resp.StatusCode, body)
	}
	resp, _, _ = post(t, payer, quantityURL, url.Values{"csrf_token": {csrf}, "line_item": {"0"}, "quantity": {"3"}}, false)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("quantity 3: %d", resp.StatusCode)
	}
	_, got = api(t, "GET", "/v1/checkout/sessions/"+id, nil)
	if got["amount_subtotal"] != 1600.0 || got["line_items"].([]any)[0].(map[string]any)["quantity"] != 3.0 {
		t.Fatalf("after the change: %v", got)
	}
	page, csrf = open(t, payer, s["url"].(string))
	if !strings.Contains(page, `value="3"`) {
		t.Errorf("the page does not show the new quantity")
	}

	resp, _, _ = post(t, payer, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), false)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "https://shop.example/thanks") {
		t.Fatalf("pay: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, paid := api(t, "GET", "/v1/checkout/sessions/"+id, nil)
	subtotal, tax := paid["amount_subtotal"].(float64), paid["amount_tax"].(float64)
	if paid["status"] != "complete" || paid["payment_status"] != "paid" || subtotal != 1600 || paid["amount_total"] != subtotal+tax {
		t.Fatalf("paid session: %v", paid)
	}
}

// TestPaymentKitSeedWithCatalog runs seed 002's first API example as written,
// with the ids of a real customer and price in place of cus_abc123 and
// price_xyz, through the PaymentKit surface of the running stack.
func TestPaymentKitSeedWithCatalog(t *testing.T) {
	prod := created(t, "/v1/products", map[string]any{"name": "Pro plan setup"})
	price := created(t, "/v1/prices", map[string]any{"product": prod["id"], "currency": "EUR", "unit_amount": 4900})
	cus := created(t, "/v1/customers", map[string]any{"email": "abc123@example.com"})
	body := strings.NewReplacer("cus_abc123", cus["id"].(string), "price_xyz", price["id"].(string)).Replace(`{
    "customer_id": "cus_abc123",
    "line_items": [
      { "price_id": "price_xyz", "quantity": 1 }
    ],
    "success_url": "https://yoursite.com/success",
    "return_url": "https://yoursite.com/cancel"
  }`)
	status, s := request(t, sys.SecretKey, "POST", paymentKitPath(), body, "")
	items, _ := s["line_items"].([]any)
	if status != http.StatusCreated || s["customer_id"] != cus["id"] || s["customer_email"] != "abc123@example.com" ||
		s["amount_total"] != 4900.0 || len(items) != 1 || items[0].(map[string]any)["price_id"] != price["id"] || s["secure_token"] == nil {
		t.Fatalf("the seed's example: %d %v", status, s)
	}
	page, _ := open(t, newBrowser(), s["url"].(string))
	if !strings.Contains(page, "Pro plan setup") || !strings.Contains(page, `value="abc123@example.com"`) {
		t.Errorf("the secure page does not show the catalog item and the customer's email")
	}
}

// TestBrowserQuantityChange changes an adjustable quantity in a real
// Chromium, with the page's script and CSP in force: a quantity out of
// bounds is refused next to the item, a good one updates the totals.
func TestBrowserQuantityChange(t *testing.T) {
	shots := screenshotDir(t)
	browser := newChromium(t)
	prod := created(t, "/v1/products", map[string]any{"name": "Loose-leaf tea"})
	price := created(t, "/v1/prices", map[string]any{"product": prod["id"], "currency": "EUR", "unit_amount": 450})
	s := created(t, "/v1/checkout/sessions", map[string]any{
		"line_items": []any{map[string]any{"price_id": price["id"], "quantity": 1,
			"adjustable_quantity": map[string]any{"enabled": true, "minimum": 1, "maximum": 5}}},
		"success_url": "https://shop.example/thanks", "cancel_url": "https://shop.example/cart",
	})
	tab := newTab(t, browser, "status of 400") // the refused quantity re-renders the page with 400
	do(t, tab, "open the page", chromedp.Navigate(s["url"].(string)), chromedp.WaitVisible(chromedp.ID("quantity-0")))
	before := text(t, tab, "subtotal")

	do(t, tab, "ask for 9",
		chromedp.SetValue(chromedp.ID("quantity-0"), "9"),
		chromedp.Click(`form.qty button`),
		chromedp.WaitVisible(chromedp.ID("quantity-0-error")),
	)
	shot(t, tab, shots, "40-quantity-refused.png")
	if msg := text(t, tab, "quantity-0-error"); msg != "Choose a quantity from 1 to 5." {
		t.Errorf("refusal %q", msg)
	}
	do(t, tab, "ask for 4",
		chromedp.SetValue(chromedp.ID("quantity-0"), "4"),
		chromedp.Click(`form.qty button`),
		// The answer is a 303 back to the page, without the refusal.
		chromedp.WaitNotPresent(chromedp.ID("quantity-0-error")),
		chromedp.WaitVisible(chromedp.ID("subtotal")),
	)
	shot(t, tab, shots, "41-quantity-changed.png")
	if sub := text(t, tab, "subtotal"); sub == before || (!strings.Contains(sub, "18.00") && !strings.Contains(sub, "18,00")) {
		t.Errorf("subtotal after 4 × 4.50: %q (was %q)", sub, before)
	}
	if got := session(t, s["id"].(string)); got["amount_subtotal"] != 1800.0 {
		t.Errorf("session after the change: %v", got["amount_subtotal"])
	}
}
