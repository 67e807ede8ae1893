-- name: GetPaymentSeq :one
-- A payment's place in lists, for cursors: only the caller's, in its mode.
SELECT seq FROM runtime.payments WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: ListPayments :many
SELECT * FROM runtime.payments
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(session_id)::text IS NULL OR session_id = sqlc.narg(session_id))
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status))
  AND (sqlc.narg(created_gte)::timestamptz IS NULL OR created_at >= sqlc.narg(created_gte))
  AND (sqlc.narg(created_gt)::timestamptz IS NULL OR created_at > sqlc.narg(created_gt))
  AND (sqlc.narg(created_lte)::timestamptz IS NULL OR created_at <= sqlc.narg(created_lte))
  AND (sqlc.narg(created_lt)::timestamptz IS NULL OR created_at < sqlc.narg(created_lt))
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: RefundsOfPayments :many
-- The newest refunds of some payments, at most per_payment each, newest first.
SELECT r.* FROM unnest(@payment_ids::text[]) AS p(id)
CROSS JOIN LATERAL (SELECT * FROM runtime.refunds WHERE payment_id = p.id ORDER BY seq DESC LIMIT @per_payment) AS r
ORDER BY r.seq DESC;

-- name: ReservedForRefunds :one
-- What pending and succeeded refunds take from a payment. Read under the
-- payment's row lock (GetPaymentForUpdate), so concurrent refunds queue.
SELECT coalesce(sum(amount), 0)::bigint FROM runtime.refunds
WHERE payment_id = $1 AND status IN ('pending', 'succeeded');

-- name: CreateRefund :one
INSERT INTO runtime.refunds (id, payment_id, organization_id, livemode, amount, currency, status, reason, metadata, idempotency_key)
VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9)
RETURNING *;

-- name: GetRefund :one
SELECT * FROM runtime.refunds WHERE id = $1;

-- name: GetRefundByIdempotencyKey :one
SELECT * FROM runtime.refunds WHERE idempotency_key = $1;

-- name: GetRefundSeq :one
SELECT seq FROM runtime.refunds WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: FinishRefund :one
-- Moves a pending refund to succeeded or failed; only once.
UPDATE runtime.refunds
SET status = @status, failure_reason = @failure_reason, event_sequence = event_sequence + 1, updated_at = now()
WHERE id = @id AND status = 'pending'
RETURNING *;

-- name: AddRefunded :one
-- Counts a succeeded refund on its payment (the CHECK keeps it within the amount).
UPDATE runtime.payments
SET amount_refunded = amount_refunded + @amount, event_sequence = event_sequence + 1, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: ListRefunds :many
SELECT * FROM runtime.refunds
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(payment_id)::text IS NULL OR payment_id = sqlc.narg(payment_id))
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: ClaimStalePendingRefunds :many
-- Pending refunds untouched since before @stale_before (their request ended
-- without the provider's answer: a crash, or the provider unreachable),
-- claimed by moving updated_at on, so that another replica skips them until
-- they are stale again. SKIP LOCKED shares them between replicas.
UPDATE runtime.refunds SET updated_at = now()
WHERE id IN (
    SELECT stale.id FROM runtime.refunds AS stale
    WHERE stale.status = 'pending' AND stale.updated_at < @stale_before::timestamptz
    ORDER BY stale.updated_at
    LIMIT @max_refunds
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: SetRefundProviderRef :exec
-- Records the provider's id of a pending refund, once: the first answer
-- names the refund every retry reads back.
UPDATE runtime.refunds SET provider_ref = @provider_ref
WHERE id = @id AND status = 'pending' AND provider_ref IS NULL;
