package httpx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultShutdownTimeout bounds graceful shutdown when ServeOptions gives
// none: under Kubernetes' default 30 s grace period, so we finish (or give
// up) before the SIGKILL.
const DefaultShutdownTimeout = 20 * time.Second

// ServeOptions tune Serve. The zero value is usable.
type ServeOptions struct {
	// ShutdownTimeout bounds how long in-flight requests may run once ctx is
	// cancelled; DefaultShutdownTimeout when zero.
	ShutdownTimeout time.Duration
	// Health, when set, is marked as shutting down before the server stops
	// accepting connections, so /readyz answers 503.
	Health *Health
}

// Serve serves srv on ln until ctx is cancelled (SIGTERM), then shuts down
// gracefully: readiness is withdrawn, the listener is closed (new
// connections are refused), idle connections are closed, and in-flight
// requests may finish within the shutdown timeout, after which the remaining
// connections are closed and an error is returned. Serve returns nil after a
// clean shutdown, or the error that stopped serving.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, opts ServeOptions) error {
	timeout := opts.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		// Stopped without being asked to (or by someone else's Shutdown).
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("httpx: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	if opts.Health != nil {
		opts.Health.BeginShutdown()
	}
	// The shutdown deadline must not derive from ctx, which is already done.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		<-served
		return fmt.Errorf("httpx: shutdown %s: %w", ln.Addr(), err)
	}
	<-served // http.ErrServerClosed, returned as soon as Shutdown began
	return nil
}
