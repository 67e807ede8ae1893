package store

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/admin-api/migrations"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// lastQuery remembers the SQL and arguments of the last statement a pool
// sent, so that a test can ask PostgreSQL how it runs it.
type lastQuery struct {
	mu   sync.Mutex
	sql  string
	args []any
}

func (l *lastQuery) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sql, l.args = d.SQL, d.Args
	return ctx
}

func (l *lastQuery) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestListSessionsPlan: every filter and search the Checkouts page offers
// (site, status, payment status, created range, currency and amount range,
// email, order id, reference, payment id, and mixes of them), on the first
// page, the older page and back, reads a page off an index in the list's
// order — no sequential scan, no sort of more than the page, a few hundred
// 8 KB pages at most — even when another organization has more, newer
// sessions (GET /v1/checkout/sessions and the dashboard must stay so at a
// million sessions), and stays so once pgx's prepared statement has run
// many times, when PostgreSQL may switch to a generic plan made without the
// values. Each page is also checked against the same filter written
// plainly, so the plan is proven on the right answer.
func TestListSessionsPlan(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testkit.DatabaseURL(t, migrations.Set))
	if err != nil {
		t.Fatal(err)
	}
	trace := &lastQuery{}
	cfg.ConnConfig.Tracer = trace
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, q := range []string{
		`INSERT INTO admin.organizations (id, name) VALUES ('org_old', 'Old'), ('org_big', 'Big')`,
		`INSERT INTO admin.sites (id, organization_id, livemode, name, default_currency, payment_method_types)
		 SELECT o || '_site' || i, o, false, 'S', 'EUR', '{card}' FROM unnest('{org_old,org_big}'::text[]) o, generate_series(0, 7) i`,
		realisticSessionsSQL("org_old", 60_000, 90),
		realisticSessionsSQL("org_big", 100_000, 30), // newer: the last 30 days
		`VACUUM ANALYZE admin.checkout_sessions`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	str := func(s string) *string { return &s }
	i64 := func(n int64) *int64 { return &n }
	at := func(daysAgo int) *time.Time {
		d := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -daysAgo)
		return &d
	}
	// A cursor in the middle of org_old's history.
	var mid struct {
		seq     int64
		created time.Time
	}
	if err := pool.QueryRow(ctx, `SELECT seq, created_at FROM admin.checkout_sessions WHERE organization_id = 'org_old'
		ORDER BY created_at DESC, seq DESC OFFSET 30000 LIMIT 1`).Scan(&mid.seq, &mid.created); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		p    db.ListSessionsParams
		// where is the filter written plainly, for the expected page.
		where string
	}{
		{"no filter", db.ListSessionsParams{}, ``},
		{"site", db.ListSessionsParams{SiteID: str("org_old_site6")}, `site_id = 'org_old_site6'`},
		{"status open", db.ListSessionsParams{Status: str("open")}, `status = 'open'`},
		{"status expired", db.ListSessionsParams{Status: str("expired")}, `status = 'expired'`},
		{"paid", db.ListSessionsParams{PaymentStatus: str("paid")}, `payment_status = 'paid'`},
		{"site, complete, paid", db.ListSessionsParams{SiteID: str("org_old_site3"), Status: str("complete"), PaymentStatus: str("paid")},
			`site_id = 'org_old_site3' AND status = 'complete' AND payment_status = 'paid'`},
		{"created range", db.ListSessionsParams{CreatedGte: at(40), CreatedLt: at(33)},
			`created_at >= now()::date - 40 AND created_at < now()::date - 33`},
		{"created range, site, expired", db.ListSessionsParams{CreatedGte: at(60), CreatedLt: at(59), SiteID: str("org_old_site1"), Status: str("expired")},
			`created_at >= now()::date - 60 AND created_at < now()::date - 59 AND site_id = 'org_old_site1' AND status = 'expired'`},
		{"currency and amount range", db.ListSessionsParams{Currency: str("USD"), AmountGte: i64(50_000), AmountLte: i64(60_000)},
			`currency = 'USD' AND amount_total BETWEEN 50000 AND 60000`},
		{"amount at least, created range", db.ListSessionsParams{Currency: str("EUR"), AmountGte: i64(90_000), CreatedGte: at(80), CreatedLt: at(70)},
			`currency = 'EUR' AND amount_total >= 90000 AND created_at >= now()::date - 80 AND created_at < now()::date - 70`},
		{"email, other case", db.ListSessionsParams{CustomerEmail: str("Customer77@Example.com")}, `lower(customer_email) = 'customer77@example.com'`},
		{"email and status", db.ListSessionsParams{CustomerEmail: str("customer77@example.com"), Status: str("expired")},
			`lower(customer_email) = 'customer77@example.com' AND status = 'expired'`},
		{"order id", db.ListSessionsParams{OrderID: str("order-31337")}, `order_id = 'order-31337'`},
		{"reference", db.ListSessionsParams{Reference: str("org_old-31337")}, `reference = 'org_old-31337'`},
		{"payment id", db.ListSessionsParams{PaymentID: str("pay_org_old_31336")}, `payment_id = 'pay_org_old_31336'`},
		{"deep cursor", db.ListSessionsParams{BeforeCreated: &mid.created, BeforeSeq: &mid.seq},
			`(created_at, seq) < ('` + mid.created.Format(time.RFC3339Nano) + `', ` + strconv.FormatInt(mid.seq, 10) + `)`},
		{"deep cursor, site and paid", db.ListSessionsParams{BeforeCreated: &mid.created, BeforeSeq: &mid.seq, SiteID: str("org_old_site5"), PaymentStatus: str("paid")},
			`(created_at, seq) < ('` + mid.created.Format(time.RFC3339Nano) + `', ` + strconv.FormatInt(mid.seq, 10) + `) AND site_id = 'org_old_site5' AND payment_status = 'paid'`},
	} {
		c.p.OrganizationID, c.p.RowLimit = "org_old", 26
		first := checkPlan(t, pool, c.what, trace, func(q *db.Queries) ([]db.AdminCheckoutSession, error) { return q.ListSessions(ctx, c.p) })
		checkPage(t, pool, c.what, first, c.where, "created_at DESC, seq DESC")
		if len(first) < 26 {
			continue // a search's few rows: no next page
		}
		// Older (starting_after the page's last row), then back (ending_before
		// the older page's first row), as the page's links do.
		last := first[24]
		down := c.p
		down.BeforeCreated, down.BeforeSeq = &last.CreatedAt, &last.Seq
		older := checkPlan(t, pool, c.what+", older", trace, func(q *db.Queries) ([]db.AdminCheckoutSession, error) { return q.ListSessions(ctx, down) })
		if len(older) == 0 {
			t.Fatalf("%s: no older page", c.what)
		}
		up := sessionsAfterParams(c.p, older[0].CreatedAt, older[0].Seq)
		newer := checkPlan(t, pool, c.what+", newer", trace, func(q *db.Queries) ([]db.AdminCheckoutSession, error) { return q.ListSessionsAfter(ctx, up) })
		// Ascending: the first page's rows from first[24] up, and one more
		// when there are newer ones.
		if len(newer) < 25 || newer[0].ID != first[24].ID || newer[24].ID != first[0].ID {
			t.Errorf("%s: back from the older page, %d rows, not the first page's", c.what, len(newer))
		}
	}
}

// sessionsAfterParams is the ending_before query with p's filters.
func sessionsAfterParams(p db.ListSessionsParams, created time.Time, seq int64) db.ListSessionsAfterParams {
	return db.ListSessionsAfterParams{OrganizationID: p.OrganizationID, Livemode: p.Livemode, SiteID: p.SiteID,
		Status: p.Status, Customer: p.Customer, PaymentID: p.PaymentID, OrderID: p.OrderID, Uuid: p.Uuid, PaymentStatus: p.PaymentStatus,
		CustomerEmail: p.CustomerEmail, Reference: p.Reference, Currency: p.Currency, AmountGte: p.AmountGte, AmountLte: p.AmountLte,
		CreatedGte: p.CreatedGte, CreatedGt: p.CreatedGt, CreatedLte: p.CreatedLte, CreatedLt: p.CreatedLt,
		AfterCreated: created, AfterSeq: seq, RowLimit: p.RowLimit}
}

// checkPage compares a page with the same filter written plainly.
func checkPage(t *testing.T, pool *pgxpool.Pool, what string, got []db.AdminCheckoutSession, where, order string) {
	t.Helper()
	if where != "" {
		where = " AND " + where
	}
	rows, err := pool.Query(context.Background(), `SELECT id FROM admin.checkout_sessions WHERE organization_id = 'org_old'`+where+
		` ORDER BY `+order+` LIMIT 26`)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(got))
	for i, r := range got {
		ids[i] = r.ID
	}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("%s: page %v, want %v", what, ids, want)
	}
}

// realisticSessionsSQL inserts n sessions of an organization created over
// the last days days, oldest first (seq follows created_at, as it does when
// the API creates them), spread as a merchant's are: 8 sites of unequal
// share, a few currencies, amounts from 1.00 to 1,000.00, 5,000 customers'
// emails in mixed case on most, order ids on most, and statuses by age
// (open for a day, then expired or, half the time, complete and paid with
// a payment id). The bench loads the same shape (bench/cmd/bench).
func realisticSessionsSQL(org string, n, days int) string {
	return fmt.Sprintf(`INSERT INTO admin.checkout_sessions (id, organization_id, site_id, livemode, status, payment_status, currency,
		amount_subtotal, amount_tax, amount_total, line_items, success_url, cancel_url, reference, payment_method_types, locale,
		expires_at, created_at, customer_email, order_id, payment_id)
	SELECT '%[1]s_' || g, '%[1]s', '%[1]s_site' || (floor(8 * power((g::bigint * 7919 %% 1000) / 1000.0, 2)))::int, false,
		CASE WHEN c > now() - interval '1 day' THEN 'open' WHEN g %% 2 = 0 THEN 'complete' ELSE 'expired' END,
		CASE WHEN c <= now() - interval '1 day' AND g %% 2 = 0 THEN 'paid' ELSE 'unpaid' END,
		(ARRAY['EUR','EUR','EUR','USD','USD','GBP','JPY','GHS'])[1 + g %% 8],
		a, 0, a, '[]', 'https://x.example', 'https://x.example', '%[1]s-' || g, '{card}', 'auto',
		c + interval '1 day', c,
		CASE WHEN g %% 10 <> 0 THEN (CASE WHEN g %% 3 = 0 THEN 'Customer' ELSE 'customer' END) || (g %% 5000) || '@example.com' END,
		CASE WHEN g %% 4 <> 0 THEN 'order-' || g END,
		CASE WHEN c <= now() - interval '1 day' AND g %% 2 = 0 THEN 'pay_%[1]s_' || g END
	FROM generate_series(1, %[2]d) g,
		LATERAL (SELECT now() - interval '%[3]d days' * (1 - g::float8 / %[2]d) AS c, 100 + (g::bigint * 104729) %% 99900 AS a) v`,
		org, n, days)
}

// sessionsSQL inserts n open sessions of an organization.
func sessionsSQL(org, site string, n int) string {
	return `INSERT INTO admin.checkout_sessions (id, organization_id, site_id, livemode, status, payment_status, currency,
		amount_subtotal, amount_tax, amount_total, line_items, success_url, cancel_url, reference, payment_method_types, locale, expires_at)
		SELECT '` + org + `_' || g, '` + org + `', '` + site + `', false, 'open', 'unpaid', 'EUR', 100, 0, 100, '[]',
		'https://x.example', 'https://x.example', '` + org + `-' || g, '{card}', 'auto', now() + interval '1 day'
		FROM generate_series(1, ` + strconv.Itoa(n) + `) g`
}

// maxPagePages bounds the 8 KB pages one page of 26 sessions may touch:
// index pages until the page is full (fewer when the filter matches often)
// and the page's own rows; heap pages the visibility map does not yet
// cover add some. A walk of org_old's index (60,000 sessions) reads about
// 2,000, a scan of the table more.
const maxPagePages = 500

// checkPlan runs list ten times on one connection, as a busy replica does
// (PostgreSQL weighs a generic plan after the fifth run of a prepared
// statement), then checks that it kept planning with the values and that
// the plan for them reads a few pages, not the other organization's.
func checkPlan(t *testing.T, pool *pgxpool.Pool, what string, trace *lastQuery, list func(*db.Queries) ([]db.AdminCheckoutSession, error)) []db.AdminCheckoutSession {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	q := db.New(conn)
	var page []db.AdminCheckoutSession
	for range 10 {
		if page, err = list(q); err != nil {
			t.Fatal(err)
		}
	}
	trace.mu.Lock()
	sql, args := trace.sql, trace.args
	trace.mu.Unlock()
	var generic int64
	if err := conn.QueryRow(ctx, `SELECT generic_plans FROM pg_prepared_statements WHERE statement = $1`, sql).Scan(&generic); err != nil {
		t.Fatalf("%s: the prepared statement: %v", what, err)
	}
	if generic > 0 {
		t.Errorf("%s: PostgreSQL switched to a generic plan (%d runs)", what, generic)
	}
	rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	rows.Close()
	// The plan's first Buffers line is its top node's: every page read.
	m := regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`).FindStringSubmatch(plan.String())
	if m == nil {
		t.Fatalf("%s: no buffers in\n%s", what, plan.String())
	}
	hit, _ := strconv.Atoi(m[1])
	read, _ := strconv.Atoi("0" + m[2])
	if hit+read > maxPagePages {
		t.Errorf("%s reads %d pages, more than %d:\n%s", what, hit+read, maxPagePages, plan.String())
	}
	if strings.Contains(plan.String(), "Seq Scan") {
		t.Errorf("%s scans the table:\n%s", what, plan.String())
	}
	// A sort may only order the page's own rows (the outer query's), never
	// the filtered set.
	for _, m := range regexp.MustCompile(`Sort  \(cost=[^)]*\) \(actual time=[^ ]* rows=(\d+)`).FindAllStringSubmatch(plan.String(), -1) {
		if n, _ := strconv.Atoi(m[1]); n > maxPageRows {
			t.Errorf("%s sorts %d rows:\n%s", what, n, plan.String())
		}
	}
	t.Logf("%s: %d pages", what, hit+read)
	return page
}

// maxPageRows is the most rows a list query fetches (limit 100, plus one to
// learn whether more follow).
const maxPageRows = 101
