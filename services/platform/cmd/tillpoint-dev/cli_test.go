package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// sampleEvent is a delivery body as hooks renders it.
const sampleEvent = `{"id":"evt_123","object":"event","type":"checkout.session.completed","created":"2026-11-21T10:04:05Z",` +
	`"livemode":false,"data":{"object":{"id":"cs_456","object":"checkout.session","status":"complete",` +
	`"payment_status":"paid","amount_total":"2649","currency":"EUR"}},"sequence":"3"}`

// syncBuffer is a bytes.Buffer safe for a handler goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCLIUsageListsCommands(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}} {
		var stderr bytes.Buffer
		if err := run(context.Background(), args, io.Discard, &stderr); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
		for _, cmd := range []string{"tillpoint-dev run", "tillpoint-dev listen", "tillpoint-dev trigger"} {
			if !strings.Contains(stderr.String(), cmd) {
				t.Errorf("run(%q) usage lacks %q:\n%s", args, cmd, stderr.String())
			}
		}
	}
	// Asking for help is not an error: the usage goes to stdout, nothing else.
	for _, arg := range []string{"help", "-h", "--help"} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{arg}, &stdout, &stderr); err != nil || stderr.Len() != 0 ||
			!strings.Contains(stdout.String(), "tillpoint-dev listen") {
			t.Errorf("run(%q): %v, stdout %q, stderr %q", arg, err, stdout.String(), stderr.String())
		}
	}
}

func TestListenFlags(t *testing.T) {
	t.Setenv("TILLPOINT_DEV_DIR", "/tmp/devdir")
	tests := []struct {
		args    []string
		want    listenOptions
		wantErr string
	}{
		{args: nil, want: listenOptions{Dir: "/tmp/devdir"}},
		{args: []string{"--dir", "x", "--events", " checkout.session.completed, ,payment.failed ", "--json"},
			want: listenOptions{Dir: "x", Events: []string{"checkout.session.completed", "payment.failed"}, JSON: true}},
		{args: []string{"--forward-to", "http://localhost:4242/webhook"},
			want: listenOptions{Dir: "/tmp/devdir", ForwardTo: "http://localhost:4242/webhook"}},
		{args: []string{"--forward-to", "localhost:4242"}, wantErr: "not an absolute http(s) URL"},
		{args: []string{"extra"}, wantErr: "unexpected arguments"},
		{args: []string{"--nope"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		got, err := parseListenFlags(tt.args, io.Discard)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseListenFlags(%q) error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseListenFlags(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestTriggerFlags(t *testing.T) {
	t.Setenv("TILLPOINT_DEV_DIR", "")
	tests := []struct {
		args    []string
		want    triggerOptions
		wantErr string
	}{
		{args: nil, want: triggerOptions{Dir: ".dev", Card: "4242424242424242", Method: "card", Amount: 2649, Currency: "EUR"}},
		{args: []string{"--card", "4000 0000 0000 3220", "--amount", "5000", "--currency", "usd", "--dir", "d"},
			want: triggerOptions{Dir: "d", Card: "4000000000003220", Method: "card", Amount: 5000, Currency: "USD"}},
		{args: []string{"--method", "bank_transfer"},
			want: triggerOptions{Dir: ".dev", Card: "4242424242424242", Method: "bank_transfer", Amount: 2649, Currency: "EUR"}},
		{args: []string{"--method", "paypal"}, wantErr: "card or bank_transfer"},
		{args: []string{"--amount", "0"}, wantErr: "must be positive"},
		{args: []string{"--amount", "ten"}, wantErr: "invalid value"},
		{args: []string{"now"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		got, err := parseTriggerFlags(tt.args, io.Discard)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseTriggerFlags(%q) error = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseTriggerFlags(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

// newTestHandler is listen's handler with a fixed clock and a new secret.
func newTestHandler(t *testing.T, jsonOut bool, forwardTo string) (*deliveryHandler, []byte, *syncBuffer, *syncBuffer) {
	t.Helper()
	secret, err := webhook.ParseSecret(webhook.NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	out, warn := &syncBuffer{}, &syncBuffer{}
	now := time.Date(2026, 11, 21, 10, 4, 5, 0, time.UTC)
	h := &deliveryHandler{secret: secret, out: out, warn: warn, json: jsonOut, forwardTo: forwardTo,
		client: devHTTPClient(5 * time.Second), now: func() time.Time { return now }}
	return h, secret, out, warn
}

// deliver posts body to url with h as headers and returns the status.
func deliver(t *testing.T, url string, h http.Header, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestListenHandlerPrintsSignedDelivery(t *testing.T) {
	h, secret, out, warn := newTestHandler(t, false, "")
	srv := httptest.NewServer(h)
	defer srv.Close()
	hdr := webhook.Headers("msg_1", h.now(), []byte(sampleEvent), secret)
	if got := deliver(t, srv.URL, hdr, sampleEvent); got != http.StatusOK {
		t.Fatalf("status = %d, want 200; warnings: %s", got, warn)
	}
	want := "2026-11-21 10:04:05  checkout.session.completed                evt_123  cs_456  complete/paid  €26.49\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	if warn.String() != "" {
		t.Errorf("warnings: %s", warn)
	}
}

func TestListenHandlerRefusesBadSignatures(t *testing.T) {
	h, secret, out, warn := newTestHandler(t, false, "")
	srv := httptest.NewServer(h)
	defer srv.Close()
	other, _ := webhook.ParseSecret(webhook.NewSecret())
	tests := map[string]http.Header{
		"other secret":       webhook.Headers("msg_1", h.now(), []byte(sampleEvent), other),
		"other body":         webhook.Headers("msg_1", h.now(), []byte(sampleEvent+" "), secret),
		"too old":            webhook.Headers("msg_1", h.now().Add(-time.Hour), []byte(sampleEvent), secret),
		"not signed":         webhook.Headers("msg_1", h.now(), []byte(sampleEvent)),
		"no webhook headers": {"Content-Type": {"application/json"}},
	}
	for name, hdr := range tests {
		if got := deliver(t, srv.URL, hdr, sampleEvent); got != http.StatusBadRequest {
			t.Errorf("%s: status = %d, want 400", name, got)
		}
	}
	if out.String() != "" {
		t.Errorf("printed refused deliveries: %s", out)
	}
	if n := strings.Count(warn.String(), "warning: refused delivery"); n != len(tests) {
		t.Errorf("%d warnings, want %d:\n%s", n, len(tests), warn)
	}
}

func TestListenHandlerJSON(t *testing.T) {
	h, secret, out, _ := newTestHandler(t, true, "")
	srv := httptest.NewServer(h)
	defer srv.Close()
	var indented bytes.Buffer
	if err := json.Indent(&indented, []byte(sampleEvent), "", "  "); err != nil {
		t.Fatal(err)
	}
	body := indented.String()
	if got := deliver(t, srv.URL, webhook.Headers("msg_1", h.now(), []byte(body), secret), body); got != http.StatusOK {
		t.Fatalf("status = %d, want 200", got)
	}
	if out.String() != sampleEvent+"\n" {
		t.Errorf("printed %q, want the event on one line", out.String())
	}
}

func TestListenHandlerForwards(t *testing.T) {
	var got struct {
		header http.Header
		body   string
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.header, got.body = r.Header.Clone(), string(b)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "thanks")
	}))
	defer target.Close()
	h, secret, out, _ := newTestHandler(t, false, target.URL+"/webhook")
	srv := httptest.NewServer(h)
	defer srv.Close()
	hdr := webhook.Headers("msg_1", h.now(), []byte(sampleEvent), secret)
	if status := deliver(t, srv.URL, hdr, sampleEvent); status != http.StatusAccepted {
		t.Errorf("status = %d, want the target's 202", status)
	}
	if got.body != sampleEvent {
		t.Errorf("target got body %q", got.body)
	}
	if err := webhook.Verify(secret, got.header, []byte(got.body), h.now()); err != nil {
		t.Errorf("forwarded delivery does not verify: %v (headers %v)", err, got.header)
	}
	if !strings.HasSuffix(out.String(), "€26.49  -> 202\n") {
		t.Errorf("printed %q, want the forward status", out.String())
	}

	target.Close() // now forwarding fails: the sender is told to retry
	if status := deliver(t, srv.URL, hdr, sampleEvent); status != http.StatusBadGateway {
		t.Errorf("status with the target down = %d, want 502", status)
	}
}

func TestListenSummarizesPayments(t *testing.T) {
	body := `{"id":"evt_9","type":"payment.failed","data":{"object":{"id":"pay_1","status":"failed","amount":5000,"currency":"JPY"}}}`
	want := "payment.failed                            evt_9  pay_1  failed  ¥5,000"
	if got := summarizeEvent([]byte(body)); got != want {
		t.Errorf("summarizeEvent = %q, want %q", got, want)
	}
	if got := summarizeEvent([]byte("nope")); !strings.HasPrefix(got, "(not an event") {
		t.Errorf("summarizeEvent(nope) = %q", got)
	}
}

// writeStackJSON writes a stack.json pointing at a fake admin API.
func writeStackJSON(t *testing.T, apiURL string) string {
	t.Helper()
	dir := t.TempDir()
	b, _ := json.Marshal(map[string]string{"admin_api_url": apiURL, "site_id": "site_demo", "secret_key": "sk_test_abc"})
	if err := os.WriteFile(filepath.Join(dir, "stack.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestListenMissingStack(t *testing.T) {
	err := runListen(context.Background(), []string{"--dir", t.TempDir()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "start the dev stack first") {
		t.Errorf("runListen without stack.json: %v", err)
	}
}

// TestListenRegistersAndDeletesEndpoint runs listen against a fake merchant
// API: it registers its local URL, verifies and prints a delivery, and
// deletes the endpoint when its context ends.
func TestListenRegistersAndDeletesEndpoint(t *testing.T) {
	secret := webhook.NewSecret()
	key, _ := webhook.ParseSecret(secret)
	registered := make(chan map[string]any, 1)
	deleted := make(chan string, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk_test_abc" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/webhook_endpoints":
			var req map[string]any
			_ = json.NewDecoder(r.Body).Decode(&req)
			registered <- req
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "we_1", "object": "webhook_endpoint", "url": req["url"], "secret": secret})
		case r.Method == http.MethodDelete && r.URL.Path == "/v1/webhook_endpoints/we_1":
			deleted <- "we_1"
			_, _ = io.WriteString(w, `{"id":"we_1","object":"webhook_endpoint","deleted":true}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer api.Close()
	dir := writeStackJSON(t, api.URL)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, warn := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runListen(ctx, []string{"--dir", dir, "--events", "checkout.session.completed"}, out, warn)
	}()

	var req map[string]any
	select {
	case req = <-registered:
	case err := <-done:
		t.Fatalf("listen ended: %v\n%s", err, warn)
	case <-time.After(10 * time.Second):
		t.Fatal("listen registered no endpoint")
	}
	if !reflect.DeepEqual(req["enabled_events"], []any{"checkout.session.completed"}) {
		t.Errorf("enabled_events = %v", req["enabled_events"])
	}
	endpoint, _ := req["url"].(string)
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Fatalf("url = %q", endpoint)
	}
	if got := deliver(t, endpoint, webhook.Headers("msg_1", time.Now(), []byte(sampleEvent), key), sampleEvent); got != http.StatusOK {
		t.Errorf("delivery status = %d, want 200; %s", got, warn)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("listen: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not stop")
	}
	select {
	case <-deleted:
	default:
		t.Error("the endpoint was not deleted")
	}
	if !strings.Contains(out.String(), "Ready! Listening for events (endpoint we_1, secret "+secret+")") ||
		!strings.Contains(out.String(), "evt_123  cs_456  complete/paid") {
		t.Errorf("output:\n%s", out)
	}
}

const challengePage = `<form id="challenge-form" method="post" action="/checkout/cs_1/challenge">
<input type="hidden" name="csrf_token" value="tok&#43;2">
<input type='hidden' value="pay_7" name="payment_id">`

func TestTriggerHiddenInput(t *testing.T) {
	if got := hiddenInput(challengePage, "csrf_token"); got != "tok+2" {
		t.Errorf("csrf_token = %q", got)
	}
	if got := hiddenInput(challengePage, "payment_id"); got != "pay_7" {
		t.Errorf("payment_id = %q", got)
	}
	if got := hiddenInput(challengePage, "decision"); got != "" {
		t.Errorf("decision = %q", got)
	}
}

// TestTriggerPaysThroughTheFormContract runs trigger against a fake API and
// hosted page that ask for an authentication step.
func TestTriggerPaysThroughTheFormContract(t *testing.T) {
	var mu sync.Mutex
	var posts []string
	var page *httptest.Server
	page = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/checkout/cs_1":
			http.SetCookie(w, &http.Cookie{Name: "tp_csrf", Value: "cookie", Path: "/checkout/"})
			if len(posts) == 0 {
				_, _ = io.WriteString(w, `<form><input type="hidden" name="csrf_token" value="tok1"></form>`)
			} else {
				_, _ = io.WriteString(w, challengePage)
			}
		case r.Method == http.MethodPost:
			_ = r.ParseForm()
			if c, err := r.Cookie("tp_csrf"); err != nil || c.Value != "cookie" || r.Header.Get("Accept") != "application/json" {
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"status":"error","error":{"code":"csrf","message":"no cookie"}}`)
				return
			}
			posts = append(posts, r.URL.Path+"?"+r.PostForm.Encode())
			if r.URL.Path == "/checkout/cs_1/pay" {
				_, _ = io.WriteString(w, `{"status":"requires_action","redirect_url":"/checkout/cs_1"}`)
			} else {
				_, _ = io.WriteString(w, `{"status":"succeeded","redirect_url":"http://localhost:8000/success?session_id=cs_1"}`)
			}
		}
	}))
	defer page.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		_ = json.NewDecoder(r.Body).Decode(&req)
		if r.URL.Path != "/v1/checkouts/site_demo/create" || req["amount"] != float64(5000) || req["currency"] != "EUR" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"type":"invalid_request_error","code":"parameter_invalid","message":"bad"}}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "cs_1", "url": page.URL + "/checkout/cs_1",
			"amount_total": "5000", "currency": "EUR", "reference": "TP-ABCD-EFGH"})
	}))
	defer api.Close()
	dir := writeStackJSON(t, api.URL)

	var out bytes.Buffer
	err := runTrigger(context.Background(), []string{"--dir", dir, "--card", "4000000000003220", "--amount", "5000"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("trigger: %v\n%s", err, out.String())
	}
	wantPosts := []string{
		"/checkout/cs_1/pay?card_cvc=123&card_exp=12%2F34&card_number=4000000000003220&country=FR&csrf_token=tok1" +
			"&email=test.payer%40example.com&method=card&name=Test+Payer&postal_code=75001",
		"/checkout/cs_1/challenge?csrf_token=tok%2B2&decision=approve&payment_id=pay_7",
	}
	if !reflect.DeepEqual(posts, wantPosts) {
		t.Errorf("posts:\n%q\nwant\n%q", posts, wantPosts)
	}
	for _, want := range []string{"Created checkout session cs_1 (€50.00, reference TP-ABCD-EFGH)",
		"Result: requires_action\n  redirect to " + page.URL + "/checkout/cs_1\n",
		"Approving the authentication step of pay_7",
		"Result: succeeded\n  redirect to http://localhost:8000/success?session_id=cs_1\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestTriggerFailsOnDecline(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, `<input type="hidden" name="csrf_token" value="tok1">`)
			return
		}
		w.WriteHeader(http.StatusPaymentRequired)
		_, _ = io.WriteString(w, `{"status":"error","error":{"code":"card_declined","message":"Your card was declined."}}`)
	}))
	defer page.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "cs_2", "url": page.URL + "/checkout/cs_2", "amount_total": 2649, "currency": "EUR"})
	}))
	defer api.Close()
	var out bytes.Buffer
	err := runTrigger(context.Background(), []string{"--dir", writeStackJSON(t, api.URL), "--card", "4000000000000002"}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ended error") {
		t.Errorf("trigger with a declined card: %v", err)
	}
	if !strings.Contains(out.String(), "error card_declined: Your card was declined.") {
		t.Errorf("output:\n%s", out.String())
	}
}
