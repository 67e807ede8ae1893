-- Fee schedules: what the gateway keeps of each payment (seed 003's `fee`),
-- per organization and mode, as rules per payment method and currency. The
-- processing fee and the net amount are fixed on the session when it
-- completes with a payment, so that a later change of the schedule does not
-- rewrite history. (checkout-runtime's runtime.payments.fee is another
-- thing: the provider's own fee, as the provider reports it.)
SET lock_timeout = '5s';

CREATE TABLE admin.fee_rules (
    organization_id text NOT NULL REFERENCES admin.organizations (id),
    livemode        boolean NOT NULL,
    -- '' means every method, or every currency: the default rules.
    payment_method  text NOT NULL,
    currency        text NOT NULL,
    percent_bps     bigint NOT NULL CHECK (percent_bps BETWEEN 0 AND 10000),
    -- Minor units of currency; a rule for every currency has none, as minor
    -- units mean different amounts in different currencies.
    fixed_amount    bigint NOT NULL CHECK (fixed_amount >= 0 AND (currency <> '' OR fixed_amount = 0)),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, livemode, payment_method, currency)
);

ALTER TABLE admin.checkout_sessions
    ADD COLUMN processing_fee bigint CHECK (processing_fee >= 0),
    ADD COLUMN net_amount     bigint CHECK (net_amount >= 0);

-- The shape of a session's notify_url callbacks: the event as webhook
-- endpoints receive it, or seed 003's collection object (the collections
-- surface's webhookUrl).
ALTER TABLE admin.checkout_sessions
    ADD COLUMN notify_format text NOT NULL DEFAULT 'event' CHECK (notify_format IN ('event', 'collection'));
