// Package store is hooks' data access: the sqlc queries of the hooks schema
// over a pgx pool.
package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/platform/pgkit"

	"github.com/tillpoint/tillpoint/services/hooks/internal/store/db"
)

// Store runs queries on the hooks schema.
type Store struct {
	Pool *pgxpool.Pool
	*db.Queries
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{Pool: pool, Queries: db.New(pool)} }

// InTx runs fn in one transaction, committing when it returns nil; the
// transaction's BEGIN and COMMIT take no round trips of their own (pgkit.InTx).
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx, q *db.Queries) error) error {
	return pgkit.InTx(ctx, s.Pool, func(tx pgx.Tx) error { return fn(tx, s.Queries.WithTx(tx)) })
}

// IsNoRows reports whether err means the query found nothing.
func IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
