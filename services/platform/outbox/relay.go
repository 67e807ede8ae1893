package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"
	"github.com/tillpoint/tillpoint/services/platform/retry"
)

const (
	// defaultBatchSize rows are claimed per transaction: enough to keep the
	// async publish pipeline full, few enough that row locks are held for
	// milliseconds.
	defaultBatchSize = 100
	// defaultPollInterval is the fallback poll. LISTEN/NOTIFY wakes the relay
	// at once; polling only bounds the delay when a notification is missed
	// (the listening connection was being re-established).
	defaultPollInterval = time.Second
	// ackTimeout is how long to wait for JetStream to acknowledge a batch.
	// A healthy server answers in milliseconds; a silent one holds the
	// claimed rows' locks until this expires.
	ackTimeout = 5 * time.Second
	// batchTimeout bounds one whole batch (claim, publish, acks, delete,
	// commit). A batch is not cancelled by shutdown — finishing it avoids
	// re-publishing what was just acknowledged — so this also bounds how
	// long Run may take to return.
	batchTimeout = ackTimeout + 10*time.Second
)

// Relay publishes the rows of one schema's outbox table to JetStream in seq
// order and deletes them once JetStream has acknowledged them.
//
// Each row is published with Nats-Msg-Id = its id, so JetStream drops a copy
// published twice within the stream's duplicate window (a relay that crashed
// between the ack and its commit publishes the row again). Rows are never
// dropped: while NATS or PostgreSQL is down the relay retries with a capped
// exponential backoff. Several replicas may run against the same table; each
// claims its rows with FOR UPDATE SKIP LOCKED. Order is seq order within
// what one relay publishes; with several replicas, or after a partially
// failed batch, a later event can land first, so consumers order by the
// event's own sequence, not by arrival.
//
// The relay logs when publishing starts failing and when it recovers, not
// per message; RegisterBacklog exports how many events wait and how long.
type Relay struct {
	// Pool is the service's database pool. The relay also opens one
	// connection of its own (outside the pool) to LISTEN.
	Pool *pgxpool.Pool
	// JS publishes; the relay uses its connection with a publisher of its
	// own, so its pending acks never mix with the service's other publishes.
	JS jetstream.JetStream
	// Schema owns the outbox table (<Schema>.outbox, created from DDL).
	Schema string
	// Logger receives the relay's failure and recovery lines; nil means
	// slog.Default().
	Logger *slog.Logger
	// BatchSize is the most rows claimed per transaction; 0 means 100.
	BatchSize int
	// PollInterval is the fallback poll; 0 means one second.
	PollInterval time.Duration
}

// Run relays until ctx is cancelled, then returns nil once the batch in
// flight (if any) is finished. It returns an error only for an invalid
// Relay; outages of NATS or PostgreSQL are retried, never returned.
func (r *Relay) Run(ctx context.Context) error {
	if err := r.validate(); err != nil {
		return err
	}
	logger := r.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("outbox", r.Schema)
	batchSize := orDefault(r.BatchSize, defaultBatchSize)
	pub, err := jetstream.New(r.JS.Conn(),
		jetstream.WithPublishAsyncTimeout(ackTimeout),
		// A whole batch is in flight at once; never stall inside it.
		jetstream.WithPublishAsyncMaxPending(batchSize))
	if err != nil {
		return fmt.Errorf("outbox relay %s: publisher: %w", r.Schema, err)
	}
	defer pub.CleanupPublisher()

	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait() // the listener stops with ctx
	// A wake also when LISTEN takes effect: rows may have committed while
	// nobody was listening.
	wg.Go(func() {
		pgkit.Listen(ctx, r.Pool, channelName(r.Schema), logger,
			pgkit.ListenHandlers{Listening: func() { signal(wake) }, Notify: func() { signal(wake) }})
	})

	poll := time.NewTicker(orDefault(r.PollInterval, defaultPollInterval))
	defer poll.Stop()
	failing := retry.Outage{Logger: logger, What: "outbox relay publishing"}
	var bo retry.Backoff
	for ctx.Err() == nil {
		n, err := r.relayBatch(ctx, pub, batchSize)
		if err != nil {
			if ctx.Err() == nil {
				failing.Failed(err)
			}
			retry.Sleep(ctx, bo.Next())
			continue
		}
		failing.Recovered()
		bo.Reset()
		if n == batchSize {
			continue // probably more waiting
		}
		select {
		case <-ctx.Done():
		case <-wake:
		case <-poll.C:
		}
	}
	return nil
}

func (r *Relay) validate() error {
	switch {
	case r.Pool == nil:
		return errors.New("outbox relay: Pool is required")
	case r.JS == nil:
		return errors.New("outbox relay: JS is required")
	case r.Schema == "":
		return errors.New("outbox relay: Schema is required")
	case r.BatchSize < 0:
		return fmt.Errorf("outbox relay: BatchSize %d is negative", r.BatchSize)
	case r.PollInterval < 0:
		return fmt.Errorf("outbox relay: PollInterval %s is negative", r.PollInterval)
	}
	return nil
}

// pending is a claimed outbox row.
type pending struct {
	seq     int64
	id      string
	subject string
	payload []byte
	headers map[string]string
}

func (p pending) natsMsg() *nats.Msg {
	m := nats.NewMsg(p.subject)
	m.Data = p.payload
	for k, v := range p.headers {
		m.Header.Set(k, v)
	}
	return m
}

// relayBatch claims up to batchSize rows, publishes them and deletes those
// JetStream acknowledged, in one transaction. It returns how many rows it
// relayed, and an error if any row is left for a retry.
func (r *Relay) relayBatch(ctx context.Context, pub jetstream.JetStream, batchSize int) (int, error) {
	if nc := pub.Conn(); !nc.IsConnected() {
		// Publishing now would only queue copies in the reconnect buffer;
		// the rows are safe in the table until the connection is back.
		return 0, fmt.Errorf("nats not connected (status %s)", nc.Status())
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), batchTimeout)
	defer cancel()

	// Two round trips around the publishing: BEGIN with the claim, the
	// DELETE of what JetStream acknowledged with the COMMIT.
	table := tableName(r.Schema)
	var claimed []pending
	var pubErr error
	acked := 0
	err := pgkit.InTx(ctx, r.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx,
			"SELECT seq, id, subject, payload, headers FROM "+table+
				" ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED", batchSize)
		if err != nil {
			return fmt.Errorf("claim from %s: %w", table, err)
		}
		claimed, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (pending, error) {
			var p pending
			err := row.Scan(&p.seq, &p.id, &p.subject, &p.payload, &p.headers)
			return p, err
		})
		if err != nil {
			return fmt.Errorf("claim from %s: %w", table, err)
		}
		if len(claimed) == 0 {
			return nil
		}
		var seqs []int64
		seqs, pubErr = publishAll(ctx, pub, claimed)
		acked = len(seqs)
		if acked == 0 {
			return nil
		}
		b := &pgx.Batch{}
		b.Queue("DELETE FROM "+table+" WHERE seq = ANY($1)", seqs)
		return pgkit.AtCommit(ctx, tx, b)
	})
	switch {
	case err != nil:
		return 0, fmt.Errorf("relay from %s: %w", table, err)
	case pubErr != nil:
		return acked, pubErr
	}
	return len(claimed), nil
}

// publishAll publishes claimed in order without waiting in between, then
// waits for every acknowledgement. It returns the seqs of the rows JetStream
// acknowledged (stored, or dropped as a duplicate of a stored copy) and the
// first failure.
func publishAll(ctx context.Context, pub jetstream.Publisher, claimed []pending) ([]int64, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(claimed))
	var firstErr error
	for _, p := range claimed {
		f, err := pub.PublishMsgAsync(p.natsMsg(),
			jetstream.WithMsgID(p.id),
			// No silent re-send of one message: it would land after the
			// later ones. The whole tail is retried in order instead.
			jetstream.WithRetryAttempts(0))
		if err != nil {
			// Stop: sending later rows now would put them ahead of this one.
			firstErr = fmt.Errorf("publish %s: %w", p.id, err)
			break
		}
		futures = append(futures, f)
	}
	acked := make([]int64, 0, len(futures))
	for i, f := range futures {
		select {
		case <-f.Ok():
			acked = append(acked, claimed[i].seq)
		case err := <-f.Err():
			if firstErr == nil {
				firstErr = fmt.Errorf("publish %s: %w", claimed[i].id, err)
			}
		case <-ctx.Done():
			if firstErr == nil {
				firstErr = fmt.Errorf("waiting for acks: %w", ctx.Err())
			}
			return acked, firstErr
		}
	}
	return acked, firstErr
}

// signal wakes the relay loop; wakes that arrive while one is pending merge.
func signal(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
