package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

// createTestAccount connects a test-provider account and returns its id.
func (e *env) createTestAccount(key string) string {
	e.t.Helper()
	status, body := e.do("POST", "/v1/provider_accounts", key, map[string]any{"provider": "test", "name": "Test"})
	if status != http.StatusCreated {
		e.t.Fatalf("create test account: %d %v", status, body)
	}
	return body["id"].(string)
}

func TestTestProviderAccounts(t *testing.T) {
	e := newEnv(t)
	if status, body := e.do("POST", "/v1/provider_accounts", e.liveKeyA, map[string]any{"provider": "test"}); status != http.StatusBadRequest || errParamOf(body) != "provider" {
		t.Errorf("live test account: %d %v", status, body)
	}
	if status, body := e.do("POST", "/v1/provider_accounts", e.keyA, map[string]any{"provider": "test",
		"credentials": map[string]any{"secret_key": "x"}}); status != http.StatusBadRequest || errParamOf(body) != "credentials" {
		t.Errorf("test account with credentials: %d %v", status, body)
	}
	id := e.createTestAccount(e.keyA)
	if status, body := e.do("GET", "/v1/provider_accounts/"+id, e.keyA, nil); status != http.StatusOK || body["provider"] != "test" {
		t.Errorf("get: %d %v", status, body)
	}
}

func TestRoutesCreateGetList(t *testing.T) {
	e := newEnv(t)
	a1, a2 := e.createTestAccount(e.keyA), e.createTestAccount(e.keyA)
	status, rt := e.do("POST", "/v1/routes", e.keyA, map[string]any{"site": e.siteA, "payment_method": "card", "type": "volume_split",
		"name": "EU split", "accounts": []map[string]any{{"provider_account": a1, "weight": 70}, {"provider_account": a2, "weight": 30}},
		"rules": map[string]any{"currencies": []string{"eur"}, "amount_min": 100, "amount_max": 50000, "billing_countries": []string{"fr", "DE"}}})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, rt)
	}
	id := rt["id"].(string)
	rules := rt["rules"].(map[string]any)
	if rt["object"] != "route" || rt["type"] != "volume_split" || rules["currencies"].([]any)[0] != "EUR" ||
		rules["billing_countries"].([]any)[0] != "FR" || rules["amount_min"] != float64(100) {
		t.Errorf("created: %v", rt)
	}
	status, def := e.do("POST", "/v1/routes", e.keyA, map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority",
		"default": true, "accounts": []map[string]any{{"provider_account": a2}, {"provider_account": a1}}})
	if status != http.StatusCreated || def["default"] != true {
		t.Fatalf("create default: %d %v", status, def)
	}
	// A second default replaces the first as the site's default.
	status, def2 := e.do("POST", "/v1/routes", e.keyA, map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority",
		"default": true, "accounts": []map[string]any{{"provider_account": a1}}})
	if status != http.StatusCreated {
		t.Fatalf("create second default: %d %v", status, def2)
	}
	if _, got := e.do("GET", "/v1/routes/"+def["id"].(string), e.keyA, nil); got["default"] == true {
		t.Errorf("the former default is still default: %v", got)
	}
	if status, got := e.do("GET", "/v1/routes/"+id, e.keyA, nil); status != http.StatusOK || got["id"] != id || len(got["accounts"].([]any)) != 2 {
		t.Errorf("get: %d %v", status, got)
	}
	if status, list := e.do("GET", "/v1/routes?limit=2", e.keyA, nil); status != http.StatusOK || len(list["data"].([]any)) != 2 || list["has_more"] != true {
		t.Errorf("list: %d %v", status, list)
	}
	// Another organization, or the other mode: 404.
	for _, key := range []string{e.keyB, e.liveKeyA} {
		if status, got := e.do("GET", "/v1/routes/"+id, key, nil); status != http.StatusNotFound {
			t.Errorf("get with another tenant's key: %d %v", status, got)
		}
	}

	// Deleting: only the caller's, in its mode; then it is gone.
	status, gone := e.do("POST", "/v1/routes", e.keyA, map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority",
		"accounts": []map[string]any{{"provider_account": a1}}})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, gone)
	}
	for _, key := range []string{e.keyB, e.liveKeyA} {
		if status, got := e.do("DELETE", "/v1/routes/"+gone["id"].(string), key, nil); status != http.StatusNotFound {
			t.Errorf("delete with another tenant's key: %d %v", status, got)
		}
	}
	if status, got := e.do("DELETE", "/v1/routes/"+gone["id"].(string), e.keyA, nil); status != http.StatusOK || got["deleted"] != true {
		t.Fatalf("delete: %d %v", status, got)
	}
	if status, _ := e.do("GET", "/v1/routes/"+gone["id"].(string), e.keyA, nil); status != http.StatusNotFound {
		t.Errorf("a deleted route: %d", status)
	}

	// The runtime sees the site's card routes, oldest first, with providers.
	s := validSession()
	s["site_id"], s["route"] = e.siteA, id
	status, cs := e.do("POST", "/v1/checkout/sessions", e.keyA, s)
	if status != http.StatusOK && status != http.StatusCreated || cs["route"] != id {
		t.Fatalf("session naming a route: %d %v", status, cs)
	}
	got, err := e.internalClient(token).GetCheckout(context.Background(), &internalapiv1.GetCheckoutRequest{SessionId: cs["id"].(string)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.GetRoutes()) != 3 || got.GetRoutes()[0].GetRoute().GetId() != id ||
		fmt.Sprint(got.GetRoutes()[0].GetProviders()) != "[test test]" || !got.GetRoutes()[2].GetRoute().GetDefault() {
		t.Errorf("card routes: %v", got.GetRoutes())
	}
	// An account deleted since keeps its place, with no provider (the
	// runtime skips it).
	if status, body := e.do("DELETE", "/v1/provider_accounts/"+a2, e.keyA, nil); status != http.StatusOK {
		t.Fatalf("delete account: %d %v", status, body)
	}
	got, err = e.internalClient(token).GetCheckout(context.Background(), &internalapiv1.GetCheckoutRequest{SessionId: cs["id"].(string)})
	if err != nil || fmt.Sprint(got.GetRoutes()[0].GetProviders()) != "[test ]" {
		t.Errorf("card routes after deleting an account: %v %v", got.GetRoutes(), err)
	}
	// A session may not name another organization's route, nor one of the other mode.
	before := e.count("SELECT count(*) FROM admin.checkout_sessions")
	for key, site := range map[string]string{e.keyB: e.createSite(e.keyB, "http"), e.liveKeyA: e.liveSiteA} {
		s["site_id"] = site
		if status, got := e.do("POST", "/v1/checkout/sessions", key, s); status != http.StatusNotFound || errParamOf(got) != "route" {
			t.Errorf("session naming another tenant's route: %d %v", status, got)
		}
	}
	if after := e.count("SELECT count(*) FROM admin.checkout_sessions"); after != before {
		t.Errorf("%d sessions written by refused creates", after-before)
	}
}

func TestRoutesRefuseBadInput(t *testing.T) {
	e := newEnv(t)
	a1 := e.createTestAccount(e.keyA)
	other := e.createTestAccount(e.keyB)
	before := e.count("SELECT count(*) FROM admin.routes")
	for _, tc := range []struct {
		body   map[string]any
		status int
		param  string
	}{
		{map[string]any{"payment_method": "card", "type": "priority", "accounts": []map[string]any{{"provider_account": a1}}}, 400, "site"},
		{map[string]any{"site": "site_nope", "payment_method": "card", "type": "priority", "accounts": []map[string]any{{"provider_account": a1}}}, 404, "site"},
		{map[string]any{"site": e.siteA, "payment_method": "card", "type": "fastest", "accounts": []map[string]any{{"provider_account": a1}}}, 400, "type"},
		{map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority"}, 400, "accounts"},
		{map[string]any{"site": e.siteA, "payment_method": "card", "type": "volume_split", "accounts": []map[string]any{{"provider_account": a1, "weight": 60}}}, 400, "accounts"},
		{map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority", "accounts": []map[string]any{{"provider_account": other}}}, 404, "accounts[0][provider_account]"},
		{map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority", "accounts": []map[string]any{{"provider_account": a1}},
			"rules": map[string]any{"currencies": []string{"EUR", "ZZZ"}}}, 400, "rules[currencies][1]"},
		{map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority", "accounts": []map[string]any{{"provider_account": a1}},
			"rules": map[string]any{"amount_min": 10, "amount_max": 5}}, 400, "rules[amount_max]"},
	} {
		status, got := e.do("POST", "/v1/routes", e.keyA, tc.body)
		if status != tc.status || errParamOf(got) != tc.param {
			t.Errorf("%v: %d %v, want %d naming %s", tc.body, status, got, tc.status, tc.param)
		}
	}
	if after := e.count("SELECT count(*) FROM admin.routes"); after != before {
		t.Errorf("%d routes written by refused creates", after-before)
	}
}
