-- Saved payment methods (issue 15, subscriptions): the card a subscription
-- checkout was paid with, kept as the provider's reusable token so that
-- renewals are charged off-session through the same payment path. Card
-- numbers are never stored: the test provider's token names a documented
-- test card (public test data), in test mode only.
SET lock_timeout = '5s';

CREATE TABLE runtime.payment_methods (
    id              text PRIMARY KEY,
    organization_id text NOT NULL,
    livemode        boolean NOT NULL,
    provider        text NOT NULL,
    provider_token  text NOT NULL,
    card_brand      text,
    card_last4      text,
    -- The checkout payment it was saved from (one method per payment).
    payment_id      text NOT NULL UNIQUE REFERENCES runtime.payments (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (provider <> 'test' OR NOT livemode)
);

-- An off-session payment (a renewal) charges a saved method; its session_id
-- holds the invoice it pays (in_…), so that the one-capture-per-session
-- index also means one capture per invoice. The idempotency key is the
-- invoice and attempt: a repeated request charges nothing more.
ALTER TABLE runtime.payments
    ADD COLUMN payment_method_id text REFERENCES runtime.payment_methods (id),
    ADD COLUMN idempotency_key   text UNIQUE;
