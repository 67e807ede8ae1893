// Package pgkit connects to PostgreSQL and applies schema migrations.
package pgkit

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// defaultConnectTimeout bounds one connection attempt when the URL sets
	// no connect_timeout, so that an unreachable server fails a request or
	// a start-up promptly instead of hanging on the kernel's TCP timeout.
	defaultConnectTimeout = 5 * time.Second
	// maxConnIdleTime closes connections idle this long, so a pool shrinks
	// back after a burst and does not hold server slots (max_connections
	// is shared by every service and replica).
	maxConnIdleTime = 5 * time.Minute
	// defaultMaxConns is the pool size when the URL sets no pool_max_conns.
	// pgxpool's own default (the CPU count, at least 4) makes requests
	// queue for a connection while others wait on the network inside a
	// transaction; 16 per process keeps three services and a few replicas
	// well inside PostgreSQL's default max_connections of 100.
	defaultMaxConns = 16
)

// Connect returns a pool on the database at databaseURL (a postgres:// URL or a
// key=value DSN; pool_* parameters such as pool_max_conns are honoured)
// after checking once that the server answers. Error messages never contain
// the password.
func Connect(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("pgkit: invalid database URL: %w", hidePassword(err, passwordIn(databaseURL)))
	}
	password := cfg.ConnConfig.Password
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	cfg.MaxConnIdleTime = maxConnIdleTime
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	where := fmt.Sprintf("%s@%s:%d/%s", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgkit: connect to %s: %w", where, hidePassword(err, password))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgkit: connect to %s: %w", where, hidePassword(err, password))
	}
	return pool, nil
}

// passwordIn returns the password of a connection URL, also of one too
// malformed to parse: then everything between "://" and the last "@".
func passwordIn(connString string) string {
	if u, err := url.Parse(connString); err == nil {
		p, _ := u.User.Password()
		return p
	}
	i, j := strings.Index(connString, "://"), strings.LastIndex(connString, "@")
	if i >= 0 && j > i+3 {
		return connString[i+3 : j]
	}
	return ""
}

// hidePassword masks password wherever it appears in err's message, keeping
// err as the cause for errors.Is and errors.As.
func hidePassword(err error, password string) error {
	if password == "" {
		return err
	}
	return &maskedError{err: err, secret: password}
}

type maskedError struct {
	err    error
	secret string
}

func (e *maskedError) Error() string { return strings.ReplaceAll(e.err.Error(), e.secret, "xxxxx") }
func (e *maskedError) Unwrap() error { return e.err }
