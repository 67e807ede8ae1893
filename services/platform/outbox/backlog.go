package outbox

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// backlogCountCap bounds the rows counted per scrape. The table is empty
// but for a moment in normal running (the relay deletes what it
// published); in an outage it grows, and counting all of it at every scrape
// would add a full scan to the outage. Past the cap the gauge reads the cap:
// the age, not the count, is what the alert watches.
const backlogCountCap = 100_000

// backlogQueryTimeout bounds one gauge's query, within a scrape's usual
// 10 s timeout.
const backlogQueryTimeout = 2 * time.Second

// RegisterBacklog registers on reg two gauges of schema's outbox, read from
// the table at each scrape and labelled outbox=<schema>:
//
//   - outbox_oldest_event_age_seconds: the age of the event the relay
//     publishes next (the lowest seq, found through the primary key), 0 when
//     none waits;
//   - outbox_unpublished_events: the rows not yet published and deleted,
//     counted up to 100,000.
//
// The rows are unpublished by construction: the relay deletes each row as
// it commits JetStream's acknowledgement. A gauge whose query fails (the
// database is unreachable) reads NaN for that scrape, which no threshold
// matches: the services' own 503 and database alerts cover that case.
func RegisterBacklog(reg prometheus.Registerer, pool *pgxpool.Pool, schema string) error {
	if schema == "" {
		return fmt.Errorf("outbox: schema is required")
	}
	table := tableName(schema)
	labels := prometheus.Labels{"outbox": schema}
	gauges := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "outbox_oldest_event_age_seconds",
			Help:        "Age of the oldest event of the outbox not yet published to JetStream (0 when none waits).",
			ConstLabels: labels,
		}, backlogQuery(pool, "SELECT coalesce(extract(epoch FROM greatest(clock_timestamp() - "+
			"(SELECT created_at FROM "+table+" ORDER BY seq LIMIT 1), interval '0')), 0)::float8")),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "outbox_unpublished_events",
			Help:        "Events of the outbox not yet published to JetStream (counted up to 100000).",
			ConstLabels: labels,
		}, backlogQuery(pool, fmt.Sprintf("SELECT count(*)::float8 FROM (SELECT 1 FROM %s LIMIT %d) t", table, backlogCountCap))),
	}
	for _, g := range gauges {
		if err := reg.Register(g); err != nil {
			return fmt.Errorf("outbox: register backlog metrics: %w", err)
		}
	}
	return nil
}

// backlogQuery is a gauge function reading one number with query.
func backlogQuery(pool *pgxpool.Pool, query string) func() float64 {
	return func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), backlogQueryTimeout)
		defer cancel()
		var v float64
		if err := pool.QueryRow(ctx, query).Scan(&v); err != nil {
			return math.NaN()
		}
		return v
	}
}
