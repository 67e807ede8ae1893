package pgkit

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// InTx runs fn in one transaction on a connection of pool and commits it
// when fn returns nil (rolls it back otherwise), like pgx.BeginFunc, but
// without round trips of its own: BEGIN is sent together with the
// transaction's first statement, and COMMIT together with the statements
// queued by [AtCommit]. A transaction of an UPDATE … RETURNING and an outbox
// INSERT takes two round trips instead of four; one whose only statement is
// a read or write still saves the BEGIN's.
//
// The transaction fn gets is a [*Tx]; nested transactions (Begin) and large
// objects are not supported.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection left inside a transaction (a failed rollback) is closed by
	// Release rather than returned to the pool.
	defer conn.Release()
	tx := &Tx{conn: conn.Conn()}
	defer func() {
		if !tx.done {
			// fn failed or panicked: roll back, even if ctx is cancelled.
			if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil && err == nil {
				err = rerr
			}
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// AtCommit queues b's statements to run when tx commits, in the COMMIT's
// round trip, if tx is a [*Tx]; any other transaction runs them now. Their
// results are not returned: use it for writes nobody reads back in the
// transaction (outbox rows). If one fails, the commit fails and the whole
// transaction is rolled back. b's statements must not have callbacks (Fn).
func AtCommit(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
	if t, ok := tx.(*Tx); ok {
		if t.done {
			return pgx.ErrTxClosed
		}
		t.atCommit = append(t.atCommit, b.QueuedQueries...)
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

// Tx is the transaction of [InTx]. It implements pgx.Tx, and so sqlc's
// Queries.WithTx.
type Tx struct {
	conn     *pgx.Conn
	begun    bool // BEGIN has been sent
	done     bool // committed or rolled back
	atCommit []*pgx.QueuedQuery
}

var errNotSupported = errors.New("pgkit: not supported in a pipelined transaction")

// withBegin returns a batch of BEGIN followed by queries.
func withBegin(queries ...*pgx.QueuedQuery) *pgx.Batch {
	b := &pgx.Batch{}
	b.Queue("begin")
	b.QueuedQueries = append(b.QueuedQueries, queries...)
	return b
}

// sendWithBegin sends queries, preceded by BEGIN if it has not been sent,
// and returns their results, the BEGIN's already read.
func (t *Tx) sendWithBegin(ctx context.Context, queries ...*pgx.QueuedQuery) pgx.BatchResults {
	if t.begun {
		return t.conn.SendBatch(ctx, &pgx.Batch{QueuedQueries: queries})
	}
	t.begun = true
	br := t.conn.SendBatch(ctx, withBegin(queries...))
	// A failed BEGIN fails the results that follow as well: they report it.
	_, _ = br.Exec()
	return br
}

// Exec runs sql, with BEGIN in the same round trip if it is the first statement.
func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.done {
		return pgconn.CommandTag{}, pgx.ErrTxClosed
	}
	if t.begun {
		return t.conn.Exec(ctx, sql, args...)
	}
	br := t.sendWithBegin(ctx, &pgx.QueuedQuery{SQL: sql, Arguments: args})
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query runs sql, with BEGIN in the same round trip if it is the first statement.
func (t *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.done {
		return nil, pgx.ErrTxClosed
	}
	if t.begun {
		return t.conn.Query(ctx, sql, args...)
	}
	br := t.sendWithBegin(ctx, &pgx.QueuedQuery{SQL: sql, Arguments: args})
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow runs sql, with BEGIN in the same round trip if it is the first statement.
func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := t.Query(ctx, sql, args...)
	return &firstRow{rows: rows, err: err}
}

// SendBatch sends b, with BEGIN in the same round trip if it holds the
// transaction's first statements.
func (t *Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.done {
		return pgx.FailedBatchResults(b, pgx.ErrTxClosed)
	}
	if t.begun {
		return t.conn.SendBatch(ctx, b)
	}
	return t.sendWithBegin(ctx, b.QueuedQueries...)
}

// Commit sends the statements queued by AtCommit and COMMIT in one round trip.
func (t *Tx) Commit(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	if len(t.atCommit) == 0 {
		if !t.begun {
			return nil // no statement: nothing to commit
		}
		return checkCommit(t.conn.Exec(ctx, "commit"))
	}
	if !t.begun {
		// Only queued writes: one batch is one implicit transaction.
		return t.conn.SendBatch(ctx, &pgx.Batch{QueuedQueries: t.atCommit}).Close()
	}
	b := &pgx.Batch{QueuedQueries: t.atCommit}
	b.Queue("commit")
	br := t.conn.SendBatch(ctx, b)
	err := func() error {
		for range t.atCommit {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		return checkCommit(br.Exec())
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil && t.conn.PgConn().TxStatus() != 'I' {
		// A queued statement failed, so COMMIT never ran: end the transaction.
		if _, rerr := t.conn.Exec(context.WithoutCancel(ctx), "rollback"); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}

// checkCommit reports a COMMIT that PostgreSQL answered with ROLLBACK (the
// transaction had failed), as pgx does.
func checkCommit(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return err
}

// Rollback ends the transaction without committing; the statements queued
// by AtCommit never run.
func (t *Tx) Rollback(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	if !t.begun {
		return nil
	}
	_, err := t.conn.Exec(ctx, "rollback")
	return err
}

// begin sends BEGIN on its own, for the methods that cannot carry it.
func (t *Tx) begin(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	if t.begun {
		return nil
	}
	t.begun = true
	_, err := t.conn.Exec(ctx, "begin")
	return err
}

// CopyFrom runs COPY FROM in the transaction.
func (t *Tx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.begin(ctx); err != nil {
		return 0, err
	}
	return t.conn.CopyFrom(ctx, table, columns, src)
}

// Prepare prepares a statement on the transaction's connection.
func (t *Tx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if err := t.begin(ctx); err != nil {
		return nil, err
	}
	return t.conn.Prepare(ctx, name, sql)
}

// Begin would start a nested transaction (a savepoint): not supported.
func (t *Tx) Begin(context.Context) (pgx.Tx, error) { return nil, errNotSupported }

// LargeObjects is not supported: it panics.
func (t *Tx) LargeObjects() pgx.LargeObjects { panic(errNotSupported) }

// Conn returns the transaction's connection.
func (t *Tx) Conn() *pgx.Conn { return t.conn }

// batchRows are the rows of a batch's last query: closing them closes the batch.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r *batchRows) Close() {
	r.Rows.Close()
	r.br.Close()
}

// firstRow is pgx.Row over Rows: the first row, or pgx.ErrNoRows.
type firstRow struct {
	rows pgx.Rows
	err  error
}

func (r *firstRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
