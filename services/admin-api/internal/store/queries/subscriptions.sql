-- name: CreateSubscription :one
INSERT INTO admin.subscriptions (id, organization_id, livemode, customer_id, status, items, currency,
    recurring_interval, recurring_interval_count, billing_anchor, current_period_start, current_period_end,
    discount_coupon, discount_duration, discount_end, checkout_session_id, tax_bps, metadata, created_at)
VALUES (@id, @organization_id, @livemode, @customer_id, 'active', @items, @currency,
    @recurring_interval, @recurring_interval_count, @billing_anchor, @current_period_start, @current_period_end,
    sqlc.narg(discount_coupon), sqlc.narg(discount_duration), sqlc.narg(discount_end), @checkout_session_id, @tax_bps, @metadata, @created_at)
RETURNING *;

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
SET status = 'canceled', canceled_at = @canceled_at, event_sequence = event_sequence + 1
WHERE id = @id AND status <> 'canceled'
RETURNING *;

-- name: SetLatestInvoice :one
UPDATE admin.subscriptions SET latest_invoice_id = @latest_invoice_id, event_sequence = event_sequence + 1
WHERE id = @id
RETURNING *;

-- name: CreateInvoice :one
INSERT INTO admin.invoices (id, organization_id, livemode, subscription_id, customer_id, period_number, status,
    billing_reason, currency, lines, amount_subtotal, amount_discount, amount_tax, amount_total, discount_coupon,
    period_start, period_end, payment_id, attempt_count, paid_at, created_at)
VALUES (@id, @organization_id, @livemode, @subscription_id, @customer_id, @period_number, @status,
    @billing_reason, @currency, @lines, @amount_subtotal, @amount_discount, @amount_tax, @amount_total, sqlc.narg(discount_coupon),
    @period_start, @period_end, sqlc.narg(payment_id), @attempt_count, sqlc.narg(paid_at), @created_at)
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
