package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgWatch accounts for PostgreSQL's work during a phase: the statements'
// calls and time (pg_stat_statements, reset at the start), and what its
// other processes did (autovacuum, a checkpoint), sampled from
// pg_stat_activity every 50 ms. A phase whose PostgreSQL CPU exceeds its
// statements' time is then explained in the report rather than guessed at.
type pgWatch struct {
	url    string
	cancel context.CancelFunc
	done   chan struct{}
	seen   map[string]int // background activity → samples
	n      int            // samples
}

// watchPG resets the statement statistics and starts sampling.
func watchPG(ctx context.Context, st stackInfo) (*pgWatch, error) {
	conn, err := pgx.Connect(ctx, st.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &pgWatch{url: st.DatabaseURL, cancel: cancel, done: make(chan struct{}), seen: map[string]int{}}
	go func() {
		defer close(w.done)
		defer conn.Close(context.Background())
		for {
			w.sample(ctx, conn)
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return w, nil
}

// sample counts the non-client processes at work (the idle main loops of
// the launchers, writers and checkpointer left out).
func (w *pgWatch) sample(ctx context.Context, conn *pgx.Conn) {
	rows, err := conn.Query(ctx, `SELECT backend_type || coalesce(' ' || left(regexp_replace(query, '\s+', ' ', 'g'), 60), '')
		FROM pg_stat_activity
		WHERE backend_type <> 'client backend' AND (backend_type LIKE 'autovacuum worker%' OR coalesce(wait_event, '') NOT IN
		      ('AutoVacuumMain', 'LogicalLauncherMain', 'BgWriterMain', 'BgWriterHibernate', 'CheckpointerMain', 'WalWriterMain'))`)
	if err != nil {
		return
	}
	defer rows.Close()
	w.n++
	for rows.Next() {
		var s string
		if rows.Scan(&s) == nil {
			w.seen[s]++
		}
	}
}

// stop ends the sampling and says, for units of work done in the phase
// (e.g. "deliveries"), the statements' calls and time per unit, the three
// largest, and the background activity seen in at least 5 % of samples.
func (w *pgWatch) stop(ctx context.Context, units int, unit string) (string, error) {
	w.cancel()
	<-w.done
	conn, err := pgx.Connect(ctx, w.url)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT calls, total_exec_time,
		       coalesce(substring(query FROM '-- name: (\w+)'), left(regexp_replace(query, '\s+', ' ', 'g'), 50))
		FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_%' ORDER BY total_exec_time DESC`)
	if err != nil {
		return "", err
	}
	var calls int64
	var total float64
	var top []string
	for rows.Next() {
		var c int64
		var t float64
		var q string
		if err := rows.Scan(&c, &t, &q); err != nil {
			return "", err
		}
		calls, total = calls+c, total+t
		if len(top) < 3 {
			top = append(top, fmt.Sprintf("%s %.3f calls, %.3f ms", q, float64(c)/float64(units), t/float64(units)))
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	var bg []string
	for s, n := range w.seen {
		if n*20 >= w.n {
			bg = append(bg, fmt.Sprintf("%s (%d of %d samples)", s, n, w.n))
		}
	}
	slices.Sort(bg)
	if len(bg) == 0 {
		bg = []string{"none"}
	}
	return fmt.Sprintf("PostgreSQL statements per %s: %.3f calls, %.3f ms (largest: %s); other PostgreSQL work seen: %s.",
		unit, float64(calls)/float64(units), total/float64(units), strings.Join(top, "; "), strings.Join(bg, ", ")), nil
}
