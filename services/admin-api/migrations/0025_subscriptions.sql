-- Subscriptions (issue 15): a checkout session with recurring prices
-- (mode 'subscription') creates, in the transaction that marks it paid, a
-- subscription and its first invoice (paid by the checkout's payment), so
-- that a paid subscription checkout never lacks its subscription.
SET lock_timeout = '5s';

ALTER TABLE admin.checkout_sessions
    ADD COLUMN mode text NOT NULL DEFAULT 'payment' CHECK (mode IN ('payment', 'subscription')),
    ADD COLUMN customer_creation text NOT NULL DEFAULT 'if_required' CHECK (customer_creation IN ('always', 'if_required')),
    -- The recurrence every recurring line item shares (subscription mode).
    ADD COLUMN recurring_interval text CHECK (recurring_interval IN ('day', 'week', 'month', 'year')),
    ADD COLUMN recurring_interval_count integer CHECK (recurring_interval_count >= 1),
    ADD COLUMN subscription_id text,
    ADD CONSTRAINT checkout_sessions_subscription_recurrence CHECK ((mode = 'subscription') = (recurring_interval IS NOT NULL));

CREATE TABLE admin.subscriptions (
    id                       text PRIMARY KEY,
    seq                      bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id          text NOT NULL REFERENCES admin.organizations (id),
    livemode                 boolean NOT NULL,
    customer_id              text NOT NULL REFERENCES admin.customers (id),
    status                   text NOT NULL CHECK (status IN ('active', 'past_due', 'canceled', 'incomplete')),
    -- [{price, product, name, unit_amount, quantity}]
    items                    jsonb NOT NULL,
    currency                 text NOT NULL,
    recurring_interval       text NOT NULL CHECK (recurring_interval IN ('day', 'week', 'month', 'year')),
    recurring_interval_count integer NOT NULL CHECK (recurring_interval_count >= 1),
    -- The anchor: periods are anchor + n intervals (calendar arithmetic in
    -- UTC, clamped to the month's last day), so a 31st keeps returning.
    billing_anchor           timestamptz NOT NULL,
    period_number            integer NOT NULL DEFAULT 0 CHECK (period_number >= 0),
    current_period_start     timestamptz NOT NULL,
    current_period_end       timestamptz NOT NULL CHECK (current_period_end > current_period_start),
    cancel_at_period_end     boolean NOT NULL DEFAULT false,
    canceled_at              timestamptz,
    discount_coupon          text,
    discount_duration        text CHECK (discount_duration IN ('once', 'repeating', 'forever')),
    discount_end             timestamptz,
    checkout_session_id      text NOT NULL UNIQUE REFERENCES admin.checkout_sessions (id),
    latest_invoice_id        text,
    -- The tax rate of the checkout (basis points, exclusive), kept for renewals.
    tax_bps                  bigint NOT NULL DEFAULT 0 CHECK (tax_bps >= 0),
    metadata                 jsonb NOT NULL DEFAULT '{}',
    -- The runtime's saved payment method (pm_…) renewals charge off-session.
    default_payment_method   text,
    -- The test clock whose time it follows (test mode only); NULL: real time.
    test_clock_id            text,
    -- When its next renewal or retry is due (NULL once canceled). A worker
    -- that claims it pushes it ahead by a lease, so a crash mid-charge is
    -- retried (with the same idempotency key) once the lease runs out.
    next_action_at           timestamptz,
    event_sequence           bigint NOT NULL DEFAULT 0,
    created_at               timestamptz NOT NULL DEFAULT now(),
    CHECK ((discount_coupon IS NULL) = (discount_duration IS NULL)),
    CHECK (test_clock_id IS NULL OR NOT livemode)
);
CREATE INDEX subscriptions_org_idx ON admin.subscriptions (organization_id, livemode, seq DESC);
CREATE INDEX subscriptions_due_idx ON admin.subscriptions (next_action_at) WHERE next_action_at IS NOT NULL AND test_clock_id IS NULL;
CREATE INDEX subscriptions_clock_idx ON admin.subscriptions (test_clock_id, next_action_at) WHERE test_clock_id IS NOT NULL;

-- Test clocks (test mode only): a frozen time that subscriptions of its
-- customers follow instead of the real one; advancing it runs what falls due.
CREATE TABLE admin.test_clocks (
    id              text PRIMARY KEY,
    seq             bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id text NOT NULL REFERENCES admin.organizations (id),
    livemode        boolean NOT NULL CHECK (NOT livemode),
    name            text,
    frozen_time     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE admin.customers ADD COLUMN test_clock_id text REFERENCES admin.test_clocks (id);
CREATE INDEX subscriptions_customer_idx ON admin.subscriptions (customer_id, seq DESC);

CREATE TABLE admin.invoices (
    id                   text PRIMARY KEY,
    seq                  bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id      text NOT NULL REFERENCES admin.organizations (id),
    livemode             boolean NOT NULL,
    subscription_id      text NOT NULL REFERENCES admin.subscriptions (id),
    customer_id          text NOT NULL,
    -- One invoice per period: renewals are idempotent per subscription and period.
    period_number        integer NOT NULL,
    status               text NOT NULL CHECK (status IN ('open', 'paid', 'uncollectible')),
    billing_reason       text NOT NULL CHECK (billing_reason IN ('subscription_create', 'subscription_cycle')),
    currency             text NOT NULL,
    -- [{price, name, unit_amount, quantity, amount_subtotal, amount_discount}]
    lines                jsonb NOT NULL,
    amount_subtotal      bigint NOT NULL CHECK (amount_subtotal >= 0),
    amount_discount      bigint NOT NULL CHECK (amount_discount >= 0),
    amount_tax           bigint NOT NULL CHECK (amount_tax >= 0),
    amount_total         bigint NOT NULL CHECK (amount_total >= 0),
    discount_coupon      text,
    period_start         timestamptz NOT NULL,
    period_end           timestamptz NOT NULL,
    payment_id           text,
    attempt_count        integer NOT NULL DEFAULT 0,
    next_payment_attempt timestamptz,
    paid_at              timestamptz,
    event_sequence       bigint NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subscription_id, period_number),
    CHECK (amount_total = amount_subtotal - amount_discount + amount_tax)
);
CREATE INDEX invoices_org_idx ON admin.invoices (organization_id, livemode, seq DESC);
CREATE INDEX invoices_subscription_idx ON admin.invoices (subscription_id, seq DESC);
