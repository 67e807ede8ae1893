-- name: CreateSubscription :one
-- An incomplete one (its first payment pending) has no renewal due until
-- it is paid.
INSERT INTO admin.subscriptions (id, organization_id, livemode, customer_id, status, items, currency,
    recurring_interval, recurring_interval_count, billing_anchor, current_period_start, current_period_end,
    discount_coupon, discount_duration, discount_end, checkout_session_id, tax_bps, metadata, created_at,
    default_payment_method, test_clock_id, next_action_at, trial_start, trial_end, custom_fields)
VALUES (@id, @organization_id, @livemode, @customer_id, @status, @items, @currency,
    @recurring_interval, @recurring_interval_count, @billing_anchor, @current_period_start, @current_period_end,
    sqlc.narg(discount_coupon), sqlc.narg(discount_duration), sqlc.narg(discount_end), @checkout_session_id, @tax_bps, @metadata, @created_at,
    sqlc.narg(default_payment_method), sqlc.narg(test_clock_id),
    CASE WHEN @status::text = 'incomplete' THEN NULL ELSE @current_period_end::timestamptz END,
    sqlc.narg(trial_start), sqlc.narg(trial_end), sqlc.narg(custom_fields))
RETURNING *;

-- name: GetSubscriptionBySession :one
SELECT * FROM admin.subscriptions WHERE checkout_session_id = $1 FOR UPDATE;

-- name: ActivateSubscription :one
-- The first payment of an incomplete subscription succeeded: active (or
-- trialing), its renewal due at the period's end.
UPDATE admin.subscriptions
SET status = CASE WHEN trial_end IS NOT NULL THEN 'trialing' ELSE 'active' END,
    default_payment_method = COALESCE(sqlc.narg(default_payment_method), default_payment_method),
    tax_bps = @tax_bps, next_action_at = current_period_end, event_sequence = event_sequence + 1
WHERE id = @id AND status = 'incomplete'
RETURNING *;

-- name: ExpireSubscription :one
-- The first payment of an incomplete subscription failed: it never starts.
UPDATE admin.subscriptions
SET status = 'incomplete_expired', next_action_at = NULL, event_sequence = event_sequence + 1
WHERE id = @id AND status = 'incomplete'
RETURNING *;

-- name: ChangeSubscriptionItems :one
-- An update's new items, with the proration lines for the next invoice.
UPDATE admin.subscriptions
SET items = @items, pending_lines = @pending_lines, event_sequence = event_sequence + 1
WHERE id = @id
RETURNING *;

-- name: ClearPendingLines :exec
UPDATE admin.subscriptions SET pending_lines = @pending_lines WHERE id = @id;

-- name: VoidInvoice :one
UPDATE admin.invoices
SET status = 'void', voided_at = @voided_at, next_payment_attempt = NULL, event_sequence = event_sequence + 1
WHERE id = @id AND status = 'open'
RETURNING *;

-- name: LockInvoiceOf :one
SELECT * FROM admin.invoices WHERE id = $1 AND organization_id = $2 AND livemode = $3 FOR UPDATE;

-- name: GetSubscription :one
SELECT * FROM admin.subscriptions WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: LockSubscription :one
SELECT * FROM admin.subscriptions WHERE id = $1 AND organization_id = $2 AND livemode = $3 FOR UPDATE;

-- name: GetSubscriptionSeq :one
SELECT seq FROM admin.subscriptions WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: ListSubscriptions :many
SELECT * FROM admin.subscriptions
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(customer)::text IS NULL OR customer_id = sqlc.narg(customer))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: UpdateSubscription :one
UPDATE admin.subscriptions
SET cancel_at_period_end = @cancel_at_period_end, metadata = @metadata, event_sequence = event_sequence + 1
WHERE id = @id
RETURNING *;

-- name: CancelSubscription :one
UPDATE admin.subscriptions
SET status = 'canceled', canceled_at = @canceled_at, next_action_at = NULL, event_sequence = event_sequence + 1
WHERE id = @id AND status <> 'canceled'
RETURNING *;

-- name: SetLatestInvoice :one
UPDATE admin.subscriptions SET latest_invoice_id = @latest_invoice_id, event_sequence = event_sequence + 1
WHERE id = @id
RETURNING *;

-- name: CreateInvoice :one
INSERT INTO admin.invoices (id, organization_id, livemode, subscription_id, customer_id, period_number, status,
    billing_reason, currency, lines, amount_subtotal, amount_discount, amount_tax, amount_total, discount_coupon,
    period_start, period_end, payment_id, attempt_count, paid_at, created_at, custom_fields)
VALUES (@id, @organization_id, @livemode, @subscription_id, @customer_id, @period_number, @status,
    @billing_reason, @currency, @lines, @amount_subtotal, @amount_discount, @amount_tax, @amount_total, sqlc.narg(discount_coupon),
    @period_start, @period_end, sqlc.narg(payment_id), @attempt_count, sqlc.narg(paid_at), @created_at, sqlc.narg(custom_fields))
RETURNING *;

-- name: GetInvoice :one
SELECT * FROM admin.invoices WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: GetInvoiceSeq :one
SELECT seq FROM admin.invoices WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: ListInvoices :many
SELECT * FROM admin.invoices
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(subscription)::text IS NULL OR subscription_id = sqlc.narg(subscription))
  AND (sqlc.narg(customer)::text IS NULL OR customer_id = sqlc.narg(customer))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: ClaimDueSubscription :one
-- One subscription whose renewal or retry is due by @now, on the real
-- clock (@clock NULL) or on test clock @clock; SKIP LOCKED lets several
-- workers share the work. The claim pushes next_action_at ahead by a lease.
UPDATE admin.subscriptions SET next_action_at = @lease_until
WHERE id = (
    SELECT s.id FROM admin.subscriptions s
    WHERE s.next_action_at <= @now
      AND ((sqlc.narg(clock)::text IS NULL AND s.test_clock_id IS NULL) OR s.test_clock_id = sqlc.narg(clock))
    ORDER BY s.next_action_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: LockSubscriptionByID :one
SELECT * FROM admin.subscriptions WHERE id = $1 FOR UPDATE;

-- name: RenewSubscription :one
-- A paid (or voided) renewal: the next period, active again.
UPDATE admin.subscriptions
SET status = 'active', period_number = @period_number, current_period_start = @current_period_start,
    current_period_end = @current_period_end, latest_invoice_id = @latest_invoice_id,
    next_action_at = @current_period_end, event_sequence = event_sequence + 1
WHERE id = @id
RETURNING *;

-- name: SetSubscriptionOverdue :one
-- A failed renewal: past_due with its next retry due, or, at the end of
-- dunning, unpaid or past_due with nothing more due (next_action_at NULL).
UPDATE admin.subscriptions
SET status = @status, latest_invoice_id = @latest_invoice_id, next_action_at = sqlc.narg(next_action_at), event_sequence = event_sequence + 1
WHERE id = @id
RETURNING *;

-- name: GetDunningEnd :one
-- What the end of dunning does to a subscription: its checkout site's
-- setting.
SELECT st.subscription_dunning_end FROM admin.subscriptions s
JOIN admin.checkout_sessions cs ON cs.id = s.checkout_session_id
JOIN admin.sites st ON st.id = cs.site_id
WHERE s.id = $1;

-- name: SetNextAction :exec
UPDATE admin.subscriptions SET next_action_at = @next_action_at WHERE id = @id;

-- name: GetInvoiceForPeriod :one
SELECT * FROM admin.invoices WHERE subscription_id = $1 AND period_number = $2;

-- name: LockInvoice :one
SELECT * FROM admin.invoices WHERE id = $1 FOR UPDATE;

-- name: PayInvoice :one
UPDATE admin.invoices
SET status = 'paid', payment_id = @payment_id, paid_at = @paid_at, attempt_count = @attempt_count,
    next_payment_attempt = NULL, event_sequence = event_sequence + 1
WHERE id = @id AND status = 'open'
RETURNING *;

-- name: FailInvoiceAttempt :one
-- A failed attempt: open with its next retry, or uncollectible after the last.
UPDATE admin.invoices
SET status = @status, attempt_count = @attempt_count, next_payment_attempt = sqlc.narg(next_payment_attempt),
    event_sequence = event_sequence + 1
WHERE id = @id AND status = 'open'
RETURNING *;

-- name: CreateTestClock :one
INSERT INTO admin.test_clocks (id, organization_id, livemode, name, frozen_time)
VALUES ($1, $2, false, $3, $4)
RETURNING *;

-- name: GetTestClock :one
SELECT * FROM admin.test_clocks WHERE id = $1 AND organization_id = $2 AND NOT livemode;

-- name: LockTestClock :one
SELECT * FROM admin.test_clocks WHERE id = $1 AND organization_id = $2 AND NOT livemode FOR UPDATE;

-- name: SetTestClockTime :one
UPDATE admin.test_clocks SET frozen_time = $2 WHERE id = $1 RETURNING *;

-- name: StopInvoiceRetries :exec
-- A canceled subscription's open invoice is no longer retried (it stays
-- open: the customer still owes it).
UPDATE admin.invoices SET next_payment_attempt = NULL, event_sequence = event_sequence + 1
WHERE subscription_id = $1 AND status = 'open' AND next_payment_attempt IS NOT NULL;
