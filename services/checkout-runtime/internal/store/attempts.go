package store

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
)

// Installments is the installment plan of a payment attempt: Count 1 (a
// single payment) with no interest for all but card payments in installments.
type Installments struct {
	Count      int32
	MonthlyBps int64
	// Interest is the plan's interest in minor units; PaidBy, `customer` or
	// `merchant`, says whether the payment's amount includes it.
	Interest int64
	PaidBy   string
}

// AttemptLimits bound the payment attempts of one session, and of one client
// address, created after Since (the card-testing defence).
type AttemptLimits struct {
	PerSession, PerIP int
	Since             time.Time
}

// lockAttemptsSQL takes a transaction-scoped advisory lock on a key. Every
// writer of a limited key takes its locks in the same order (session, then
// address), so two writers never wait for each other in a cycle; a hash
// collision between two keys only makes them wait for each other.
const lockAttemptsSQL = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`

// attemptCounts is the condition of an attempt within its limits, on the
// statement's parameters session ($2), address (ip), since, perSession and
// perIP: the session's and the address's payments and card setups (a free
// trial's attempts, which check a card as a payment does) since then, each
// under its limit.
func attemptCounts(ip, since, perSession, perIP int) string {
	return fmt.Sprintf(`
WHERE (SELECT count(*) FROM runtime.payments WHERE session_id = $2::text AND created_at > $%[2]d::timestamptz)
    + (SELECT count(*) FROM runtime.card_setups WHERE session_id = $2::text AND created_at > $%[2]d::timestamptz) < $%[3]d::bigint
  AND ($%[1]d::inet IS NULL
       OR (SELECT count(*) FROM runtime.payments WHERE client_ip = $%[1]d::inet AND created_at > $%[2]d::timestamptz)
        + (SELECT count(*) FROM runtime.card_setups WHERE client_ip = $%[1]d::inet AND created_at > $%[2]d::timestamptz) < $%[4]d::bigint)`,
		ip, since, perSession, perIP)
}

// createWithinLimitsSQL inserts the payment only while both counts are under
// their limits. It must be a statement after the locks: in READ COMMITTED a
// statement sees what committed before it started, so only a count taken
// once the lock is held sees every attempt that held the lock before.
var createWithinLimitsSQL = `
INSERT INTO runtime.payments (id, session_id, organization_id, livemode, method, provider, status,
    currency, amount, amount_tax, reference, billing_name, billing_email, billing_country,
    billing_postal_code, billing_region, client_ip, provider_account, installment_count,
    installment_monthly_bps, installment_interest, installment_interest_paid_by)
SELECT $1::text, $2::text, $3::text, $4::boolean, $5::text, $6::text, 'processing',
    $7::text, $8::bigint, $9::bigint, $10::text, $11::text, $12::text, $13::text,
    $14::text, $15::text, $16::inet, $20::text, $21::integer, $22::bigint, $23::bigint, $24::text` + attemptCounts(16, 17, 18, 19) + `
RETURNING *`

// CreatePaymentWithinLimits records a payment attempt unless the session or
// the client address has reached its limit; then it returns ok false and no
// payment. Count and insert are atomic: advisory locks on the session and on
// the address serialise the attempts that share one, so that concurrent
// attempts cannot all see the same count. The locks and the insert go as one
// pgx batch: one round trip on the payment path, and one implicit
// transaction, whose end releases the locks. account is the provider account
// (pa_…) making the payment, or nil for a built-in provider; plan is its
// installment plan.
func (s *Store) CreatePaymentWithinLimits(ctx context.Context, p db.CreatePaymentParams, account *string, plan Installments, lim AttemptLimits) (payment db.RuntimePayment, ok bool, err error) {
	return insertWithinLimits[db.RuntimePayment](ctx, s, p.SessionID, p.ClientIp, createWithinLimitsSQL, p.ID, p.SessionID, p.OrganizationID,
		p.Livemode, p.Method, p.Provider, p.Currency, p.Amount, p.AmountTax, p.Reference, p.BillingName, p.BillingEmail, p.BillingCountry,
		p.BillingPostalCode, p.BillingRegion, p.ClientIp, lim.Since, int64(lim.PerSession), int64(lim.PerIP), account,
		plan.Count, plan.MonthlyBps, plan.Interest, plan.PaidBy)
}

// createSetupWithinLimitsSQL inserts a card setup attempt (status
// processing) on the same terms as createWithinLimitsSQL.
var createSetupWithinLimitsSQL = `
INSERT INTO runtime.card_setups (id, session_id, organization_id, livemode, provider, provider_account, currency, tax_bps, client_ip)
SELECT $1::text, $2::text, $3::text, $4::boolean, $5::text, $6::text, $7::text, $8::bigint, $9::inet` + attemptCounts(9, 10, 11, 12) + `
RETURNING *`

// CreateCardSetupWithinLimits records a card setup attempt (a free trial's
// checkout) unless the session or the client address has reached its
// limit, counting payments and setups alike, under the same locks as
// CreatePaymentWithinLimits; ok is false at the limit.
func (s *Store) CreateCardSetupWithinLimits(ctx context.Context, st db.RuntimeCardSetup, lim AttemptLimits) (db.RuntimeCardSetup, bool, error) {
	return insertWithinLimits[db.RuntimeCardSetup](ctx, s, st.SessionID, st.ClientIp, createSetupWithinLimitsSQL, st.ID, st.SessionID,
		st.OrganizationID, st.Livemode, st.Provider, st.ProviderAccount, st.Currency, st.TaxBps,
		st.ClientIp, lim.Since, int64(lim.PerSession), int64(lim.PerIP))
}

// insertWithinLimits runs insertSQL (an INSERT … WHERE attemptCounts
// RETURNING *) after the session's and the address's advisory locks, in
// one batch: one round trip, one implicit transaction whose end releases
// the locks. ok is false when the insert made no row (a limit).
func insertWithinLimits[T any](ctx context.Context, s *Store, sessionID string, ip *netip.Addr, insertSQL string, args ...any) (row T, ok bool, err error) {
	b := &pgx.Batch{}
	b.Queue(lockAttemptsSQL, "runtime.payments.session:"+sessionID)
	if ip != nil {
		b.Queue(lockAttemptsSQL, "runtime.payments.client_ip:"+ip.String())
	}
	b.Queue(insertSQL, args...)
	br := s.Pool.SendBatch(ctx, b)
	defer br.Close()
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			return row, false, err
		}
	}
	rows, err := br.Query()
	if err != nil {
		return row, false, err
	}
	row, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[T])
	if IsNoRows(err) {
		return row, false, br.Close()
	} else if err != nil {
		return row, false, err
	}
	return row, true, br.Close()
}
