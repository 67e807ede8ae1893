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
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/hooks/migrations"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

const (
	paystackTestAccount = "pa_PaystackTest0123456789ab"
	paystackLiveAccount = "pa_PaystackLive0123456789ab"
	paystackTestKey     = "sk_test_paystack_account_0123456789"
	paystackLiveKey     = "sk_live_paystack_account_0123456789"
)

// paystackAccounts is admin-api's internal ProviderAccountService with two
// Paystack accounts and, under testAccount, a Stripe one.
type paystackAccounts struct {
	internalapiv1.UnimplementedProviderAccountServiceServer
}

func (paystackAccounts) GetProviderAccountCredentials(_ context.Context, req *internalapiv1.GetProviderAccountCredentialsRequest) (*internalapiv1.GetProviderAccountCredentialsResponse, error) {
	switch id := req.GetAccountId(); id {
	case paystackTestAccount:
		return &internalapiv1.GetProviderAccountCredentialsResponse{AccountId: id, Provider: "paystack", OrganizationId: "org_1", SecretKey: paystackTestKey}, nil
	case paystackLiveAccount:
		return &internalapiv1.GetProviderAccountCredentialsResponse{AccountId: id, Provider: "paystack", OrganizationId: "org_1", Livemode: true, SecretKey: paystackLiveKey}, nil
	case testAccount:
		return &internalapiv1.GetProviderAccountCredentialsResponse{AccountId: id, Provider: "stripe", OrganizationId: "org_1",
			SecretKey: paystackTestKey, WebhookSecret: testSecret}, nil
	}
	return nil, status.Error(codes.NotFound, "no such provider account")
}

func newPaystackServer(t *testing.T) (*httptest.Server, *stripeFixture) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(grpc.UnaryInterceptor(grpcx.InternalAuth(internalToken)))
	internalapiv1.RegisterProviderAccountServiceServer(g, paystackAccounts{})
	go func() { _ = g.Serve(ln) }()
	t.Cleanup(g.Stop)
	f := &stripeFixture{pool: testkit.NewDatabase(t, migrations.Set), logs: &bytes.Buffer{}}
	h := &PaystackHandler{Pool: f.pool, Accounts: dial(t, ln.Addr().String()), Logger: slog.New(slog.NewTextHandler(f.logs, nil))}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/paystack/{account}", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, f
}

// paystackEvent is a Paystack webhook in its documented shape.
func paystackEvent(event, status, reference, domain string, id int64) []byte {
	b, _ := json.Marshal(map[string]any{"event": event, "data": map[string]any{"id": id, "domain": domain, "status": status,
		"reference": reference, "amount": 2500, "currency": "GHS", "channel": "mobile_money", "gateway_response": "Approved",
		"message": nil, "paid_at": "2026-11-30T10:00:00.000Z", "created_at": "2026-11-30T09:59:00.000Z",
		"customer": map[string]any{"email": "ama@example.com"}, "authorization": map[string]any{"channel": "mobile_money", "bank": "MTN"}}})
	return b
}

func postPaystack(t *testing.T, srv *httptest.Server, account string, body []byte, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/hooks/paystack/"+account, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("x-paystack-signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPaystackWebhook: a signed charge.success is stored once and published
// on provider.paystack.<mode> with its account; a duplicate, a bad
// signature (401), the other mode, another provider's account and ignorable
// events publish nothing.
func TestPaystackWebhook(t *testing.T) {
	srv, f := newPaystackServer(t)
	body := paystackEvent(paystack.EventChargeSuccess, "success", "pay_ps1", "test", 4099260516)
	code, resp := postPaystack(t, srv, paystackTestAccount, body, paystack.Sign(body, paystackTestKey))
	if code != 200 || !strings.Contains(resp, `"duplicate":false`) {
		t.Fatalf("valid: %d %s", code, resp)
	}
	var subject string
	var payload []byte
	if err := f.pool.QueryRow(t.Context(), "SELECT subject, payload FROM hooks.outbox").Scan(&subject, &payload); err != nil {
		t.Fatal(err)
	}
	var msg paystack.Message
	if err := json.Unmarshal(payload, &msg); err != nil {
		t.Fatal(err)
	}
	if subject != "provider.paystack.test" || msg.ProviderAccount != paystackTestAccount || msg.Event.Reference != "pay_ps1" ||
		msg.Event.ID != "charge.success:4099260516:pay_ps1" || msg.Event.Type != paystack.EventChargeSuccess {
		t.Errorf("published %s %+v", subject, msg)
	}
	code, resp = postPaystack(t, srv, paystackTestAccount, body, paystack.Sign(body, paystackTestKey))
	if code != 200 || !strings.Contains(resp, `"duplicate":true`) || f.count(t, "outbox") != 1 || f.count(t, "provider_events") != 1 {
		t.Errorf("duplicate: %d %s; outbox %d", code, resp, f.count(t, "outbox"))
	}

	other := paystackEvent(paystack.EventChargeFailed, "failed", "pay_ps2", "test", 4099260517)
	live := paystackEvent(paystack.EventChargeSuccess, "success", "pay_ps3", "live", 4099260518)
	transfer := []byte(`{"event":"transfer.success","data":{"id":1,"reference":"trf_1","domain":"test"}}`)
	for _, tc := range []struct {
		name, account string
		body          []byte
		sig           string
		want          int
		code          string
	}{
		{"tampered", paystackTestAccount, bytes.Replace(other, []byte(`"amount":2500`), []byte(`"amount":1`), 1), paystack.Sign(other, paystackTestKey), 401, "signature_invalid"},
		{"other account's key", paystackTestAccount, other, paystack.Sign(other, paystackLiveKey), 401, "signature_invalid"},
		{"missing", paystackTestAccount, other, "", 401, "signature_invalid"},
		{"live event to a test account", paystackTestAccount, live, paystack.Sign(live, paystackTestKey), 400, "livemode_mismatch"},
		{"a stripe account", testAccount, other, paystack.Sign(other, paystackTestKey), 404, "provider_account_unknown"},
		{"unknown account", "pa_Nobody0123456789abcdefgh", other, paystack.Sign(other, paystackTestKey), 404, "provider_account_unknown"},
		{"not json", paystackTestAccount, []byte("nope"), paystack.Sign([]byte("nope"), paystackTestKey), 400, "callback_invalid"},
		{"ignorable", paystackTestAccount, transfer, paystack.Sign(transfer, paystackTestKey), 200, `"ignored":true`},
	} {
		code, resp := postPaystack(t, srv, tc.account, tc.body, tc.sig)
		if code != tc.want || !strings.Contains(resp, tc.code) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, resp, tc.want, tc.code)
		}
	}
	if n := f.count(t, "outbox"); n != 1 {
		t.Errorf("outbox has %d rows after refused events", n)
	}
	if strings.Contains(f.logs.String(), paystackTestKey) || strings.Contains(f.logs.String(), paystack.Sign(other, paystackTestKey)) {
		t.Error("a key or a signature was logged")
	}
	live2 := paystackEvent(paystack.EventChargeSuccess, "success", "pay_ps4", "live", 4099260519)
	if code, resp := postPaystack(t, srv, paystackLiveAccount, live2, paystack.Sign(live2, paystackLiveKey)); code != 200 {
		t.Errorf("live: %d %s", code, resp)
	}
	if err := f.pool.QueryRow(t.Context(), "SELECT subject FROM hooks.outbox WHERE subject LIKE '%live'").Scan(&subject); err != nil || subject != "provider.paystack.live" {
		t.Errorf("live subject %q, %v", subject, err)
	}
}
