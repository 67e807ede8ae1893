package outbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/outbox"
	"github.com/tillpoint/tillpoint/services/platform/pgkit"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// schema is the tests' own outbox owner, built from outbox.DDL exactly as a
// service's migration is.
const schema = "outboxtest"

// waitTimeout bounds each wait for events. It must exceed the relay's
// longest backoff (5 s) plus NATS's reconnect wait; healthy runs take
// milliseconds.
const waitTimeout = 30 * time.Second

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

func migrations() pgkit.MigrationSet {
	return pgkit.MigrationSet{Schema: schema, FS: fstest.MapFS{
		"0001_outbox.sql": {Data: []byte("SET lock_timeout = '5s';\n" + outbox.DDL(schema))},
	}}
}

// fixture is a migrated database, a NATS server with the EVENTS stream, and
// a durable consumer of every event.
type fixture struct {
	pool   *pgxpool.Pool
	nats   *testkit.NATSServer
	nc     *nats.Conn
	js     jetstream.JetStream
	cons   jetstream.Consumer
	stream jetstream.Stream
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool := testkit.NewDatabase(t, migrations())
	srv := testkit.NewNATS(t)
	nc, js := connect(t, srv.URL(), nil)
	ctx := t.Context()
	if err := natsx.EnsureStreams(ctx, js); err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, natsx.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, natsx.EventsStream, jetstream.ConsumerConfig{
		Durable:       "outbox-test",
		AckPolicy:     jetstream.AckNonePolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{pool: pool, nats: srv, nc: nc, js: js, cons: cons, stream: stream}
}

func connect(t *testing.T, url string, logger *slog.Logger) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	if logger == nil {
		logger = discard()
	}
	nc, js, err := natsx.Connect(t.Context(), url, t.Name(), logger)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, js
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startRelay runs r until the returned stop is called (or the test ends);
// stop returns once Run has returned, so the batch in flight is committed.
func startRelay(t *testing.T, r *outbox.Relay) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Errorf("Run did not return within %s of cancellation", waitTimeout)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// write commits msgs to the outbox in one transaction.
func write(t *testing.T, pool *pgxpool.Pool, msgs ...outbox.Message) {
	t.Helper()
	err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
		return outbox.Add(t.Context(), tx, schema, msgs...)
	})
	if err != nil {
		t.Fatalf("write: %v", err)
	}
}

func event(id string) outbox.Message {
	return outbox.Message{
		ID:      id,
		Subject: natsx.EventSubject("checkout.session.completed"),
		Payload: []byte(`{"id":"` + id + `"}`),
	}
}

// receive waits, up to waitTimeout, for the consumer's next n events.
func receive(t *testing.T, cons jetstream.Consumer, n int) []jetstream.Msg {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var got []jetstream.Msg
	for len(got) < n {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			t.Fatalf("received %d of %d events within %s", len(got), n, waitTimeout)
		}
		batch, err := cons.Fetch(n-len(got), jetstream.FetchMaxWait(remaining))
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		for m := range batch.Messages() {
			got = append(got, m)
		}
		if err := batch.Error(); err != nil && len(got) < n {
			t.Fatalf("fetch: %v (after %d of %d events)", err, len(got), n)
		}
	}
	return got
}

func msgIDs(msgs []jetstream.Msg) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.Headers().Get(jetstream.MsgIDHeader)
	}
	return ids
}

func outboxRows(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM "+schema+".outbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func streamMsgs(t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// (a) Committed rows are published once, with Nats-Msg-Id = id and their
// headers, then deleted; rolled-back rows never leave the database.
func TestRelayPublishesCommittedRows(t *testing.T) {
	f := newFixture(t)
	// An hour's poll: the rows can only be picked up promptly through
	// LISTEN/NOTIFY (or the catch-up after LISTEN).
	stop := startRelay(t, &outbox.Relay{Pool: f.pool, JS: f.js, Schema: schema, Logger: discard(), PollInterval: time.Hour})

	rollback := errorString("roll back")
	err := pgx.BeginFunc(t.Context(), f.pool, func(tx pgx.Tx) error {
		if err := outbox.Add(t.Context(), tx, schema, event("evt_rolled_back")); err != nil {
			return err
		}
		return rollback
	})
	if err != rollback {
		t.Fatalf("rolled-back transaction: %v", err)
	}
	withHeaders := event("evt_a1")
	withHeaders.Headers = map[string]string{"Tillpoint-Event-Type": "checkout.session.completed"}
	write(t, f.pool, withHeaders, event("evt_a2"))
	write(t, f.pool, event("evt_a3"))

	got := receive(t, f.cons, 3)
	stop()
	if ids := strings.Join(msgIDs(got), ","); ids != "evt_a1,evt_a2,evt_a3" {
		t.Errorf("published %s, want evt_a1,evt_a2,evt_a3", ids)
	}
	if h := got[0].Headers().Get("Tillpoint-Event-Type"); h != "checkout.session.completed" {
		t.Errorf("header Tillpoint-Event-Type = %q", h)
	}
	if string(got[1].Data()) != `{"id":"evt_a2"}` {
		t.Errorf("payload = %s", got[1].Data())
	}
	if n := streamMsgs(t, f.stream); n != 3 {
		t.Errorf("stream holds %d messages, want 3", n)
	}
	if n := outboxRows(t, f.pool); n != 0 {
		t.Errorf("%d rows left in the outbox after publishing", n)
	}
}

// (b) The key test (invariant 4): NATS is down when the event is written and
// while the relay runs; once NATS is back on the same port and store, the
// relay catches up and a durable consumer receives the event.
func TestRelaySurvivesNATSOutage(t *testing.T) {
	f := newFixture(t)
	srv := f.nats
	srv.Shutdown()

	write(t, f.pool, event("evt_during_outage"))

	logs := make(chan slog.Record, 100)
	relayNC, relayJS := connect(t, srv.URL(), discard())
	stop := startRelay(t, &outbox.Relay{Pool: f.pool, JS: relayJS, Schema: schema, Logger: slog.New(recordSink{logs})})

	// Proof that the relay ran while NATS was down: it reported the failure.
	waitForLog(t, logs, "outbox relay publishing failing")
	if n := outboxRows(t, f.pool); n != 1 {
		t.Fatalf("%d rows in the outbox during the outage, want the 1 written", n)
	}

	reconnected := f.nc.StatusChanged(nats.CONNECTED)
	srv.Restart(t)
	select {
	case <-reconnected:
	case <-time.After(waitTimeout):
		t.Fatalf("consumer connection not back within %s (status %s)", waitTimeout, f.nc.Status())
	}
	got := receive(t, f.cons, 1)
	stop()
	if id := got[0].Headers().Get(jetstream.MsgIDHeader); id != "evt_during_outage" {
		t.Errorf("received %q, want evt_during_outage", id)
	}
	if n := streamMsgs(t, f.stream); n != 1 {
		t.Errorf("stream holds %d messages, want 1", n)
	}
	if n := outboxRows(t, f.pool); n != 0 {
		t.Errorf("%d rows left in the outbox", n)
	}
	if !relayNC.IsConnected() {
		t.Errorf("relay's connection status %s after the restart", relayNC.Status())
	}
}

// A row that was published but not deleted (the relay crashed between the
// ack and its commit) is published again and dropped by JetStream's
// duplicate window, then deleted: the stream holds the event once.
func TestRelayRepublishIsDeduplicated(t *testing.T) {
	f := newFixture(t)
	sent, err := f.nc.SubscribeSync("events.>")
	if err != nil {
		t.Fatal(err)
	}
	msg := event("evt_published_before_crash")
	write(t, f.pool, msg)
	// What the crashed relay got acknowledged before it could commit.
	if _, err := f.js.Publish(t.Context(), msg.Subject, msg.Payload, jetstream.WithMsgID(msg.ID)); err != nil {
		t.Fatal(err)
	}
	stop := startRelay(t, &outbox.Relay{Pool: f.pool, JS: f.js, Schema: schema, Logger: discard()})
	for i := range 2 { // the first publish, then the relay's copy
		if _, err := sent.NextMsg(waitTimeout); err != nil {
			t.Fatalf("message %d not sent: %v", i+1, err)
		}
	}
	stop()
	if n := streamMsgs(t, f.stream); n != 1 {
		t.Errorf("stream holds %d messages, want 1", n)
	}
	if n := outboxRows(t, f.pool); n != 0 {
		t.Errorf("%d rows left in the outbox", n)
	}
}

// Rows whose subject no stream captures yet (the stream was never created, or
// was deleted) stay in the outbox until one does.
func TestRelayKeepsRowsWithoutStream(t *testing.T) {
	f := newFixture(t)
	if err := f.js.DeleteStream(t.Context(), natsx.EventsStream); err != nil {
		t.Fatal(err)
	}
	write(t, f.pool, event("evt_no_stream"))
	logs := make(chan slog.Record, 100)
	startRelay(t, &outbox.Relay{Pool: f.pool, JS: f.js, Schema: schema, Logger: slog.New(recordSink{logs})})

	waitForLog(t, logs, "outbox relay publishing failing")
	if n := outboxRows(t, f.pool); n != 1 {
		t.Fatalf("%d rows in the outbox while no stream exists, want 1", n)
	}
	if err := natsx.EnsureStreams(t.Context(), f.js); err != nil {
		t.Fatal(err)
	}
	cons, err := f.js.CreateOrUpdateConsumer(t.Context(), natsx.EventsStream, jetstream.ConsumerConfig{AckPolicy: jetstream.AckNonePolicy})
	if err != nil {
		t.Fatal(err)
	}
	if id := receive(t, cons, 1)[0].Headers().Get(jetstream.MsgIDHeader); id != "evt_no_stream" {
		t.Errorf("received %q, want evt_no_stream", id)
	}
}

// (c) Two relays on one table publish every row exactly once: a plain
// subscription sees every message sent, duplicates JetStream would drop
// included.
func TestConcurrentRelaysPublishOnce(t *testing.T) {
	f := newFixture(t)
	sent, err := f.nc.SubscribeSync("events.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := sent.SetPendingLimits(-1, -1); err != nil {
		t.Fatal(err)
	}
	const rows = 500
	for i := 0; i < rows; i += 50 {
		msgs := make([]outbox.Message, 50)
		for j := range msgs {
			msgs[j] = event(fmt.Sprintf("evt_c%04d", i+j))
		}
		write(t, f.pool, msgs...)
	}
	var stops []func()
	for range 2 {
		_, js := connect(t, f.nats.URL(), nil)
		stops = append(stops, startRelay(t, &outbox.Relay{Pool: f.pool, JS: js, Schema: schema, Logger: discard(), BatchSize: 10}))
	}
	got := receive(t, f.cons, rows)
	for _, stop := range stops {
		stop()
	}

	seen := make(map[string]bool)
	for _, id := range msgIDs(got) {
		if seen[id] {
			t.Errorf("%s received twice", id)
		}
		seen[id] = true
	}
	if n := streamMsgs(t, f.stream); n != rows {
		t.Errorf("stream holds %d messages, want %d", n, rows)
	}
	if err := f.nc.Flush(); err != nil { // every message sent so far is now queued in sent
		t.Fatal(err)
	}
	if n, _, _ := sent.Pending(); n != rows {
		t.Errorf("relays sent %d messages for %d rows", n, rows)
	}
	if n := outboxRows(t, f.pool); n != 0 {
		t.Errorf("%d rows left in the outbox", n)
	}
}

// (d) Events reach the stream in seq order, across transactions and batches.
func TestRelayPublishesInSeqOrder(t *testing.T) {
	f := newFixture(t)
	var want []string
	for tx := range 5 {
		msgs := make([]outbox.Message, 13)
		for i := range msgs {
			msgs[i] = event(fmt.Sprintf("evt_d%d_%02d", tx, i))
			want = append(want, msgs[i].ID)
		}
		write(t, f.pool, msgs...)
	}
	startRelay(t, &outbox.Relay{Pool: f.pool, JS: f.js, Schema: schema, Logger: discard(), BatchSize: 7})

	got := receive(t, f.cons, len(want))
	if g, w := strings.Join(msgIDs(got), " "), strings.Join(want, " "); g != w {
		t.Errorf("stream order\n got %s\nwant %s", g, w)
	}
	var last uint64
	for _, m := range got {
		meta, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		if meta.Sequence.Stream <= last {
			t.Fatalf("stream sequence %d after %d", meta.Sequence.Stream, last)
		}
		last = meta.Sequence.Stream
	}
}

func TestAddRejectsDuplicateAndInvalid(t *testing.T) {
	pool := testkit.NewDatabase(t, migrations())
	write(t, pool, event("evt_once"))
	for _, tc := range []struct {
		name string
		msg  outbox.Message
	}{
		{"duplicate id", event("evt_once")},
		{"no id", outbox.Message{Subject: "events.x"}},
		{"no subject", outbox.Message{ID: "evt_x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pgx.BeginFunc(t.Context(), pool, func(tx pgx.Tx) error {
				return outbox.Add(t.Context(), tx, schema, tc.msg)
			})
			if err == nil {
				t.Error("Add succeeded")
			}
		})
	}
}

func TestRelayRejectsInvalidConfig(t *testing.T) {
	for _, r := range []*outbox.Relay{
		{},
		{Schema: schema},
		{Schema: schema, BatchSize: -1},
	} {
		if err := r.Run(t.Context()); err == nil {
			t.Errorf("Run(%+v) returned nil", r)
		}
	}
}

func TestDDLNamesSchema(t *testing.T) {
	ddl := outbox.DDL("hooks")
	for _, want := range []string{`CREATE TABLE "hooks"."outbox"`, `pg_notify('hooks_outbox', '')`, "seq        bigserial PRIMARY KEY", "id         text NOT NULL UNIQUE"} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %q:\n%s", want, ddl)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// recordSink is a slog handler that hands records to a channel, dropping
// them when it is full.
type recordSink struct{ ch chan<- slog.Record }

func (s recordSink) Enabled(context.Context, slog.Level) bool { return true }
func (s recordSink) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s recordSink) WithGroup(string) slog.Handler            { return s }
func (s recordSink) Handle(_ context.Context, r slog.Record) error {
	select {
	case s.ch <- r:
	default:
	}
	return nil
}

// waitForLog waits for a record whose message starts with prefix.
func waitForLog(t *testing.T, logs <-chan slog.Record, prefix string) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case r := <-logs:
			if strings.HasPrefix(r.Message, prefix) {
				return
			}
		case <-deadline:
			t.Fatalf("no log %q within %s", prefix, waitTimeout)
		}
	}
}
