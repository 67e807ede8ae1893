-- Payments: one row per attempt to pay a session, with its provider state.
SET lock_timeout = '5s';

CREATE TABLE runtime.payments (
    id                  text PRIMARY KEY,
    seq                 bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    session_id          text NOT NULL,
    organization_id     text NOT NULL,
    livemode            boolean NOT NULL,
    method              text NOT NULL CHECK (method IN ('card', 'bank_transfer')),
    provider            text NOT NULL,
    -- The provider's id for the authorisation (a bank transfer's is the
    -- payment id: the bank reports funds by the session reference).
    provider_ref        text,
    status              text NOT NULL CHECK (status IN ('requires_action', 'processing', 'succeeded', 'failed', 'canceled')),
    currency            text NOT NULL,
    amount              bigint NOT NULL CHECK (amount > 0),
    amount_tax          bigint NOT NULL CHECK (amount_tax >= 0),
    -- Funds received so far (bank transfers may arrive in parts).
    amount_received     bigint NOT NULL DEFAULT 0 CHECK (amount_received >= 0),
    -- Bank transfers are matched by the session's reference.
    reference           text NOT NULL,
    card_brand          text,
    card_last4          text,
    billing_name        text NOT NULL,
    billing_email       text NOT NULL,
    billing_country     text NOT NULL,
    billing_postal_code text NOT NULL,
    billing_region      text NOT NULL DEFAULT '',
    failure_code        text,
    failure_message     text,
    -- The payer's address, for the per-IP attempt limit.
    client_ip           inet,
    -- When the test provider sends its simulated "succeeded later" callback.
    async_due_at        timestamptz,
    event_sequence      bigint NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- Invariant 1 of DESIGN.md §5 as a constraint: at most one captured payment
-- per session, whatever the concurrency.
CREATE UNIQUE INDEX payments_one_captured ON runtime.payments (session_id) WHERE status = 'succeeded';
CREATE INDEX payments_session_idx ON runtime.payments (session_id, seq);
CREATE INDEX payments_ip_idx ON runtime.payments (client_ip, created_at);
CREATE INDEX payments_reference_idx ON runtime.payments (reference) WHERE method = 'bank_transfer';
CREATE INDEX payments_async_due_idx ON runtime.payments (async_due_at) WHERE async_due_at IS NOT NULL;

-- Funds received for bank transfers, by the id of the bank-feed event or
-- admin confirmation that reported them, so a repeated report counts once.
CREATE TABLE runtime.bank_receipts (
    id          text PRIMARY KEY,
    payment_id  text NOT NULL REFERENCES runtime.payments (id),
    amount      bigint NOT NULL CHECK (amount > 0),
    currency    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
