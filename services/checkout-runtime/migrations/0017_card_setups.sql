-- Each attempt to save a card without a payment (a free trial's checkout):
-- counted with the payments in the card-testing limits (per session and
-- per client address), and, when its provider needs the payer first
-- (Stripe's SetupIntent in requires_action: 3-D Secure), what the page
-- resumes by its id once Stripe.js has passed the action.
SET lock_timeout = '5s';

CREATE TABLE runtime.card_setups (
    id               text PRIMARY KEY,
    session_id       text NOT NULL,
    organization_id  text NOT NULL,
    livemode         boolean NOT NULL,
    provider         text NOT NULL,
    provider_account text,
    -- The provider's id for the setup (Stripe: seti_…), once it answered.
    provider_ref     text,
    currency         text NOT NULL,
    -- The exclusive tax rate of the payer's billing address, for the
    -- subscription's renewals (the completion's tax_bps).
    tax_bps          bigint NOT NULL CHECK (tax_bps >= 0),
    client_ip        inet,
    status           text NOT NULL DEFAULT 'processing'
        CHECK (status IN ('processing', 'requires_action', 'succeeded', 'failed')),
    failure_code     text,
    failure_message  text,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX card_setups_session_idx ON runtime.card_setups (session_id, created_at);
CREATE INDEX card_setups_ip_idx ON runtime.card_setups (client_ip, created_at);
