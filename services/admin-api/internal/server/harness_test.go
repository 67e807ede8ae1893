package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/bootstrap"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/provideracct"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/migrations"
	"github.com/tillpoint/tillpoint/services/platform/app"
	"github.com/tillpoint/tillpoint/services/platform/config"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// env is admin-api's REST API on a fresh database, with two organizations:
// org A has a test and a live key, org B a test key.
type env struct {
	t                    *testing.T
	url                  string
	pool                 *pgxpool.Pool
	store                *store.Store
	api                  *API
	orgA                 string
	keyA, liveKeyA, keyB string
	siteA, liveSiteA     string
	// stopListening stops the store's cache listener (idempotent).
	stopListening func()
	// keys encrypt provider accounts' credentials.
	keys *secretbox.Keyring
	// keySpec is keys as TILLPOINT_ENCRYPTION_KEY.
	keySpec string
	// logs holds everything the API logged (its access log, errors).
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the loggers of concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const checkoutBase = "https://secure.test"

// hooksBase is scheme://MAIN_BACKEND_DOMAIN, in provider accounts' webhook_url.
const hooksBase = "https://webhook.test"

func newEnv(t *testing.T) *env {
	t.Helper()
	return newFullEnv(t, webhook.TargetPolicy{}, Guard{})
}

// newGuardedEnv is newEnv with the API behind guard.
func newGuardedEnv(t *testing.T, guard Guard) *env {
	t.Helper()
	return newFullEnv(t, webhook.TargetPolicy{}, guard)
}

// newEnvWith is newEnv with a policy for the URLs we call (notify_url).
func newEnvWith(t *testing.T, targets webhook.TargetPolicy) *env {
	t.Helper()
	return newFullEnv(t, targets, Guard{})
}

// newFullEnv is newEnv with both the URL policy and the guard given.
func newFullEnv(t *testing.T, targets webhook.TargetPolicy, guard Guard) *env {
	t.Helper()
	return newStripeEnv(t, targets, guard, "")
}

// newStripeEnv is newFullEnv with Stripe's API at stripeBase (stripe-mock
// when empty).
func newStripeEnv(t *testing.T, targets webhook.TargetPolicy, guard Guard, stripeBase string) *env {
	t.Helper()
	if stripeBase == "" {
		stripeBase = testkit.StripeMock(t)
	}
	ctx := context.Background()
	pool := testkit.NewDatabase(t, migrations.Set)
	st := store.New(pool)
	logs := &syncBuffer{}
	// Debug level: a secret must not appear even in the most verbose logs.
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	spec, err := secretbox.Generate("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secretbox.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	// The cache is on, as in production: every test also checks that a
	// change is never hidden by it.
	listenCtx, cancelListen := context.WithCancel(ctx)
	listening := make(chan struct{})
	go func() { defer close(listening); _ = st.Listen(listenCtx, logger) }()
	stopListening := func() { cancelListen(); <-listening }
	t.Cleanup(stopListening)
	testkit.Eventually(t, "the cache listener connects", st.Caching)
	// So are the session batchers.
	batchCtx, stopBatching := context.WithCancel(ctx)
	batching := make(chan struct{})
	go func() { defer close(batching); _ = st.RunBatchers(batchCtx, logger) }()
	t.Cleanup(func() { stopBatching(); <-batching })
	accounts := Accounts{Keys: keys, Stripe: provideracct.Stripe{Base: stripeBase}, HooksBase: hooksBase,
		GoCardless: provideracct.GoCardless{Base: gocardlessAPI(t)}}
	api, err := New(ctx, st, logger, checkoutBase, targets, Peers{}, guard, accounts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Common{AdminBackendDomain: ln.Addr().String(), MainFrontendDomain: "secure.test", MainBackendDomain: "webhook.test"}
	h, err := app.PublicHandler("admin-api", cfg, logger, httpx.NewHealth(logger, 0), nil, api.REST)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)

	e := &env{t: t, url: srv.URL, pool: pool, store: st, api: api, stopListening: stopListening, keys: keys, keySpec: spec, logs: logs}
	orgA, err := bootstrap.CreateOrganization(ctx, st, "Org A")
	if err != nil {
		t.Fatal(err)
	}
	orgB, err := bootstrap.CreateOrganization(ctx, st, "Org B")
	if err != nil {
		t.Fatal(err)
	}
	e.orgA = orgA.ID
	for dst, k := range map[*string]struct {
		org  string
		live bool
	}{&e.keyA: {orgA.ID, false}, &e.liveKeyA: {orgA.ID, true}, &e.keyB: {orgB.ID, false}} {
		if _, *dst, err = bootstrap.CreateKey(ctx, st, k.org, k.live, "test"); err != nil {
			t.Fatal(err)
		}
	}
	e.siteA = e.createSite(e.keyA, "http")
	e.liveSiteA = e.createSite(e.liveKeyA, "https")
	return e
}

func (e *env) createSite(key, scheme string) string {
	status, body := e.do("POST", "/v1/sites", key, map[string]any{
		"name": "Shop", "default_currency": "eur",
		"default_success_url":        scheme + "://shop.example/ok?cs={CHECKOUT_SESSION_ID}",
		"default_cancel_url":         scheme + "://shop.example/cart",
		"payment_method_types":       []string{"card", "bank_transfer"},
		"bank_transfer_instructions": "IBAN FR76 3000 6000 0112 3456 7890 189",
		"tax_rates":                  []map[string]any{{"country": "fr", "percentage_bps": 2000, "inclusive": true, "display_name": "TVA"}},
	})
	if status != http.StatusCreated {
		e.t.Fatalf("create site: %d %v", status, body)
	}
	return body["id"].(string)
}

// do sends a JSON request (body may be a string of raw JSON) and decodes the
// JSON answer.
func (e *env) do(method, path, key string, body any, headers ...string) (int, map[string]any) {
	e.t.Helper()
	resp := e.raw(method, path, key, body, headers...)
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

func (e *env) raw(method, path, key string, body any, headers ...string) *http.Response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// apiError extracts error.param and error.type from an error answer.
func apiError(body map[string]any) (param, typ, code string) {
	e, _ := body["error"].(map[string]any)
	param, _ = e["param"].(string)
	typ, _ = e["type"].(string)
	code, _ = e["code"].(string)
	return
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func validSession() map[string]any {
	return map[string]any{
		"line_items": []map[string]any{
			{"name": "Tea", "unit_amount": 450, "quantity": 3},
			{"name": "Cup", "unit_amount": 1299, "quantity": 1},
			{"name": "Spoon", "unit_amount": 99, "quantity": 2},
		},
		"currency":    "EUR",
		"success_url": "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url":  "https://shop.example/cart",
		"metadata":    map[string]string{"order": "1234"},
	}
}
