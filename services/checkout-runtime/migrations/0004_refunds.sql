-- Refunds: money given back from a succeeded payment, in one or more parts.
-- A refund row is written 'pending' before the provider is asked and moved to
-- 'succeeded' or 'failed' after, so a crash in between leaves a pending row
-- to reconcile (asking the provider again with the refund id is idempotent).
SET lock_timeout = '5s';

CREATE TABLE runtime.refunds (
    id               text PRIMARY KEY,
    seq              bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    payment_id       text NOT NULL REFERENCES runtime.payments (id),
    organization_id  text NOT NULL,
    livemode         boolean NOT NULL,
    amount           bigint NOT NULL CHECK (amount > 0),
    currency         text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    reason           text CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer')),
    failure_reason   text,
    metadata         jsonb NOT NULL DEFAULT '{}',
    -- The merchant's Idempotency-Key (scoped to organization and mode), so a
    -- retried request finds its refund even after the API's replay window.
    idempotency_key  text UNIQUE,
    event_sequence   bigint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_payment_idx ON runtime.refunds (payment_id, seq);
CREATE INDEX refunds_org_idx ON runtime.refunds (organization_id, livemode, seq);
CREATE INDEX refunds_pending_idx ON runtime.refunds (created_at) WHERE status = 'pending';

-- What succeeded refunds gave back; never more than the payment's amount
-- (the refund path also reserves pending refunds under the payment's lock).
ALTER TABLE runtime.payments
    ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
    ADD CONSTRAINT payments_refunded_within_amount CHECK (amount_refunded <= amount);

-- Payments are listed per organization and mode, newest first.
CREATE INDEX payments_org_idx ON runtime.payments (organization_id, livemode, seq);
