package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/grpcapi"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// Credentials stripe-mock accepts (any well-formed test-mode secret key),
// each distinctive enough to be searched for in answers, logs and tables.
const (
	skA    = testkit.StripeMockKey + "SecretAlpha0123456789"
	skB    = testkit.StripeMockKey + "SecretBravo9876543210"
	pkA    = "pk_test_PublishableAlpha0123"
	whsecA = "whsec_SigningAlpha0123456789abcdef"
	whsecB = "whsec_SigningBravo9876543210fedcba"
)

// allSecrets are the values that must never leave admin-api except through
// the internal API.
var allSecrets = []string{skA, skB, whsecA, whsecB, "SecretAlpha0123456789", "SecretBravo9876543210",
	"SigningAlpha0123456789", "SigningBravo9876543210"}

func stripeAccount(sk, pk, whsec string) map[string]any {
	return map[string]any{"provider": "stripe", "name": "Main Stripe", "metadata": map[string]string{"team": "payments"},
		"credentials": map[string]any{"secret_key": sk, "publishable_key": pk, "webhook_secret": whsec}}
}

// createAccount connects a Stripe account and returns its id.
func (e *env) createAccount(key, sk, pk, whsec string) string {
	e.t.Helper()
	status, body := e.do("POST", "/v1/provider_accounts", key, stripeAccount(sk, pk, whsec))
	if status != http.StatusCreated {
		e.t.Fatalf("create provider account: %d %v", status, body)
	}
	return body["id"].(string)
}

// noSecrets fails when any secret appears in text.
func noSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range allSecrets {
		if strings.Contains(text, s) {
			t.Fatalf("%s holds the secret %q:\n%s", where, s, text)
		}
	}
}

func TestProviderAccountLifecycle(t *testing.T) {
	e := newEnv(t)
	status, body := e.do("POST", "/v1/provider_accounts", e.keyA, stripeAccount(skA, pkA, whsecA))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	id, _ := body["id"].(string)
	if !strings.HasPrefix(id, "pa_") {
		t.Fatalf("id %q", id)
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(body["created_at"])); err != nil {
		t.Fatalf("created_at: %v", err)
	}
	want := map[string]any{"id": id, "object": "provider_account", "provider": "stripe", "name": "Main Stripe",
		"livemode": false, "status": "active", "created_at": body["created_at"],
		"credentials": map[string]any{"secret_key_last4": skA[len(skA)-4:], "webhook_secret_last4": whsecA[len(whsecA)-4:],
			"publishable_key": pkA},
		"webhook_url": "https://webhook.test/hooks/stripe/" + id,
		"metadata":    map[string]any{"team": "payments"}, "reusable_mandate": false, "disabled": false}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("created\n got %v\nwant %v", body, want)
	}
	if status, got := e.do("GET", "/v1/provider_accounts/"+id, e.keyA, nil); status != http.StatusOK || !reflect.DeepEqual(got, want) {
		t.Fatalf("get: %d %v", status, got)
	}
	// Stored encrypted under the current key, bound to the row.
	var stored string
	if err := e.pool.QueryRow(context.Background(), `SELECT credentials FROM admin.provider_accounts WHERE id = $1`, id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, e.keys.PrimaryID()+":") {
		t.Fatalf("stored credentials %q", stored)
	}

	// Update: name, metadata, one credential; the others are kept.
	status, body = e.do("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"name": "Renamed",
		"metadata": map[string]string{"k": "v"}, "credentials": map[string]any{"webhook_secret": whsecB}})
	if status != http.StatusOK {
		t.Fatalf("update: %d %v", status, body)
	}
	creds := body["credentials"].(map[string]any)
	if body["name"] != "Renamed" || !reflect.DeepEqual(body["metadata"], map[string]any{"k": "v"}) ||
		creds["webhook_secret_last4"] != whsecB[len(whsecB)-4:] || creds["secret_key_last4"] != skA[len(skA)-4:] ||
		creds["publishable_key"] != pkA {
		t.Fatalf("updated: %v", body)
	}
	// A new secret key is checked with Stripe and taken.
	status, body = e.do("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"credentials": map[string]any{"secret_key": skB}})
	if status != http.StatusOK || body["credentials"].(map[string]any)["secret_key_last4"] != skB[len(skB)-4:] {
		t.Fatalf("new secret key: %d %v", status, body)
	}
	// Credentials given on update are checked like on create.
	status, body = e.do("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"credentials": map[string]any{"publishable_key": "pk_live_x1"}})
	if param, _, _ := apiError(body); status != http.StatusBadRequest || param != "credentials[publishable_key]" {
		t.Fatalf("live publishable key on a test account: %d %v", status, body)
	}
	status, body = e.do("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"credentials": map[string]any{"secret_key": "sk_live_x1"}})
	if param, _, _ := apiError(body); status != http.StatusBadRequest || param != "credentials[secret_key]" {
		t.Fatalf("live secret key on a test account: %d %v", status, body)
	}
	status, body = e.do("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"livemode": true})
	if param, _, _ := apiError(body); status != http.StatusBadRequest || param != "livemode" {
		t.Fatalf("unknown parameter: %d %v", status, body)
	}

	// List: newest first, with cursors.
	ids := []string{id}
	for range 3 {
		ids = append(ids, e.createAccount(e.keyA, skA, pkA, whsecA))
	}
	status, page := e.do("GET", "/v1/provider_accounts?limit=2", e.keyA, nil)
	data, _ := page["data"].([]any)
	if status != http.StatusOK || page["object"] != "list" || page["url"] != "/v1/provider_accounts" || page["has_more"] != true ||
		len(data) != 2 || data[0].(map[string]any)["id"] != ids[3] || data[1].(map[string]any)["id"] != ids[2] {
		t.Fatalf("first page: %d %v", status, page)
	}
	status, page = e.do("GET", "/v1/provider_accounts?limit=2&starting_after="+ids[2], e.keyA, nil)
	data, _ = page["data"].([]any)
	if status != http.StatusOK || page["has_more"] != false || len(data) != 2 || data[0].(map[string]any)["id"] != ids[1] || data[1].(map[string]any)["id"] != ids[0] {
		t.Fatalf("second page: %d %v", status, page)
	}
	status, page = e.do("GET", "/v1/provider_accounts?ending_before="+ids[1], e.keyA, nil)
	data, _ = page["data"].([]any)
	if status != http.StatusOK || len(data) != 2 || data[0].(map[string]any)["id"] != ids[3] {
		t.Fatalf("ending_before: %d %v", status, page)
	}

	// Delete.
	status, body = e.do("DELETE", "/v1/provider_accounts/"+id, e.keyA, nil)
	if status != http.StatusOK || !reflect.DeepEqual(body, map[string]any{"id": id, "object": "provider_account", "deleted": true}) {
		t.Fatalf("delete: %d %v", status, body)
	}
	if status, _ := e.do("GET", "/v1/provider_accounts/"+id, e.keyA, nil); status != http.StatusNotFound {
		t.Fatalf("get deleted: %d", status)
	}
	if status, _ := e.do("DELETE", "/v1/provider_accounts/"+id, e.keyA, nil); status != http.StatusNotFound {
		t.Fatalf("delete twice: %d", status)
	}
}

func TestProviderAccountRulesNameTheParam(t *testing.T) {
	e := newEnv(t)
	creds := func(sk, pk, wh string) map[string]any {
		return map[string]any{"provider": "stripe", "credentials": map[string]any{"secret_key": sk, "publishable_key": pk, "webhook_secret": wh}}
	}
	for _, c := range []struct {
		name, key string
		body      any
		param     string
	}{
		{"no provider", e.keyA, map[string]any{"credentials": map[string]any{"secret_key": skA}}, "provider"},
		{"unknown provider", e.keyA, map[string]any{"provider": "paypal"}, "provider"},
		{"no credentials", e.keyA, map[string]any{"provider": "stripe"}, "credentials[secret_key]"},
		{"no secret key", e.keyA, creds("", pkA, whsecA), "credentials[secret_key]"},
		{"not a secret key", e.keyA, creds("xk_test_abc", pkA, whsecA), "credentials[secret_key]"},
		{"publishable as secret", e.keyA, creds(pkA, pkA, whsecA), "credentials[secret_key]"},
		{"live secret key in test mode", e.keyA, creds("sk_live_abc123", pkA, whsecA), "credentials[secret_key]"},
		{"live restricted key in test mode", e.keyA, creds("rk_live_abc123", pkA, whsecA), "credentials[secret_key]"},
		{"test secret key in live mode", e.liveKeyA, creds(skA, "pk_live_abc", whsecA), "credentials[secret_key]"},
		{"test restricted key in live mode", e.liveKeyA, creds("rk_test_abc", "pk_live_abc", whsecA), "credentials[secret_key]"},
		{"no publishable key", e.keyA, creds(skA, "", whsecA), "credentials[publishable_key]"},
		{"live publishable key in test mode", e.keyA, creds(skA, "pk_live_abc", whsecA), "credentials[publishable_key]"},
		{"test publishable key in live mode", e.liveKeyA, creds("sk_live_abc", pkA, whsecA), "credentials[publishable_key]"},
		{"secret as publishable", e.keyA, creds(skA, skA, whsecA), "credentials[publishable_key]"},
		{"no webhook secret", e.keyA, creds(skA, pkA, ""), "credentials[webhook_secret]"},
		{"not a webhook secret", e.keyA, creds(skA, pkA, "wh_abc"), "credentials[webhook_secret]"},
		{"key too long", e.keyA, creds("sk_test_"+strings.Repeat("a", 300), pkA, whsecA), "credentials[secret_key]"},
		{"name too long", e.keyA, map[string]any{"provider": "stripe", "name": strings.Repeat("n", 101)}, "name"},
		{"metadata too long", e.keyA, map[string]any{"provider": "stripe", "metadata": map[string]string{"k": strings.Repeat("v", 501)}}, "metadata[k]"},
		{"unknown field", e.keyA, `{"provider":"stripe","livemode":true}`, "livemode"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := e.do("POST", "/v1/provider_accounts", c.key, c.body)
			param, typ, _ := apiError(body)
			if status != http.StatusBadRequest || param != c.param || typ != "invalid_request_error" {
				t.Fatalf("%d %v, want 400 naming %s", status, body, c.param)
			}
		})
	}
	if n := e.count(`SELECT count(*) FROM admin.provider_accounts`); n != 0 {
		t.Fatalf("%d accounts written by refused requests", n)
	}
}

// stripe-mock accepts any well-formed test-mode key and answers 401 to every
// live-mode key (it only ever plays a test-mode account): the real 401 of
// the real contract, met by connecting a live account.
func TestProviderAccountStripeRefusesKey(t *testing.T) {
	e := newEnv(t)
	status, body := e.do("POST", "/v1/provider_accounts", e.liveKeyA, stripeAccount("sk_live_RefusedByStripe123", "pk_live_abc", whsecA))
	param, typ, code := apiError(body)
	if status != http.StatusBadRequest || param != "credentials[secret_key]" || code != "credentials_invalid" || typ != "invalid_request_error" {
		t.Fatalf("live key refused by stripe-mock: %d %v", status, body)
	}
	if strings.Contains(fmt.Sprint(body), "RefusedByStripe") || strings.Contains(e.logs.String(), "RefusedByStripe") {
		t.Fatalf("the refused key is echoed: %v\n%s", body, e.logs.String())
	}
	if n := e.count(`SELECT count(*) FROM admin.provider_accounts`); n != 0 {
		t.Fatalf("%d accounts stored", n)
	}
}

// stripeStub answers /v1/balance as Stripe documents: 401 with its error
// body for the key "sk_live_revoked…", else a balance in the key's mode, or
// in the other mode for keys containing "othermode".
func stripeStub(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1/balance" || r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"Unrecognized request URL."}}`)
			return
		}
		if strings.Contains(key, "revoked") {
			w.WriteHeader(http.StatusUnauthorized)
			// Stripe's documented answer, which masks all but the key's end.
			fmt.Fprintf(w, `{"error":{"message":"Invalid API Key provided: sk_live_****%s","type":"invalid_request_error"}}`, key[len(key)-4:])
			return
		}
		live := strings.HasPrefix(key, "sk_live_") != strings.Contains(key, "othermode")
		fmt.Fprintf(w, `{"object":"balance","available":[{"amount":0,"currency":"eur","source_types":{"card":0}}],"livemode":%t,"pending":[]}`, live)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestProviderAccountStripeAnswers(t *testing.T) {
	e := newStripeEnv(t, webhook.TargetPolicy{}, Guard{}, stripeStub(t))
	status, body := e.do("POST", "/v1/provider_accounts", e.liveKeyA, stripeAccount("sk_live_revokedKey000001", "pk_live_abc", whsecA))
	if param, _, code := apiError(body); status != http.StatusBadRequest || param != "credentials[secret_key]" || code != "credentials_invalid" {
		t.Fatalf("Stripe's 401: %d %v", status, body)
	}
	status, body = e.do("POST", "/v1/provider_accounts", e.liveKeyA, stripeAccount("sk_live_othermodeKey01", "pk_live_abc", whsecA))
	if param, _, code := apiError(body); status != http.StatusBadRequest || param != "credentials[secret_key]" || code != "credentials_invalid" {
		t.Fatalf("an account in the other mode: %d %v", status, body)
	}
	status, body = e.do("POST", "/v1/provider_accounts", e.liveKeyA, stripeAccount("sk_live_goodKey000001", "pk_live_abc", whsecA))
	if status != http.StatusCreated || body["livemode"] != true {
		t.Fatalf("live account: %d %v", status, body)
	}
	id := body["id"].(string)
	status, body = e.do("POST", "/v1/provider_accounts/"+id, e.liveKeyA, map[string]any{"credentials": map[string]any{"secret_key": "sk_live_revokedKey000002"}})
	if param, _, code := apiError(body); status != http.StatusBadRequest || param != "credentials[secret_key]" || code != "credentials_invalid" {
		t.Fatalf("update to a refused key: %d %v", status, body)
	}
	if _, got := e.do("GET", "/v1/provider_accounts/"+id, e.liveKeyA, nil); got["credentials"].(map[string]any)["secret_key_last4"] != "0001" {
		t.Fatalf("a refused update changed the account: %v", got)
	}
}

func TestProviderAccountStripeUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	e := newStripeEnv(t, webhook.TargetPolicy{}, Guard{}, closed)
	status, body := e.do("POST", "/v1/provider_accounts", e.keyA, stripeAccount(skA, pkA, whsecA))
	if _, typ, _ := apiError(body); status != http.StatusServiceUnavailable || typ != "api_error" {
		t.Fatalf("Stripe unreachable: %d %v", status, body)
	}
	noSecrets(t, "the answer", fmt.Sprint(body))
	noSecrets(t, "the logs", e.logs.String())
}

func TestProviderAccountCrossTenant(t *testing.T) {
	e := newEnv(t)
	id := e.createAccount(e.keyA, skA, pkA, whsecA)
	for _, key := range []string{e.keyB, e.liveKeyA} {
		for _, r := range []struct {
			method string
			body   any
		}{{"GET", nil}, {"POST", map[string]any{"name": "x"}}, {"DELETE", nil}} {
			status, body := e.do(r.method, "/v1/provider_accounts/"+id, key, r.body)
			if param, _, _ := apiError(body); status != http.StatusNotFound || param != "id" {
				t.Fatalf("%s another tenant's account: %d %v", r.method, status, body)
			}
		}
		if _, page := e.do("GET", "/v1/provider_accounts", key, nil); len(page["data"].([]any)) != 0 {
			t.Fatalf("another tenant lists %v", page)
		}
		status, body := e.do("GET", "/v1/provider_accounts?starting_after="+id, key, nil)
		if status != http.StatusNotFound && status != http.StatusBadRequest {
			t.Fatalf("cursor of another tenant: %d %v", status, body)
		}
	}
	if status, _ := e.do("GET", "/v1/provider_accounts/"+id, e.keyA, nil); status != http.StatusOK {
		t.Fatalf("the owner: %d", status)
	}
}

func TestProviderAccountIdempotency(t *testing.T) {
	e := newEnv(t)
	send := func(body any) *http.Response {
		return e.raw("POST", "/v1/provider_accounts", e.keyA, body, "Idempotency-Key", "pa-key-1")
	}
	first, second := send(stripeAccount(skA, pkA, whsecA)), send(stripeAccount(skA, pkA, whsecA))
	b1, _ := io.ReadAll(first.Body)
	b2, _ := io.ReadAll(second.Body)
	first.Body.Close()
	second.Body.Close()
	if first.StatusCode != http.StatusCreated || second.StatusCode != http.StatusCreated ||
		second.Header.Get("Idempotent-Replayed") != "true" || string(b1) != string(b2) {
		t.Fatalf("replay: %d %s / %d %s", first.StatusCode, b1, second.StatusCode, b2)
	}
	noSecrets(t, "the replayed answer", string(b2))
	status, body := e.do("POST", "/v1/provider_accounts", e.keyA, stripeAccount(skB, pkA, whsecA), "Idempotency-Key", "pa-key-1")
	if _, typ, _ := apiError(body); status != http.StatusBadRequest || typ != "idempotency_error" {
		t.Fatalf("same key, other credentials: %d %v", status, body)
	}
	if n := e.count(`SELECT count(*) FROM admin.provider_accounts`); n != 1 {
		t.Fatalf("%d accounts", n)
	}
}

// Secrets are never in an answer, a log line, or a table in clear: after
// creates, updates, refused requests and failures.
func TestProviderAccountSecretsNeverShown(t *testing.T) {
	e := newEnv(t)
	var answers strings.Builder
	record := func(method, path, key string, body any, headers ...string) {
		resp := e.raw(method, path, key, body, headers...)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answers.Write(b)
	}
	record("POST", "/v1/provider_accounts", e.keyA, stripeAccount(skA, pkA, whsecA), "Idempotency-Key", "s1")
	record("POST", "/v1/provider_accounts", e.keyA, stripeAccount(skA, pkA, whsecA), "Idempotency-Key", "s1")
	_, created := e.do("GET", "/v1/provider_accounts", e.keyA, nil)
	id := created["data"].([]any)[0].(map[string]any)["id"].(string)
	record("GET", "/v1/provider_accounts/"+id, e.keyA, nil)
	record("GET", "/v1/provider_accounts", e.keyA, nil)
	record("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"credentials": map[string]any{"secret_key": skB, "webhook_secret": whsecB}})
	// Refused: other mode, bad shapes, a live key that stripe-mock refuses,
	// a bad Idempotency-Key reuse, malformed JSON around a secret.
	record("POST", "/v1/provider_accounts", e.liveKeyA, stripeAccount(skA, pkA, whsecA))
	record("POST", "/v1/provider_accounts", e.keyA, stripeAccount(skA+"!", pkA, whsecB+" "))
	record("POST", "/v1/provider_accounts", e.keyA, stripeAccount(whsecA, skA, skB))
	record("POST", "/v1/provider_accounts", e.liveKeyA, stripeAccount("sk_live_"+strings.TrimPrefix(skB, "sk_test_"), "pk_live_abc", whsecB))
	record("POST", "/v1/provider_accounts", e.keyA, stripeAccount(skB, pkA, whsecB), "Idempotency-Key", "s1")
	record("POST", "/v1/provider_accounts", e.keyA, `{"provider":"stripe","credentials":{"secret_key":"`+skA+`",}}`)
	record("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"credentials": map[string]any{"secret_key": "sk_live_" + strings.TrimPrefix(skA, "sk_test_")}})
	record("POST", "/v1/provider_accounts/"+id, e.keyB, map[string]any{"credentials": map[string]any{"secret_key": skA}})

	if !strings.Contains(answers.String(), skB[len(skB)-4:]) {
		t.Fatal("the answers were not recorded")
	}
	noSecrets(t, "an answer", answers.String())
	if !strings.Contains(e.logs.String(), "/v1/provider_accounts") {
		t.Fatalf("the harness captured no request log:\n%s", e.logs.String())
	}
	noSecrets(t, "the logs", e.logs.String())
	var dump string
	if err := e.pool.QueryRow(context.Background(),
		`SELECT coalesce(string_agg(t::text, E'\n'), '') FROM (SELECT p::text AS t FROM admin.provider_accounts p
		 UNION ALL SELECT i::text FROM admin.idempotency_keys i) x`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	noSecrets(t, "the admin schema", dump)
}

func TestProviderAccountRotation(t *testing.T) {
	e := newEnv(t)
	id := e.createAccount(e.keyA, skA, pkA, whsecA)
	fresh, err := secretbox.Generate("k2")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := secretbox.Parse(fresh)
	if err != nil {
		t.Fatal(err)
	}
	// Operator rotation: a new key goes first, the old one stays. (The API
	// holds e.keys: changing it in place is a restart with the new variable.)
	both, err := secretbox.Parse(fresh + "," + e.keySpec)
	if err != nil {
		t.Fatal(err)
	}
	*e.keys = *both
	c := e.credentialsClient(token)
	got, err := c.GetProviderAccountCredentials(context.Background(), credsReq(id))
	if err != nil || got.GetSecretKey() != skA {
		t.Fatalf("old ciphertext after rotation: %v %v", got, err)
	}
	// An update re-encrypts under the new key.
	if status, body := e.do("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"name": "after rotation"}); status != http.StatusOK {
		t.Fatalf("update: %d %v", status, body)
	}
	var stored string
	if err := e.pool.QueryRow(context.Background(), `SELECT credentials FROM admin.provider_accounts WHERE id = $1`, id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "k2:") {
		t.Fatalf("not re-encrypted: %q", stored)
	}
	// The old key can now go.
	*e.keys = *rotated
	got, err = c.GetProviderAccountCredentials(context.Background(), credsReq(id))
	if err != nil || got.GetSecretKey() != skA || got.GetWebhookSecret() != whsecA {
		t.Fatalf("after removing the old key: %v %v", got, err)
	}
}

func TestReencryptProviderAccounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := []string{e.createAccount(e.keyA, skA, pkA, whsecA), e.createAccount(e.keyB, skB, pkA, whsecB)}
	fresh, err := secretbox.Generate("k2")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := secretbox.Parse(fresh + "," + e.keySpec)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := grpcapi.ReencryptProviderAccounts(ctx, e.store, e.keys); err != nil || n != 0 {
		t.Fatalf("nothing stale yet: %d %v", n, err)
	}
	if n, err := grpcapi.ReencryptProviderAccounts(ctx, e.store, rotated); err != nil || n != 2 {
		t.Fatalf("re-encrypt: %d %v", n, err)
	}
	if n := e.count(`SELECT count(*) FROM admin.provider_accounts WHERE credentials LIKE 'k2:%'`); n != 2 {
		t.Fatalf("%d of 2 under k2", n)
	}
	if n, err := grpcapi.ReencryptProviderAccounts(ctx, e.store, rotated); err != nil || n != 0 {
		t.Fatalf("again: %d %v", n, err)
	}
	// The old key can go: the new one alone opens every account.
	only, _ := secretbox.Parse(fresh)
	*e.keys = *only
	c := e.credentialsClient(token)
	for i, want := range []string{skA, skB} {
		got, err := c.GetProviderAccountCredentials(ctx, credsReq(ids[i]))
		if err != nil || got.GetSecretKey() != want {
			t.Fatalf("account %d with the new key alone: %v %v", i, got, err)
		}
	}
}

// An update is checked (with Stripe) outside its transaction; a change made
// meanwhile is not overwritten: the slower update is refused with a 409.
func TestProviderAccountConcurrentUpdate(t *testing.T) {
	arrived, gate := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), "slow") {
			close(arrived)
			<-gate
		}
		io.WriteString(w, `{"object":"balance","available":[],"pending":[],"livemode":false}`)
	}))
	defer srv.Close()
	e := newStripeEnv(t, webhook.TargetPolicy{}, Guard{}, srv.URL)
	id := e.createAccount(e.keyA, skA, pkA, whsecA)
	type result struct {
		status int
		body   map[string]any
	}
	slow := make(chan result, 1)
	go func() {
		resp := e.raw("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"credentials": map[string]any{"secret_key": "sk_test_slowKey0009"}})
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		slow <- result{resp.StatusCode, out}
	}()
	<-arrived
	if status, body := e.do("POST", "/v1/provider_accounts/"+id, e.keyA, map[string]any{"name": "meanwhile"}); status != http.StatusOK {
		t.Fatalf("update meanwhile: %d %v", status, body)
	}
	close(gate)
	r := <-slow
	if _, _, code := apiError(r.body); r.status != http.StatusConflict || code != "resource_changed" {
		t.Fatalf("the slower update: %d %v", r.status, r.body)
	}
	_, got := e.do("GET", "/v1/provider_accounts/"+id, e.keyA, nil)
	if got["name"] != "meanwhile" || got["credentials"].(map[string]any)["secret_key_last4"] != skA[len(skA)-4:] {
		t.Fatalf("after both: %v", got)
	}
}
