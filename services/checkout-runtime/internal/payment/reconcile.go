package payment

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store/db"
)

// RefundReconciler settles refunds left pending: their request wrote the
// pending row but never recorded the provider's answer (the process
// crashed, or the provider did not answer), and refunds a provider left
// pending (Paystack's). It asks the provider again with the same refund id,
// which moves no more money (Provider.Refund is idempotent by refund id; see
// CreateRefund for Paystack, which has no idempotency key), and records the
// answer as the first request would have, with its events.
type RefundReconciler struct {
	Service *Service
	// Interval between passes.
	Interval time.Duration
	// StaleAfter is how long a refund stays pending before it is retried.
	// It exceeds refundCallTimeout, so a refund whose request still waits
	// for the provider is left to it (a retry would be harmless, only
	// wasted).
	StaleAfter time.Duration
}

// reconcileBatch bounds one pass; more wait for the next.
const reconcileBatch = 20

// Run reconciles every Interval until ctx ends.
func (r *RefundReconciler) Run(ctx context.Context) error {
	return every(ctx, r.Interval, func(ctx context.Context) error {
		_, err := r.ReconcileOnce(ctx)
		return err
	}, r.Service.Logger, "reconciling pending refunds")
}

// every runs pass now and then every interval until ctx ends; a pass's
// error is logged (as what) and the next pass runs on time.
func every(ctx context.Context, interval time.Duration, pass func(context.Context) error, logger *slog.Logger, what string) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := pass(ctx); err != nil && !errors.Is(err, context.Canceled) {
			logger.ErrorContext(ctx, what, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ReconcileOnce retries the stale pending refunds and returns how many it
// claimed.
func (r *RefundReconciler) ReconcileOnce(ctx context.Context) (int, error) {
	claimed, err := r.Service.Store.ClaimStalePendingRefunds(ctx, db.ClaimStalePendingRefundsParams{
		StaleBefore: time.Now().Add(-r.StaleAfter), MaxRefunds: reconcileBatch})
	if err != nil {
		return 0, err
	}
	for _, ref := range claimed {
		got, err := r.Service.RetryRefund(ctx, ref.ID)
		if err != nil {
			return len(claimed), err
		}
		r.Service.Logger.InfoContext(ctx, "pending refund reconciled", "refund", ref.ID, "status", got.Status)
	}
	return len(claimed), nil
}
