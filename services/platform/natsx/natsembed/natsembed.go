// Package natsembed runs a NATS server with JetStream in process, for the
// local dev stack (tillpoint-dev) and the tests. It is apart from natsx so
// that the services, which only connect, do not link the server: it was a
// fifth of their binaries (issue 12, the services' memory).
package natsembed

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// embeddedReadyTimeout bounds the server's start-up: it listens within
// milliseconds, but JetStream recovers its file store first, which takes
// longer on a big store.
const embeddedReadyTimeout = 30 * time.Second

// Options configures [Start].
type Options struct {
	// Host is the address to listen on; it must be a loopback address
	// because the embedded server has no authentication. Empty means
	// 127.0.0.1.
	Host string
	// Port is the client port; 0 picks a free one (read it back with the
	// server's ClientURL).
	Port int
	// StoreDir holds the JetStream file store. Required: events must survive
	// a restart of the server.
	StoreDir string
}

// Start starts an in-process NATS server with JetStream for the
// local dev stack and the tests, and returns once it accepts connections.
//
// JetStream writes to a file store in StoreDir and fsyncs every write
// (SyncAlways): by default it syncs only every couple of minutes, and an
// acknowledged event could be lost on power loss. The server has no
// authentication and so only listens on loopback. The caller shuts it down
// (Shutdown, then WaitForShutdown).
func Start(opts Options) (*server.Server, error) {
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	if !isLoopback(host) {
		return nil, fmt.Errorf("embedded nats: host %q is not a loopback address; the embedded server has no authentication", host)
	}
	if opts.StoreDir == "" {
		return nil, errors.New("embedded nats: StoreDir is required")
	}
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	} else if err := checkPortFree(host, port); err != nil {
		return nil, err
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "tillpoint-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		SyncAlways: true,
		NoSigs:     true, // the embedding process owns signal handling
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(embeddedReadyTimeout) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats on %s: not ready for connections after %s", net.JoinHostPort(host, strconv.Itoa(opts.Port)), embeddedReadyTimeout)
	}
	if !srv.JetStreamEnabled() {
		// The server logs (here: discards) a JetStream start-up failure, such
		// as an unwritable store directory, and carries on without it.
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats: JetStream did not start (is %s writable?)", opts.StoreDir)
	}
	return srv, nil
}

// checkPortFree fails clearly when host:port is taken. The server itself only
// reports a listen error after its whole ready timeout, and with logging off
// without saying why.
func checkPortFree(host string, port int) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("embedded nats: cannot listen on %s (port in use?): %w", addr, err)
	}
	if err := l.Close(); err != nil {
		return fmt.Errorf("embedded nats: probing %s: %w", addr, err)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
