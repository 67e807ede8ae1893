package callback

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stripe/stripe-go/v82/webhook"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/hooks/migrations"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/provider/stripe"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

const (
	internalToken = "internal-token-for-tests-0123456789abcdef"
	testSecret    = "whsec_test_account_secret_0123456789"
	liveSecret    = "whsec_live_account_secret_0123456789"
	testAccount   = "pa_TestAccount0123456789abcd"
	liveAccount   = "pa_LiveAccount0123456789abcd"
	otherAccount  = "pa_GoCardless0123456789abcd"
	// vectorAccount is a GoCardless account whose endpoint secret is
	// "testing": the secret of GoCardless's published signature vector.
	vectorAccount = "pa_GoCardlessVector0123456789"
	// gcLiveAccount is a live-mode GoCardless account.
	gcLiveAccount = "pa_GoCardlessLive0123456789a"
	gcLiveSecret  = "gocardless-live-endpoint-secret"
)

// accounts is a small ProviderAccountService (admin-api's internal service,
// ours): the accounts it knows, and how many times it was asked.
type accounts struct {
	internalapiv1.UnimplementedProviderAccountServiceServer
	calls atomic.Int64
}

func (a *accounts) GetProviderAccountCredentials(_ context.Context, req *internalapiv1.GetProviderAccountCredentialsRequest) (*internalapiv1.GetProviderAccountCredentialsResponse, error) {
	a.calls.Add(1)
	switch req.GetAccountId() {
	case testAccount:
		return &internalapiv1.GetProviderAccountCredentialsResponse{AccountId: testAccount, Provider: "stripe", OrganizationId: "org_1",
			SecretKey: "sk_test_x", PublishableKey: "pk_test_x", WebhookSecret: testSecret}, nil
	case liveAccount:
		return &internalapiv1.GetProviderAccountCredentialsResponse{AccountId: liveAccount, Provider: "stripe", OrganizationId: "org_1",
			Livemode: true, SecretKey: "sk_live_x", PublishableKey: "pk_live_x", WebhookSecret: liveSecret}, nil
	case gcLiveAccount:
		return &internalapiv1.GetProviderAccountCredentialsResponse{AccountId: gcLiveAccount, Provider: "gocardless", OrganizationId: "org_1",
			Livemode: true, SecretKey: "live_x", WebhookSecret: gcLiveSecret}, nil
	case vectorAccount:
		return &internalapiv1.GetProviderAccountCredentialsResponse{AccountId: vectorAccount, Provider: "gocardless", OrganizationId: "org_1",
			SecretKey: "sandbox_x", WebhookSecret: "testing"}, nil
	case otherAccount:
		return &internalapiv1.GetProviderAccountCredentialsResponse{AccountId: otherAccount, Provider: "gocardless", OrganizationId: "org_1",
			SecretKey: "x", WebhookSecret: testSecret}, nil
	}
	return nil, status.Error(codes.NotFound, "no such provider account")
}

// startAccounts serves accounts on a real internal gRPC listener, with the
// internal token check, and returns a client of it as hooks dials it.
func startAccounts(t *testing.T, a *accounts) internalapiv1.ProviderAccountServiceClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(grpcx.InternalAuth(internalToken)))
	internalapiv1.RegisterProviderAccountServiceServer(srv, a)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return dial(t, ln.Addr().String())
}

func dial(t *testing.T, addr string) internalapiv1.ProviderAccountServiceClient {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(grpcx.InternalToken(internalToken)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return internalapiv1.NewProviderAccountServiceClient(conn)
}

type stripeFixture struct {
	pool *pgxpool.Pool
	srv  *httptest.Server
	logs *bytes.Buffer
	now  time.Time
}

func newStripeFixture(t *testing.T, client internalapiv1.ProviderAccountServiceClient) *stripeFixture {
	f := &stripeFixture{pool: testkit.NewDatabase(t, migrations.Set), logs: &bytes.Buffer{}, now: time.Now()}
	h := &StripeHandler{Pool: f.pool, Accounts: client, Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
		Now: func() time.Time { return f.now }}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/stripe/{account}", h)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// stripeEvent is a Stripe event of type typ about PaymentIntent pi_1.
func stripeEvent(id, typ string, livemode bool) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "livemode": livemode, "created": 1764480000,
		"api_version": "2025-03-31.basil", "data": map[string]any{"object": map[string]any{
			"id": "pi_1", "object": "payment_intent", "amount": 1000, "amount_received": 1000, "currency": "usd",
			"status": "succeeded", "metadata": map[string]string{"tillpoint_payment_id": "pay_1"}}}})
	return b
}

func (f *stripeFixture) post(t *testing.T, account string, body []byte, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/hooks/stripe/"+account, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	return resp.StatusCode, string(b)
}

func signAt(body []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: at}).Header
}

func (f *stripeFixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(t.Context(), "SELECT count(*) FROM hooks."+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStripeWebhook: a signed event is stored once and published on
// provider.stripe.<mode> with its account; replays, bad signatures, the
// other mode and unknown accounts have no effect.
func TestStripeWebhook(t *testing.T) {
	a := &accounts{}
	f := newStripeFixture(t, startAccounts(t, a))
	body := stripeEvent("evt_1", "payment_intent.succeeded", false)

	code, resp := f.post(t, testAccount, body, signAt(body, testSecret, f.now))
	if code != 200 || !strings.Contains(resp, `"duplicate":false`) {
		t.Fatalf("valid: %d %s", code, resp)
	}
	var subject string
	var payload []byte
	if err := f.pool.QueryRow(t.Context(), "SELECT subject, payload FROM hooks.outbox").Scan(&subject, &payload); err != nil {
		t.Fatal(err)
	}
	var msg stripe.Message
	if err := json.Unmarshal(payload, &msg); err != nil {
		t.Fatal(err)
	}
	if subject != "provider.stripe.test" || msg.ProviderAccount != testAccount || msg.Event.ID != "evt_1" ||
		msg.Event.PaymentIntentID != "pi_1" || msg.Event.PaymentID != "pay_1" || msg.Event.AmountReceived != 1000 {
		t.Errorf("published %s %+v", subject, msg)
	}

	// A replay (Stripe retries, or someone resends the captured request
	// within the tolerance): 200, duplicate, nothing more stored.
	code, resp = f.post(t, testAccount, body, signAt(body, testSecret, f.now.Add(time.Second)))
	if code != 200 || !strings.Contains(resp, `"duplicate":true`) || f.count(t, "outbox") != 1 || f.count(t, "provider_events") != 1 {
		t.Errorf("replay: %d %s; outbox %d", code, resp, f.count(t, "outbox"))
	}
	// The secret was fetched once and cached.
	if n := a.calls.Load(); n != 1 {
		t.Errorf("admin-api asked %d times", n)
	}

	other := stripeEvent("evt_2", "payment_intent.succeeded", false)
	tampered := bytes.Replace(other, []byte(`"amount":1000`), []byte(`"amount":1`), 1)
	for _, tc := range []struct {
		name, account string
		body          []byte
		sig           string
		want          int
		code          string
	}{
		{"tampered", testAccount, tampered, signAt(other, testSecret, f.now), 400, "signature_invalid"},
		{"stale", testAccount, other, signAt(other, testSecret, f.now.Add(-301*time.Second)), 400, "signature_invalid"},
		{"future", testAccount, other, signAt(other, testSecret, f.now.Add(301*time.Second)), 400, "signature_invalid"},
		{"wrong secret", testAccount, other, signAt(other, liveSecret, f.now), 400, "signature_invalid"},
		{"missing", testAccount, other, "", 400, "signature_invalid"},
		{"malformed", testAccount, other, "t=abc,v1=zz", 400, "signature_invalid"},
		{"live event to a test account", testAccount, stripeEvent("evt_3", "payment_intent.succeeded", true),
			signAt(stripeEvent("evt_3", "payment_intent.succeeded", true), testSecret, f.now), 400, "livemode_mismatch"},
		{"test event to a live account", liveAccount, other, signAt(other, liveSecret, f.now), 400, "livemode_mismatch"},
		{"unknown account", "pa_Unknown0123456789abcdefgh", other, signAt(other, testSecret, f.now), 404, "provider_account_unknown"},
		{"not a Stripe account", otherAccount, other, signAt(other, testSecret, f.now), 404, "provider_account_unknown"},
		{"not an account id", "acct_1", other, signAt(other, testSecret, f.now), 404, "provider_account_unknown"},
	} {
		code, resp := f.post(t, tc.account, tc.body, tc.sig)
		if code != tc.want || !strings.Contains(resp, `"code":"`+tc.code+`"`) {
			t.Errorf("%s: %d %s; want %d %s", tc.name, code, resp, tc.want, tc.code)
		}
	}
	if f.count(t, "outbox") != 1 || f.count(t, "provider_events") != 1 {
		t.Errorf("refused webhooks were stored")
	}

	// An event type we do not read: acknowledged, not stored or published.
	ign := stripeEvent("evt_4", "customer.created", false)
	ign = bytes.Replace(ign, []byte(`"object":"payment_intent"`), []byte(`"object":"customer"`), 1)
	if code, resp := f.post(t, testAccount, ign, signAt(ign, testSecret, f.now)); code != 200 || !strings.Contains(resp, `"ignored":true`) {
		t.Errorf("ignorable: %d %s", code, resp)
	}
	// A live event for the live account: its own subject.
	live := stripeEvent("evt_1", "payment_intent.succeeded", true)
	if code, resp := f.post(t, liveAccount, live, signAt(live, liveSecret, f.now)); code != 200 || !strings.Contains(resp, `"duplicate":false`) {
		t.Errorf("live: %d %s", code, resp)
	}
	var liveSubject string
	if err := f.pool.QueryRow(t.Context(), "SELECT subject FROM hooks.outbox ORDER BY seq DESC LIMIT 1").Scan(&liveSubject); err != nil || liveSubject != "provider.stripe.live" {
		t.Errorf("live subject %q %v", liveSubject, err)
	}

	// Refusals are logged with a reason, never a secret or a signature.
	logs := f.logs.String()
	if !strings.Contains(logs, "stale signature") || !strings.Contains(logs, "mismatched signature") {
		t.Errorf("refusal reasons not logged:\n%s", logs)
	}
	for _, secret := range []string{testSecret, liveSecret, "v1=", "sk_test_x"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds %q:\n%s", secret, logs)
		}
	}
}

// TestStripeWebhookAdminDown: when admin-api cannot be asked for the secret,
// the answer is 503 with Retry-After, so that Stripe retries.
func TestStripeWebhookAdminDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	f := newStripeFixture(t, dial(t, addr))
	body := stripeEvent("evt_1", "payment_intent.succeeded", false)
	if code, resp := f.post(t, testAccount, body, signAt(body, testSecret, f.now)); code != 503 {
		t.Errorf("admin-api down: %d %s", code, resp)
	}
	if f.count(t, "outbox") != 0 {
		t.Errorf("stored without verification")
	}
}
