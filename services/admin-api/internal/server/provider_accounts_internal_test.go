package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

func (e *env) credentialsClient(tok string) internalapiv1.ProviderAccountServiceClient {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	conn := serveGRPC(e.t, NewInternal(e.store, logger, checkoutBase, []string{token}, e.keys), grpc.WithPerRPCCredentials(grpcx.InternalToken(tok)))
	return internalapiv1.NewProviderAccountServiceClient(conn)
}

func credsReq(id string) *internalapiv1.GetProviderAccountCredentialsRequest {
	return &internalapiv1.GetProviderAccountCredentialsRequest{AccountId: id}
}

func TestGetProviderAccountCredentials(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.createAccount(e.keyA, skA, pkA, whsecA)
	c := e.credentialsClient(token)
	got, err := c.GetProviderAccountCredentials(ctx, credsReq(id))
	if err != nil {
		t.Fatal(err)
	}
	if got.GetAccountId() != id || got.GetProvider() != "stripe" || got.GetOrganizationId() != e.orgA || got.GetLivemode() ||
		got.GetSecretKey() != skA || got.GetPublishableKey() != pkA || got.GetWebhookSecret() != whsecA {
		t.Fatalf("credentials: %v", got)
	}
	// After an update, the new ones.
	if status, body := e.do("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"credentials": map[string]any{"secret_key": skB, "webhook_secret": whsecB}}); status != http.StatusOK {
		t.Fatalf("update: %d %v", status, body)
	}
	if got, err = c.GetProviderAccountCredentials(ctx, credsReq(id)); err != nil || got.GetSecretKey() != skB || got.GetWebhookSecret() != whsecB || got.GetPublishableKey() != pkA {
		t.Fatalf("after update: %v %v", got, err)
	}

	if _, err := c.GetProviderAccountCredentials(ctx, credsReq("pa_nope")); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown account: %v", err)
	}
	if _, err := c.GetProviderAccountCredentials(ctx, credsReq("")); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("no id: %v", err)
	}
	if _, err := e.credentialsClient("wrong-token-wrong-token-wrong-token!").GetProviderAccountCredentials(ctx, credsReq(id)); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong token: %v", err)
	}
	// Not on the merchant API's gRPC server either.
	if _, err := internalapiv1.NewProviderAccountServiceClient(serveGRPC(t, e.api.GRPC)).GetProviderAccountCredentials(ctx, credsReq(id)); status.Code(err) != codes.Unimplemented {
		t.Fatalf("on the public gRPC server: %v", err)
	}

	// A ciphertext copied into another row does not open there.
	other := e.createAccount(e.keyA, skA, pkA, whsecA)
	if _, err := e.pool.Exec(ctx, `UPDATE admin.provider_accounts SET credentials = (SELECT credentials FROM admin.provider_accounts WHERE id = $1) WHERE id = $2`, id, other); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetProviderAccountCredentials(ctx, credsReq(other))
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "Bravo") {
		t.Fatalf("copied ciphertext: %v", err)
	}
	// Nor does the account's own after it moves to another organization.
	if _, err := e.pool.Exec(ctx, `INSERT INTO admin.organizations (id, name) VALUES ('org_thief', 'T')`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE admin.provider_accounts SET organization_id = 'org_thief' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetProviderAccountCredentials(ctx, credsReq(id)); status.Code(err) != codes.Internal {
		t.Fatalf("ciphertext in another organization: %v", err)
	}
}

func TestSiteProviderAccounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	acct := e.createAccount(e.keyA, skA, pkA, whsecA)
	otherOrg := e.createAccount(e.keyB, skA, pkA, whsecA)
	// A live account cannot be checked against stripe-mock: stored directly.
	if _, err := e.pool.Exec(ctx, `INSERT INTO admin.provider_accounts (id, organization_id, livemode, provider, publishable_key,
		secret_key_last4, webhook_secret_last4, credentials) VALUES ('pa_live', $1, true, 'stripe', 'pk_live_x', 'xxxx', 'xxxx', 'k1:x')`, e.orgA); err != nil {
		t.Fatal(err)
	}
	status, body := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"provider_accounts": map[string]string{"card": acct}})
	if status != http.StatusOK || body["provider_accounts"].(map[string]any)["card"] != acct {
		t.Fatalf("attach: %d %v", status, body)
	}
	if _, got := e.do("GET", "/v1/sites/"+e.siteA, e.keyA, nil); got["provider_accounts"].(map[string]any)["card"] != acct {
		t.Fatalf("get: %v", got)
	}
	// Other updates keep it.
	if _, got := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"name": "Renamed"}); got["provider_accounts"].(map[string]any)["card"] != acct {
		t.Fatalf("after another update: %v", got)
	}
	for _, c := range []struct {
		name     string
		accounts map[string]string
		param    string
	}{
		{"unknown account", map[string]string{"card": "pa_nope"}, "provider_accounts[card]"},
		{"another organization's", map[string]string{"card": otherOrg}, "provider_accounts[card]"},
		{"another mode's", map[string]string{"card": "pa_live"}, "provider_accounts[card]"},
		{"empty id", map[string]string{"card": ""}, "provider_accounts[card]"},
		{"a method Stripe does not serve here", map[string]string{"bank_transfer": acct}, "provider_accounts[bank_transfer]"},
		{"an unknown method", map[string]string{"crypto": acct}, "provider_accounts[crypto]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"provider_accounts": c.accounts})
			if param, _, _ := apiError(body); status != http.StatusBadRequest || param != c.param {
				t.Fatalf("update: %d %v, want 400 naming %s", status, body, c.param)
			}
			create := map[string]any{"name": "S", "default_currency": "eur", "provider_accounts": c.accounts}
			status, body = e.do("POST", "/v1/sites", e.keyA, create)
			if param, _, _ := apiError(body); status != http.StatusBadRequest || param != c.param {
				t.Fatalf("create: %d %v, want 400 naming %s", status, body, c.param)
			}
		})
	}
	status, body = e.do("POST", "/v1/sites", e.keyA, map[string]any{"name": "S2", "default_currency": "eur", "provider_accounts": map[string]string{"card": acct}})
	if status != http.StatusCreated {
		t.Fatalf("create with account: %d %v", status, body)
	}
	site2 := body["id"].(string)

	// The hosted page gets the account's id and publishable key, no secret.
	id, _ := e.newSession()
	co, err := e.internalClient(token).GetCheckout(ctx, &internalapiv1.GetCheckoutRequest{SessionId: id})
	if err != nil {
		t.Fatal(err)
	}
	if cp := co.GetCardProviderAccount(); cp.GetId() != acct || cp.GetProvider() != "stripe" || cp.GetPublishableKey() != pkA {
		t.Fatalf("card provider account: %v", cp)
	}
	noSecrets(t, "GetCheckout", co.String())

	// Deleting an account in use is refused, naming the site; detached, it goes.
	status, body = e.do("DELETE", "/v1/provider_accounts/"+acct, e.keyA, nil)
	if _, _, code := apiError(body); status != http.StatusBadRequest || code != "resource_in_use" || !strings.Contains(body["error"].(map[string]any)["message"].(string), e.siteA) {
		t.Fatalf("delete in use: %d %v", status, body)
	}
	for _, s := range []string{e.siteA, site2} {
		if status, body := e.do("POST", "/v1/sites/"+s, e.keyA, map[string]any{"provider_accounts": map[string]string{}}); status != http.StatusOK || len(body["provider_accounts"].(map[string]any)) != 0 {
			t.Fatalf("detach: %d %v", status, body)
		}
	}
	if status, body := e.do("DELETE", "/v1/provider_accounts/"+acct, e.keyA, nil); status != http.StatusOK {
		t.Fatalf("delete detached: %d %v", status, body)
	}
	// A session of a site without a card account: no account on GetCheckout.
	id, _ = e.newSession()
	if co, err := e.internalClient(token).GetCheckout(ctx, &internalapiv1.GetCheckoutRequest{SessionId: id}); err != nil || co.GetCardProviderAccount() != nil {
		t.Fatalf("without an account: %v %v", co.GetCardProviderAccount(), err)
	}
}

// A delete and a site being pointed at the account, concurrently: the
// account's row lock orders them, so that no site is left naming a deleted
// account. Here the site's transaction holds the share lock first.
func TestDeleteWaitsForSiteAttaching(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	acct := e.createAccount(e.keyA, skA, pkA, whsecA)
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// What checkProviderAccounts does in a site's transaction.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM admin.provider_accounts WHERE id = $1 FOR SHARE`, acct); err != nil {
		t.Fatal(err)
	}
	type result struct {
		status int
		body   map[string]any
	}
	done := make(chan result, 1)
	go func() {
		resp := e.raw("DELETE", "/v1/provider_accounts/"+acct, e.keyA, nil)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		done <- result{resp.StatusCode, out}
	}()
	testkit.Eventually(t, "the delete waits for the site's lock", func() bool {
		return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%provider_accounts%'`) > 0
	})
	if _, err := tx.Exec(ctx, `UPDATE admin.sites SET provider_accounts = jsonb_build_object('card', $1::text) WHERE id = $2`, acct, e.siteA); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if _, _, code := apiError(r.body); r.status != http.StatusBadRequest || code != "resource_in_use" {
		t.Fatalf("delete after the site took the account: %d %v", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM admin.provider_accounts WHERE id = $1`, acct); n != 1 {
		t.Fatal("the account in use was deleted")
	}
}
