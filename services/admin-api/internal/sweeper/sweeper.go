// Package sweeper runs admin-api's periodic work: expiring sessions past their
// expires_at (with their checkout.session.expired events) and purging
// idempotency records older than their 24-hour replay window.
package sweeper

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/catalog/discount"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/events"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/grpcapi"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
)

// batchSize bounds one expiry transaction, so that its locks are short.
const batchSize = 100

// Sweeper expires due sessions. Several replicas may run one each: claims
// use FOR UPDATE SKIP LOCKED, so they share the work instead of colliding.
type Sweeper struct {
	Store        *store.Store
	CheckoutBase string
	Interval     time.Duration
	Logger       *slog.Logger
}

// Run sweeps every Interval until ctx ends.
func (s *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		for {
			n, err := s.ExpireDue(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.Logger.ErrorContext(ctx, "expiring sessions", "err", err)
				}
				break
			}
			if n < batchSize {
				break
			}
		}
		if n, err := s.Store.PurgeIdempotencyKeys(ctx); err != nil {
			if ctx.Err() == nil {
				s.Logger.ErrorContext(ctx, "purging idempotency keys", "err", err)
			}
		} else if n > 0 {
			s.Logger.InfoContext(ctx, "purged idempotency keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ExpireDue expires one batch of due sessions in one transaction, each with
// its event, and reports how many it expired.
func (s *Sweeper) ExpireDue(ctx context.Context) (int, error) {
	n := 0
	err := s.Store.InTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		due, err := q.ClaimDueSessions(ctx, batchSize)
		if err != nil {
			return store.Wrap(err, "claim due sessions")
		}
		rows := make([]db.AdminCheckoutSession, 0, len(due))
		for _, id := range due {
			row, err := q.ExpireDueSession(ctx, id)
			if err != nil {
				return store.Wrap(err, "expire session")
			}
			if _, err := grpcapi.EmitSessionEvent(ctx, tx, row, events.SessionExpired, s.CheckoutBase); err != nil {
				return err
			}
			rows = append(rows, row)
		}
		n = len(due)
		return releaseDiscounts(ctx, q, rows)
	})
	return n, err
}

// releaseDiscounts gives back the redemptions the expired sessions held, in
// the order of their coupons and codes: two sweepers then lock the coupon
// rows in the same order and cannot deadlock each other (nor a session
// creation, which locks a coupon before its code).
func releaseDiscounts(ctx context.Context, q *db.Queries, rows []db.AdminCheckoutSession) error {
	key := func(r db.AdminCheckoutSession) string {
		return deref(r.DiscountCoupon) + "\x00" + deref(r.DiscountPromotionCode)
	}
	slices.SortFunc(rows, func(a, b db.AdminCheckoutSession) int { return strings.Compare(key(a), key(b)) })
	for _, r := range rows {
		if err := discount.End(ctx, q, r, false); err != nil {
			return err
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
