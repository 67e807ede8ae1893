package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/logging"
)

func testLogger(buf *bytes.Buffer) *slog.Logger {
	if buf == nil {
		return slog.New(slog.DiscardHandler)
	}
	return logging.New(buf, "debug", "test")
}

func decodeError(t *testing.T, body []byte) ErrorObject {
	t.Helper()
	var b ErrorBody
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("body %q is not an error object: %v", body, err)
	}
	return b.Error
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })

func TestHostCheck(t *testing.T) {
	svc := Services("api.example.com", "secure.example.com", "webhook.example.com")
	tests := []struct {
		name, self, method, host, path string
		status                         int
		message                        string
	}{
		{"own route, own host", "admin-api", "POST", "api.example.com", "/v1/checkout/sessions", 200, ""},
		{"hostname ignores port", "admin-api", "GET", "API.example.com.:8443", "/api/v1/x", 200, ""},
		{"other owner", "hooks", "POST", "webhook.example.com", "/v1/checkout/sessions", 421,
			"POST /v1/checkout/sessions is served by admin-api at api.example.com, not at webhook.example.com"},
		{"wrong host for own route", "admin-api", "POST", "webhook.example.com", "/v1/checkout/sessions", 421,
			"POST /v1/checkout/sessions is served by admin-api at api.example.com, not at webhook.example.com"},
		{"unowned path wrong host", "hooks", "GET", "api.example.com", "/favicon.ico", 421,
			"GET /favicon.ico is served by hooks at webhook.example.com, not at api.example.com"},
		{"healthz own host", "checkout-runtime", "GET", "secure.example.com", "/healthz", 200, ""},
		{"readyz wrong host", "checkout-runtime", "GET", "api.example.com", "/readyz", 421,
			"GET /readyz is served by checkout-runtime at secure.example.com, not at api.example.com"},
		{"checkout on hooks", "hooks", "GET", "webhook.example.com", "/checkout/cs_1", 421,
			"GET /checkout/cs_1 is served by checkout-runtime at secure.example.com, not at webhook.example.com"},
		{"prefix needs slash", "admin-api", "GET", "api.example.com", "/v1", 200, ""},
		{"empty host", "hooks", "POST", "", "/hooks/test", 421,
			"POST /hooks/test is served by hooks at webhook.example.com, not at an empty Host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mw, err := HostCheck(tt.self, svc)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(tt.method, "http://x"+tt.path+"?q=1", nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			mw(ok).ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.status == 421 {
				e := decodeError(t, w.Body.Bytes())
				if e.Type != "invalid_request_error" || e.Code != "misdirected_request" || e.Message != tt.message {
					t.Errorf("error %+v, want message %q", e, tt.message)
				}
			}
		})
	}
}

func TestHostCheckWithPort(t *testing.T) {
	svc := Services("api.localhost:47801", "secure.localhost:47802", "webhook.localhost:47803")
	mw, err := HostCheck("admin-api", svc)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]int{
		"api.localhost:47801": 200,
		"api.localhost:47802": 421,
		"api.localhost":       421,
		"[::1]:47801":         421,
	} {
		r := httptest.NewRequest("GET", "/v1/x", nil)
		r.Host = host
		w := httptest.NewRecorder()
		mw(ok).ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %q: status %d, want %d", host, w.Code, want)
		}
	}
}

func TestHostCheckConfigErrors(t *testing.T) {
	if _, err := HostCheck("nope", Services("a", "b", "c")); err == nil {
		t.Error("unknown service accepted")
	}
	if _, err := HostCheck("hooks", Services("a", "b", "")); err == nil {
		t.Error("empty host accepted")
	}
}

func TestRequestID(t *testing.T) {
	var seen string
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = logging.RequestID(r.Context())
	}))
	tests := []struct {
		in   string
		keep bool
	}{
		{"abc-DEF_123", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"bad id", false},
		{"x\ny", false},
		{"", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Request-Id", tt.in)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got := w.Header().Get("Request-Id")
		if got != seen {
			t.Errorf("header %q != context %q", got, seen)
		}
		if tt.keep && got != tt.in {
			t.Errorf("id %q replaced by %q", tt.in, got)
		}
		if !tt.keep && (got == tt.in || !strings.HasPrefix(got, "req_")) {
			t.Errorf("id %q: got %q, want a new req_ id", tt.in, got)
		}
	}
}

func TestAccessLogAndRecover(t *testing.T) {
	var buf bytes.Buffer
	log := testLogger(&buf)
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom: secret state")
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello")
	}), RequestID, AccessLog(log), Recover(log))

	r := httptest.NewRequest("POST", "/v1/things?api_key=sk_test_secret", strings.NewReader("card=4242424242424242"))
	r.Header.Set("Authorization", "Bearer sk_test_secret")
	r.Header.Set("X-Request-Id", "req_abc")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	line := buf.String()
	// The whole card number: four digits alone turn up in timestamps.
	if strings.Contains(line, "secret") || strings.Contains(line, "4242424242424242") {
		t.Fatalf("log leaks secrets: %s", line)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"method": "POST", "path": "/v1/things", "status": 201.0, "bytes": 5.0, "request_id": "req_abc"} {
		if rec[k] != want {
			t.Errorf("log %s = %v, want %v", k, rec[k], want)
		}
	}
	if _, ok := rec["duration"]; !ok {
		t.Error("no duration logged")
	}

	buf.Reset()
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/panic", nil))
	if w.Code != 500 {
		t.Fatalf("panic: status %d", w.Code)
	}
	e := decodeError(t, w.Body.Bytes())
	if e.Type != "api_error" || e.Code != "internal" || !strings.HasPrefix(e.Message, "An internal error occurred (error id err_") {
		t.Fatalf("panic error %+v", e)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(e.Message, "An internal error occurred (error id "), ").")
	if !strings.Contains(buf.String(), `"error_id":"`+id+`"`) || strings.Contains(e.Message, "boom") {
		t.Errorf("error id %s not logged or panic leaked: %s", id, buf.String())
	}
	if !strings.Contains(buf.String(), `"status":500`) {
		t.Errorf("access log misses the 500: %s", buf.String())
	}
}

func TestRecoverAfterWriteAborts(t *testing.T) {
	h := Recover(testLogger(nil))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "partial")
		panic("late")
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestMaxBody(t *testing.T) {
	h := MaxBody(8)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			if RespondTooLarge(w, r, err) {
				return
			}
			t.Errorf("unexpected error %v", err)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader("12345678")))
	if w.Code != 200 {
		t.Errorf("at the limit: status %d", w.Code)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader("123456789")))
	if w.Code != 413 {
		t.Fatalf("over the limit: status %d", w.Code)
	}
	if e := decodeError(t, w.Body.Bytes()); e.Code != "request_too_large" || e.Type != "invalid_request_error" {
		t.Errorf("error %+v", e)
	}

	// A layer that flattens the error (as grpc-gateway does) is still recognised.
	flat := MaxBody(4)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if !RespondTooLarge(w, r, errors.New(fmt.Sprint(err))) {
			t.Error("flattened error not recognised")
		}
	}))
	w = httptest.NewRecorder()
	flat.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader("123456789")))
	if w.Code != 413 {
		t.Errorf("flattened: status %d", w.Code)
	}
	if RespondTooLarge(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), io.ErrUnexpectedEOF) {
		t.Error("other error taken for too large")
	}
}

func TestWriteErr(t *testing.T) {
	var buf bytes.Buffer
	log := testLogger(&buf)
	tests := []struct {
		err              error
		status           int
		typ, code, param string
		messagePrefix    string
	}{
		{errs.Missing("success_url"), 400, "invalid_request_error", "parameter_missing", "success_url", "Missing required param: success_url."},
		{fmt.Errorf("ctx: %w", errs.NotFoundf("id", "No such session.")), 404, "invalid_request_error", "resource_missing", "id", "No such session."},
		{errs.E(errs.IdempotencyInFlight, "idempotency_key_in_use", "busy"), 409, "idempotency_error", "idempotency_key_in_use", "", "busy"},
		{errs.Wrap(errors.New("pg: password=hunter2"), "insert"), 500, "api_error", "internal", "", "An internal error occurred (error id err_"},
		{errors.New("plain"), 500, "api_error", "internal", "", "An internal error occurred (error id err_"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		WriteErr(w, httptest.NewRequest("GET", "/", nil), log, tt.err)
		e := decodeError(t, w.Body.Bytes())
		if w.Code != tt.status || e.Type != tt.typ || e.Code != tt.code || e.Param != tt.param || !strings.HasPrefix(e.Message, tt.messagePrefix) {
			t.Errorf("%v: got %d %+v", tt.err, w.Code, e)
		}
		if strings.Contains(w.Body.String(), "hunter2") {
			t.Errorf("internal leaked: %s", w.Body)
		}
	}
	if !strings.Contains(buf.String(), "hunter2") {
		t.Error("internal cause not logged")
	}
}

func TestWriteErrorShape(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, 400, TypeInvalidRequest, "parameter_missing", "", "m")
	want := `{"error":{"type":"invalid_request_error","code":"parameter_missing","message":"m"}}` + "\n"
	if w.Body.String() != want || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("got %q %q", w.Body, w.Header())
	}
}

func TestHealth(t *testing.T) {
	var pgErr, natsErr error
	h := NewHealth(testLogger(nil), 20*time.Millisecond,
		Check{Name: "postgres", Probe: func(context.Context) error { return pgErr }},
		Check{Name: "nats", Probe: func(context.Context) error { return natsErr }, Degrades: true},
		Check{Name: "slow", Probe: func(ctx context.Context) error { <-ctx.Done(); return nil }},
	)
	mux := http.NewServeMux()
	h.Register(mux)
	get := func(path string) (int, string) {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	if c, b := get("/healthz"); c != 200 || b != `{"status":"ok"}` {
		t.Errorf("healthz %d %s", c, b)
	}
	if c, b := get("/readyz"); c != 200 || b != `{"status":"ok"}` {
		t.Errorf("readyz %d %s", c, b)
	}
	natsErr = errors.New("disconnected")
	if c, b := get("/readyz"); c != 200 || b != `{"status":"degraded","degraded":["nats"]}` {
		t.Errorf("readyz degraded %d %s", c, b)
	}
	pgErr = errors.New("connection refused")
	if c, b := get("/readyz"); c != 503 || b != `{"status":"unavailable","failed":["postgres"],"degraded":["nats"]}` {
		t.Errorf("readyz failing %d %s", c, b)
	}
	pgErr, natsErr = nil, nil
	h.BeginShutdown()
	if c, b := get("/readyz"); c != 503 || b != `{"status":"shutting_down"}` {
		t.Errorf("readyz shutting down %d %s", c, b)
	}
	if c, _ := get("/healthz"); c != 200 {
		t.Errorf("healthz during shutdown %d", c)
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	started, release := make(chan struct{}), make(chan struct{})
	health := NewHealth(testLogger(nil), 0)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})}
	shutdownBegun := make(chan struct{})
	srv.RegisterOnShutdown(func() { close(shutdownBegun) }) // called after the listener is closed

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, srv, ln, ServeOptions{Health: health}) }()

	type result struct {
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{string(b), err}
	}()
	<-started
	cancel()
	<-shutdownBegun

	w := httptest.NewRecorder()
	health.ServeReady(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 503 {
		t.Errorf("readyz during shutdown: %d", w.Code)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("new connection accepted after shutdown began")
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned before the in-flight request finished: %v", err)
	default:
	}

	close(release)
	if r := <-inflight; r.err != nil || r.body != "done" {
		t.Errorf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	})}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, srv, ln, ServeOptions{ShutdownTimeout: 1}) }()
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String()); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	if err := <-served; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve: %v, want a deadline error", err)
	}
}

func TestRecoverOutsideAccessLog(t *testing.T) {
	var buf bytes.Buffer
	log := testLogger(&buf)
	h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }),
		Recover(log), RequestID, AccessLog(log))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != 500 || w.Header().Get("Request-Id") == "" {
		t.Fatalf("status %d, headers %v", w.Code, w.Header())
	}
	if !strings.Contains(buf.String(), `"status":500`) || !strings.Contains(buf.String(), `"panic":true`) {
		t.Errorf("access log: %s", buf.String())
	}
}

func TestWriteErrorUnavailableSaysWhenToRetry(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, http.StatusServiceUnavailable, TypeAPI, "unavailable", "", "Retry.")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != RetryAfter {
		t.Errorf("%d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	w = httptest.NewRecorder()
	WriteError(w, http.StatusBadRequest, TypeInvalidRequest, "parameter_missing", "name", "Missing.")
	if w.Header().Get("Retry-After") != "" {
		t.Errorf("a 400 has Retry-After")
	}
}
