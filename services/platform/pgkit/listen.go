package pgkit

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/platform/retry"
)

// ListenHandlers are what Listen calls. Any of them may be nil.
type ListenHandlers struct {
	// Listening: LISTEN has taken effect (at start, and after each
	// reconnection). Notifications sent before it may have been missed.
	Listening func()
	// Notify: a notification arrived.
	Notify func()
	// Lost: the connection failed; Listen reconnects with backoff.
	Lost func()
}

// Listen holds a connection of its own (outside pool, with pool's settings)
// that LISTENs on channel, until ctx ends. It reconnects with backoff
// whenever the connection fails, logging an outage once when it starts and
// once when it ends.
func Listen(ctx context.Context, pool *pgxpool.Pool, channel string, logger *slog.Logger, h ListenHandlers) {
	failing := retry.Outage{Logger: logger, What: "LISTEN " + channel}
	var bo retry.Backoff
	for ctx.Err() == nil {
		err := listenOnce(ctx, pool, channel, func() {
			failing.Recovered()
			bo.Reset()
			call(h.Listening)
		}, h.Notify)
		call(h.Lost)
		if ctx.Err() != nil {
			return
		}
		failing.Failed(err)
		retry.Sleep(ctx, bo.Next())
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, channel string, listening, notify func()) error {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen %s: %w", channel, err)
	}
	listening()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification on %s: %w", channel, err)
		}
		call(notify)
	}
}

func call(f func()) {
	if f != nil {
		f()
	}
}
