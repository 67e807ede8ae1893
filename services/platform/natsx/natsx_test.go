package natsx_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/natsx/natsembed"
)

// waitTimeout bounds every wait in these tests; they normally take
// milliseconds.
const waitTimeout = 10 * time.Second

func startServer(t *testing.T, port int) *server.Server {
	t.Helper()
	srv, err := natsembed.Start(natsembed.Options{Port: port, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

func connect(t *testing.T, url string, logger *slog.Logger) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	nc, js, err := natsx.Connect(t.Context(), url, "natsx-test", logger)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, js
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestEmbeddedPublish(t *testing.T) {
	srv := startServer(t, 0)
	if !srv.JetStreamConfig().SyncAlways {
		t.Error("embedded JetStream does not fsync every write (SyncAlways is off)")
	}
	nc, js := connect(t, srv.ClientURL(), nil)
	if err := natsx.Ready(nc); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	ctx := t.Context()
	if err := natsx.EnsureStreams(ctx, js); err != nil {
		t.Fatal(err)
	}
	subject := natsx.EventSubject("checkout.session.completed")
	ack, err := js.Publish(ctx, subject, []byte(`{}`), jetstream.WithMsgID("evt_1"))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	if ack.Stream != natsx.EventsStream || ack.Sequence != 1 || ack.Duplicate {
		t.Errorf("ack = %+v, want stream %s, sequence 1, not a duplicate", ack, natsx.EventsStream)
	}
	again, err := js.Publish(ctx, subject, []byte(`{}`), jetstream.WithMsgID("evt_1"))
	if err != nil {
		t.Fatalf("publish again: %v", err)
	}
	if !again.Duplicate {
		t.Errorf("second publish of evt_1 was stored again: %+v", again)
	}
}

func TestEnsureStreamsIdempotent(t *testing.T) {
	srv := startServer(t, 0)
	_, js := connect(t, srv.ClientURL(), nil)
	ctx := t.Context()
	for i := range 2 {
		if err := natsx.EnsureStreams(ctx, js); err != nil {
			t.Fatalf("EnsureStreams #%d: %v", i+1, err)
		}
	}
	stream, err := js.Stream(ctx, natsx.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	if cfg.Storage != jetstream.FileStorage {
		t.Errorf("storage = %v, want file", cfg.Storage)
	}
	if cfg.Retention != jetstream.LimitsPolicy {
		t.Errorf("retention = %v, want limits", cfg.Retention)
	}
	if cfg.Duplicates != 2*time.Hour {
		t.Errorf("duplicate window = %s, want 2h", cfg.Duplicates)
	}
	if cfg.MaxAge < 30*24*time.Hour {
		t.Errorf("max age = %s, want ≥ 30 days", cfg.MaxAge)
	}
	if len(cfg.Subjects) != 1 || cfg.Subjects[0] != "events.>" {
		t.Errorf("subjects = %v, want [events.>]", cfg.Subjects)
	}
	if cfg.Replicas != 1 {
		t.Errorf("replicas = %d, want 1", cfg.Replicas)
	}
}

func TestStartEmbeddedErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	for _, tc := range []struct {
		name string
		opts natsembed.Options
		want string
	}{
		{"port in use", natsembed.Options{Port: takenPort, StoreDir: t.TempDir()}, "port in use"},
		{"not loopback", natsembed.Options{Host: "0.0.0.0", StoreDir: t.TempDir()}, "not a loopback address"},
		{"no store dir", natsembed.Options{}, "StoreDir is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := natsembed.Start(tc.opts)
			if err == nil {
				srv.Shutdown()
				t.Fatal("StartEmbedded succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestConnectBeforeServer starts a client while NATS is down, as a service
// does when it comes up before the broker, and checks that it connects once
// the server is there and never logs the URL's credentials.
func TestConnectBeforeServer(t *testing.T) {
	port := freePort(t)
	logs := &syncBuffer{wrote: make(chan struct{}, 1)}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	url := "nats://tilluser:s3cr3t-pw@127.0.0.1:" + strconv.Itoa(port)

	nc, _ := connect(t, url, logger)
	if err := natsx.Ready(nc); err == nil {
		t.Fatal("Ready reports a connection while no server runs")
	}
	connected := nc.StatusChanged(nats.CONNECTED)
	startServer(t, port)
	select {
	case <-connected:
	case <-time.After(waitTimeout):
		t.Fatalf("not connected %s after the server started (status %s)", waitTimeout, nc.Status())
	}
	if err := natsx.Ready(nc); err != nil {
		t.Fatalf("Ready after connecting: %v", err)
	}
	nc.Close()
	// The connect handler runs asynchronously; wait for its line.
	deadline := time.After(waitTimeout)
	for !strings.Contains(logs.String(), "nats connected") {
		select {
		case <-logs.wrote:
		case <-deadline:
			t.Fatalf("no 'nats connected' log line; logs:\n%s", logs)
		}
	}
	if strings.Contains(logs.String(), "s3cr3t-pw") || strings.Contains(logs.String(), "tilluser") {
		t.Errorf("logs contain the URL's credentials:\n%s", logs)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                       "nats://127.0.0.1:4222",
		"nats://user:pw@nats.internal:4222":           "nats://nats.internal:4222",
		"nats://s3cr3ttoken@nats.internal:4222":       "nats://nats.internal:4222",
		"tls://u:p@a:4222, nats://b:4222":             "tls://a:4222,nats://b:4222",
		"localhost:4222":                              "nats://localhost:4222",
		"nats://user:pw@a:4222,nats://user:pw@b:4222": "nats://a:4222,nats://b:4222",
		"nats://user:p%zz@a:4222":                     "<invalid url>",
		"nats://[::1]:4222":                           "nats://[::1]:4222",
	} {
		if got := natsx.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEventSubject(t *testing.T) {
	if got, want := natsx.EventSubject("checkout.session.completed"), "events.checkout.session.completed"; got != want {
		t.Errorf("EventSubject = %q, want %q", got, want)
	}
}

// syncBuffer is a bytes.Buffer safe for the client's callback goroutine
// that signals wrote after each write.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	defer func() {
		select {
		case b.wrote <- struct{}{}:
		default:
		}
	}()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestStreamReplicasFromTheEnvironment(t *testing.T) {
	for v, want := range map[string]int{"": 1, "3": 3, "5": 5, "0": 1, "6": 1, "three": 1} {
		t.Setenv(natsx.ReplicasVariable, v)
		if got := natsx.EventsStreamConfig().Replicas; got != want {
			t.Errorf("%s=%q: events replicas %d, want %d", natsx.ReplicasVariable, v, got, want)
		}
		if got := natsx.ProviderStreamConfig().Replicas; got != want {
			t.Errorf("%s=%q: provider replicas %d, want %d", natsx.ReplicasVariable, v, got, want)
		}
	}
}
