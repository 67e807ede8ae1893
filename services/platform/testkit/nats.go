package testkit

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsReadyTimeout bounds an in-process server's start, JetStream store
// recovery included; it takes milliseconds on an idle machine.
const natsReadyTimeout = 30 * time.Second

// NATSServer is an in-process NATS server with JetStream, for one test. It is
// not safe for concurrent use.
type NATSServer struct {
	opts server.Options // Port is fixed after the first start.
	srv  *server.Server // nil while shut down
}

// NewNATS starts a NATS server with JetStream on 127.0.0.1 and a free port,
// its file store in a temporary directory and every write synced to disk
// (so that what it acknowledged survives a Restart). It is shut down when t
// ends.
func NewNATS(t testing.TB) *NATSServer {
	t.Helper()
	s := &NATSServer{opts: server.Options{
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		SyncAlways: true,
		NoLog:      true,
		NoSigs:     true, // Signals belong to the test binary.
	}}
	if err := s.start(); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.Shutdown)
	return s
}

// URL returns the client URL, e.g. nats://127.0.0.1:41234. It stays the same
// across Restart, and is valid while the server is shut down.
func (s *NATSServer) URL() string {
	return fmt.Sprintf("nats://%s:%d", s.opts.Host, s.opts.Port)
}

// Shutdown stops the server, as a crash of the broker would for clients,
// and waits until it is down. Stopping a stopped server does nothing.
func (s *NATSServer) Shutdown() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// Restart shuts the server down if it is running and starts a new one on the
// same port with the same store, so clients can reconnect to URL and find
// the streams and messages that were there.
func (s *NATSServer) Restart(t testing.TB) {
	t.Helper()
	s.Shutdown()
	if err := s.start(); err != nil {
		t.Fatalf("testkit: restart NATS: %v", err)
	}
}

func (s *NATSServer) start() error {
	opts := s.opts // NewServer fills in defaults; keep ours as they were.
	srv, err := server.NewServer(&opts)
	if err != nil {
		return fmt.Errorf("nats server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(natsReadyTimeout) {
		srv.Shutdown()
		return errors.New("nats server not ready for connections")
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return errors.New("nats server started without JetStream")
	}
	s.srv = srv
	return nil
}
