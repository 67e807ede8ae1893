package payment

import (
	"fmt"
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// TestAuthorizedPaymentOpensOneTransaction: an authorised card payment
// records the provider's answer, with its attempt, as one autocommit
// statement; the only
// explicit transaction of its path is the move to succeeded with its event
// (issue 12: BEGIN and COMMIT were a third of the payment's statements).
func TestAuthorizedPaymentOpensOneTransaction(t *testing.T) {
	pool, trace := testkit.TracedPool(t, testkit.DatabaseURL(t, migrations.Set), 0)
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
	if begins, commits := trace.Count("begin"), trace.Count("commit"); begins != 1 || commits != 1 {
		t.Errorf("an authorised payment ran %d BEGIN and %d COMMIT; want 1 each (the move to succeeded with its event)", begins, commits)
	}
	// The answered attempt is logged by the statement that records the
	// answer: no statement of its own.
	if logs, sets := trace.Count("-- name: RecordPaymentAttempt"), trace.Count("-- name: SetAuthorization"); logs != 0 || sets != 1 {
		t.Errorf("%d attempt statements and %d SetAuthorization; want 0 and 1 (the attempt logged with the answer)", logs, sets)
	}
	if got := fmt.Sprint(attemptsOf(t, s, res.Payment.ID)); got != "[ authorized  false]" {
		t.Errorf("attempts %s, want the authorised one", got)
	}
	var events int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM runtime.outbox").Scan(&events); err != nil || events != 1 {
		t.Errorf("outbox holds %d events (%v); want 1 (payment.succeeded)", events, err)
	}
}
