// Package app is the lifecycle every Tillpoint service shares: connect to
// PostgreSQL and NATS, answer health checks, serve the public HTTP listener,
// the internal gRPC listener and the metrics listener, run background workers,
// and on SIGTERM stop being ready, let in-flight requests finish, and exit.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/tillpoint/tillpoint/services/platform/config"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/metrics"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/pgkit"
)

// Limits shared by the public listeners.
const (
	// maxBodyBytes caps request bodies: the largest valid API request (100 line
	// items with long names and 50 metadata entries) is far below it.
	maxBodyBytes = 1 << 20
	// readHeaderTimeout defends against slow-header (slowloris) clients.
	readHeaderTimeout = 10 * time.Second
	// healthTimeout bounds each readiness probe of PostgreSQL and NATS.
	healthTimeout = 2 * time.Second
	// streamRetry is how often stream creation is retried while NATS is down.
	streamRetry = 2 * time.Second
)

// Base is what a service has once connected.
type Base struct {
	Name    string
	Config  config.Common
	Logger  *slog.Logger
	Pool    *pgxpool.Pool
	NC      *nats.Conn
	JS      jetstream.JetStream
	Metrics *prometheus.Registry
	// HTTPMetrics and GRPCMetrics record requests; put GRPCMetrics'
	// interceptor in the Outer part of a service's gRPC chain.
	HTTPMetrics *metrics.HTTP
	GRPCMetrics *metrics.GRPC
	Health      *httpx.Health
}

// Open connects a service to PostgreSQL and NATS. A NATS server that is down
// at start does not stop the service: it keeps reconnecting, and readiness
// says so meanwhile.
func Open(ctx context.Context, name string, cfg config.Common, logger *slog.Logger) (*Base, error) {
	pool, err := pgkit.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	nc, js, err := natsx.Connect(ctx, cfg.NATSURL, name, logger)
	if err != nil {
		pool.Close()
		return nil, err
	}
	reg := metrics.NewRegistry()
	httpMetrics, err := metrics.NewHTTP(reg)
	if err != nil {
		return nil, err
	}
	grpcMetrics, err := metrics.NewGRPC(reg)
	if err != nil {
		return nil, err
	}
	b := &Base{Name: name, Config: cfg, Logger: logger, Pool: pool, NC: nc, JS: js, Metrics: reg,
		HTTPMetrics: httpMetrics, GRPCMetrics: grpcMetrics}
	b.Health = httpx.NewHealth(logger, healthTimeout,
		httpx.Check{Name: "postgres", Probe: pool.Ping},
		// Without NATS the services still serve: events wait in the outboxes.
		httpx.Check{Name: "nats", Probe: func(context.Context) error { return natsx.Ready(nc) }, Degrades: true},
	)
	return b, nil
}

// Close releases the connections; call it after Run returns.
func (b *Base) Close() {
	if err := b.NC.Drain(); err != nil {
		b.NC.Close()
	}
	b.Pool.Close()
}

// Parts are what a service serves and runs besides the standard endpoints.
type Parts struct {
	// Public handles the public hostname's routes; /healthz and /readyz are
	// added in front of it, and the standard middleware around both.
	Public http.Handler
	// Internal is the service-to-service gRPC server, or nil.
	Internal *grpc.Server
	// GRPC are further gRPC servers by listen address (admin-api's public one).
	GRPC map[string]*grpc.Server
	// Workers run until the context ends (outbox relay, sweepers).
	Workers map[string]func(context.Context) error
}

// Run serves until ctx is cancelled (SIGTERM), then shuts down gracefully.
func (b *Base) Run(ctx context.Context, p Parts) error {
	cfg := b.Config
	public, err := PublicHandler(b.Name, cfg, b.Logger, b.Health, b.HTTPMetrics, p.Public)
	if err != nil {
		return err
	}

	metricsMux := http.NewServeMux()
	b.Health.Register(metricsMux)
	metricsMux.Handle("/metrics", metrics.Handler(b.Metrics))
	// Profiles for finding hot paths (go tool pprof http://METRICS_ADDR/debug/pprof/profile),
	// on the internal listener only.
	metricsMux.HandleFunc("/debug/pprof/", pprof.Index)
	metricsMux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	metricsMux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	type listener struct {
		addr  string
		serve func(ctx context.Context, ln net.Listener) error
	}
	httpServe := func(h http.Handler) func(context.Context, net.Listener) error {
		return func(ctx context.Context, ln net.Listener) error {
			srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, ErrorLog: slog.NewLogLogger(b.Logger.Handler(), slog.LevelWarn)}
			return httpx.Serve(ctx, srv, ln, httpx.ServeOptions{ShutdownTimeout: cfg.ShutdownTimeout, Health: b.Health})
		}
	}
	grpcServe := func(s *grpc.Server) func(context.Context, net.Listener) error {
		return func(ctx context.Context, ln net.Listener) error { return grpcx.Serve(ctx, s, ln, cfg.ShutdownTimeout) }
	}
	listeners := []listener{{cfg.HTTPAddr, httpServe(public)}, {cfg.MetricsAddr, httpServe(metricsMux)}}
	if p.Internal != nil {
		listeners = append(listeners, listener{cfg.InternalGRPCAddr, grpcServe(p.Internal)})
	}
	for addr, s := range p.GRPC {
		listeners = append(listeners, listener{addr, grpcServe(s)})
	}

	// Listen on everything first, so a port in use fails the start at once.
	var lc net.ListenConfig
	lns := make([]net.Listener, 0, len(listeners))
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for _, l := range listeners {
		ln, err := lc.Listen(ctx, "tcp", l.addr)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		lns = append(lns, ln)
	}

	g, gctx := errgroup.WithContext(ctx)
	// Streams first when NATS answers, so that the workers' consumers find
	// them at once instead of retrying; if it does not, the workers start
	// anyway (and wait for NATS themselves) while this keeps trying.
	sctx, cancel := context.WithTimeout(ctx, streamRetry)
	err = natsx.EnsureStreams(sctx, b.JS)
	cancel()
	if err != nil {
		g.Go(func() error { return b.ensureStreams(gctx) })
	}
	for i, l := range listeners {
		g.Go(func() error { return l.serve(gctx, lns[i]) })
	}
	for name, w := range p.Workers {
		g.Go(func() error {
			if err := w(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	b.Logger.Info("serving", "http", cfg.HTTPAddr, "internal_grpc", cfg.InternalGRPCAddr, "metrics", cfg.MetricsAddr)
	err = g.Wait()
	b.Logger.Info("stopped", "err", err)
	return err
}

// PublicHandler wraps a service's public routes in the standard middleware:
// the body cap, request ids, access logs, panic recovery, the Host check and
// request metrics (when m is not nil), and adds /healthz and /readyz. Tests
// use it to serve exactly what production serves.
func PublicHandler(name string, cfg config.Common, logger *slog.Logger, health *httpx.Health, m *metrics.HTTP, routes http.Handler) (http.Handler, error) {
	hostCheck, err := httpx.HostCheck(name, httpx.Services(cfg.AdminBackendDomain, cfg.MainFrontendDomain, cfg.MainBackendDomain))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	health.Register(mux)
	if routes != nil {
		mux.Handle("/", routes)
	}
	// The body cap comes first so that net/http can close the connection of
	// an oversized request; recovery sits inside the request id and access log
	// so that a panic is logged with its request and counted as a 500.
	mws := []httpx.Middleware{httpx.MaxBody(maxBodyBytes), httpx.RequestID, httpx.AccessLog(logger)}
	if m != nil {
		mws = append(mws, m.Middleware(metrics.ServeMuxRoute))
	}
	return httpx.Chain(mux, append(mws, httpx.Recover(logger), hostCheck)...), nil
}

// ensureStreams creates the JetStream streams, retrying while NATS is down.
func (b *Base) ensureStreams(ctx context.Context) error {
	for {
		sctx, cancel := context.WithTimeout(ctx, streamRetry)
		err := natsx.EnsureStreams(sctx, b.JS)
		cancel()
		if err == nil || ctx.Err() != nil {
			return nil
		}
		b.Logger.Warn("cannot create streams yet", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(streamRetry):
		}
	}
}
