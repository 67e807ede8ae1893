-- name: CreateSession :one
INSERT INTO admin.checkout_sessions (id, organization_id, site_id, livemode, status, payment_status,
    currency, amount_subtotal, amount_tax, amount_total, line_items, customer, customer_email,
    customer_phone, success_url, cancel_url, metadata, order_id, description, reference,
    payment_method_types, locale, notify_url, expires_at, client_reference_id, max_installment_count,
    installment_interest_paid_by, return_method, notify_format, route_id)
VALUES ($1, $2, $3, $4, 'open', 'unpaid', $5, $6, 0, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
    $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)
RETURNING *;

-- name: CreateSessions :many
-- CreateSession for many rows in one statement (store/batch.go). Optional
-- texts travel as empty strings for NULL (none may be empty otherwise), and
-- payment method types comma-joined. A row that would break a unique key (order_id,
-- reference) is skipped rather than failing the others; the caller retries
-- it alone to learn which.
INSERT INTO admin.checkout_sessions (id, organization_id, site_id, livemode, status, payment_status,
    currency, amount_subtotal, amount_tax, amount_total, line_items, customer, customer_email,
    customer_phone, success_url, cancel_url, metadata, order_id, description, reference,
    payment_method_types, locale, notify_url, expires_at, client_reference_id, max_installment_count,
    installment_interest_paid_by, return_method, notify_format, route_id)
SELECT unnest(@ids::text[]), unnest(@organization_ids::text[]), unnest(@site_ids::text[]),
    unnest(@livemodes::boolean[]), 'open', 'unpaid', unnest(@currencies::text[]),
    unnest(@subtotals::bigint[]), 0, unnest(@subtotals::bigint[]), unnest(@line_items::text[])::jsonb,
    NULLIF(unnest(@customers::text[]), ''), NULLIF(unnest(@customer_emails::text[]), ''),
    NULLIF(unnest(@customer_phones::text[]), ''), unnest(@success_urls::text[]), unnest(@cancel_urls::text[]),
    unnest(@metadata::text[])::jsonb, NULLIF(unnest(@order_ids::text[]), ''),
    NULLIF(unnest(@descriptions::text[]), ''), unnest(@refs::text[]),
    string_to_array(unnest(@payment_method_types::text[]), ','), unnest(@locales::text[]),
    NULLIF(unnest(@notify_urls::text[]), ''), unnest(@expires_at::timestamptz[]),
    NULLIF(unnest(@client_reference_ids::text[]), ''),
    unnest(@max_installment_counts::integer[]), unnest(@installment_interest_paid_bys::text[]),
    unnest(@return_methods::text[]), unnest(@notify_formats::text[]),
    NULLIF(unnest(@route_ids::text[]), '')
ON CONFLICT DO NOTHING
RETURNING *;

-- name: GetSession :one
SELECT * FROM admin.checkout_sessions WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: GetSessionByID :one
SELECT * FROM admin.checkout_sessions WHERE id = $1;

-- name: GetSessionCursor :one
-- A list cursor's position: the session's place in the list's order.
SELECT seq, created_at FROM admin.checkout_sessions WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: ListSessions :many
-- A page of sessions, newest first (created_at, then seq), below the
-- cursor (before_created, before_seq). The inner query picks the page's
-- seqs off an index in the list's order: checkout_sessions_list_idx, whose
-- included columns answer the site, status, payment status, currency and
-- amount filters without the table (an index-only walk until the page is
-- full; a created range is a range of the index), or, for a search, the
-- email, order id, reference or payment id index. The outer query then
-- reads only the page's rows. Every filter is "NULL or equal" so that the
-- plan, made for the values given (pgx's prepared statement keeps custom
-- plans: store/listplan_test.go checks it), drops the absent ones.
SELECT * FROM admin.checkout_sessions
WHERE seq = ANY (ARRAY(
    SELECT p.seq FROM admin.checkout_sessions p
    WHERE p.organization_id = @organization_id AND p.livemode = @livemode
      AND (sqlc.narg(site_id)::text IS NULL OR p.site_id = sqlc.narg(site_id))
      AND (sqlc.narg(status)::text IS NULL OR p.status = sqlc.narg(status))
      AND (sqlc.narg(customer)::text IS NULL OR p.customer = sqlc.narg(customer))
      AND (sqlc.narg(payment_id)::text IS NULL OR p.payment_id = sqlc.narg(payment_id))
      AND (sqlc.narg(order_id)::text IS NULL OR p.order_id = sqlc.narg(order_id))
      AND (sqlc.narg(uuid)::uuid IS NULL OR p.uuid = sqlc.narg(uuid))
      AND (sqlc.narg(payment_status)::text IS NULL OR p.payment_status = sqlc.narg(payment_status))
      AND (sqlc.narg(customer_email)::text IS NULL
           OR (p.customer_email IS NOT NULL AND lower(p.customer_email) = lower(sqlc.narg(customer_email))))
      AND (sqlc.narg(reference)::text IS NULL OR p.reference = sqlc.narg(reference))
      AND (sqlc.narg(currency)::text IS NULL OR p.currency = sqlc.narg(currency))
      AND (sqlc.narg(amount_gte)::bigint IS NULL OR p.amount_total >= sqlc.narg(amount_gte))
      AND (sqlc.narg(amount_lte)::bigint IS NULL OR p.amount_total <= sqlc.narg(amount_lte))
      AND (sqlc.narg(created_gte)::timestamptz IS NULL OR p.created_at >= sqlc.narg(created_gte))
      AND (sqlc.narg(created_gt)::timestamptz IS NULL OR p.created_at > sqlc.narg(created_gt))
      AND (sqlc.narg(created_lte)::timestamptz IS NULL OR p.created_at <= sqlc.narg(created_lte))
      AND (sqlc.narg(created_lt)::timestamptz IS NULL OR p.created_at < sqlc.narg(created_lt))
      AND (sqlc.narg(before_created)::timestamptz IS NULL
           OR (p.created_at, p.seq) < (sqlc.narg(before_created)::timestamptz, sqlc.narg(before_seq)::bigint))
    ORDER BY p.organization_id DESC, p.livemode DESC, p.created_at DESC, p.seq DESC
    LIMIT @row_limit))
ORDER BY created_at DESC, seq DESC;

-- name: ListSessionsAfter :many
-- The page above the cursor (after_created, after_seq) (ending_before),
-- oldest first, read forwards off the same indexes; the caller reverses it.
SELECT * FROM admin.checkout_sessions
WHERE seq = ANY (ARRAY(
    SELECT p.seq FROM admin.checkout_sessions p
    WHERE p.organization_id = @organization_id AND p.livemode = @livemode
      AND (sqlc.narg(site_id)::text IS NULL OR p.site_id = sqlc.narg(site_id))
      AND (sqlc.narg(status)::text IS NULL OR p.status = sqlc.narg(status))
      AND (sqlc.narg(customer)::text IS NULL OR p.customer = sqlc.narg(customer))
      AND (sqlc.narg(payment_id)::text IS NULL OR p.payment_id = sqlc.narg(payment_id))
      AND (sqlc.narg(order_id)::text IS NULL OR p.order_id = sqlc.narg(order_id))
      AND (sqlc.narg(uuid)::uuid IS NULL OR p.uuid = sqlc.narg(uuid))
      AND (sqlc.narg(payment_status)::text IS NULL OR p.payment_status = sqlc.narg(payment_status))
      AND (sqlc.narg(customer_email)::text IS NULL
           OR (p.customer_email IS NOT NULL AND lower(p.customer_email) = lower(sqlc.narg(customer_email))))
      AND (sqlc.narg(reference)::text IS NULL OR p.reference = sqlc.narg(reference))
      AND (sqlc.narg(currency)::text IS NULL OR p.currency = sqlc.narg(currency))
      AND (sqlc.narg(amount_gte)::bigint IS NULL OR p.amount_total >= sqlc.narg(amount_gte))
      AND (sqlc.narg(amount_lte)::bigint IS NULL OR p.amount_total <= sqlc.narg(amount_lte))
      AND (sqlc.narg(created_gte)::timestamptz IS NULL OR p.created_at >= sqlc.narg(created_gte))
      AND (sqlc.narg(created_gt)::timestamptz IS NULL OR p.created_at > sqlc.narg(created_gt))
      AND (sqlc.narg(created_lte)::timestamptz IS NULL OR p.created_at <= sqlc.narg(created_lte))
      AND (sqlc.narg(created_lt)::timestamptz IS NULL OR p.created_at < sqlc.narg(created_lt))
      AND (p.created_at, p.seq) > (@after_created::timestamptz, @after_seq::bigint)
    ORDER BY p.organization_id, p.livemode, p.created_at, p.seq
    LIMIT @row_limit))
ORDER BY created_at, seq;

-- name: ExpireSession :one
-- Expires an open session; the caller checks the result for the status it had.
UPDATE admin.checkout_sessions SET status = 'expired', event_sequence = event_sequence + 1
WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND status = 'open'
RETURNING *;

-- name: ClaimDueSessions :many
-- Claims open sessions past their expiry; SKIP LOCKED lets several sweepers run.
SELECT id FROM admin.checkout_sessions
WHERE status = 'open' AND expires_at <= now()
ORDER BY expires_at
LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: ExpireDueSession :one
UPDATE admin.checkout_sessions SET status = 'expired', event_sequence = event_sequence + 1
WHERE id = $1 AND status = 'open'
RETURNING *;

-- name: CompleteSession :one
-- The conditional update at the heart of invariant 2: only an open session
-- that has not expired can complete. The processing fee is fixed with it,
-- from the rules of the organization, mode and currency the caller names:
-- a session that is not theirs does not complete.
UPDATE admin.checkout_sessions
SET status = 'complete', payment_status = @payment_status, payment_id = @payment_id,
    amount_tax = @amount_tax, amount_total = @amount_total, completed_at = now(),
    event_sequence = event_sequence + 1, processing_fee = @processing_fee, net_amount = @net_amount
WHERE id = @id AND status = 'open' AND expires_at > now()
  AND organization_id = @organization_id AND livemode = @livemode AND currency = @currency
RETURNING *;

-- name: MarkSessionPaid :one
UPDATE admin.checkout_sessions SET payment_status = 'paid', event_sequence = event_sequence + 1
WHERE id = $1 AND payment_id = $2 AND status = 'complete' AND payment_status = 'unpaid'
  AND async_payment_failed_at IS NULL
RETURNING *;

-- name: RecordAsyncPaymentFailed :one
-- The session stays complete and unpaid; only its event sequence moves.
UPDATE admin.checkout_sessions SET event_sequence = event_sequence + 1, async_payment_failed_at = now()
WHERE id = $1 AND payment_id = $2 AND status = 'complete' AND payment_status = 'unpaid'
  AND async_payment_failed_at IS NULL
RETURNING *;

-- name: SetSessionSecureToken :exec
-- Gives a session being created its secure token, in the creating transaction.
UPDATE admin.checkout_sessions SET secure_token_hash = @secure_token_hash WHERE id = @id;

-- name: GetSessionIDBySecureToken :one
SELECT id FROM admin.checkout_sessions WHERE secure_token_hash = $1;

-- name: LockOpenSession :one
-- An open, unexpired session whose line items or discount are about to
-- change (a quantity, a promotion code typed on the page), locked until the
-- transaction ends (CompleteSession waits for it, then sees the new totals).
SELECT * FROM admin.checkout_sessions
WHERE id = $1 AND status = 'open' AND expires_at > now()
FOR UPDATE;

-- name: SetSessionLineItems :one
-- New line items, subtotal and discount for an open session; the total
-- follows (amount_subtotal - amount_discount + amount_tax).
UPDATE admin.checkout_sessions
SET line_items = @line_items, amount_subtotal = sqlc.arg(amount_subtotal)::bigint, amount_discount = sqlc.arg(amount_discount)::bigint,
    amount_total = sqlc.arg(amount_subtotal)::bigint - sqlc.arg(amount_discount)::bigint + amount_tax
WHERE id = @id AND status = 'open'
RETURNING *;

-- name: SetSessionCustomFields :one
-- A session's custom field values: at creation, in the creating
-- transaction, or from the hosted page, under LockOpenSession's lock.
UPDATE admin.checkout_sessions SET custom_fields = @custom_fields
WHERE id = @id AND status = 'open'
RETURNING *;

-- name: SetSessionCascade :one
-- A session's fallback tiers, in the creating transaction.
UPDATE admin.checkout_sessions SET cascade_line_items = @cascade_line_items
WHERE id = @id
RETURNING *;

-- name: SwitchSessionCascadeTier :one
-- Moves an open session, locked by LockOpenSession, to its next tier: the
-- tier's line items and subtotal become the session's (no discount: a
-- session with tiers has none), the total follows.
UPDATE admin.checkout_sessions
SET line_items = @line_items, amount_subtotal = sqlc.arg(amount_subtotal)::bigint,
    amount_total = sqlc.arg(amount_subtotal)::bigint + amount_tax, cascade_tier = @cascade_tier,
    cascade_payment_id = @cascade_payment_id
WHERE id = @id AND status = 'open' AND cascade_tier = sqlc.arg(cascade_tier)::integer - 1 AND amount_discount = 0
RETURNING *;

-- name: SetSessionSubscriptionMode :one
-- Marks a new session (in its creating transaction) as a subscription
-- checkout, or records its customer_creation.
UPDATE admin.checkout_sessions
SET mode = @mode, customer_creation = @customer_creation,
    recurring_interval = sqlc.narg(recurring_interval), recurring_interval_count = sqlc.narg(recurring_interval_count),
    trial_period_days = sqlc.narg(trial_period_days), subscription_custom_fields = sqlc.narg(subscription_custom_fields)
WHERE id = @id
RETURNING *;

-- name: SetSessionCustomer :one
-- The customer created for a paid session, and the subscription it made.
UPDATE admin.checkout_sessions
SET customer = sqlc.narg(customer), subscription_id = sqlc.narg(subscription_id)
WHERE id = @id
RETURNING *;
