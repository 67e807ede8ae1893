package server

import (
	"net/http"
	"testing"
)

// TestCurrenciesMustBePayable: ISO 4217 codes nobody can pay in (test,
// no-currency, metal, SDR and fund codes, withdrawn currencies) are refused
// for sessions and sites, naming the parameter; payable ones are accepted.
func TestCurrenciesMustBePayable(t *testing.T) {
	e := newEnv(t)
	path := "/v1/checkouts/" + e.siteA + "/create"
	for _, code := range []string{"XXX", "XTS", "XAU", "XDR", "CHE", "DEM"} {
		b := validSession()
		b["currency"] = code
		status, body := e.do("POST", path, e.keyA, b)
		if param, _, _ := apiError(body); status != http.StatusBadRequest || param != "currency" {
			t.Errorf("session in %s: %d %v, want 400 naming currency", code, status, body)
		}
		site := validSite()
		site["default_currency"] = code
		status, body = e.do("POST", "/v1/sites", e.keyA, site)
		if param, _, _ := apiError(body); status != http.StatusBadRequest || param != "default_currency" {
			t.Errorf("site in %s: %d %v, want 400 naming default_currency", code, status, body)
		}
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Fatalf("refused currencies wrote %d sessions", n)
	}
	for _, code := range []string{"GHS", "VES", "XOF"} {
		b := validSession()
		b["currency"] = code
		if status, body := e.do("POST", path, e.keyA, b); status != http.StatusCreated || body["currency"] != code {
			t.Errorf("session in %s: %d %v, want 201", code, status, body)
		}
	}
}

// TestTotalAfterTaxIsBounded: the documented maximum holds for the total a
// payer can be charged, exclusive tax included, not only for the subtotal.
func TestTotalAfterTaxIsBounded(t *testing.T) {
	e := newEnv(t)
	site := validSite()
	site["tax_rates"] = []map[string]any{
		{"country": "FR", "percentage_bps": 2000, "inclusive": true, "display_name": "TVA"},
		{"country": "US", "percentage_bps": 10000, "display_name": "Everything tax"},
	}
	status, body := e.do("POST", "/v1/sites", e.keyA, site)
	if status != http.StatusCreated {
		t.Fatalf("create site: %d %v", status, body)
	}
	path := "/v1/checkouts/" + body["id"].(string) + "/create"
	session := func(amount any) map[string]any {
		b := validSession()
		delete(b, "line_items")
		b["amount"] = amount
		return b
	}
	// 100 % on top doubles the subtotal: 99,999,999,999 could be charged
	// 199,999,999,998.
	for _, c := range []struct {
		name   string
		body   map[string]any
		status int
		param  string
	}{
		{"amount at the maximum", session(99_999_999_999), 400, "amount"},
		{"one over half", session(50_000_000_000), 400, "amount"},
		{"half, rounded down", session(49_999_999_999), 201, ""},
		{"line items", map[string]any{"line_items": []map[string]any{{"name": "Gold", "unit_amount": 9_000_000_000, "quantity": 6}},
			"success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/cart"}, 400, "line_items"},
	} {
		status, body := e.do("POST", path, e.keyA, c.body)
		if param, _, _ := apiError(body); status != c.status || param != c.param {
			t.Errorf("%s: %d %v, want %d naming %q", c.name, status, body, c.status, c.param)
		}
	}
	// An inclusive rate adds nothing on top: the site of newEnv (20 %
	// inclusive) takes the maximum.
	if status, body := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, session(99_999_999_999)); status != http.StatusCreated {
		t.Errorf("maximum with an inclusive rate: %d %v", status, body)
	}
}
