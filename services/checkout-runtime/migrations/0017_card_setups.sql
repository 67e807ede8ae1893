-- A card saved without a payment (a free trial's checkout) whose provider
-- needs the payer first (Stripe's SetupIntent in requires_action: 3-D
-- Secure): the page passes the action in Stripe.js, then resumes this
-- setup by its id, and the runtime reads the SetupIntent again. A setup
-- that succeeds at once leaves no row (its payment method is the record).
SET lock_timeout = '5s';

CREATE TABLE runtime.card_setups (
    id               text PRIMARY KEY,
    session_id       text NOT NULL,
    organization_id  text NOT NULL,
    livemode         boolean NOT NULL,
    provider         text NOT NULL,
    provider_account text,
    -- The provider's id for the setup (Stripe: seti_…).
    provider_ref     text NOT NULL,
    currency         text NOT NULL,
    -- The exclusive tax rate of the payer's billing address, for the
    -- subscription's renewals (completion's tax_bps).
    tax_bps          bigint NOT NULL CHECK (tax_bps >= 0),
    status           text NOT NULL DEFAULT 'requires_action'
        CHECK (status IN ('requires_action', 'succeeded', 'failed')),
    failure_code     text,
    failure_message  text,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX card_setups_session_idx ON runtime.card_setups (session_id);
