package payment

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// statementLog records the statements a pool sends (pgx's query tracer sees
// each Exec and Query, BEGIN and COMMIT included).
type statementLog struct {
	mu  sync.Mutex
	sql []string
}

func (l *statementLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sql = append(l.sql, strings.ToLower(strings.TrimSpace(d.SQL)))
	return ctx
}

func (l *statementLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (l *statementLog) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.sql {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// TestAuthorizedPaymentOpensOneTransaction: an authorised card payment
// records the provider's answer as one autocommit statement; the only
// explicit transaction of its path is the move to succeeded with its event
// (issue 12: BEGIN and COMMIT were a third of the payment's statements).
func TestAuthorizedPaymentOpensOneTransaction(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testkit.DatabaseURL(t, migrations.Set))
	if err != nil {
		t.Fatal(err)
	}
	log := &statementLog{}
	cfg.ConnConfig.Tracer = log
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := newService(t)
	s.Store = store.New(pool)

	res, err := s.Pay(t.Context(), Attempt{Method: "card", Card: &provider.Card{Number: provider.TestCardSuccess, Exp: "12/34", CVC: "123"},
		Billing: Billing{Name: "Ada", Email: "ada@example.com", Country: "FR", PostalCode: "75001"},
		Checkout: &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1", Site: &adminv1.Site{},
			CheckoutSession: &adminv1.CheckoutSession{Id: "cs_rt", Status: "open", Currency: "EUR",
				AmountSubtotal: 5000, AmountTotal: 5000, Reference: "TP-RT"}}})
	if err != nil || res.Payment.Status != StatusSucceeded {
		t.Fatalf("pay: %+v %v", res.Payment, err)
	}
	if begins, commits := log.count("begin"), log.count("commit"); begins != 1 || commits != 1 {
		t.Errorf("an authorised payment ran %d BEGIN and %d COMMIT; want 1 each (the move to succeeded with its event)", begins, commits)
	}
	var events int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM runtime.outbox").Scan(&events); err != nil || events != 1 {
		t.Errorf("outbox holds %d events (%v); want 1 (payment.succeeded)", events, err)
	}
}
