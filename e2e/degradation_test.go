package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tillpoint/tillpoint/e2e/internal/process"
	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// Graceful degradation (docs/operations.md, "When a dependency is down"): each dependency is
// stopped for real — the NATS server shut down, the admin-api process
// killed, the PostgreSQL server crashed — while real requests are made.

// services are the stack's three public hostnames, by service name.
func services() map[string]string {
	return map[string]string{"admin-api": sys.AdminAPIURL, "checkout-runtime": sys.CheckoutURL, "hooks": sys.HooksURL}
}

// readiness is a service's /readyz answer.
type readiness struct {
	code     int
	Status   string
	Failed   []string
	Degraded []string
}

func readyz(t *testing.T, base string) readiness {
	t.Helper()
	code, _, body := rawRequest(t, merchant, "GET", base+"/readyz", nil, nil)
	r := readiness{code: code}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%s/readyz: %d %q", base, code, body)
	}
	return r
}

// alive asserts that every service's /healthz answers 200 (the process is
// not to be restarted) while a dependency is down.
func alive(t *testing.T) {
	t.Helper()
	for name, base := range services() {
		if code, _, body := rawRequest(t, merchant, "GET", base+"/healthz", nil, nil); code != http.StatusOK {
			t.Errorf("%s /healthz: %d %s", name, code, body)
		}
	}
}

// servicePIDs records the services' processes, to show later that they
// recovered by themselves rather than by being restarted.
func servicePIDs(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name := range services() {
		out[name] = servicePID(t, name)
	}
	return out
}

func assertNotRestarted(t *testing.T, before map[string]int) {
	t.Helper()
	for name, pid := range before {
		if now := servicePID(t, name); now != pid {
			t.Errorf("%s was restarted (pid %d → %d); it should have recovered by itself", name, pid, now)
		}
	}
}

// dbConn is a connection to the stack's database for the test's queries.
func dbConn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), sys.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// heldEvents returns the ids of the events waiting in the services' outboxes.
func heldEvents(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		"SELECT id FROM admin.outbox UNION ALL SELECT id FROM runtime.outbox UNION ALL SELECT id FROM hooks.outbox")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// waitPublished waits until none of ids is in an outbox any more and hooks
// has stored each of them: hooks stores only what it consumed from
// JetStream, so each has been through the broker.
func waitPublished(t *testing.T, conn *pgx.Conn, ids []string) {
	t.Helper()
	eventually(t, "the held events to reach JetStream and hooks", 90*time.Second, func() bool {
		if slices.ContainsFunc(heldEvents(t, conn), func(id string) bool { return slices.Contains(ids, id) }) {
			return false
		}
		var stored int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM hooks.events WHERE id = ANY($1)", ids).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		return stored == len(ids)
	})
}

// deliveredSessions waits until the receiver accepted an event of type typ
// for each session of ids.
func deliveredSessions(t *testing.T, r *receiver, secret, typ string, ids ...string) {
	t.Helper()
	eventually(t, typ+" to be delivered for every session", 90*time.Second, func() bool {
		got := map[string]bool{}
		for _, ev := range r.accepted(t, secret, typ) {
			got[ev["data"].(map[string]any)["object"].(map[string]any)["id"].(string)] = true
		}
		for _, id := range ids {
			if !got[id] {
				return false
			}
		}
		return true
	})
}

// pageShape is the hosted page's HTML with what differs between two
// sessions of the same cart (ids, references, nonces, tokens, times) blanked.
var pageVarying = regexp.MustCompile(`cs_[A-Za-z0-9]+|TP-[A-Z0-9]{4}-[A-Z0-9]{4}|nonce="[^"]*"|value="[A-Za-z0-9_\-]{20,}"|\d{1,2}:\d{2}`)

func pageShape(page string) string { return pageVarying.ReplaceAllString(page, "…") }

// TestDegradationNATSDown: with the broker down, sessions are created and
// paid as usual and the page is the same; readiness stays 200 (the outbox
// holds the events) and names NATS as degraded. When NATS returns, every
// held event reaches JetStream and the merchant's endpoint.
func TestDegradationNATSDown(t *testing.T) {
	r := newReceiver(t, 0)
	_, secret := createEndpoint(t, r.srv.URL, "checkout.session.completed")
	conn := dbConn(t)
	before := servicePIDs(t)
	c := newBrowser()
	reference, _ := open(t, c, newSession(t, nil)["url"].(string))

	stopNATS()
	up := false
	t.Cleanup(func() {
		if !up {
			_ = startNATS()
		}
	})
	eventually(t, "every service to notice that NATS is down", 30*time.Second, func() bool {
		for _, base := range services() {
			if !slices.Contains(readyz(t, base).Degraded, "nats") {
				return false
			}
		}
		return true
	})
	for name, base := range services() {
		if got := readyz(t, base); got.code != http.StatusOK || len(got.Failed) > 0 {
			t.Errorf("%s /readyz with NATS down: %+v, want 200 (the outbox holds events)", name, got)
		}
	}
	alive(t)

	var paid []string
	for range 2 {
		s := newSession(t, nil)
		page, csrf := open(t, c, s["url"].(string))
		if pageShape(page) != pageShape(reference) {
			t.Errorf("the page differs with NATS down:\n%s\n---- with NATS up:\n%s", pageShape(page), pageShape(reference))
		}
		resp, _, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), false)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "https://shop.example/success") {
			t.Fatalf("pay with NATS down: %d Location %q", resp.StatusCode, loc)
		}
		paid = append(paid, s["id"].(string))
	}
	held := heldEvents(t, conn)
	if len(held) == 0 {
		t.Fatal("no event waits in an outbox while NATS is down")
	}
	if got := r.completedSessions(t, secret); len(got) != 0 {
		t.Fatalf("deliveries arrived with NATS down: %v", got)
	}

	if err := startNATS(); err != nil {
		t.Fatal(err)
	}
	up = true
	waitPublished(t, conn, held)
	deliveredSessions(t, r, secret, "checkout.session.completed", paid...)
	eventually(t, "readiness to drop the degraded note", 30*time.Second, func() bool {
		for _, base := range services() {
			if got := readyz(t, base); got.code != http.StatusOK || len(got.Degraded) > 0 {
				return false
			}
		}
		return true
	})
	assertNotRestarted(t, before)
}

// stopAdminAPI kills admin-api for real, with its supervisor (`tillpoint-dev
// run`, which would restart it within half a second) paused meanwhile, and
// waits until its port refuses connections. The returned function lets the
// supervisor restart it.
func stopAdminAPI(t *testing.T) (restart func()) {
	t.Helper()
	// Stopped for good before admin-api dies, or it could restart it.
	if err := process.Stop(stackPID, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	restarted := false
	restart = func() {
		if !restarted {
			restarted = true
			_ = syscall.Kill(stackPID, syscall.SIGCONT)
		}
	}
	t.Cleanup(restart)
	if err := syscall.Kill(servicePID(t, "admin-api"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "admin-api to be down", 30*time.Second, func() bool {
		_, err := merchant.Get(sys.AdminAPIURL + "/healthz")
		return err != nil
	})
	return restart
}

// leaks are words of our plumbing that no answer may show.
var leaks = []string{"rpc error", "grpc", "admin-api", "127.0.0.1", "connection refused", "dial tcp", "goroutine", "panic", "pgx", "SQLSTATE"}

// internals are what a person must not see either: also error ids, which
// the merchant API shows for support but a page has no use for.
var internals = append([]string{"err_", "error id"}, leaks...)

// assertTryAgain checks a 503 "try again" page: Retry-After, HTML with
// heading in the reader's language, and nothing of our internals.
func assertTryAgain(t *testing.T, what string, code int, hdr http.Header, body, heading string) {
	t.Helper()
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Errorf("%s: %d Retry-After %q Content-Type %q, want 503 HTML with Retry-After", what, code, hdr.Get("Retry-After"), hdr.Get("Content-Type"))
	}
	if !strings.Contains(body, heading) {
		t.Errorf("%s: no %q heading:\n%s", what, heading, body)
	}
	for _, w := range internals {
		if strings.Contains(strings.ToLower(body), strings.ToLower(w)) {
			t.Errorf("%s shows %q:\n%s", what, w, body)
		}
	}
}

// assertFriendly checks the hosted page's 503: a "try again" page with a
// link that reloads it.
func assertFriendly(t *testing.T, what string, code int, hdr http.Header, body, heading string) {
	t.Helper()
	assertTryAgain(t, what, code, hdr, body, heading)
	if !strings.Contains(body, `id="retry"`) {
		t.Errorf("%s: no retry link:\n%s", what, body)
	}
}

// TestDegradationAdminAPIDown: with admin-api's process gone, the hosted
// page answers a friendly 503 in the payer's language, the runtime stays
// ready (admin-api is not its to fix), a bank credit reported meanwhile is
// held, and once admin-api is back the page works and the held credit pays
// the session and reaches the merchant's endpoint.
func TestDegradationAdminAPIDown(t *testing.T) {
	r := newReceiver(t, 0)
	_, secret := createEndpoint(t, r.srv.URL, "checkout.session.async_payment_succeeded")
	transfer, unseen := newSession(t, nil), newSession(t, nil)
	payByBankTransfer(t, sys.SecretKey, transfer)
	runtimePID, hooksPID := servicePID(t, "checkout-runtime"), servicePID(t, "hooks")

	restart := stopAdminAPI(t)
	c := newBrowser()
	for _, lang := range []struct{ accept, heading string }{{"en", "Temporarily unavailable"}, {"fr-FR,fr;q=0.9", "Service momentanément indisponible"}} {
		code, hdr, body := rawRequest(t, c, "GET", unseen["url"].(string), nil, map[string]string{"Accept-Language": lang.accept})
		assertFriendly(t, "the page ("+lang.accept+")", code, hdr, body, lang.heading)
	}
	if got := readyz(t, sys.CheckoutURL); got.code != http.StatusOK {
		t.Errorf("checkout-runtime /readyz with admin-api down: %+v, want 200", got)
	}
	// The bank reports the credit now: hooks takes it, the runtime records
	// it and holds the session's completion until admin-api answers.
	sendBankFeed(t, transfer["reference"].(string), int64(transfer["amount_total"].(float64)), http.StatusOK)

	restart()
	eventually(t, "admin-api to be back", 60*time.Second, func() bool {
		code, _, _ := rawRequest(t, c, "GET", unseen["url"].(string), nil, nil)
		return code == http.StatusOK
	})
	deliveredSessions(t, r, secret, "checkout.session.async_payment_succeeded", transfer["id"].(string))
	if s := session(t, transfer["id"].(string)); s["status"] != "complete" || s["payment_status"] != "paid" {
		t.Errorf("the transfer's session after admin-api is back: %v %v", s["status"], s["payment_status"])
	}
	if servicePID(t, "checkout-runtime") != runtimePID || servicePID(t, "hooks") != hooksPID {
		t.Error("checkout-runtime or hooks was restarted")
	}
}

// TestDegradationPostgresDown: with the database server crashed, every
// service stays alive, reports not-ready, and answers 503 with Retry-After
// — the merchant API (JSON), the Admin Panel and the hosted page (HTML),
// the provider callbacks — never 500; when PostgreSQL is back (after its
// crash recovery) each serves again without being restarted.
func TestDegradationPostgresDown(t *testing.T) {
	r := newReceiver(t, 0)
	_, secret := createEndpoint(t, r.srv.URL, "checkout.session.completed")
	s := newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	dash, _ := dashUser(t, sys.OrganizationID, "owner")
	calls := merchantCalls(t, s["id"].(string)) // the surfaces' keys are made while the database is up
	before := servicePIDs(t)

	crashPostgres()
	up := false
	t.Cleanup(func() { // before createEndpoint's cleanup, which needs it
		if !up {
			_ = startPostgres()
		}
	})
	for name, base := range services() {
		if got := readyz(t, base); got.code != http.StatusServiceUnavailable || !slices.Contains(got.Failed, "postgres") {
			t.Errorf("%s /readyz with PostgreSQL down: %+v, want 503 naming postgres", name, got)
		}
	}
	alive(t)

	for what, call := range calls {
		code, hdr, body := call()
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
			t.Errorf("%s with PostgreSQL down: %d Retry-After %q %s", what, code, hdr.Get("Retry-After"), body)
		}
		for _, w := range leaks {
			if strings.Contains(strings.ToLower(body), strings.ToLower(w)) {
				t.Errorf("%s with PostgreSQL down shows %q: %s", what, w, body)
			}
		}
		var out struct {
			Error struct{ Type, Code string }
		}
		if strings.HasPrefix(what, "/v1 ") && (json.Unmarshal([]byte(body), &out) != nil || out.Error.Type != "api_error" || out.Error.Code != "unavailable") {
			t.Errorf("%s with PostgreSQL down: %s, want an api_error unavailable", what, body)
		}
	}
	if err := grpcGetSession(t, s["id"].(string)); status.Code(err) != codes.Unavailable || strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("gRPC GetCheckoutSession with PostgreSQL down: %v, want a masked Unavailable", err)
	}
	code, hdr, body := rawRequest(t, dash, "GET", sys.DashboardURL+"checkouts", nil, nil)
	assertTryAgain(t, "the Admin Panel", code, hdr, body, "Temporarily unavailable")
	code, hdr, body = rawRequest(t, c, "GET", s["url"].(string), nil, map[string]string{"Accept-Language": "fr"})
	assertFriendly(t, "the page", code, hdr, body, "Service momentanément indisponible")
	code, hdr, body = rawRequest(t, c, "POST", s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), map[string]string{"Accept": "application/json"})
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, codeTemporarilyUnavailable) {
		t.Errorf("pay with PostgreSQL down: %d Retry-After %q %s", code, hdr.Get("Retry-After"), body)
	}
	feed := provider.NewFundsReceived("TP-NONE-NONE", 100, "EUR").Encode()
	code, hdr, body = send(t, merchant, "POST", sys.HooksURL+"/hooks/bank_transfer", string(feed),
		map[string]string{provider.SignatureHeader: provider.Sign([]byte(sys.BankFeedTestSecret), feed, time.Now())})
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("a provider callback with PostgreSQL down: %d Retry-After %q %s", code, hdr.Get("Retry-After"), body)
	}

	if err := startPostgres(); err != nil {
		t.Fatal(err)
	}
	up = true
	eventually(t, "every service to be ready again", 60*time.Second, func() bool {
		for _, base := range services() {
			if readyz(t, base).code != http.StatusOK {
				return false
			}
		}
		return true
	})
	if code, _, body := rawRequest(t, dash, "GET", sys.DashboardURL+"checkouts", nil, nil); code != http.StatusOK {
		t.Errorf("the Admin Panel after PostgreSQL is back: %d\n%s", code, body)
	}
	_, csrf = open(t, c, s["url"].(string))
	if _, out, _ := post(t, c, s["url"].(string)+"/pay", cardForm(csrf, provider.TestCardSuccess), true); out["status"] != "succeeded" {
		t.Fatalf("pay after PostgreSQL is back: %v", out)
	}
	deliveredSessions(t, r, secret, "checkout.session.completed", s["id"].(string), paySession(t))
	assertNotRestarted(t, before)
}

// merchantCalls are requests of each merchant API surface that need the
// database: Tillpoint's /v1 (JSON), Stripe's dialect, PaymentKit, PayPorter
// and the collections API.
func merchantCalls(t *testing.T, sessionID string) map[string]func() (int, http.Header, string) {
	t.Helper()
	bearer := map[string]string{"Authorization": "Bearer " + sys.SecretKey, "Content-Type": "application/json"}
	ppKey, ppSecret := payporterKeys(t)
	_, collID, collSecret, _ := collectionsOrg(t)
	return map[string]func() (int, http.Header, string){
		"/v1 POST /v1/checkout/sessions": func() (int, http.Header, string) {
			return send(t, merchant, "POST", sys.AdminAPIURL+"/v1/checkout/sessions", `{"site_id":"`+sys.SiteID+
				`","amount":500,"currency":"EUR","success_url":"https://shop.example/s","cancel_url":"https://shop.example/c"}`, bearer)
		},
		"/v1 GET /v1/checkout/sessions/{id}": func() (int, http.Header, string) {
			return send(t, merchant, "GET", sys.AdminAPIURL+"/v1/checkout/sessions/"+sessionID, "", bearer)
		},
		"Stripe's dialect": func() (int, http.Header, string) {
			return send(t, merchant, "POST", sys.AdminAPIURL+"/v1/checkout/sessions",
				"mode=payment&success_url=https%3A%2F%2Fshop.example%2Fs&line_items[0][price_data][currency]=eur&line_items[0][price_data][unit_amount]=500&line_items[0][price_data][product_data][name]=Tea&line_items[0][quantity]=1",
				map[string]string{"Authorization": "Bearer " + sys.SecretKey, "Content-Type": "application/x-www-form-urlencoded", "Stripe-Version": "2025-03-31.basil"})
		},
		"PaymentKit": func() (int, http.Header, string) {
			return send(t, merchant, "POST", sys.AdminAPIURL+paymentKitPath(), `{"line_items":[{"name":"Tea","unit_amount":450,"quantity":1,"currency":"EUR"}],`+
				`"success_url":"https://shop.example/s","return_url":"https://shop.example/c"}`, bearer)
		},
		"PayPorter": func() (int, http.Header, string) {
			return send(t, merchant, "POST", sys.AdminAPIURL+"/api/checkout", `{"orderId":"ORD-degraded","amount":100,"currency":"TRY","callback":"https://shop.example/cb"}`,
				map[string]string{"X-API-KEY": ppKey, "X-API-SECRET": ppSecret, "Content-Type": "application/json"})
		},
		"collections POST /auth/token": func() (int, http.Header, string) {
			return send(t, merchant, "POST", sys.AdminAPIURL+"/auth/token", `{"clientId":"`+collID+`","clientSecret":"`+collSecret+`"}`,
				map[string]string{"Content-Type": "application/json"})
		},
	}
}

// grpcGetSession retrieves a session over the merchant API's gRPC.
func grpcGetSession(t *testing.T, id string) error {
	t.Helper()
	conn, err := grpc.NewClient(sys.AdminGRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+sys.SecretKey), 30*time.Second)
	defer cancel()
	_, err = adminv1.NewCheckoutSessionServiceClient(conn).GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: id})
	return err
}

// send makes one request of c with a raw body (none when empty) and
// returns the status, headers and body of the answer.
func send(t *testing.T, c *http.Client, method, u, body string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// codeTemporarilyUnavailable is the hosted page's JSON code for "try again".
const codeTemporarilyUnavailable = "temporarily_unavailable"
