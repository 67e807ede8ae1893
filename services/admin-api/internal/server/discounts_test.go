package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v82"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/sweeper"
)

// createCoupon creates a coupon and returns its id.
func (e *env) createCoupon(key string, body map[string]any) string {
	e.t.Helper()
	status, c := e.do("POST", "/v1/coupons", key, body)
	if status != http.StatusCreated {
		e.t.Fatalf("create coupon: %d %v", status, c)
	}
	return c["id"].(string)
}

// createPromo creates a promotion code and returns its id.
func (e *env) createPromo(key string, body map[string]any) string {
	e.t.Helper()
	status, p := e.do("POST", "/v1/promotion_codes", key, body)
	if status != http.StatusCreated {
		e.t.Fatalf("create promotion code: %d %v", status, p)
	}
	return p["id"].(string)
}

// sessionWith is validSession (subtotal 2847 EUR: 3 × 450, 1299, 2 × 99)
// with extra parameters.
func sessionWith(kv ...any) map[string]any {
	s := validSession()
	for i := 0; i+1 < len(kv); i += 2 {
		s[kv[i].(string)] = kv[i+1]
	}
	return s
}

func (e *env) createSession(key string, body map[string]any) (int, map[string]any) {
	e.t.Helper()
	return e.do("POST", "/v1/checkouts/"+e.siteA+"/create", key, body)
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

func TestCouponLifecycle(t *testing.T) {
	e := newEnv(t)
	status, c := e.do("POST", "/v1/coupons", e.keyA, map[string]any{"percent_off": 12.5, "name": "Spring",
		"duration": "repeating", "duration_in_months": 3, "max_redemptions": 5, "metadata": map[string]string{"campaign": "spring"}})
	if status != http.StatusCreated || c["object"] != "coupon" || c["percent_off"] != 12.5 || c["valid"] != true ||
		c["duration_in_months"] != 3.0 || c["times_redeemed"] != 0.0 || c["livemode"] != false {
		t.Fatalf("create: %d %v", status, c)
	}
	id := c["id"].(string)
	if n := e.count("SELECT percent_off FROM admin.coupons WHERE id = $1", id); n != 1250 {
		t.Fatalf("stored percent_off %d, want 1250 hundredths", n)
	}
	// A merchant-chosen id, once per organization and mode.
	own := map[string]any{"id": "coupon_dev_abc123", "amount_off": 500, "currency": "eur"}
	if got := e.createCoupon(e.keyA, own); got != "coupon_dev_abc123" {
		t.Fatalf("chosen id: %s", got)
	}
	status, dup := e.do("POST", "/v1/coupons", e.keyA, own)
	wantError(t, "same id again", status, dup, http.StatusConflict, "id", "resource_already_exists")
	if got := e.createCoupon(e.keyB, own); got != "coupon_dev_abc123" {
		t.Fatalf("another organization cannot take the same id: %s", got)
	}
	_, got := e.do("GET", "/v1/coupons/coupon_dev_abc123", e.keyA, nil)
	if got["amount_off"] != 500.0 || got["currency"] != "EUR" || got["duration"] != "once" {
		t.Fatalf("get: %v", got)
	}
	// Update changes the name and merges metadata ("" removes a key).
	status, up := e.do("POST", "/v1/coupons/"+id, e.keyA, map[string]any{"name": "Spring sale", "metadata": map[string]string{"campaign": "", "team": "growth"}})
	if status != http.StatusOK || up["name"] != "Spring sale" || fmt.Sprint(up["metadata"]) != "map[team:growth]" || up["percent_off"] != 12.5 {
		t.Fatalf("update: %d %v", status, up)
	}
	_, list := e.do("GET", "/v1/coupons?limit=1", e.keyA, nil)
	if data := list["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != "coupon_dev_abc123" || list["has_more"] != true {
		t.Fatalf("list: %v", list)
	}
	_, next := e.do("GET", "/v1/coupons?limit=1&starting_after=coupon_dev_abc123", e.keyA, nil)
	if data := next["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != id || next["has_more"] != false {
		t.Fatalf("second page: %v", next)
	}
	_, prev := e.do("GET", "/v1/coupons?limit=1&ending_before="+id, e.keyA, nil)
	if data := prev["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != "coupon_dev_abc123" || prev["has_more"] != false {
		t.Fatalf("page before: %v", prev)
	}
	status, del := e.do("DELETE", "/v1/coupons/"+id, e.keyA, nil)
	if status != http.StatusOK || del["deleted"] != true || del["valid"] != false {
		t.Fatalf("delete: %d %v", status, del)
	}
	if status, _ := e.do("GET", "/v1/coupons/"+id, e.keyA, nil); status != http.StatusNotFound {
		t.Fatalf("deleted coupon: %d", status)
	}
	status, body := e.createSession(e.keyA, sessionWith("coupon_id", id))
	wantError(t, "deleted coupon on a session", status, body, http.StatusBadRequest, "coupon_id", "discount_unknown")
}

func TestCouponValidation(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		body  map[string]any
		param string
	}{
		{map[string]any{}, "percent_off"},
		{map[string]any{"percent_off": 0}, "percent_off"},
		{map[string]any{"percent_off": 100.01}, "percent_off"},
		{map[string]any{"percent_off": 12.345}, "percent_off"},
		{map[string]any{"percent_off": -5}, "percent_off"},
		{map[string]any{"percent_off": 10, "amount_off": 100, "currency": "EUR"}, "amount_off"},
		{map[string]any{"percent_off": 10, "currency": "EUR"}, "currency"},
		{map[string]any{"amount_off": 100}, "currency"},
		{map[string]any{"amount_off": 0, "currency": "EUR"}, "amount_off"},
		{map[string]any{"amount_off": 100, "currency": "XYZ"}, "currency"},
		{map[string]any{"percent_off": 10, "duration": "weekly"}, "duration"},
		{map[string]any{"percent_off": 10, "duration": "repeating"}, "duration_in_months"},
		{map[string]any{"percent_off": 10, "duration": "repeating", "duration_in_months": 0}, "duration_in_months"},
		{map[string]any{"percent_off": 10, "duration_in_months": 3}, "duration_in_months"},
		{map[string]any{"percent_off": 10, "max_redemptions": 0}, "max_redemptions"},
		{map[string]any{"percent_off": 10, "redeem_by": "2001-01-01T00:00:00Z"}, "redeem_by"},
		{map[string]any{"percent_off": 10, "id": "has space"}, "id"},
		{map[string]any{"percent_off": 10, "name": "a name far longer than forty characters, surely"}, "name"},
		{map[string]any{"percent_off": 10, "applies_to": map[string]any{"products": []string{}}}, "applies_to[products]"},
	} {
		status, body := e.do("POST", "/v1/coupons", e.keyA, c.body)
		wantError(t, fmt.Sprint(c.body), status, body, http.StatusBadRequest, c.param, "")
	}
	if n := e.count("SELECT count(*) FROM admin.coupons"); n != 0 {
		t.Fatalf("refused coupons wrote %d rows", n)
	}
}

func TestPromotionCodes(t *testing.T) {
	e := newEnv(t)
	coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 20})
	status, p := e.do("POST", "/v1/promotion_codes", e.keyA, map[string]any{"coupon": coupon, "code": "SAVE20", "max_redemptions": 3,
		"restrictions": map[string]any{"minimum_amount": 1000, "minimum_amount_currency": "eur"}})
	if status != http.StatusCreated || p["object"] != "promotion_code" || p["code"] != "SAVE20" || p["active"] != true ||
		p["coupon"].(map[string]any)["id"] != coupon || p["restrictions"].(map[string]any)["minimum_amount_currency"] != "EUR" {
		t.Fatalf("create: %d %v", status, p)
	}
	id := p["id"].(string)
	// Unique among active codes, whatever the case.
	status, dup := e.do("POST", "/v1/promotion_codes", e.keyA, map[string]any{"coupon": coupon, "code": "save20"})
	wantError(t, "same code", status, dup, http.StatusConflict, "code", "resource_already_exists")
	if status, off := e.do("POST", "/v1/promotion_codes/"+id, e.keyA, map[string]any{"active": false}); status != http.StatusOK || off["active"] != false {
		t.Fatalf("deactivate: %d %v", status, off)
	}
	second := e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "save20"})
	status, back := e.do("POST", "/v1/promotion_codes/"+id, e.keyA, map[string]any{"active": true})
	wantError(t, "reactivating a taken code", status, back, http.StatusConflict, "code", "resource_already_exists")
	// Another organization has its own codes.
	other := e.createCoupon(e.keyB, map[string]any{"percent_off": 5})
	e.createPromo(e.keyB, map[string]any{"coupon": other, "code": "SAVE20"})

	generated := e.createPromo(e.keyA, map[string]any{"coupon": coupon})
	for query, want := range map[string][]string{
		"code=Save20":                   {second, id},
		"active=false":                  {id},
		"active=true":                   {generated, second},
		"coupon=" + coupon:              {generated, second, id},
		"coupon=" + coupon + "&limit=1": {generated},
	} {
		_, list := e.do("GET", "/v1/promotion_codes?"+query, e.keyA, nil)
		var got []string
		for _, d := range list["data"].([]any) {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("list %s: %v, want %v", query, got, want)
		}
	}
	for _, c := range []struct {
		body  map[string]any
		param string
		code  int
	}{
		{map[string]any{"code": "X1X1"}, "coupon", http.StatusBadRequest},
		{map[string]any{"coupon": "coupon_nope"}, "coupon", http.StatusNotFound},
		{map[string]any{"coupon": other}, "coupon", http.StatusNotFound},
		{map[string]any{"coupon": coupon, "code": "a b"}, "code", http.StatusBadRequest},
		{map[string]any{"coupon": coupon, "code": "AB"}, "code", http.StatusBadRequest},
		{map[string]any{"coupon": coupon, "max_redemptions": 0}, "max_redemptions", http.StatusBadRequest},
		{map[string]any{"coupon": coupon, "expires_at": "2001-01-01T00:00:00Z"}, "expires_at", http.StatusBadRequest},
		{map[string]any{"coupon": coupon, "restrictions": map[string]any{"minimum_amount": 100}}, "restrictions[minimum_amount_currency]", http.StatusBadRequest},
		{map[string]any{"coupon": coupon, "restrictions": map[string]any{"minimum_amount": 0, "minimum_amount_currency": "EUR"}}, "restrictions[minimum_amount]", http.StatusBadRequest},
	} {
		status, body := e.do("POST", "/v1/promotion_codes", e.keyA, c.body)
		wantError(t, fmt.Sprint(c.body), status, body, c.code, c.param, "")
	}
}

func TestDiscountsAreScopedToOrganizationAndMode(t *testing.T) {
	e := newEnv(t)
	coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 10})
	promo := e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "ONLYA"})
	for _, key := range []string{e.keyB, e.liveKeyA} {
		for _, c := range []struct{ method, path string }{
			{"GET", "/v1/coupons/" + coupon}, {"POST", "/v1/coupons/" + coupon}, {"DELETE", "/v1/coupons/" + coupon},
			{"GET", "/v1/promotion_codes/" + promo}, {"POST", "/v1/promotion_codes/" + promo},
			{"GET", "/v1/coupons?starting_after=" + coupon},
		} {
			if status, body := e.do(c.method, c.path, key, map[string]any{}); status != http.StatusNotFound {
				t.Errorf("%s %s with another tenant's key: %d %v", c.method, c.path, status, body)
			}
		}
		if _, list := e.do("GET", "/v1/promotion_codes?code=ONLYA", key, nil); len(list["data"].([]any)) != 0 {
			t.Errorf("list shows another tenant's code: %v", list)
		}
	}
	// Org B's session cannot use org A's coupon or code.
	status, s := e.do("POST", "/v1/checkout/sessions", e.keyB, map[string]any{"site_id": e.createSite(e.keyB, "http"),
		"amount": 1000, "currency": "EUR", "promotion_code": "ONLYA"})
	wantError(t, "another organization's code", status, s, http.StatusBadRequest, "promotion_code", "discount_unknown")
	if n := e.count("SELECT times_reserved FROM admin.promotion_codes WHERE id = $1", promo); n != 0 {
		t.Fatalf("reserved %d", n)
	}
}

func TestSessionDiscounts(t *testing.T) {
	e := newEnv(t)
	tenPct := e.createCoupon(e.keyA, map[string]any{"percent_off": 10})
	fiveEur := e.createCoupon(e.keyA, map[string]any{"amount_off": 500, "currency": "EUR"})
	usd := e.createCoupon(e.keyA, map[string]any{"amount_off": 500, "currency": "USD"})
	promo := e.createPromo(e.keyA, map[string]any{"coupon": fiveEur, "code": "FIVE"})

	// 10 % per line, half up: 135 + 129.9→130 + 19.8→20 = 285 off 2847.
	status, s := e.createSession(e.keyA, sessionWith("coupon_id", tenPct))
	if status != http.StatusCreated || num(s["amount_subtotal"]) != 2847 || num(s["amount_total"]) != 2562 ||
		num(s["total_details"].(map[string]any)["amount_discount"]) != 285 ||
		fmt.Sprint(s["discounts"]) != "[map[coupon:"+tenPct+" promotion_code:<nil>]]" {
		t.Fatalf("percent coupon: %d %v", status, s)
	}
	var lines []string
	for _, l := range s["line_items"].([]any) {
		m := l.(map[string]any)
		lines = append(lines, fmt.Sprintf("%d-%d=%d", num(m["amount_subtotal"]), num(m["amount_discount"]), num(m["amount_total"])))
	}
	if fmt.Sprint(lines) != "[1350-135=1215 1299-130=1169 198-20=178]" {
		t.Fatalf("line items: %v", lines)
	}
	// 500 spread by largest remainder over 1350/1299/198 of 2847:
	// 237.09, 228.13, 34.77 → 237, 228, 34 and the last unit to 34.77.
	for _, body := range []map[string]any{
		sessionWith("promotion_code", "five"),
		sessionWith("discounts", []map[string]any{{"promotion_code": promo}}),
	} {
		status, s = e.createSession(e.keyA, body)
		if status != http.StatusCreated || num(s["amount_total"]) != 2347 || fmt.Sprint(s["discounts"]) != "[map[coupon:"+fiveEur+" promotion_code:"+promo+"]]" {
			t.Fatalf("promotion code: %d %v", status, s)
		}
		var got []int64
		for _, l := range s["line_items"].([]any) {
			got = append(got, num(l.(map[string]any)["amount_discount"]))
		}
		if fmt.Sprint(got) != "[237 228 35]" {
			t.Fatalf("amount off spread: %v", got)
		}
	}
	// The code has no limit: its sessions hold redemptions, but nothing is
	// reserved on its row.
	uses := func() (redemptions, reserved int) {
		return e.count("SELECT count(*) FROM admin.discount_redemptions WHERE promotion_code_id = $1", promo),
			e.count("SELECT times_reserved FROM admin.promotion_codes WHERE id = $1", promo)
	}
	if n, r := uses(); n != 2 || r != 0 {
		t.Fatalf("promotion code: %d redemptions, %d reserved; want 2, 0", n, r)
	}
	// A retried creation (same Idempotency-Key) is the first one replayed:
	// it reserves nothing more.
	first, a := e.createSession(e.keyA, sessionWith("promotion_code", "FIVE"))
	for range 2 {
		status, b := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, sessionWith("promotion_code", "FIVE"), "Idempotency-Key", "retry-1")
		if status != http.StatusCreated || num(b["amount_total"]) != 2347 {
			t.Fatalf("keyed create: %d %v", status, b)
		}
	}
	if n, r := uses(); first != http.StatusCreated || a["id"] == nil || n != 4 || r != 0 {
		t.Fatalf("promotion code: %d redemptions, %d reserved after one plain and one retried keyed creation; want 4, 0", n, r)
	}
	// A session without discount is as before.
	status, plain := e.createSession(e.keyA, validSession())
	if status != http.StatusCreated || num(plain["amount_total"]) != 2847 || len(plain["discounts"].([]any)) != 0 ||
		num(plain["total_details"].(map[string]any)["amount_discount"]) != 0 {
		t.Fatalf("plain: %d %v", status, plain)
	}

	before := e.count("SELECT count(*) FROM admin.checkout_sessions")
	for _, c := range []struct {
		body  map[string]any
		param string
	}{
		{sessionWith("coupon_id", "coupon_nope"), "coupon_id"},
		{sessionWith("coupon_id", usd), "coupon_id"},
		{sessionWith("promotion_code", "NOPE"), "promotion_code"},
		{sessionWith("discounts", []map[string]any{{"promotion_code": "promo_nope"}}), "discounts[0][promotion_code]"},
		{sessionWith("discounts", []map[string]any{{"coupon": tenPct}, {"coupon": fiveEur}}), "discounts"},
		{sessionWith("discounts", []map[string]any{{}}), "discounts[0][coupon]"},
		{sessionWith("coupon_id", tenPct, "promotion_code", "FIVE"), "promotion_code"},
		{sessionWith("coupon_id", tenPct, "allow_promotion_codes", true), "allow_promotion_codes"},
		{map[string]any{"amount": 400, "currency": "EUR", "coupon_id": fiveEur}, "coupon_id"}, // nothing left to pay
	} {
		status, body := e.createSession(e.keyA, c.body)
		wantError(t, fmt.Sprint(c.body), status, body, http.StatusBadRequest, c.param, "")
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != before {
		t.Fatalf("refused discounts left %d sessions", n-before)
	}
}

func TestPromotionCodeRestrictions(t *testing.T) {
	e := newEnv(t)
	coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 10})
	e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "BIG", "restrictions": map[string]any{"minimum_amount": 3000, "minimum_amount_currency": "EUR"}})
	e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "FIRST", "restrictions": map[string]any{"first_time_transaction": true}})
	e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "VIP", "customer": "cus_vip"})
	e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "OFF", "active": false})
	for _, c := range []struct {
		body map[string]any
		code string // "": accepted
	}{
		{sessionWith("promotion_code", "BIG"), "discount_minimum_amount"}, // 2847 < 3000
		{sessionWith("promotion_code", "BIG", "currency", "USD"), "discount_minimum_amount"},
		{sessionWith("promotion_code", "BIG", "line_items", []map[string]any{{"name": "Kettle", "unit_amount": 3000, "quantity": 1}}), ""},
		{sessionWith("promotion_code", "FIRST"), "discount_first_time_only"}, // no customer named
		{sessionWith("promotion_code", "FIRST", "customer_email", "new@example.com"), ""},
		{sessionWith("promotion_code", "VIP", "customer", "cus_other"), "discount_other_customer"},
		{sessionWith("promotion_code", "VIP", "customer", "cus_vip"), ""},
		{sessionWith("promotion_code", "OFF"), "discount_inactive"},
	} {
		status, body := e.createSession(e.keyA, c.body)
		if c.code == "" && status != http.StatusCreated {
			t.Errorf("%v: %d %v", c.body["promotion_code"], status, body)
		} else if c.code != "" {
			wantError(t, fmt.Sprint(c.body["promotion_code"]), status, body, http.StatusBadRequest, "promotion_code", c.code)
		}
	}
	// Expired codes and coupons (their dates were in the future when made).
	late := e.createCoupon(e.keyA, map[string]any{"percent_off": 10, "redeem_by": "2100-01-01T00:00:00Z"})
	e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "LATE", "expires_at": "2100-01-01T00:00:00Z"})
	if _, err := e.pool.Exec(context.Background(), `UPDATE admin.promotion_codes SET expires_at = now() - interval '1 second' WHERE code = 'LATE';
		UPDATE admin.coupons SET redeem_by = now() - interval '1 second' WHERE id = '`+late+`'`); err != nil {
		t.Fatal(err)
	}
	status, body := e.createSession(e.keyA, sessionWith("promotion_code", "late"))
	wantError(t, "expired code", status, body, http.StatusBadRequest, "promotion_code", "discount_expired")
	status, body = e.createSession(e.keyA, sessionWith("coupon_id", late))
	wantError(t, "expired coupon", status, body, http.StatusBadRequest, "coupon_id", "discount_expired")
	if _, c := e.do("GET", "/v1/coupons/"+late, e.keyA, nil); c["valid"] != false {
		t.Fatalf("expired coupon still valid: %v", c)
	}

	// A customer who has paid is no longer a first-time one.
	if _, err := e.pool.Exec(context.Background(), "UPDATE admin.checkout_sessions SET payment_status = 'paid' WHERE customer_email = 'new@example.com'"); err != nil {
		t.Fatal(err)
	}
	status, body = e.createSession(e.keyA, sessionWith("promotion_code", "FIRST", "customer_email", "NEW@example.com"))
	wantError(t, "FIRST after a payment", status, body, http.StatusBadRequest, "promotion_code", "discount_first_time_only")
}

// TestPromotionCodeRedemptionsHoldUnderConcurrency: 50 concurrent checkouts
// with a code limited to 10 → exactly 10 sessions get it; an expired
// session's reservation is released, a paid one's counted. The code's
// coupon has no limit: it reserves nothing, and counts what is paid.
func TestPromotionCodeRedemptionsHoldUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 15})
	promo := e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "TEN", "max_redemptions": 10})
	created, refused := e.rush(50, func(int) map[string]any { return sessionWith("promotion_code", "TEN") })
	if len(created) != 10 || refused["promotion_code discount_used_up"] != 40 || len(refused) != 1 {
		t.Fatalf("%d created, refused %v", len(created), refused)
	}
	check := func(what string, reserved, redeemed int) {
		t.Helper()
		for _, c := range []struct {
			table    string
			reserved int
		}{
			{"admin.promotion_codes WHERE id = '" + promo + "'", reserved},
			{"admin.coupons WHERE id = '" + coupon + "'", 0},
		} {
			if r, d := e.count("SELECT times_reserved FROM "+c.table), e.count("SELECT times_redeemed FROM "+c.table); r != c.reserved || d != redeemed {
				t.Fatalf("%s: %s has %d reserved, %d redeemed; want %d, %d", what, c.table, r, d, c.reserved, redeemed)
			}
		}
	}
	check("after the rush", 10, 0)
	status, body := e.createSession(e.keyA, sessionWith("promotion_code", "TEN"))
	wantError(t, "eleventh", status, body, http.StatusBadRequest, "promotion_code", "discount_used_up")

	// Expiring a session frees its slot (once: a second expire is refused).
	if status, body := e.do("POST", "/v1/checkout/sessions/"+created[0]+"/expire", e.keyA, nil); status != http.StatusOK {
		t.Fatalf("expire: %d %v", status, body)
	}
	check("after an expiry", 9, 0)
	status, again := e.createSession(e.keyA, sessionWith("promotion_code", "TEN"))
	if status != http.StatusCreated {
		t.Fatalf("slot not freed: %d %v", status, again)
	}
	check("slot taken again", 10, 0)

	// The sweeper's expiry frees one too.
	if _, err := e.pool.Exec(context.Background(), "UPDATE admin.checkout_sessions SET expires_at = now() - interval '1 second' WHERE id = $1", created[1]); err != nil {
		t.Fatal(err)
	}
	if n, err := (&sweeper.Sweeper{Store: e.store, CheckoutBase: checkoutBase}).ExpireDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	check("after a sweep", 9, 0)

	// A paid session's reservation becomes a redemption, counted once.
	c := e.internalClient(token)
	paid := func(id string) {
		t.Helper()
		_, s := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
		total := num(s["amount_total"])
		req := &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id, PaymentId: "pay_" + id, Paid: true, AmountTotal: total}
		for range 2 {
			if _, err := c.CompleteSession(context.Background(), req); err != nil {
				t.Fatalf("complete: %v", err)
			}
		}
	}
	paid(created[2])
	check("after a payment", 8, 1)
	// A completed but unpaid session keeps its reservation until its
	// payment's result: a failure releases it.
	_, s := e.do("GET", "/v1/checkout/sessions/"+created[3], e.keyA, nil)
	if _, err := c.CompleteSession(context.Background(), &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR",
		SessionId: created[3], PaymentId: "pay_bank", AmountTotal: num(s["amount_total"])}); err != nil {
		t.Fatal(err)
	}
	check("complete unpaid", 8, 1)
	if _, err := c.RecordAsyncPayment(context.Background(), &internalapiv1.RecordAsyncPaymentRequest{SessionId: created[3], PaymentId: "pay_bank"}); err != nil {
		t.Fatal(err)
	}
	check("async payment failed", 7, 1)
	_, code := e.do("GET", "/v1/promotion_codes/"+promo, e.keyA, nil)
	if num(code["times_redeemed"]) != 1 || num(code["times_reserved"]) != 7 || code["coupon"].(map[string]any)["valid"] != true {
		t.Fatalf("promotion code object: %v", code)
	}
}

// TestUnlimitedCouponIsNotReserved: a checkout with a coupon that has no
// max_redemptions does not lock the coupon's row: it is created while
// another transaction holds the row as a reservation does (a reservation
// would wait for that transaction's end), and nothing is reserved.
func TestUnlimitedCouponIsNotReserved(t *testing.T) {
	e := newEnv(t)
	coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 10})
	ctx := t.Context()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(ctx, "SELECT 1 FROM admin.coupons WHERE id = $1 FOR NO KEY UPDATE", coupon); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		body   map[string]any
	}
	done := make(chan answer, 1)
	go func() {
		st, b := e.createSession(e.keyA, sessionWith("coupon_id", coupon))
		done <- answer{st, b}
	}()
	select {
	case a := <-done:
		if a.status != http.StatusCreated || num(a.body["total_details"].(map[string]any)["amount_discount"]) == 0 {
			t.Fatalf("create with the coupon: %d %v", a.status, a.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the checkout waited for the coupon's row (a reservation)")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e.count("SELECT times_reserved FROM admin.coupons WHERE id = $1", coupon); r != 0 {
		t.Fatalf("coupon reserved %d, want 0", r)
	}
}

func TestApplyPromotionCodeFromThePage(t *testing.T) {
	e := newEnv(t)
	coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 50})
	e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "HALF", "max_redemptions": 1})
	c := e.internalClient(token)
	ctx := context.Background()
	_, closed := e.createSession(e.keyA, validSession())
	_, err := c.ApplyPromotionCode(ctx, &internalapiv1.ApplyPromotionCodeRequest{SessionId: closed["id"].(string), Code: "HALF"})
	if code, r := reason(err); code != codes.FailedPrecondition || r != "promotion_codes_not_allowed" {
		t.Fatalf("session without allow_promotion_codes: %v", err)
	}
	created, s := e.createSession(e.keyA, sessionWith("allow_promotion_codes", true))
	if created != http.StatusCreated || s["allow_promotion_codes"] != true {
		t.Fatalf("create: %d %v", created, s)
	}
	id := s["id"].(string)
	_, err = c.ApplyPromotionCode(ctx, &internalapiv1.ApplyPromotionCodeRequest{SessionId: id, Code: "NOPE"})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != "The promotion code 'NOPE' is not valid." {
		t.Fatalf("unknown code: %v", err)
	}
	got, err := c.ApplyPromotionCode(ctx, &internalapiv1.ApplyPromotionCodeRequest{SessionId: id, Code: "half"})
	if err != nil || got.GetCheckoutSession().GetAmountTotal() != 2847-1424 || got.GetCheckoutSession().GetTotalDetails().GetAmountDiscount() != 1424 {
		t.Fatalf("apply: %v %v", got, err)
	}
	_, err = c.ApplyPromotionCode(ctx, &internalapiv1.ApplyPromotionCodeRequest{SessionId: id, Code: "HALF"})
	if code, r := reason(err); code != codes.FailedPrecondition || r != "discount_already_applied" {
		t.Fatalf("second code: %v", err)
	}
	// The one redemption is held: another session's page is told so.
	_, s2 := e.createSession(e.keyA, sessionWith("allow_promotion_codes", true))
	_, err = c.ApplyPromotionCode(ctx, &internalapiv1.ApplyPromotionCodeRequest{SessionId: s2["id"].(string), Code: "HALF"})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != "This promotion code has been used up." {
		t.Fatalf("exhausted code: %v", err)
	}
	// The merchant sees the discount on the session.
	_, view := e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if num(view["amount_total"]) != 1423 || view["discounts"] == nil {
		t.Fatalf("merchant view: %v", view)
	}
}

// rush creates n sessions with body at once and sorts the answers: the ids
// created, and the refusals by param and code.
func (e *env) rush(n int, body func(i int) map[string]any) (created []string, refused map[string]int) {
	e.t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		other []string
	)
	refused = map[string]int{}
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, b := e.createSession(e.keyA, body(i))
			param, _, code := apiError(b)
			mu.Lock()
			defer mu.Unlock()
			switch status {
			case http.StatusCreated:
				created = append(created, b["id"].(string))
			case http.StatusBadRequest:
				refused[param+" "+code]++
			default:
				other = append(other, fmt.Sprint(status, b))
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(other) > 0 {
		e.t.Fatalf("unexpected answers: %v", other)
	}
	return created, refused
}

// TestCouponLimitHoldsAcrossItsCodes: a coupon's max_redemptions bounds the
// sessions that take it directly and through any of its codes together,
// under concurrency.
func TestCouponLimitHoldsAcrossItsCodes(t *testing.T) {
	e := newEnv(t)
	coupon := e.createCoupon(e.keyA, map[string]any{"amount_off": 300, "currency": "EUR", "max_redemptions": 6})
	e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "ALPHA"})
	e.createPromo(e.keyA, map[string]any{"coupon": coupon, "code": "BETA"})
	created, refused := e.rush(30, func(i int) map[string]any {
		switch i % 3 {
		case 0:
			return sessionWith("coupon_id", coupon)
		case 1:
			return sessionWith("promotion_code", "ALPHA")
		}
		return sessionWith("promotion_code", "BETA")
	})
	total := 0
	for _, n := range refused {
		total += n
	}
	if len(created) != 6 || total != 24 {
		t.Fatalf("%d created, refused %v", len(created), refused)
	}
	for k := range refused {
		if k != "coupon_id discount_used_up" && k != "promotion_code discount_used_up" {
			t.Fatalf("refusal %q", k)
		}
	}
	if r := e.count("SELECT times_reserved FROM admin.coupons WHERE id = $1", coupon); r != 6 {
		t.Fatalf("coupon reserved %d", r)
	}
	// The codes have no limit of their own: they reserve nothing, and their
	// uses and the direct ones are the coupon's 6.
	if r := e.count("SELECT sum(times_reserved) FROM admin.promotion_codes WHERE coupon_id = $1", coupon); r != 0 {
		t.Fatalf("unlimited codes reserved %d", r)
	}
	if n := e.count("SELECT count(*) FROM admin.discount_redemptions WHERE coupon_id = $1 AND status = 'reserved'", coupon); n != 6 {
		t.Fatalf("%d redemptions held, want the coupon's 6", n)
	}
	_, c := e.do("GET", "/v1/coupons/"+coupon, e.keyA, nil)
	if c["valid"] != false || num(c["times_reserved"]) != 6 {
		t.Fatalf("coupon object: %v", c)
	}
}

// TestStripeSDKDiscounts: stripe-go's discounts and allow_promotion_codes
// reach the core, and its session type reads the discount back.
func TestStripeSDKDiscounts(t *testing.T) {
	e := newEnv(t)
	coupon := e.createCoupon(e.keyA, map[string]any{"percent_off": 10})
	sc := e.stripeClient(e.keyA)
	p := stripeSessionParams()
	p.Discounts = []*stripe.CheckoutSessionCreateDiscountParams{{Coupon: stripe.String(coupon)}}
	cs, err := sc.V1CheckoutSessions.Create(context.Background(), p)
	// 10 % of 3 × 450.
	if err != nil || cs.AmountSubtotal != 1350 || cs.TotalDetails.AmountDiscount != 135 || cs.AmountTotal != 1215 ||
		len(cs.Discounts) != 1 || cs.Discounts[0].Coupon.ID != coupon {
		t.Fatalf("create with a coupon: %+v %v", cs, err)
	}
	p = stripeSessionParams()
	p.AllowPromotionCodes = stripe.Bool(true)
	cs, err = sc.V1CheckoutSessions.Create(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if _, s := e.do("GET", "/v1/checkout/sessions/"+cs.ID, e.keyA, nil); s["allow_promotion_codes"] != true {
		t.Fatalf("allow_promotion_codes not kept: %v", s)
	}
}
