package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	stripe "github.com/stripe/stripe-go/v82"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

// mustCreate posts body to path and returns the created object, failing
// the test unless the answer is 201.
func (e *env) mustCreate(path, key string, body any) map[string]any {
	e.t.Helper()
	status, out := e.do("POST", path, key, body)
	if status != http.StatusCreated {
		e.t.Fatalf("POST %s: %d %v", path, status, out)
	}
	return out
}

// product creates a product and a one-time price for it, returning both ids.
func (e *env) productWithPrice(key, name string, amount int, currency string) (productID, priceID string) {
	e.t.Helper()
	prod := e.mustCreate("/v1/products", key, map[string]any{"name": name, "description": name + " from the catalog",
		"images": []string{"https://shop.example/" + strings.ToLower(name) + ".png"}})
	price := e.mustCreate("/v1/prices", key, map[string]any{"product": prod["id"], "currency": currency, "unit_amount": amount})
	return prod["id"].(string), price["id"].(string)
}

func TestCustomerLifecycle(t *testing.T) {
	e := newEnv(t)
	c := e.mustCreate("/v1/customers", e.keyA, map[string]any{"email": "ada@example.com", "name": "Ada", "phone": "+33 1 23 45 67 89",
		"address":  map[string]any{"line1": "1 rue de Rivoli", "city": "Paris", "postalCode": "75001", "country": "fr"},
		"metadata": map[string]string{"tier": "gold", "ref": "A1"}})
	id := c["id"].(string)
	if !strings.HasPrefix(id, "cus_") || c["object"] != "customer" || c["livemode"] != false ||
		c["address"].(map[string]any)["country"] != "FR" || c["address"].(map[string]any)["postal_code"] != "75001" {
		t.Fatalf("created customer: %v", c)
	}
	if status, got := e.do("GET", "/v1/customers/"+id, e.keyA, nil); status != 200 || !reflect.DeepEqual(got, c) {
		t.Fatalf("get: %d %v, want %v", status, got, c)
	}

	// An update changes what it names: the city alone, one metadata key
	// set and one removed; the rest keeps its values.
	status, u := e.do("POST", "/v1/customers/"+id, e.keyA, map[string]any{"address": map[string]any{"city": "Lyon"},
		"metadata": map[string]string{"tier": "", "since": "2026"}, "phone": ""})
	if status != 200 {
		t.Fatalf("update: %d %v", status, u)
	}
	addr := u["address"].(map[string]any)
	if addr["city"] != "Lyon" || addr["line1"] != "1 rue de Rivoli" || u["email"] != "ada@example.com" || u["phone"] != nil ||
		!reflect.DeepEqual(u["metadata"], map[string]any{"ref": "A1", "since": "2026"}) {
		t.Fatalf("updated customer: %v", u)
	}

	// List: newest first, the email filter ignores case, cursors page.
	other := e.mustCreate("/v1/customers", e.keyA, map[string]any{"email": "bob@example.com"})
	_, list := e.do("GET", "/v1/customers?limit=1", e.keyA, nil)
	if data := list["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != other["id"] || list["has_more"] != true {
		t.Fatalf("first page: %v", list)
	}
	_, list = e.do("GET", "/v1/customers?starting_after="+other["id"].(string), e.keyA, nil)
	if data := list["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != id || list["has_more"] != false {
		t.Fatalf("second page: %v", list)
	}
	_, list = e.do("GET", "/v1/customers?email=ADA@example.com", e.keyA, nil)
	if data := list["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != id {
		t.Fatalf("email filter: %v", list)
	}

	// Deleted: gone from get, list, update and a second delete.
	status, del := e.do("DELETE", "/v1/customers/"+id, e.keyA, nil)
	if status != 200 || !reflect.DeepEqual(del, map[string]any{"id": id, "object": "customer", "deleted": true}) {
		t.Fatalf("delete: %d %v", status, del)
	}
	for _, r := range []struct{ method, path string }{{"GET", "/v1/customers/" + id}, {"POST", "/v1/customers/" + id}, {"DELETE", "/v1/customers/" + id}} {
		if status, body := e.do(r.method, r.path, e.keyA, map[string]any{}); status != 404 {
			t.Errorf("%s after delete: %d %v", r.method, status, body)
		}
	}
	_, list = e.do("GET", "/v1/customers", e.keyA, nil)
	if data := list["data"].([]any); len(data) != 1 {
		t.Errorf("list after delete: %v", list)
	}
}

func TestCustomerRejectsInvalid(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate("/v1/customers", e.keyA, map[string]any{"email": "ada@example.com"})["id"].(string)
	many := map[string]string{}
	for i := range 51 {
		many[fmt.Sprint("k", i)] = "v"
	}
	cases := []struct {
		name  string
		body  map[string]any
		param string
	}{
		{"email", map[string]any{"email": "not an email"}, "email"},
		{"phone with letters", map[string]any{"phone": "call me"}, "phone"},
		{"name too long", map[string]any{"name": strings.Repeat("n", 257)}, "name"},
		{"country", map[string]any{"address": map[string]any{"country": "XX"}}, "address[country]"},
		{"address line too long", map[string]any{"address": map[string]any{"line1": strings.Repeat("l", 201)}}, "address[line1]"},
		{"too many metadata keys", map[string]any{"metadata": many}, "metadata"},
		{"unknown field", map[string]any{"nickname": "x"}, "nickname"},
	}
	for _, c := range cases {
		for _, path := range []string{"/v1/customers", "/v1/customers/" + id} {
			status, body := e.do("POST", path, e.keyA, c.body)
			if param, typ, _ := apiError(body); status != 400 || param != c.param || typ != "invalid_request_error" {
				t.Errorf("%s on %s: %d %v, want 400 naming %s", c.name, path, status, body, c.param)
			}
		}
	}
	if n := e.count("SELECT count(*) FROM admin.customers"); n != 1 {
		t.Errorf("%d customers after refusals, want 1", n)
	}
	if _, c := e.do("GET", "/v1/customers/"+id, e.keyA, nil); c["email"] != "ada@example.com" || c["address"] != nil {
		t.Errorf("refused updates changed the customer: %v", c)
	}
}

func TestProductsAndPrices(t *testing.T) {
	e := newEnv(t)
	prod := e.mustCreate("/v1/products", e.keyA, map[string]any{"name": "Tea", "metadata": map[string]string{"sku": "T1"}})
	if prod["active"] != true || prod["object"] != "product" || prod["description"] != nil || len(prod["images"].([]any)) != 0 {
		t.Fatalf("product: %v", prod)
	}
	oneTime := e.mustCreate("/v1/prices", e.keyA, map[string]any{"product": prod["id"], "currency": "eur", "unit_amount": 450, "nickname": "Standard"})
	if oneTime["type"] != "one_time" || oneTime["currency"] != "EUR" || oneTime["unit_amount"] != 450.0 || oneTime["recurring"] != nil || oneTime["active"] != true {
		t.Fatalf("one-time price: %v", oneTime)
	}
	monthly := e.mustCreate("/v1/prices", e.keyA, map[string]any{"product": prod["id"], "currency": "EUR", "unit_amount": 1500,
		"recurring": map[string]any{"interval": "month", "interval_count": 3}})
	if monthly["type"] != "recurring" || !reflect.DeepEqual(monthly["recurring"], map[string]any{"interval": "month", "interval_count": 3.0}) {
		t.Fatalf("recurring price: %v", monthly)
	}
	weekly := e.mustCreate("/v1/prices", e.keyA, map[string]any{"product": prod["id"], "currency": "EUR", "unit_amount": 500,
		"type": "recurring", "recurring": map[string]any{"interval": "week"}})
	if weekly["recurring"].(map[string]any)["interval_count"] != 1.0 {
		t.Fatalf("interval_count default: %v", weekly)
	}

	// Archive, rename, metadata: the changeable fields.
	status, upd := e.do("POST", "/v1/prices/"+oneTime["id"].(string), e.keyA, map[string]any{"active": false, "nickname": "Old", "metadata": map[string]string{"k": "v"}})
	if status != 200 || upd["active"] != false || upd["nickname"] != "Old" || upd["unit_amount"] != 450.0 || upd["metadata"].(map[string]any)["k"] != "v" {
		t.Fatalf("price update: %d %v", status, upd)
	}
	// The immutable ones are refused by name, and nothing changes.
	for field, v := range map[string]any{"unit_amount": 1, "currency": "USD", "product": prod["id"], "type": "one_time",
		"recurring": map[string]any{"interval": "year"}} {
		status, body := e.do("POST", "/v1/prices/"+monthly["id"].(string), e.keyA, map[string]any{field: v, "nickname": "x"})
		param, _, code := apiError(body)
		if status != 400 || code != "parameter_immutable" || !strings.HasPrefix(param, field) {
			t.Errorf("changing %s: %d %v", field, status, body)
		}
	}
	if _, got := e.do("GET", "/v1/prices/"+monthly["id"].(string), e.keyA, nil); !reflect.DeepEqual(got, monthly) {
		t.Errorf("refused updates changed the price: %v", got)
	}
	if _, err := e.pool.Exec(t.Context(), "UPDATE admin.prices SET unit_amount = 1 WHERE id = $1", monthly["id"]); err == nil {
		t.Errorf("the database let a price's amount change")
	}

	// Filters.
	other := e.mustCreate("/v1/products", e.keyA, map[string]any{"name": "Cup", "active": false})
	e.mustCreate("/v1/prices", e.keyA, map[string]any{"product": other["id"], "currency": "EUR", "unit_amount": 1299})
	for query, want := range map[string]int{"": 4, "?product=" + prod["id"].(string): 3, "?active=false": 1, "?active=true": 3,
		"?type=recurring": 2, "?type=one_time&product=" + other["id"].(string): 1} {
		_, list := e.do("GET", "/v1/prices"+query, e.keyA, nil)
		if n := len(list["data"].([]any)); n != want {
			t.Errorf("prices%s: %d, want %d", query, n, want)
		}
	}
	for query, want := range map[string]int{"": 2, "?active=false": 1, "?active=true": 1} {
		_, list := e.do("GET", "/v1/products"+query, e.keyA, nil)
		if n := len(list["data"].([]any)); n != want {
			t.Errorf("products%s: %d, want %d", query, n, want)
		}
	}
	status, p := e.do("POST", "/v1/products/"+other["id"].(string), e.keyA, map[string]any{"active": true, "images": []string{"https://shop.example/cup.png"}})
	if status != 200 || p["active"] != true || p["name"] != "Cup" || len(p["images"].([]any)) != 1 {
		t.Fatalf("product update: %d %v", status, p)
	}
}

func TestPriceAndProductRejectInvalid(t *testing.T) {
	e := newEnv(t)
	prod := e.mustCreate("/v1/products", e.keyA, map[string]any{"name": "Tea"})["id"].(string)
	price := func(edit func(b map[string]any)) map[string]any {
		b := map[string]any{"product": prod, "currency": "EUR", "unit_amount": 450}
		edit(b)
		return b
	}
	cases := []struct {
		name, path string
		body       map[string]any
		param      string
	}{
		{"product name missing", "/v1/products", map[string]any{"description": "x"}, "name"},
		{"product name too long", "/v1/products", map[string]any{"name": strings.Repeat("n", 251)}, "name"},
		{"image over http", "/v1/products", map[string]any{"name": "a", "images": []string{"https://a.example/1.png", "http://a.example/2.png"}}, "images[1]"},
		{"too many images", "/v1/products", map[string]any{"name": "a", "images": make([]string, 9)}, "images"},
		{"price without product", "/v1/prices", price(func(b map[string]any) { delete(b, "product") }), "product"},
		{"price without currency", "/v1/prices", price(func(b map[string]any) { delete(b, "currency") }), "currency"},
		{"unknown currency", "/v1/prices", price(func(b map[string]any) { b["currency"] = "ZZZ" }), "currency"},
		{"price without amount", "/v1/prices", price(func(b map[string]any) { delete(b, "unit_amount") }), "unit_amount"},
		{"negative amount", "/v1/prices", price(func(b map[string]any) { b["unit_amount"] = -1 }), "unit_amount"},
		{"fractional amount", "/v1/prices", price(func(b map[string]any) { b["unit_amount"] = 4.5 }), "unit_amount"},
		{"unknown type", "/v1/prices", price(func(b map[string]any) { b["type"] = "metered" }), "type"},
		{"recurring without recurrence", "/v1/prices", price(func(b map[string]any) { b["type"] = "recurring" }), "recurring"},
		{"one_time with recurrence", "/v1/prices", price(func(b map[string]any) {
			b["type"], b["recurring"] = "one_time", map[string]any{"interval": "month"}
		}), "recurring"},
		{"unknown interval", "/v1/prices", price(func(b map[string]any) { b["recurring"] = map[string]any{"interval": "fortnight"} }), "recurring[interval]"},
		{"over a year", "/v1/prices", price(func(b map[string]any) { b["recurring"] = map[string]any{"interval": "month", "interval_count": 13} }), "recurring[interval_count]"},
		{"negative count", "/v1/prices", price(func(b map[string]any) { b["recurring"] = map[string]any{"interval": "day", "interval_count": -1} }), "recurring[interval_count]"},
		{"nickname too long", "/v1/prices", price(func(b map[string]any) { b["nickname"] = strings.Repeat("n", 251) }), "nickname"},
	}
	for _, c := range cases {
		status, body := e.do("POST", c.path, e.keyA, c.body)
		if param, _, _ := apiError(body); status != 400 || param != c.param {
			t.Errorf("%s: %d %v, want 400 naming %s", c.name, status, body, c.param)
		}
	}
	status, body := e.do("POST", "/v1/prices", e.keyA, price(func(b map[string]any) { b["product"] = "prod_nope" }))
	if param, _, _ := apiError(body); status != 404 || param != "product" {
		t.Errorf("unknown product: %d %v", status, body)
	}
	if n := e.count("SELECT count(*) FROM admin.prices") + e.count("SELECT count(*) FROM admin.products"); n != 1 {
		t.Errorf("%d catalog rows after refusals, want 1", n)
	}
}

func TestCatalogTenantAndModeIsolation(t *testing.T) {
	e := newEnv(t)
	cus := e.mustCreate("/v1/customers", e.keyA, map[string]any{"email": "ada@example.com"})["id"].(string)
	prod, price := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	e.createSite(e.keyB, "https") // so that sessions fail on the catalog, not the site
	for name, key := range map[string]string{"other organization": e.keyB, "live key": e.liveKeyA} {
		for _, r := range []struct{ method, path string }{
			{"GET", "/v1/customers/" + cus}, {"POST", "/v1/customers/" + cus}, {"DELETE", "/v1/customers/" + cus},
			{"GET", "/v1/products/" + prod}, {"POST", "/v1/products/" + prod},
			{"GET", "/v1/prices/" + price}, {"POST", "/v1/prices/" + price},
		} {
			if status, body := e.do(r.method, r.path, key, map[string]any{}); status != 404 {
				t.Errorf("%s: %s %s: %d %v", name, r.method, r.path, status, body)
			}
		}
		for _, path := range []string{"/v1/customers", "/v1/products", "/v1/prices"} {
			if _, list := e.do("GET", path, key, nil); len(list["data"].([]any)) != 0 {
				t.Errorf("%s lists %s: %v", name, path, list)
			}
		}
		status, body := e.do("POST", "/v1/prices", key, map[string]any{"product": prod, "currency": "EUR", "unit_amount": 1})
		if param, _, _ := apiError(body); status != 404 || param != "product" {
			t.Errorf("%s prices another's product: %d %v", name, status, body)
		}
		s := map[string]any{"line_items": []any{map[string]any{"price_id": price, "quantity": 1}}, "success_url": "https://shop.example/ok"}
		status, body = e.do("POST", "/v1/checkout/sessions", key, s)
		if param, _, _ := apiError(body); status != 404 || param != "line_items[0][price_id]" {
			t.Errorf("%s sells another's price: %d %v", name, status, body)
		}
		s = validSession()
		s["customer_id"] = cus
		status, body = e.do("POST", "/v1/checkout/sessions", key, s)
		if param, _, _ := apiError(body); status != 404 || param != "customer_id" {
			t.Errorf("%s uses another's customer: %d %v", name, status, body)
		}
	}
	// The owner's objects are untouched.
	if _, c := e.do("GET", "/v1/customers/"+cus, e.keyA, nil); c["id"] != cus {
		t.Errorf("customer gone: %v", c)
	}
}

func TestSessionFromPrices(t *testing.T) {
	e := newEnv(t)
	teaProd, tea := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	cupProd, cup := e.productWithPrice(e.keyA, "Cup", 1299, "EUR")
	// No currency: the prices' (EUR; the site's default is EUR too, so
	// check the inference with a site default of another currency below).
	s := map[string]any{"site_id": e.siteA, "line_items": []any{
		map[string]any{"price_id": tea, "quantity": 3},
		map[string]any{"price": cup, "quantity": 1, "adjustable_quantity": map[string]any{"enabled": true, "maximum": 5}},
		map[string]any{"name": "Spoon", "unit_amount": 99, "quantity": 2},
	}}
	cs := e.mustCreate("/v1/checkout/sessions", e.keyA, s)
	// 3 × 450 + 1 × 1299 + 2 × 99 = 2847, exactly; the site's rate is inclusive.
	if cs["amount_subtotal"] != 2847.0 || cs["amount_total"] != 2847.0 || cs["currency"] != "EUR" {
		t.Fatalf("totals: %v", cs)
	}
	items := cs["line_items"].([]any)
	want := []map[string]any{
		{"name": "Tea", "description": "Tea from the catalog", "unit_amount": 450.0, "quantity": 3.0, "amount_total": 1350.0,
			"amount_subtotal": 1350.0, "amount_discount": 0.0,
			"image_url": "https://shop.example/tea.png", "price_id": tea, "product_id": teaProd, "adjustable_quantity": nil},
		{"name": "Cup", "description": "Cup from the catalog", "unit_amount": 1299.0, "quantity": 1.0, "amount_total": 1299.0,
			"amount_subtotal": 1299.0, "amount_discount": 0.0,
			"image_url": "https://shop.example/cup.png", "price_id": cup, "product_id": cupProd,
			"adjustable_quantity": map[string]any{"enabled": true, "minimum": 1.0, "maximum": 5.0}},
		{"name": "Spoon", "description": nil, "unit_amount": 99.0, "quantity": 2.0, "amount_total": 198.0,
			"amount_subtotal": 198.0, "amount_discount": 0.0,
			"image_url": nil, "price_id": nil, "product_id": nil, "adjustable_quantity": nil},
	}
	for i, w := range want {
		if !reflect.DeepEqual(items[i], any(w)) {
			t.Errorf("line item %d: %v, want %v", i, items[i], w)
		}
	}
	if _, got := e.do("GET", "/v1/checkout/sessions/"+cs["id"].(string), e.keyA, nil); !reflect.DeepEqual(got["line_items"], cs["line_items"]) {
		t.Errorf("read back: %v", got["line_items"])
	}

	// The currency is inferred from the prices, not the site's default.
	_, usd := e.productWithPrice(e.keyA, "Mug", 1000, "USD")
	cs = e.mustCreate("/v1/checkout/sessions", e.keyA, map[string]any{"site_id": e.siteA,
		"line_items": []any{map[string]any{"price_id": usd, "quantity": 2}, map[string]any{"name": "Gift wrap", "unit_amount": 250, "quantity": 1}}})
	if cs["currency"] != "USD" || cs["amount_total"] != 2250.0 {
		t.Fatalf("USD session: %v", cs)
	}
}

func TestSessionRefusesUnusablePrices(t *testing.T) {
	e := newEnv(t)
	_, tea := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	_, usd := e.productWithPrice(e.keyA, "Mug", 1000, "USD")
	_, archived := e.productWithPrice(e.keyA, "Old", 100, "EUR")
	e.do("POST", "/v1/prices/"+archived, e.keyA, map[string]any{"active": false})
	archivedProd, ofArchivedProd := e.productWithPrice(e.keyA, "Gone", 100, "EUR")
	e.do("POST", "/v1/products/"+archivedProd, e.keyA, map[string]any{"active": false})
	subProd, _ := e.productWithPrice(e.keyA, "Club", 100, "EUR")
	monthly := e.mustCreate("/v1/prices", e.keyA, map[string]any{"product": subProd, "currency": "EUR", "unit_amount": 900,
		"recurring": map[string]any{"interval": "month"}})["id"].(string)
	weekly := e.mustCreate("/v1/prices", e.keyA, map[string]any{"product": subProd, "currency": "EUR", "unit_amount": 250,
		"recurring": map[string]any{"interval": "week"}})["id"].(string)
	item := func(kv ...any) map[string]any {
		m := map[string]any{"quantity": 1}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name     string
		currency string
		items    []any
		status   int
		param    string
		code     string
	}{
		{"archived price", "", []any{item("price_id", tea), item("price_id", archived)}, 400, "line_items[1][price_id]", "price_inactive"},
		{"archived product", "", []any{item("price", ofArchivedProd)}, 400, "line_items[0][price]", "price_inactive"},
		{"recurring prices with other intervals", "", []any{item("price_id", monthly), item("price_id", tea), item("price_id", weekly)}, 400, "line_items[2][price_id]", "recurring_mismatch"},
		{"other currency than the session's", "EUR", []any{item("price_id", tea), item("price_id", usd)}, 400, "line_items[1][price_id]", "currency_mismatch"},
		{"prices in two currencies", "", []any{item("price_id", usd), item("price_id", tea)}, 400, "line_items[1][price_id]", "currency_mismatch"},
		{"price with a name", "", []any{item("price_id", tea, "name", "Cheap tea")}, 400, "line_items[0][name]", "parameter_invalid"},
		{"price with an amount", "", []any{item("price_id", tea, "unit_amount", 1)}, 400, "line_items[0][unit_amount]", "parameter_invalid"},
		{"price and price_id disagree", "", []any{item("price_id", tea, "price", usd)}, 400, "line_items[0][price]", "parameter_invalid"},
		{"unknown price", "", []any{item("price_id", "price_nope")}, 404, "line_items[0][price_id]", "resource_missing"},
		{"quantity over the maximum", "", []any{item("price_id", tea, "quantity", 101)}, 400, "line_items[0][quantity]", ""},
		{"quantity outside adjustable bounds", "", []any{item("price_id", tea, "quantity", 6,
			"adjustable_quantity", map[string]any{"enabled": true, "minimum": 1, "maximum": 5})}, 400, "line_items[0][quantity]", ""},
		{"maximum below minimum", "", []any{item("price_id", tea,
			"adjustable_quantity", map[string]any{"enabled": true, "minimum": 3, "maximum": 2})}, 400, "line_items[0][adjustable_quantity][maximum]", ""},
		{"bounds without enabled", "", []any{item("price_id", tea,
			"adjustable_quantity", map[string]any{"maximum": 2})}, 400, "line_items[0][adjustable_quantity][enabled]", ""},
	}
	for _, c := range cases {
		body := map[string]any{"site_id": e.siteA, "line_items": c.items}
		if c.currency != "" {
			body["currency"] = c.currency
		}
		if c.name == "quantity over the maximum" {
			c.items[0].(map[string]any)["quantity"] = 10_001
		}
		status, out := e.do("POST", "/v1/checkout/sessions", e.keyA, body)
		param, _, code := apiError(out)
		if status != c.status || param != c.param || (c.code != "" && code != c.code) {
			t.Errorf("%s: %d %v, want %d naming %s", c.name, status, out, c.status, c.param)
		}
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Errorf("%d sessions written by refused requests", n)
	}
}

func TestSessionWithCatalogCustomer(t *testing.T) {
	e := newEnv(t)
	cus := e.mustCreate("/v1/customers", e.keyA, map[string]any{"email": "ada@example.com", "phone": "+33 1 23 45 67 89"})["id"].(string)
	for _, param := range []string{"customer_id", "customer", "customerId"} {
		s := validSession()
		s[param] = cus
		cs := e.mustCreate("/v1/checkout/sessions", e.keyA, s)
		if cs["customer"] != cus || cs["customer_email"] != "ada@example.com" || cs["customer_phone"] != "+33 1 23 45 67 89" {
			t.Errorf("%s: %v", param, cs)
		}
	}
	// Given details win over the customer's.
	s := validSession()
	s["customer_id"], s["customer_email"] = cus, "other@example.com"
	if cs := e.mustCreate("/v1/checkout/sessions", e.keyA, s); cs["customer_email"] != "other@example.com" || cs["customer"] != cus {
		t.Errorf("given email: %v", cs)
	}
	// A customer value not shaped like a catalog id stays the merchant's
	// own reference (seeds 000 and 004).
	s = validSession()
	s["customer"] = "cus_1"
	if cs := e.mustCreate("/v1/checkout/sessions", e.keyA, s); cs["customer"] != "cus_1" || cs["customer_email"] != nil {
		t.Errorf("merchant reference: %v", cs)
	}
	// Two different customers, an unknown one, a deleted one.
	other := e.mustCreate("/v1/customers", e.keyA, map[string]any{"name": "Bob"})["id"].(string)
	e.do("DELETE", "/v1/customers/"+other, e.keyA, nil)
	for _, c := range []struct {
		body   map[string]any
		status int
		param  string
	}{
		{map[string]any{"customer_id": cus, "customer": "cus_1"}, 400, "customer_id"},
		{map[string]any{"customer_id": "cus_nope"}, 404, "customer_id"},
		{map[string]any{"customer": other}, 404, "customer"},
		{map[string]any{"customer_id": other}, 404, "customer_id"},
	} {
		s := validSession()
		for k, v := range c.body {
			s[k] = v
		}
		status, out := e.do("POST", "/v1/checkout/sessions", e.keyA, s)
		if param, _, _ := apiError(out); status != c.status || param != c.param {
			t.Errorf("%v: %d %v", c.body, status, out)
		}
	}
}

// TestUpdateLineItemQuantity: the hosted page's quantity change, through the
// internal API: within bounds the item's and session's totals are exact
// products and sums; outside them, or on an item that is not adjustable,
// nothing changes; a payment authorised for the old total cannot complete
// the session; a completed session no longer changes.
func TestUpdateLineItemQuantity(t *testing.T) {
	e := newEnv(t)
	c := e.internalClient(token)
	ctx := t.Context()
	_, tea := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	cs := e.mustCreate("/v1/checkout/sessions", e.keyA, map[string]any{"site_id": e.siteA, "line_items": []any{
		map[string]any{"price_id": tea, "quantity": 2, "adjustable_quantity": map[string]any{"enabled": true, "minimum": 1, "maximum": 10}},
		map[string]any{"name": "Cup", "unit_amount": 1299, "quantity": 1},
	}})
	id := cs["id"].(string)

	got, err := c.UpdateLineItemQuantity(ctx, &internalapiv1.UpdateLineItemQuantityRequest{SessionId: id, LineItem: 0, Quantity: 7})
	s := got.GetCheckoutSession()
	if err != nil || s.GetLineItems()[0].GetQuantity() != 7 || s.GetLineItems()[0].GetAmountTotal() != 3150 ||
		s.GetAmountSubtotal() != 3150+1299 || s.GetAmountTotal() != 3150+1299 || s.GetLineItems()[0].GetPriceId() != tea {
		t.Fatalf("change to 7: %v %v", s, err)
	}
	for _, r := range []struct {
		item   int32
		qty    int64
		reason string
	}{{0, 11, "quantity_out_of_range"}, {0, 0, "quantity_out_of_range"}, {1, 2, "quantity_not_adjustable"}, {5, 1, "parameter_invalid"}} {
		_, err := c.UpdateLineItemQuantity(ctx, &internalapiv1.UpdateLineItemQuantityRequest{SessionId: id, LineItem: r.item, Quantity: r.qty})
		if code, why := reason(err); code != codes.InvalidArgument || why != r.reason {
			t.Errorf("item %d quantity %d: %v, want %s", r.item, r.qty, err, r.reason)
		}
	}
	_, merchant := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if merchant["amount_total"] != 4449.0 || merchant["line_items"].([]any)[0].(map[string]any)["quantity"] != 7.0 {
		t.Fatalf("merchant view after refusals: %v", merchant)
	}

	// A payment for the total before the change does not complete it.
	_, err = c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id,
		PaymentId: "pay_old", Paid: true, AmountTotal: 900 + 1299})
	if code, _ := reason(err); code != codes.InvalidArgument {
		t.Fatalf("payment of the old total: %v", err)
	}
	if _, err := c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id,
		PaymentId: "pay_1", Paid: true, AmountTotal: 4449}); err != nil {
		t.Fatalf("payment of the new total: %v", err)
	}
	_, err = c.UpdateLineItemQuantity(ctx, &internalapiv1.UpdateLineItemQuantityRequest{SessionId: id, LineItem: 0, Quantity: 3})
	if code, why := reason(err); code != codes.FailedPrecondition || why != "checkout_session_not_open" {
		t.Errorf("change after completion: %v", err)
	}
	if _, err := c.UpdateLineItemQuantity(ctx, &internalapiv1.UpdateLineItemQuantityRequest{SessionId: "cs_nope", Quantity: 1}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown session: %v", err)
	}
}

// TestPaymentKitFromCatalog: seed 002's create body — `customer_id` and
// `{price_id, quantity}` line items — with real catalog objects, through
// the PaymentKit surface; a price of another mode is a 404 naming it.
func TestPaymentKitFromCatalog(t *testing.T) {
	e := newEnv(t)
	_, tea := e.productWithPrice(e.keyA, "Tea", 450, "GBP")
	cus := e.mustCreate("/v1/customers", e.keyA, map[string]any{"email": "ada@example.com"})["id"].(string)
	path := "/api/" + e.orgA + "/checkout-sessions"
	body := map[string]any{"customer_id": cus, "line_items": []any{map[string]any{"price_id": tea, "quantity": 2}},
		"success_url": "https://yoursite.com/success", "return_url": "https://yoursite.com/cancel"}
	status, s := e.do("POST", path, e.keyA, body)
	if status != http.StatusCreated || s["customer_id"] != cus || s["customer_email"] != "ada@example.com" || s["currency"] != "GBP" ||
		s["amount_total"] != 900.0 {
		t.Fatalf("create: %d %v", status, s)
	}
	item := s["line_items"].([]any)[0].(map[string]any)
	if item["price_id"] != tea || item["name"] != "Tea" || item["unit_amount"] != 450.0 || item["amount_total"] != 900.0 {
		t.Errorf("line item: %v", item)
	}
	status, out := e.do("POST", path, e.liveKeyA, body)
	if param, _, _ := apiError(out); status != 404 || param != "line_items[0][price_id]" {
		t.Errorf("live key with a test price: %d %v", status, out)
	}
}

// TestCatalogOverGRPC: the same services over gRPC, where an update names
// its fields in update_mask: an immutable price field is refused by name, a
// mutable one changes, and another organization's price is NotFound.
func TestCatalogOverGRPC(t *testing.T) {
	e := newEnv(t)
	_, price := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	client := adminv1.NewPriceServiceClient(serveGRPC(t, e.api.GRPC))
	as := func(key string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
	}
	_, err := client.UpdatePrice(as(e.keyA), &adminv1.UpdatePriceRequest{Id: price, UnitAmount: 1,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"unit_amount"}}})
	if code, why := reason(err); code != codes.InvalidArgument || why != "parameter_immutable" {
		t.Errorf("unit_amount over gRPC: %v", err)
	}
	got, err := client.UpdatePrice(as(e.keyA), &adminv1.UpdatePriceRequest{Id: price, Nickname: "Tin", UnitAmount: 1,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"nickname"}}})
	if err != nil || got.GetPrice().GetNickname() != "Tin" || got.GetPrice().GetUnitAmount() != 450 || !got.GetPrice().GetActive() {
		t.Errorf("nickname over gRPC: %v %v", got, err)
	}
	if _, err := client.GetPrice(as(e.keyB), &adminv1.GetPriceRequest{Id: price}); status.Code(err) != codes.NotFound {
		t.Errorf("another organization over gRPC: %v", err)
	}

	// A customer's address changes field by field; a path into a field
	// that has none is unknown.
	customers := adminv1.NewCustomerServiceClient(serveGRPC(t, e.api.GRPC))
	cus, err := customers.CreateCustomer(as(e.keyA), &adminv1.CreateCustomerRequest{Name: "Ada", Address: &adminv1.Address{Line1: "1 rue de Rivoli", City: "Paris"}})
	if err != nil {
		t.Fatal(err)
	}
	id := cus.GetCustomer().GetId()
	upd, err := customers.UpdateCustomer(as(e.keyA), &adminv1.UpdateCustomerRequest{Id: id, Name: "ignored", Address: &adminv1.Address{City: "Lyon", Line1: "ignored"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"address.city"}}})
	if a := upd.GetCustomer().GetAddress(); err != nil || a.GetCity() != "Lyon" || a.GetLine1() != "1 rue de Rivoli" || upd.GetCustomer().GetName() != "Ada" {
		t.Errorf("address.city over gRPC: %v %v", upd, err)
	}
	for _, path := range []string{"email.x", "address.street", "livemode"} {
		_, err := customers.UpdateCustomer(as(e.keyA), &adminv1.UpdateCustomerRequest{Id: id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}}})
		if code, why := reason(err); code != codes.InvalidArgument || why != "parameter_unknown" {
			t.Errorf("mask %s: %v", path, err)
		}
	}
}

// TestCatalogIdempotency: a create retried with its Idempotency-Key answers
// the first object (marked replayed) and makes no second one.
func TestCatalogIdempotency(t *testing.T) {
	e := newEnv(t)
	prod := e.mustCreate("/v1/products", e.keyA, map[string]any{"name": "Tea"})["id"].(string)
	for path, body := range map[string]map[string]any{
		"/v1/customers": {"email": "ada@example.com"},
		"/v1/products":  {"name": "Cup"},
		"/v1/prices":    {"product": prod, "currency": "EUR", "unit_amount": 450},
	} {
		_, first := e.do("POST", path, e.keyA, body, "Idempotency-Key", "k-"+path)
		resp := e.raw("POST", path, e.keyA, body, "Idempotency-Key", "k-"+path)
		var again map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&again)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "true" || again["id"] != first["id"] {
			t.Errorf("%s replay: %d %v, first %v", path, resp.StatusCode, again["id"], first["id"])
		}
	}
	if n := e.count("SELECT count(*) FROM admin.products") + e.count("SELECT count(*) FROM admin.prices") + e.count("SELECT count(*) FROM admin.customers"); n != 4 {
		t.Errorf("%d catalog rows, want 4", n)
	}
}

// TestCatalogInOpenAPI: the catalog's routes and objects are documented.
func TestCatalogInOpenAPI(t *testing.T) {
	e := newEnv(t)
	_, doc := e.do("GET", "/v1/openapi.json", "", nil)
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range []string{"/v1/customers", "/v1/customers/{id}", "/v1/products", "/v1/products/{id}", "/v1/prices", "/v1/prices/{id}",
		"/v1/subscriptions", "/v1/subscriptions/{id}", "/v1/invoices", "/v1/invoices/{id}",
		"/v1/test_helpers/test_clocks", "/v1/test_helpers/test_clocks/{id}", "/v1/test_helpers/test_clocks/{id}/advance"} {
		if paths[p] == nil {
			t.Errorf("openapi.json lacks %s", p)
		}
	}
	comps, _ := doc["components"].(map[string]any)
	defs, _ := comps["schemas"].(map[string]any)
	for _, d := range []string{"v1Customer", "v1Product", "v1Price", "v1AdjustableQuantity", "v1Subscription", "v1Invoice", "v1TestClock"} {
		if defs[d] == nil {
			t.Errorf("openapi.json lacks %s", d)
		}
	}
	item, _ := defs["v1LineItemParams"].(map[string]any)
	if props, _ := item["properties"].(map[string]any); props["price_id"] == nil && props["priceId"] == nil {
		t.Errorf("line item parameters lack price_id: %v", props)
	}
}

// TestStripeDialectWithCatalog: stripe-go creates a session from a catalog
// price and customer (`line_items[0][price]`, `customer`), with an
// adjustable quantity; the expanded line item names the real price and
// product.
func TestStripeDialectWithCatalog(t *testing.T) {
	e := newEnv(t)
	teaProd, tea := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	cus := e.mustCreate("/v1/customers", e.keyA, map[string]any{"email": "ada@example.com"})["id"].(string)
	p := &stripe.CheckoutSessionCreateParams{Mode: stripe.String("payment"), Customer: stripe.String(cus),
		SuccessURL: stripe.String("https://shop.example/ok"), CancelURL: stripe.String("https://shop.example/cart"),
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{Price: stripe.String(tea), Quantity: stripe.Int64(2),
			AdjustableQuantity: &stripe.CheckoutSessionCreateLineItemAdjustableQuantityParams{Enabled: stripe.Bool(true), Maximum: stripe.Int64(4)}}}}
	p.AddExpand("line_items")
	cs, err := e.stripeClient(e.keyA).V1CheckoutSessions.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Customer == nil || cs.Customer.ID != cus || cs.CustomerEmail != "ada@example.com" || cs.AmountTotal != 900 || cs.Currency != stripe.CurrencyEUR {
		t.Fatalf("session: %+v", cs)
	}
	li := cs.LineItems.Data[0]
	if li.Price.ID != tea || li.Price.Product.ID != teaProd || li.Quantity != 2 || li.AmountTotal != 900 {
		t.Errorf("line item: %+v %+v", li, li.Price)
	}
	_, s := e.do("GET", "/v1/checkout/sessions/"+cs.ID, e.keyA, nil)
	if aq := s["line_items"].([]any)[0].(map[string]any)["adjustable_quantity"]; !reflect.DeepEqual(aq, map[string]any{"enabled": true, "minimum": 1.0, "maximum": 4.0}) {
		t.Errorf("adjustable quantity: %v", aq)
	}
}

// TestConcurrentQuantityChanges: payers' changes of two items of one
// session, made at the same time, are each applied whole: round after
// round both items are set at once to the round's quantity, and afterwards
// both have it (a change computed from a stale read would put the other
// item back) and the totals are the exact sum of the lines.
func TestConcurrentQuantityChanges(t *testing.T) {
	e := newEnv(t)
	c := e.internalClient(token)
	adjustable := map[string]any{"enabled": true, "minimum": 1, "maximum": 99}
	cs := e.mustCreate("/v1/checkout/sessions", e.keyA, map[string]any{"site_id": e.siteA, "currency": "EUR", "line_items": []any{
		map[string]any{"name": "Tea", "unit_amount": 450, "quantity": 1, "adjustable_quantity": adjustable},
		map[string]any{"name": "Cup", "unit_amount": 1299, "quantity": 1, "adjustable_quantity": adjustable},
	}})
	id := cs["id"].(string)
	for round := int64(2); round <= 41; round++ {
		var wg sync.WaitGroup
		for item := range int32(2) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.UpdateLineItemQuantity(t.Context(), &internalapiv1.UpdateLineItemQuantityRequest{SessionId: id, LineItem: item, Quantity: round}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, err := c.GetCheckout(t.Context(), &internalapiv1.GetCheckoutRequest{SessionId: id})
		if err != nil {
			t.Fatal(err)
		}
		s, items := got.GetCheckoutSession(), got.GetCheckoutSession().GetLineItems()
		if items[0].GetQuantity() != round || items[1].GetQuantity() != round ||
			s.GetAmountSubtotal() != round*(450+1299) || s.GetAmountTotal() != s.GetAmountSubtotal() {
			t.Fatalf("round %d: quantities %d and %d, subtotal %d", round, items[0].GetQuantity(), items[1].GetQuantity(), s.GetAmountSubtotal())
		}
	}
}

// TestDiscountFollowsQuantity: a session's discount is priced again when the
// payer changes a quantity — an amount off limited to a product stays on
// that product's line, the totals stay exact — and a quantity that takes
// the order below the promotion code's minimum is refused, changing nothing.
func TestDiscountFollowsQuantity(t *testing.T) {
	e := newEnv(t)
	c := e.internalClient(token)
	ctx := t.Context()
	teaProduct, tea := e.productWithPrice(e.keyA, "Tea", 450, "EUR")
	coupon := e.mustCreate("/v1/coupons", e.keyA, map[string]any{"amount_off": 500, "currency": "EUR", "duration": "once",
		"applies_to": map[string]any{"products": []string{teaProduct}}})["id"].(string)
	e.mustCreate("/v1/promotion_codes", e.keyA, map[string]any{"coupon": coupon, "code": "TEA5",
		"restrictions": map[string]any{"minimum_amount": 2000, "minimum_amount_currency": "EUR"}})
	cs := e.mustCreate("/v1/checkout/sessions", e.keyA, map[string]any{"site_id": e.siteA, "promotion_code": "TEA5", "line_items": []any{
		map[string]any{"price_id": tea, "quantity": 4, "adjustable_quantity": map[string]any{"enabled": true, "minimum": 1, "maximum": 10}},
		map[string]any{"name": "Cup", "unit_amount": 1299, "quantity": 1},
	}})
	id := cs["id"].(string)
	if cs["amount_subtotal"] != 3099.0 || cs["amount_total"] != 2599.0 {
		t.Fatalf("created: %v", cs)
	}

	got, err := c.UpdateLineItemQuantity(ctx, &internalapiv1.UpdateLineItemQuantityRequest{SessionId: id, LineItem: 0, Quantity: 6})
	s := got.GetCheckoutSession()
	if err != nil || s.GetAmountSubtotal() != 2700+1299 || s.GetTotalDetails().GetAmountDiscount() != 500 || s.GetAmountTotal() != 2700+1299-500 {
		t.Fatalf("change to 6: %v %v", s, err)
	}
	line, cup := s.GetLineItems()[0], s.GetLineItems()[1]
	if line.GetAmountSubtotal() != 2700 || line.GetAmountDiscount() != 500 || line.GetAmountTotal() != 2200 ||
		cup.GetAmountDiscount() != 0 || cup.GetAmountTotal() != 1299 {
		t.Fatalf("lines after the change: %v / %v", line, cup)
	}

	// 1 tea: 450 + 1299 = 1749, under the code's minimum of 2000.
	_, err = c.UpdateLineItemQuantity(ctx, &internalapiv1.UpdateLineItemQuantityRequest{SessionId: id, LineItem: 0, Quantity: 1})
	if code, why := reason(err); code != codes.InvalidArgument || why != "discount_minimum_amount" {
		t.Fatalf("below the minimum: %v", err)
	}
	_, merchant := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if merchant["amount_total"] != 3499.0 || merchant["line_items"].([]any)[0].(map[string]any)["quantity"] != 6.0 {
		t.Fatalf("session changed by a refused quantity: %v", merchant)
	}
}
