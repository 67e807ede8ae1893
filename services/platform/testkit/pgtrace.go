package testkit

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGTrace records what a pool sends to PostgreSQL: every statement, alone
// or in a batch (BEGIN and COMMIT included), and the round trips — pgx
// writes each statement, or each whole batch, to the server in one write
// (once it has prepared them: the first use of a statement on a connection
// takes one more).
type PGTrace struct {
	mu     sync.Mutex
	sql    []string
	writes atomic.Int64
}

// TracedPool returns a pool on databaseURL of at most maxConns connections
// (0: pgx's default), closed at the end of the test, and its trace.
func TracedPool(t testing.TB, databaseURL string, maxConns int32) (*pgxpool.Pool, *PGTrace) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	tr := &PGTrace{}
	cfg.ConnConfig.Tracer = tr
	dial := cfg.ConnConfig.DialFunc
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		return countingConn{c, &tr.writes}, err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, tr
}

// RoundTrips is the number of writes to the server so far.
func (tr *PGTrace) RoundTrips() int64 { return tr.writes.Load() }

// Count is the number of statements so far that start with prefix (case
// and leading space ignored).
func (tr *PGTrace) Count(prefix string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, s := range tr.sql {
		if strings.HasPrefix(s, strings.ToLower(prefix)) {
			n++
		}
	}
	return n
}

func (tr *PGTrace) record(sql string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.sql = append(tr.sql, strings.ToLower(strings.TrimSpace(sql)))
}

// TraceQueryStart records a statement sent alone.
func (tr *PGTrace) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	tr.record(d.SQL)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (tr *PGTrace) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx.BatchTracer.
func (tr *PGTrace) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery records a statement of a batch.
func (tr *PGTrace) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	tr.record(d.SQL)
}

// TraceBatchEnd implements pgx.BatchTracer.
func (tr *PGTrace) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// countingConn counts its writes.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(b)
}
