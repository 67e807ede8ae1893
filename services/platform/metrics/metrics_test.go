package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestHTTPMiddleware(t *testing.T) {
	reg := NewRegistry()
	m, err := NewHTTP(reg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /checkout/{id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /hooks/{provider}", func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r.Context(), "hooks")
		w.WriteHeader(http.StatusAccepted)
	})
	h := m.Middleware(ServeMuxRoute)(mux)
	for _, req := range []struct{ method, path string }{
		{"GET", "/checkout/cs_1"}, {"GET", "/checkout/cs_2"}, {"POST", "/hooks/test"},
		{"GET", "/nope/123"}, {"BREW", "/checkout/cs_3"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}
	for labels, want := range map[[3]string]float64{
		{"200", "GET", "GET /checkout/{id}"}: 2,
		{"202", "POST", "hooks"}:             1,
		{"404", "GET", UnmatchedRoute}:       1,
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(labels[:]...)); got != want {
			t.Errorf("http_requests_total%v = %v, want %v", labels, got, want)
		}
	}
	// The unknown method is bounded to "other" (ServeMux answers it 405 with the pattern's path).
	if n := testutil.CollectAndCount(m.requests); n != 4 {
		t.Errorf("%d series, want 4", n)
	}
	if n := testutil.CollectAndCount(m.duration); n != 4 {
		t.Errorf("%d histogram series, want 4", n)
	}
	if _, err := NewHTTP(reg); err == nil {
		t.Error("second registration accepted")
	}
}

func TestGRPCInterceptor(t *testing.T) {
	reg := NewRegistry()
	m, err := NewGRPC(reg)
	if err != nil {
		t.Fatal(err)
	}
	ic := m.UnaryInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/tillpoint.admin.v1.Sessions/Create"}
	_, _ = ic(context.Background(), nil, info, func(context.Context, any) (any, error) { return "ok", nil })
	_, _ = ic(context.Background(), nil, info, func(context.Context, any) (any, error) {
		return nil, status.Error(codes.NotFound, "x")
	})
	for code, want := range map[string]float64{"OK": 1, "NotFound": 1} {
		if got := testutil.ToFloat64(m.handled.WithLabelValues(info.FullMethod, code)); got != want {
			t.Errorf("%s: %v", code, got)
		}
	}
}

func TestHandler(t *testing.T) {
	reg := NewRegistry()
	m, err := NewGRPC(reg)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = m.UnaryInterceptor()(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/a.B/C"},
		func(context.Context, any) (any, error) { return nil, nil })
	srv := httptest.NewServer(Handler(reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`grpc_server_handled_total{code="OK",method="/a.B/C"} 1`, "go_goroutines", "process_start_time_seconds"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}
