-- name: FindStripePayment :one
-- The payment a Stripe PaymentIntent belongs to (its provider_ref). The
-- caller checks the account and the mode, so that a refusal can say why.
SELECT * FROM runtime.payments
WHERE provider = 'stripe' AND provider_ref = @provider_ref
ORDER BY seq DESC LIMIT 1;

-- name: AddProviderRefund :one
-- Records a refund made at the provider (Stripe's dashboard), succeeded
-- already. The idempotency key names what it was made of, so that the same
-- provider report never counts twice.
INSERT INTO runtime.refunds (id, payment_id, organization_id, livemode, amount, currency, status, metadata, idempotency_key)
VALUES (@id, @payment_id, @organization_id, @livemode, @amount, @currency, 'succeeded', @metadata, @idempotency_key)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING *;

-- name: SetDispute :one
-- Records a dispute opened on a payment, once per dispute id: a repeat of
-- the same report returns no row.
UPDATE runtime.payments
SET dispute_id = @dispute_id, dispute_reason = @dispute_reason, dispute_status = @dispute_status,
    dispute_amount = @dispute_amount, disputed_at = now(), event_sequence = event_sequence + 1, updated_at = now()
WHERE id = @id AND dispute_id IS DISTINCT FROM @dispute_id
RETURNING *;

-- name: FindProviderPayment :one
-- The payment of a provider (gocardless) with this provider_ref: a
-- GoCardless payment (PM…) or, before the payer was back, its billing
-- request (BRQ…). The caller checks the account and the mode.
SELECT * FROM runtime.payments
WHERE provider = @provider AND provider_ref = @provider_ref
ORDER BY seq DESC LIMIT 1;

-- name: SetProviderRef :one
-- Records the provider's new reference of a payment still waiting for
-- the payer or the money: the GoCardless payment (PM…) its billing request
-- (BRQ…) made.
UPDATE runtime.payments
SET provider_ref = @provider_ref, event_sequence = event_sequence + 1, updated_at = now()
WHERE id = @id AND provider_ref = @old_ref
RETURNING *;
