-- Subscription lifecycle (issue 15): trials, incomplete first payments,
-- invoice void, updates with proration, and the subscription's own custom
-- fields (seed 002's params_for_sub.custom_fields).
SET lock_timeout = '5s';

-- subscription_data.trial_period_days of a subscription checkout (Stripe's
-- limit: 730 days); the subscription's custom field values it was given.
ALTER TABLE admin.checkout_sessions
    ADD COLUMN trial_period_days integer CHECK (trial_period_days BETWEEN 1 AND 730),
    ADD COLUMN subscription_custom_fields jsonb;

ALTER TABLE admin.subscriptions DROP CONSTRAINT subscriptions_status_check;
ALTER TABLE admin.subscriptions
    ADD CONSTRAINT subscriptions_status_check
        CHECK (status IN ('trialing', 'active', 'past_due', 'unpaid', 'canceled', 'incomplete', 'incomplete_expired')),
    ADD COLUMN trial_start timestamptz,
    ADD COLUMN trial_end timestamptz,
    -- Proration lines ([{price, name, unit_amount, quantity, amount_subtotal,
    -- amount_discount, proration: true}]) waiting for the next invoice.
    ADD COLUMN pending_lines jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN custom_fields jsonb,
    ADD CONSTRAINT subscriptions_trial CHECK ((trial_start IS NULL) = (trial_end IS NULL) AND (trial_end IS NULL OR trial_end > trial_start));

ALTER TABLE admin.invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE admin.invoices
    ADD CONSTRAINT invoices_status_check CHECK (status IN ('open', 'paid', 'uncollectible', 'void')),
    ADD COLUMN voided_at timestamptz,
    ADD COLUMN custom_fields jsonb;

-- The custom field definitions of a site's subscriptions (params_for_sub).
ALTER TABLE admin.sites ADD COLUMN subscription_custom_fields jsonb NOT NULL DEFAULT '[]';
