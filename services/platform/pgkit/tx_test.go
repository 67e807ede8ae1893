package pgkit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// txPool is a pool of one connection on a database with an accounts table
// (a balance) and an outbox (unique ids), and its trace.
func txPool(t *testing.T) (*pgxpool.Pool, *testkit.PGTrace) {
	t.Helper()
	url := testkit.DatabaseURL(t)
	pool, trace := testkit.TracedPool(t, url, 1)
	if _, err := pool.Exec(t.Context(), `CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
		CREATE TABLE outbox (id text PRIMARY KEY, body int NOT NULL);
		INSERT INTO accounts VALUES (1, 100);`); err != nil {
		t.Fatal(err)
	}
	return pool, trace
}

// debit is the shape of an outbox transaction: a conditional UPDATE …
// RETURNING, then the event row built from what it returned.
func debit(ctx context.Context, tx pgx.Tx, amount int, eventID string) error {
	var balance int
	if err := tx.QueryRow(ctx, "UPDATE accounts SET balance = balance - $1 WHERE id = 1 RETURNING balance", amount).Scan(&balance); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("INSERT INTO outbox (id, body) VALUES ($1, $2)", eventID, balance)
	return pgkit.AtCommit(ctx, tx, b)
}

func state(t *testing.T, pool *pgxpool.Pool) (balance, events int) {
	t.Helper()
	if err := pool.QueryRow(t.Context(), "SELECT (SELECT balance FROM accounts WHERE id = 1), (SELECT count(*) FROM outbox)").Scan(&balance, &events); err != nil {
		t.Fatal(err)
	}
	return balance, events
}

func TestInTxTakesTwoRoundTripsForAnUpdateAndItsEvent(t *testing.T) {
	ctx := t.Context()
	pool, trace := txPool(t)
	// The first time, pgx prepares each statement (a round trip more).
	for i, id := range []string{"evt_warm", "evt_1"} {
		before := trace.RoundTrips()
		if err := pgkit.InTx(ctx, pool, func(tx pgx.Tx) error { return debit(ctx, tx, 10, id) }); err != nil {
			t.Fatal(err)
		}
		if got := trace.RoundTrips() - before; i == 1 && got != 2 {
			t.Errorf("an UPDATE … RETURNING and an outbox INSERT took %d round trips, want 2 (BEGIN with the UPDATE, the INSERT with COMMIT)", got)
		}
	}
	if balance, events := state(t, pool); balance != 80 || events != 2 {
		t.Errorf("balance %d, events %d; want 80 and 2", balance, events)
	}

	before := trace.RoundTrips()
	if err := pgkit.InTx(ctx, pool, func(pgx.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := trace.RoundTrips() - before; got != 0 {
		t.Errorf("an empty transaction took %d round trips, want 0", got)
	}
}

func TestInTxRollsBackEverythingWhenAQueuedWriteFails(t *testing.T) {
	ctx := t.Context()
	pool, _ := txPool(t)
	if err := pgkit.InTx(ctx, pool, func(tx pgx.Tx) error { return debit(ctx, tx, 10, "evt_1") }); err != nil {
		t.Fatal(err)
	}
	// The same event id again: the outbox INSERT fails at COMMIT.
	err := pgkit.InTx(ctx, pool, func(tx pgx.Tx) error { return debit(ctx, tx, 10, "evt_1") })
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("err = %v, want the unique violation of the queued INSERT", err)
	}
	if balance, events := state(t, pool); balance != 90 || events != 1 {
		t.Errorf("balance %d, events %d; want 90 and 1: the UPDATE must be rolled back with its event", balance, events)
	}
	// The pool's only connection is usable, outside any transaction.
	if err := pgkit.InTx(ctx, pool, func(tx pgx.Tx) error { return debit(ctx, tx, 5, "evt_2") }); err != nil {
		t.Fatal(err)
	}
	if balance, events := state(t, pool); balance != 85 || events != 2 {
		t.Errorf("balance %d, events %d; want 85 and 2", balance, events)
	}
}

func TestInTxRollsBackWhenFnFails(t *testing.T) {
	ctx := t.Context()
	pool, _ := txPool(t)
	boom := errors.New("boom")
	err := pgkit.InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := debit(ctx, tx, 10, "evt_1"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want fn's", err)
	}
	if balance, events := state(t, pool); balance != 100 || events != 0 {
		t.Errorf("balance %d, events %d; want 100 and 0", balance, events)
	}
}

func TestInTxReportsACommitThatRolledBack(t *testing.T) {
	ctx := t.Context()
	pool, _ := txPool(t)
	err := pgkit.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE accounts SET balance = 0 WHERE id = 1"); err != nil {
			return err
		}
		// A failed statement whose error fn ignores aborts the transaction.
		_, _ = tx.Exec(ctx, "SELECT 1/0")
		return nil
	})
	if !errors.Is(err, pgx.ErrTxCommitRollback) {
		t.Fatalf("err = %v, want pgx.ErrTxCommitRollback", err)
	}
	if balance, _ := state(t, pool); balance != 100 {
		t.Errorf("balance %d, want 100", balance)
	}
}

func TestInTxReadsBatchesAndNoRows(t *testing.T) {
	ctx := t.Context()
	pool, _ := txPool(t)
	err := pgkit.InTx(ctx, pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue("UPDATE accounts SET balance = balance + 1 WHERE id = 1")
		b.Queue("SELECT balance FROM accounts WHERE id = 1")
		br := tx.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			return err
		}
		var balance int
		if err := br.QueryRow().Scan(&balance); err != nil || balance != 101 {
			t.Errorf("balance in the batch %d (%v), want 101", balance, err)
		}
		if err := br.Close(); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT balance FROM accounts WHERE id = 2").Scan(&balance); !errors.Is(err, pgx.ErrNoRows) {
			t.Errorf("no row: err = %v, want pgx.ErrNoRows", err)
		}
		rows, _ := tx.Query(ctx, "SELECT generate_series(1, 3)")
		n, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil || len(n) != 3 {
			t.Errorf("rows %v (%v), want 3", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if balance, _ := state(t, pool); balance != 101 {
		t.Errorf("balance %d, want 101", balance)
	}
}

func TestInTxFirstStatementFailing(t *testing.T) {
	ctx := t.Context()
	pool, _ := txPool(t)
	err := pgkit.InTx(ctx, pool, func(tx pgx.Tx) error {
		var n int
		return tx.QueryRow(ctx, "SELECT 1/0").Scan(&n)
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "22012" {
		t.Fatalf("err = %v, want division by zero", err)
	}
	// Rolled back and usable.
	if err := pgkit.InTx(ctx, pool, func(tx pgx.Tx) error { return debit(ctx, tx, 1, "evt_1") }); err != nil {
		t.Fatal(err)
	}
}
