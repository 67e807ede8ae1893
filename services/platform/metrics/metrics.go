// Package metrics exposes a service's Prometheus metrics: a registry of its
// own (no global default registry), HTTP and gRPC server metrics with
// bounded label values, and the handler for the internal metrics listener.
package metrics

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/tillpoint/tillpoint/services/platform/httpx"
)

// NewRegistry returns a registry holding the Go runtime and process
// collectors, for one service's metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves reg in the Prometheus exposition format, for the internal
// metrics listener (never the public hosts).
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// register registers cs, or reports the first failure (a name registered
// twice on reg).
func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("metrics: register: %w", err)
		}
	}
	return nil
}

// HTTP holds the HTTP server metrics:
// http_requests_total{code,method,route} and
// http_request_duration_seconds{method,route}.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTP creates the HTTP metrics and registers them on reg.
func NewHTTP(reg prometheus.Registerer) (*HTTP, error) {
	m := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests handled, by status code, method and route.",
		}, []string{"code", "method", "route"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to handle an HTTP request, by method and route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	if err := register(reg, m.requests, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// UnmatchedRoute is the route label of requests no route was found for.
const UnmatchedRoute = "unmatched"

type routeKey struct{}

// SetRoute names the route of the request whose context is ctx, from inside
// a handler under HTTP.Middleware: for example the grpc-gateway pattern
// (runtime.HTTPPathPattern) from a gateway middleware. The name must come
// from a bounded set (a pattern, never a raw path).
func SetRoute(ctx context.Context, route string) {
	if p, ok := ctx.Value(routeKey{}).(*atomic.Value); ok {
		p.Store(route)
	}
}

// ServeMuxRoute is a route function for handlers routed by an
// http.ServeMux: the matched pattern ("GET /checkout/{id}"). The mux sets it
// on the request it receives, so the middleware must wrap the mux directly
// (no middleware that copies the request in between).
func ServeMuxRoute(r *http.Request) string { return r.Pattern }

// Middleware records every request. The route label is what the handler set
// with SetRoute, else route(r) (evaluated after the handler, so that
// ServeMuxRoute sees the pattern), else UnmatchedRoute; route may be nil.
// Methods outside the standard set are counted as "other", so that callers
// cannot create label values at will.
func (m *HTTP) Middleware(route func(*http.Request) string) httpx.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			var set atomic.Value
			r = r.WithContext(context.WithValue(r.Context(), routeKey{}, &set))
			sw := httpx.NewStatusWriter(w)
			defer func() {
				name, _ := set.Load().(string)
				if name == "" && route != nil {
					name = route(r)
				}
				if name == "" {
					name = UnmatchedRoute
				}
				code := sw.Status()
				if code == 0 {
					code = http.StatusOK
				}
				method := methodLabel(r.Method)
				m.requests.WithLabelValues(strconv.Itoa(code), method, name).Inc()
				m.duration.WithLabelValues(method, name).Observe(time.Since(start).Seconds())
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	default:
		return "other"
	}
}

// GRPC holds the gRPC server metrics:
// grpc_server_handled_total{method,code} and
// grpc_server_handling_seconds{method}.
type GRPC struct {
	handled  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewGRPC creates the gRPC metrics and registers them on reg.
func NewGRPC(reg prometheus.Registerer) (*GRPC, error) {
	m := &GRPC{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total",
			Help: "gRPC calls completed, by full method and status code.",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_server_handling_seconds",
			Help:    "Time to handle a gRPC call, by full method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method"}),
	}
	if err := register(reg, m.handled, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// UnaryInterceptor records every unary call. Put it in grpcx.Chain.Outer so
// that it sees the final status code. Method names are bounded: gRPC refuses
// unknown methods before any interceptor runs.
func (m *GRPC) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		m.handled.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
		m.duration.WithLabelValues(info.FullMethod).Observe(time.Since(start).Seconds())
		return resp, err
	}
}
