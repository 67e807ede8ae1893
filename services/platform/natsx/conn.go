// Package natsx connects Tillpoint services to NATS JetStream: a connection
// that survives broker restarts, the stream definitions as code, and an
// in-process server for the local dev stack and the tests.
package natsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// reconnectWait is the pause between reconnect attempts. Short, because a
	// restarted broker is usually back within a second and every service's
	// event flow waits on it.
	reconnectWait = 250 * time.Millisecond
	// reconnectJitter is the random delay added to reconnectWait (and its TLS
	// counterpart) so that many clients do not reconnect in lock step after a
	// broker restart.
	reconnectJitter, reconnectJitterTLS = 250 * time.Millisecond, time.Second
	// reconnectBufSize bounds what is buffered in memory while disconnected.
	// Publishes beyond it fail fast instead of growing without limit; the
	// outbox keeps the authoritative copy anyway, so nothing is lost.
	reconnectBufSize = 8 << 20
	// pingInterval and maxPingsOutstanding detect a dead connection that TCP
	// has not reported (a network partition) within about a minute, instead
	// of the library's default of several minutes.
	pingInterval, maxPingsOutstanding = 20 * time.Second, 3
)

// Connect opens a connection named name to the NATS server(s) at url (a
// comma-separated list is accepted) and returns it with a JetStream handle.
//
// The connection never gives up: it reconnects forever, and it is returned
// even when no server is reachable yet (the client keeps trying in the
// background), so a service can start while NATS is down; use [Ready] for
// readiness checks. Disconnects and reconnects are logged without the
// credentials the URL may carry. The caller closes (or drains) the
// connection. ctx only cancels the set-up itself: Connect does not wait for
// the server.
func Connect(ctx context.Context, url, name string, logger *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("nats_url", RedactURL(url), "nats_name", name)
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(reconnectWait),
		nats.ReconnectJitter(reconnectJitter, reconnectJitterTLS),
		nats.ReconnectBufSize(reconnectBufSize),
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOutstanding),
		nats.ConnectHandler(func(nc *nats.Conn) {
			logger.Info("nats connected", "server", nc.ConnectedAddr())
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				// A deliberate Close or Drain; ClosedHandler reports it.
				return
			}
			logger.Warn("nats disconnected; reconnecting", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("nats reconnected", "server", nc.ConnectedAddr())
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			logger.Info("nats connection closed")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				logger.Error("nats async error", "subject", sub.Subject, "err", err)
				return
			}
			logger.Error("nats async error", "err", err)
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("nats connect to %s: %w", RedactURL(url), err)
	}
	if !nc.IsConnected() {
		// ConnectHandler reports the connection once it is made.
		logger.Warn("nats not reachable yet; retrying in the background")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

// Ready reports whether nc is connected to a server, for readiness probes:
// nil when connected, an error naming the connection status otherwise.
func Ready(nc *nats.Conn) error {
	if nc == nil {
		return errors.New("nats: no connection")
	}
	if !nc.IsConnected() {
		return fmt.Errorf("nats: not connected (status %s)", nc.Status())
	}
	return nil
}

// RedactURL returns the NATS server URL list rawURL with any user
// information (user, password or token) removed, so that it can be logged.
func RedactURL(rawURL string) string {
	parts := strings.Split(rawURL, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if !strings.Contains(p, "://") {
			// nats.go reads a bare host:port as nats://host:port.
			p = "nats://" + p
		}
		u, err := url.Parse(p)
		if err != nil {
			parts[i] = "<invalid url>"
			continue
		}
		u.User = nil
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
