package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

// TestRoutesUpdate changes a route's fields over REST (only those given),
// moves the site's default, disables it (the runtime is no longer sent it),
// and audits each change.
func TestRoutesUpdate(t *testing.T) {
	e := newEnv(t)
	a1, a2 := e.createTestAccount(e.keyA), e.createTestAccount(e.keyA)
	status, rt := e.do("POST", "/v1/routes", e.keyA, map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority",
		"name": "First", "accounts": []map[string]any{{"provider_account": a1}}, "rules": map[string]any{"currencies": []string{"EUR"}}})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, rt)
	}
	id := rt["id"].(string)
	status, def := e.do("POST", "/v1/routes", e.keyA, map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority",
		"default": true, "accounts": []map[string]any{{"provider_account": a2}}})
	if status != http.StatusCreated {
		t.Fatalf("create default: %d %v", status, def)
	}

	// Type and accounts together; the name and rules not given stay.
	status, got := e.do("POST", "/v1/routes/"+id, e.keyA, map[string]any{"type": "volume_split",
		"accounts": []map[string]any{{"provider_account": a2, "weight": 70}, {"provider_account": a1, "weight": 30}}})
	if status != http.StatusOK || got["type"] != "volume_split" || got["name"] != "First" ||
		fmt.Sprint(got["accounts"]) != fmt.Sprintf("[map[provider_account:%s weight:70] map[provider_account:%s weight:30]]", a2, a1) ||
		fmt.Sprint(got["rules"].(map[string]any)["currencies"]) != "[EUR]" {
		t.Fatalf("update type and accounts: %d %v", status, got)
	}
	// New rules replace the old; becoming the default demotes the former.
	status, got = e.do("POST", "/v1/routes/"+id, e.keyA, map[string]any{"name": "Renamed", "default": true,
		"rules": map[string]any{"currencies": []string{"gbp"}, "amount_max": 9000}})
	rules, _ := got["rules"].(map[string]any)
	if status != http.StatusOK || got["name"] != "Renamed" || got["default"] != true || fmt.Sprint(rules["currencies"]) != "[GBP]" ||
		rules["amount_max"] != float64(9000) {
		t.Fatalf("update rules and default: %d %v", status, got)
	}
	if _, former := e.do("GET", "/v1/routes/"+def["id"].(string), e.keyA, nil); former["default"] == true {
		t.Errorf("the former default is still default: %v", former)
	}

	// Disabled: kept, listed, but not sent to the runtime.
	s := validSession()
	s["site_id"] = e.siteA
	status, cs := e.do("POST", "/v1/checkout/sessions", e.keyA, s)
	if status != http.StatusOK && status != http.StatusCreated {
		t.Fatalf("session: %d %v", status, cs)
	}
	routesSent := func() []string {
		t.Helper()
		co, err := e.internalClient(token).GetCheckout(context.Background(), &internalapiv1.GetCheckoutRequest{SessionId: cs["id"].(string)})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range co.GetRoutes() {
			ids = append(ids, r.GetRoute().GetId())
		}
		return ids
	}
	if got := fmt.Sprint(routesSent()); got != fmt.Sprintf("[%s %s]", id, def["id"]) {
		t.Fatalf("routes sent before disabling: %s", got)
	}
	if status, got = e.do("POST", "/v1/routes/"+id, e.keyA, map[string]any{"disabled": true}); status != http.StatusOK || got["disabled"] != true {
		t.Fatalf("disable: %d %v", status, got)
	}
	if got := fmt.Sprint(routesSent()); got != fmt.Sprintf("[%s]", def["id"]) {
		t.Errorf("routes sent after disabling %s: %s", id, got)
	}
	if status, got = e.do("POST", "/v1/routes/"+id, e.keyA, map[string]any{"disabled": false}); status != http.StatusOK || got["disabled"] == true {
		t.Fatalf("enable: %d %v", status, got)
	}
	if n := e.count(`SELECT count(*) FROM admin.audit_log WHERE organization_id = $1 AND action = 'route.update' AND target_id = $2`, e.orgA, id); n != 4 {
		t.Errorf("%d route.update audit entries, want 4", n)
	}
}

// TestRoutesUpdateRefusesBadInput: each refusal names its parameter and
// changes nothing; another tenant's route is not found.
func TestRoutesUpdateRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	a1, a2 := e.createTestAccount(e.keyA), e.createTestAccount(e.keyA)
	other := e.createTestAccount(e.keyB)
	status, rt := e.do("POST", "/v1/routes", e.keyA, map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority",
		"accounts": []map[string]any{{"provider_account": a1}, {"provider_account": a2}}})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, rt)
	}
	id := rt["id"].(string)
	before := e.count(`SELECT count(*) FROM admin.routes WHERE id = $1 AND type = 'priority' AND name = '' AND NOT disabled`, id)
	for _, tc := range []struct {
		body   map[string]any
		status int
		param  string
	}{
		// A split without weights: the stored accounts have none.
		{map[string]any{"type": "volume_split"}, 400, "accounts[0][weight]"},
		{map[string]any{"type": "fastest"}, 400, "type"},
		{map[string]any{"accounts": []map[string]any{}}, 400, "accounts"},
		{map[string]any{"accounts": []map[string]any{{"provider_account": a1}, {"provider_account": a1}}}, 400, "accounts[1][provider_account]"},
		{map[string]any{"accounts": []map[string]any{{"provider_account": other}}}, 404, "accounts[0][provider_account]"},
		{map[string]any{"rules": map[string]any{"billing_countries": []string{"XX"}}}, 400, "rules[billing_countries][0]"},
		{map[string]any{"rules": map[string]any{"amount_min": 10, "amount_max": 5}}, 400, "rules[amount_max]"},
		{map[string]any{"name": strings.Repeat("n", 101)}, 400, "name"},
		{map[string]any{"site": e.siteA}, 400, "site"},
	} {
		status, got := e.do("POST", "/v1/routes/"+id, e.keyA, tc.body)
		if status != tc.status || errParamOf(got) != tc.param {
			t.Errorf("%v: %d %v, want %d naming %s", tc.body, status, got, tc.status, tc.param)
		}
	}
	if after := e.count(`SELECT count(*) FROM admin.routes WHERE id = $1 AND type = 'priority' AND name = '' AND NOT disabled`, id); after != before || after != 1 {
		t.Errorf("the route changed under refused updates")
	}
	for _, key := range []string{e.keyB, e.liveKeyA} {
		if status, got := e.do("POST", "/v1/routes/"+id, key, map[string]any{"name": "x"}); status != http.StatusNotFound || errParamOf(got) != "id" {
			t.Errorf("update with another tenant's key: %d %v", status, got)
		}
	}
}

// TestNonCardRoutes: direct-debit and mobile-money routes take accounts of
// their providers; a priority list of several is refused (they never
// cascade), a volume split between them is not.
func TestNonCardRoutes(t *testing.T) {
	e := newEnv(t)
	p1, p2 := e.createPaystackAccount(e.keyA), e.createPaystackAccount(e.keyA)
	card := e.createTestAccount(e.keyA)
	for _, tc := range []struct {
		body   map[string]any
		status int
		param  string
	}{
		{map[string]any{"type": "priority", "accounts": []map[string]any{{"provider_account": p1}, {"provider_account": p2}}}, 400, "accounts"},
		{map[string]any{"type": "priority", "accounts": []map[string]any{{"provider_account": card}}}, 400, "accounts[0][provider_account]"},
		{map[string]any{"type": "priority", "accounts": []map[string]any{{"provider_account": p1}}}, 201, ""},
		{map[string]any{"type": "volume_split", "accounts": []map[string]any{{"provider_account": p1, "weight": 50}, {"provider_account": p2, "weight": 50}},
			"rules": map[string]any{"currencies": []string{"GHS"}}}, 201, ""},
	} {
		tc.body["site"], tc.body["payment_method"] = e.siteA, "mobile_money"
		status, got := e.do("POST", "/v1/routes", e.keyA, tc.body)
		if status != tc.status || (tc.param != "" && errParamOf(got) != tc.param) {
			t.Errorf("%v: %d %v, want %d naming %q", tc.body, status, got, tc.status, tc.param)
		}
		if status == http.StatusCreated && got["payment_method"] != "mobile_money" {
			t.Errorf("created %v", got)
		}
	}
	// A split made a priority list of two by an update is refused too.
	status, split := e.do("POST", "/v1/routes", e.keyA, map[string]any{"site": e.siteA, "payment_method": "mobile_money", "type": "volume_split",
		"accounts": []map[string]any{{"provider_account": p1, "weight": 50}, {"provider_account": p2, "weight": 50}}})
	if status != http.StatusCreated {
		t.Fatalf("create split: %d %v", status, split)
	}
	if status, got := e.do("POST", "/v1/routes/"+split["id"].(string), e.keyA, map[string]any{"type": "priority",
		"accounts": []map[string]any{{"provider_account": p1}, {"provider_account": p2}}}); status != http.StatusBadRequest || errParamOf(got) != "accounts" {
		t.Errorf("update to a priority list of two: %d %v", status, got)
	}
}

// createPaystackAccount connects a Paystack account (its key is checked by
// shape only) and returns its id.
func (e *env) createPaystackAccount(key string) string {
	e.t.Helper()
	status, body := e.do("POST", "/v1/provider_accounts", key, paystackAccount(skPaystack))
	if status != http.StatusCreated {
		e.t.Fatalf("create Paystack account: %d %v", status, body)
	}
	return body["id"].(string)
}
