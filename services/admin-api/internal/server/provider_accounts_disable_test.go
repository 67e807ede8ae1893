package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
)

// TestProviderAccountDisable: `disabled` on update disables an account
// (audited) and enables it again. A disabled account is sent to the
// runtime without a provider in its routes and is not the site's account
// for its method, so no new payment goes to it; its credentials still come
// for refunds and callbacks.
func TestProviderAccountDisable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a1, a2 := e.createTestAccount(e.keyA), e.createTestAccount(e.keyA)
	if status, body := e.do("POST", "/v1/routes", e.keyA, map[string]any{"site": e.siteA, "payment_method": "card", "type": "priority",
		"default": true, "accounts": []map[string]any{{"provider_account": a1}, {"provider_account": a2}}}); status != http.StatusCreated {
		t.Fatalf("route: %d %v", status, body)
	}
	if status, body := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"provider_accounts": map[string]string{"card": a1}}); status != http.StatusOK {
		t.Fatalf("site account: %d %v", status, body)
	}
	checkout := func(wantProviders string, wantCard string) {
		t.Helper()
		id, _ := e.newSession()
		co, err := e.internalClient(token).GetCheckout(ctx, &internalapiv1.GetCheckoutRequest{SessionId: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(co.GetRoutes()) != 1 || strings.Join(co.GetRoutes()[0].GetProviders(), ",") != wantProviders {
			t.Errorf("routes %v, want one with providers %q", co.GetRoutes(), wantProviders)
		}
		if co.GetCardProviderAccount().GetId() != wantCard || co.GetSite().GetProviderAccounts()["card"] != wantCard {
			t.Errorf("card account %v, site's %v; want %q", co.GetCardProviderAccount(), co.GetSite().GetProviderAccounts(), wantCard)
		}
	}
	checkout("test,test", a1)

	status, body := e.do("POST", "/v1/provider_accounts/"+a1, e.keyA, map[string]any{"disabled": true})
	if status != http.StatusOK || body["disabled"] != true || body["name"] != "Test" {
		t.Fatalf("disable: %d %v", status, body)
	}
	if _, got := e.do("GET", "/v1/provider_accounts/"+a1, e.keyA, nil); got["disabled"] != true {
		t.Fatalf("get: %v", got)
	}
	checkout(",test", "")
	// What it already did still lands: refunds and callbacks get its credentials.
	if got, err := e.credentialsClient(token).GetProviderAccountCredentials(ctx, credsReq(a1)); err != nil || got.GetAccountId() != a1 {
		t.Fatalf("credentials of a disabled account: %v %v", got, err)
	}

	// Refusals name the parameter and change nothing.
	for _, bad := range []any{"yes", 1, map[string]any{}} {
		status, body := e.do("POST", "/v1/provider_accounts/"+a1, e.keyA, map[string]any{"disabled": bad, "name": "Changed"})
		if status != http.StatusBadRequest || errParamOf(body) != "disabled" {
			t.Errorf("disabled %v: %d %v, want 400 naming disabled", bad, status, body)
		}
	}
	if n := e.count(`SELECT count(*) FROM admin.provider_accounts WHERE id = $1 AND disabled AND name = 'Test'`, a1); n != 1 {
		t.Errorf("refused updates changed the account")
	}
	// Another organization's or mode's key sees no such account.
	for _, key := range []string{e.keyB, e.liveKeyA} {
		if status, body := e.do("POST", "/v1/provider_accounts/"+a1, key, map[string]any{"disabled": false}); status != http.StatusNotFound || errParamOf(body) != "id" {
			t.Errorf("enable with another tenant's key: %d %v", status, body)
		}
	}

	if status, body := e.do("POST", "/v1/provider_accounts/"+a1, e.keyA, map[string]any{"disabled": false}); status != http.StatusOK || body["disabled"] != false {
		t.Fatalf("enable: %d %v", status, body)
	}
	checkout("test,test", a1)

	var details []string
	rows, err := e.pool.Query(ctx, `SELECT a.*::text FROM admin.audit_log a WHERE target_id = $1 AND action = 'provider_account.update' ORDER BY occurred_at, id`, a1)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			t.Fatal(err)
		}
		details = append(details, text)
	}
	if rows.Close(); len(details) != 2 || !slices.ContainsFunc(details, func(s string) bool { return strings.Contains(s, "disabled") }) {
		t.Errorf("audit of the two changes: %q", details)
	}
}
