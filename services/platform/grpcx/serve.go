package grpcx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
)

// DefaultStopTimeout bounds a graceful stop when Serve is given none.
const DefaultStopTimeout = 20 * time.Second

// Serve serves srv on ln until ctx is cancelled, then stops gracefully: the
// listener closes, new RPCs are refused, and in-flight RPCs may finish within
// timeout (DefaultStopTimeout when zero or less), after which they are
// cancelled, their connections closed and an error is returned. It returns
// nil after a clean stop.
func Serve(ctx context.Context, srv *grpc.Server, ln net.Listener, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		if err == nil || errors.Is(err, grpc.ErrServerStopped) {
			return nil
		}
		return fmt.Errorf("grpcx: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case <-stopped:
	case <-timer.C:
		// Stop closes the connections and cancels the calls' contexts. It
		// does not wait for handlers that ignore their context (GracefulStop,
		// still running, does): we return and let the process exit.
		srv.Stop()
		err = fmt.Errorf("grpcx: graceful stop %s: in-flight calls still running after %s", ln.Addr(), timeout)
	}
	<-served
	return err
}
