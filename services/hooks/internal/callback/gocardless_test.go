package callback

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/hooks/migrations"
	"github.com/tillpoint/tillpoint/services/platform/provider/gocardless"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// gcAccount is the accounts fake's GoCardless test-mode account (otherAccount),
// whose endpoint secret is testSecret.
const gcAccount = otherAccount

type gcFixture struct {
	pool *pgxpool.Pool
	srv  *httptest.Server
	logs *bytes.Buffer
}

func newGCFixture(t *testing.T, client internalapiv1.ProviderAccountServiceClient) *gcFixture {
	f := &gcFixture{pool: testkit.NewDatabase(t, migrations.Set), logs: &bytes.Buffer{}}
	h := &GoCardlessHandler{Pool: f.pool, Accounts: client, Logger: slog.New(slog.NewTextHandler(f.logs, nil))}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/gocardless/{account}", h)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *gcFixture) post(t *testing.T, account string, body []byte, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/hooks/gocardless/"+account, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("Webhook-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *gcFixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(t.Context(), "SELECT count(*) FROM hooks."+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// gcEvent is a GoCardless event in the documented webhook shape.
func gcEvent(id, resource, action string, links map[string]string) map[string]any {
	return map[string]any{"id": id, "created_at": "2026-11-30T10:00:00.000Z", "resource_type": resource, "action": action,
		"links": links, "details": map[string]string{"origin": "gocardless", "cause": "payment_" + action},
		"resource_metadata": map[string]string{"tillpoint_payment": "pay_1"}, "metadata": map[string]string{}}
}

func gcBatch(events ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"events": events})
	return b
}

// TestGoCardlessWebhook: a signed batch stores each event that matters once
// and publishes it alone on provider.gocardless.<mode> with its account;
// a replayed batch stores nothing more; a bad signature is 498.
func TestGoCardlessWebhook(t *testing.T) {
	a := &accounts{}
	f := newGCFixture(t, startAccounts(t, a))
	body := gcBatch(
		gcEvent("EV1", "payments", "confirmed", map[string]string{"payment": "PM1"}),
		gcEvent("EV2", "payments", "submitted", map[string]string{"payment": "PM1"}), // nothing of ours changes
		gcEvent("EV3", "billing_requests", "fulfilled", map[string]string{"billing_request": "BRQ1", "payment_request_payment": "PM1"}),
	)
	if code, resp := f.post(t, gcAccount, body, gocardless.Sign(testSecret, body)); code != http.StatusNoContent {
		t.Fatalf("valid batch: %d %s", code, resp)
	}
	rows, err := f.pool.Query(t.Context(), "SELECT subject, payload FROM hooks.outbox ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var subject string
		var payload []byte
		if err := rows.Scan(&subject, &payload); err != nil {
			t.Fatal(err)
		}
		var msg gocardless.Message
		if err := json.Unmarshal(payload, &msg); err != nil {
			t.Fatal(err)
		}
		if subject != "provider.gocardless.test" || msg.ProviderAccount != gcAccount || msg.Event.PaymentID() != "pay_1" {
			t.Errorf("published %s %+v", subject, msg)
		}
		got = append(got, msg.Event.ID+":"+msg.Event.Effect())
	}
	if strings.Join(got, ",") != "EV1:payment.succeeded,EV3:billing_request.fulfilled" && strings.Join(got, ",") != "EV3:billing_request.fulfilled,EV1:payment.succeeded" {
		t.Errorf("published %v, want EV1 and EV3 (EV2 changes nothing)", got)
	}

	// GoCardless retries the batch (or a later batch repeats an event):
	// nothing more is stored.
	again := gcBatch(gcEvent("EV1", "payments", "confirmed", map[string]string{"payment": "PM1"}),
		gcEvent("EV4", "payments", "failed", map[string]string{"payment": "PM9"}))
	if code, _ := f.post(t, gcAccount, again, gocardless.Sign(testSecret, again)); code != http.StatusNoContent {
		t.Fatalf("second batch: %d", code)
	}
	if n := f.count(t, "outbox"); n != 3 {
		t.Errorf("outbox has %d rows after a repeated event, want 3", n)
	}
	if n := a.calls.Load(); n != 1 {
		t.Errorf("admin-api asked %d times; the secret is cached", n)
	}

	tampered := bytes.Replace(body, []byte(`"confirmed"`), []byte(`"failed"`), 1)
	other := gcBatch(gcEvent("EV9", "payments", "failed", map[string]string{"payment": "PM1"}))
	for _, tc := range []struct {
		name, account string
		body          []byte
		sig           string
		want          int
	}{
		{"tampered", gcAccount, tampered, gocardless.Sign(testSecret, body), 498},
		{"wrong secret", gcAccount, other, gocardless.Sign(liveSecret, other), 498},
		{"missing", gcAccount, other, "", 498},
		{"not hex", gcAccount, other, "zz", 498},
		{"a Stripe account", testAccount, other, gocardless.Sign(testSecret, other), 404},
		{"unknown account", "pa_Unknown0123456789abcdefgh", other, gocardless.Sign(testSecret, other), 404},
		{"not an account id", "cs_1", other, gocardless.Sign(testSecret, other), 404},
		{"not events", gcAccount, []byte(`{"events":[{"id":""}]}`), gocardless.Sign(testSecret, []byte(`{"events":[{"id":""}]}`)), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, resp := f.post(t, tc.account, tc.body, tc.sig); code != tc.want {
				t.Errorf("%d %s, want %d", code, resp, tc.want)
			}
		})
	}
	if n := f.count(t, "outbox"); n != 3 {
		t.Errorf("refused webhooks stored events: outbox %d", n)
	}
	if strings.Contains(f.logs.String(), testSecret) {
		t.Error("the log holds the endpoint secret")
	}
}

// The published vector of GoCardless's client library, sent to an account
// whose endpoint secret is "testing", is accepted.
func TestGoCardlessWebhookPublishedVector(t *testing.T) {
	body, err := os.ReadFile("../../../platform/provider/gocardless/testdata/webhook_request.json")
	if err != nil {
		t.Fatal(err)
	}
	f := newGCFixture(t, startAccounts(t, &accounts{}))
	if code, resp := f.post(t, vectorAccount, body, "243f3efa57743c24eec7c5e10edc475b547830d256d5b583745afe319dd90936"); code != http.StatusNoContent {
		t.Fatalf("%d %s", code, resp)
	}
	var payload []byte
	if err := f.pool.QueryRow(t.Context(), "SELECT payload FROM hooks.outbox").Scan(&payload); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(payload), `"EVTESTNE86TNZS"`) {
		t.Errorf("published %s", payload)
	}
}

// A live account's webhook is published on provider.gocardless.live (the
// mode is the account's, never the body's), and only its own secret
// verifies it.
func TestGoCardlessWebhookLiveAccount(t *testing.T) {
	f := newGCFixture(t, startAccounts(t, &accounts{}))
	body := gcBatch(gcEvent("EVL1", "payments", "confirmed", map[string]string{"payment": "PM1"}))
	if code, _ := f.post(t, gcLiveAccount, body, gocardless.Sign(testSecret, body)); code != gocardless.StatusInvalidSignature {
		t.Fatalf("the test account's secret on the live account: %d", code)
	}
	if code, resp := f.post(t, gcLiveAccount, body, gocardless.Sign(gcLiveSecret, body)); code != http.StatusNoContent {
		t.Fatalf("%d %s", code, resp)
	}
	var subject string
	if err := f.pool.QueryRow(t.Context(), "SELECT subject FROM hooks.outbox").Scan(&subject); err != nil {
		t.Fatal(err)
	}
	if subject != "provider.gocardless.live" {
		t.Errorf("published on %s", subject)
	}
}
