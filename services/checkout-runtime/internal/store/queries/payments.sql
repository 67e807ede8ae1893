-- name: CreatePayment :one
INSERT INTO runtime.payments (id, session_id, organization_id, livemode, method, provider, status,
    currency, amount, amount_tax, reference, billing_name, billing_email, billing_country,
    billing_postal_code, billing_region, client_ip)
VALUES ($1, $2, $3, $4, $5, $6, 'processing', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING *;

-- name: GetPayment :one
SELECT * FROM runtime.payments WHERE id = $1;

-- name: GetPaymentForUpdate :one
-- Locks the payment until the transaction ends (funds are recorded one
-- receipt at a time).
SELECT * FROM runtime.payments WHERE id = $1 FOR UPDATE;

-- name: LatestPayment :one
SELECT * FROM runtime.payments WHERE session_id = $1 ORDER BY seq DESC LIMIT 1;

-- name: SetAuthorization :one
-- Records the provider's answer to an authorisation, unless the payment
-- was settled meanwhile (the reconciler failed it after its grace period):
-- no row then, and the caller releases the authorisation. Given an attempt
-- sequence, the answer's attempt is logged by the same statement (one round
-- trip and one commit for both; docs/perf/payment-path.md), whether or not
-- the payment was settled meanwhile: the log keeps every authorisation the
-- provider gave.
WITH attempt AS (
    INSERT INTO runtime.payment_attempts (payment_id, sequence, provider, provider_account, route_id,
        outcome, decline_code, retryable, provider_ref, latency_ms, created_at)
    SELECT @id::text, sqlc.narg(attempt_sequence)::integer, @attempt_provider::text, sqlc.narg(attempt_provider_account)::text,
        sqlc.narg(attempt_route_id)::text, @attempt_outcome::text, sqlc.narg(attempt_decline_code)::text,
        @attempt_retryable::boolean, sqlc.narg(provider_ref)::text, @attempt_latency_ms::bigint, @attempt_created_at::timestamptz
    WHERE sqlc.narg(attempt_sequence)::integer IS NOT NULL
)
UPDATE runtime.payments
SET status = @status, provider_ref = sqlc.narg(provider_ref), card_brand = @card_brand, card_last4 = @card_last4,
    failure_code = @failure_code, failure_message = @failure_message, async_due_at = @async_due_at,
    next_action = sqlc.narg(next_action), event_sequence = event_sequence + 1, updated_at = now()
WHERE id = @id AND status IN ('processing', 'requires_action')
RETURNING *;

-- name: SetStatus :one
-- Moves a payment on from one of the given states only, so that concurrent
-- writers cannot both move it. A processing fee given is recorded if the
-- payment has none yet (the move to succeeded carries it, saving a statement).
UPDATE runtime.payments
SET status = @status, failure_code = @failure_code, failure_message = @failure_message,
    async_due_at = NULL, event_sequence = event_sequence + 1, updated_at = now(),
    processing_fee = coalesce(processing_fee, sqlc.narg(processing_fee)),
    net_amount = coalesce(net_amount, sqlc.narg(net_amount))
WHERE id = @id AND status = ANY(@from_statuses::text[])
RETURNING *;

-- name: ClaimDueAsync :many
-- The test provider's simulated callbacks that are due; SKIP LOCKED shares them
-- between replicas.
SELECT * FROM runtime.payments
WHERE async_due_at IS NOT NULL AND async_due_at <= now() AND status = 'processing'
ORDER BY async_due_at
LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: PostponeAsync :exec
UPDATE runtime.payments SET async_due_at = $2 WHERE id = $1;

-- name: AddBankReceipt :one
INSERT INTO runtime.bank_receipts (id, payment_id, amount, currency) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO NOTHING
RETURNING *;

-- name: AddReceived :one
-- Adds a receipt's amount, and the part of it the payment could not use.
-- The caller bounds both so that the sums cannot overflow. The payment
-- changed: its event sequence moves on (payment.overpaid may follow).
UPDATE runtime.payments
SET amount_received = amount_received + @amount, amount_overpaid = amount_overpaid + @overpaid,
    event_sequence = event_sequence + 1, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: OweAllReceived :one
-- Counts everything a payment received as owed back to the payer: its
-- session took another payment (or closed), so none of it can be used.
UPDATE runtime.payments SET amount_overpaid = amount_received, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: FindBankPaymentByReference :one
-- The bank-transfer payment that funds quoting a session reference are for,
-- in one mode: the one awaiting funds, else the latest (funds for a settled
-- or canceled payment are recorded, as over-payment).
SELECT * FROM runtime.payments
WHERE reference = @reference AND livemode = @livemode AND method = 'bank_transfer' AND provider = 'bank_transfer'
ORDER BY (status = 'processing') DESC, seq DESC LIMIT 1;

-- name: SetFee :exec
-- Records the provider's fee, reported when the payment is captured.
UPDATE runtime.payments SET fee = @fee, fee_currency = @fee_currency, updated_at = now() WHERE id = @id;

-- name: SetProcessingFee :one
-- Records the processing fee admin-api fixed on the session the payment
-- completed; once.
UPDATE runtime.payments SET processing_fee = @processing_fee, net_amount = @net_amount, updated_at = now()
WHERE id = @id AND processing_fee IS NULL
RETURNING *;

-- name: RecordPaymentAttempt :exec
-- One provider attempt of a payment (routing's cascade).
INSERT INTO runtime.payment_attempts (payment_id, sequence, provider, provider_account, route_id,
    outcome, decline_code, retryable, provider_ref, latency_ms, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: AttemptsOfPayments :many
-- The attempts of a page of payments (a cascade makes at most one per
-- account of a route, MaxTargets).
SELECT * FROM runtime.payment_attempts WHERE payment_id = ANY (@payment_ids::text[])
ORDER BY payment_id, sequence;

-- name: MovePaymentToAccount :one
-- A cascade's next attempt goes through another account: the payment names
-- the account its provider reference (and any callback) will come from.
UPDATE runtime.payments SET provider = @provider, provider_account = @provider_account, updated_at = now()
WHERE id = @id AND status = 'processing'
RETURNING *;

-- name: CreatePaymentMethod :one
INSERT INTO runtime.payment_methods (id, organization_id, livemode, provider, provider_token, card_brand, card_last4, payment_id,
    provider_account)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, sqlc.narg(provider_account))
RETURNING *;

-- name: GetPaymentMethod :one
SELECT * FROM runtime.payment_methods WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: CreateSetupPaymentMethod :one
-- A card saved without a payment (a checkout that charges nothing, a
-- free trial), once per session: a repeat inserts nothing (no row).
INSERT INTO runtime.payment_methods (id, organization_id, livemode, provider, provider_token, card_brand, card_last4, session_id,
    provider_account)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, sqlc.narg(provider_account))
ON CONFLICT (session_id) DO NOTHING
RETURNING *;

-- name: GetPaymentMethodBySession :one
SELECT * FROM runtime.payment_methods WHERE session_id = $1;

-- name: GetPaymentMethodByPayment :one
SELECT id FROM runtime.payment_methods WHERE payment_id = $1;

-- name: CreateOffSessionPayment :one
-- A renewal's payment; a repeated idempotency key inserts nothing (no row).
INSERT INTO runtime.payments (id, session_id, organization_id, livemode, method, provider, status,
    currency, amount, amount_tax, reference, billing_name, billing_email, billing_country,
    billing_postal_code, payment_method_id, idempotency_key, provider_account)
VALUES (@id, @invoice_id, @organization_id, @livemode, 'card', @provider, 'processing',
    @currency, @amount, @amount_tax, @invoice_id, '', '', '', '', @payment_method_id, @idempotency_key, sqlc.narg(provider_account))
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING *;

-- name: GetPaymentByIdempotencyKey :one
SELECT * FROM runtime.payments WHERE idempotency_key = $1;

-- name: StaleWaitingPayments :many
-- Payments of a provider still waiting for the payer (requires_action)
-- since before @waiting_since: mobile money's prompts and codes that were
-- never answered.
SELECT * FROM runtime.payments
WHERE provider = @provider AND status = 'requires_action' AND updated_at < @waiting_since
ORDER BY updated_at
LIMIT @max_payments;

-- name: ClaimStuckPayments :many
-- Card and mobile-money payments processing and untouched since before
-- @stale_before (direct debit waits days in processing by design): their
-- request ended (a crash, an unanswered call) between the insert and the
-- final move. Claimed by moving updated_at on, so that another replica
-- skips them until they are stale again; SKIP LOCKED shares them between
-- replicas. A payment waiting for its provider's later answer is claimed
-- too (its session may never have been completed), once a grace period.
UPDATE runtime.payments SET updated_at = now()
WHERE id IN (
    SELECT stuck.id FROM runtime.payments AS stuck
    WHERE stuck.status = 'processing' AND stuck.method IN ('card', 'mobile_money')
      AND stuck.updated_at < @stale_before::timestamptz
    ORDER BY stuck.updated_at
    LIMIT @max_payments
    FOR UPDATE OF stuck SKIP LOCKED)
RETURNING *;

-- name: GetCardSetup :one
SELECT * FROM runtime.card_setups WHERE id = $1;

-- name: AnswerCardSetup :one
-- The provider's answer to a setup attempt: the account that gave it (a
-- route may have cascaded), its reference and where it stands.
UPDATE runtime.card_setups SET status = $2, provider = $3, provider_account = sqlc.narg(provider_account),
    provider_ref = sqlc.narg(provider_ref), failure_code = sqlc.narg(failure_code), failure_message = sqlc.narg(failure_message)
WHERE id = $1 AND status = 'processing'
RETURNING *;

-- name: SetCardSetupStatus :one
-- Ends a setup that waited for the payer; one that ended already is not
-- changed (no row).
UPDATE runtime.card_setups SET status = $2, failure_code = $3, failure_message = $4
WHERE id = $1 AND status = 'requires_action'
RETURNING *;
