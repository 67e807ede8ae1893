// Package store is admin-api's data access: the sqlc queries in queries/ over a
// pgx pool, transactions, and the translation of PostgreSQL errors into domain
// errors (done once, here).
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// Store runs queries on the admin schema.
type Store struct {
	Pool *pgxpool.Pool
	*db.Queries
	cache cache
	batch batcher
}

// New returns a Store on pool. Its cache stays off until Listen runs.
func New(pool *pgxpool.Pool) *Store {
	s := &Store{Pool: pool, Queries: db.New(pool), batch: batcher{requests: make(chan *insertRequest)}}
	s.cache.reset(false)
	return s
}

// InTx runs fn in one transaction, committing when it returns nil; the
// transaction's BEGIN and COMMIT take no round trips of their own (pgkit.InTx).
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx, q *db.Queries) error) error {
	return pgkit.InTx(ctx, s.Pool, func(tx pgx.Tx) error {
		return fn(tx, s.Queries.WithTx(tx))
	})
}

// IsNoRows reports whether err means the query found nothing.
func IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// UniqueViolation returns the violated constraint's name if err is a unique
// violation.
func UniqueViolation(err error) (constraint string, ok bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	return "", false
}

// Wrap adds context to an unexpected database error.
func Wrap(err error, what string) error {
	return fmt.Errorf("%s: %w", what, err)
}
