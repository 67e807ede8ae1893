-- The admin schema: organizations, their API keys and sites, checkout sessions,
-- idempotency records and the outbox. admin-api is the system of record for a
-- session's status; no other service reads this schema.
SET lock_timeout = '5s';

CREATE SCHEMA IF NOT EXISTS admin;

CREATE TABLE admin.organizations (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE admin.api_keys (
    id              text PRIMARY KEY,
    seq             bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id text NOT NULL REFERENCES admin.organizations (id),
    livemode        boolean NOT NULL,
    name            text NOT NULL DEFAULT '',
    -- The first characters of the secret, shown to recognise a key.
    prefix          text NOT NULL,
    -- SHA-256 of the whole secret. Secrets carry ≥ 192 random bits, so a fast
    -- hash is enough: there is nothing to brute-force.
    secret_hash     bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX api_keys_org_idx ON admin.api_keys (organization_id, livemode, seq DESC);

CREATE TABLE admin.sites (
    id                         text PRIMARY KEY,
    seq                        bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id            text NOT NULL REFERENCES admin.organizations (id),
    livemode                   boolean NOT NULL,
    name                       text NOT NULL,
    logo_url                   text NOT NULL DEFAULT '',
    primary_color              text NOT NULL DEFAULT '',
    accent_color               text NOT NULL DEFAULT '',
    default_currency           text NOT NULL,
    default_success_url        text NOT NULL DEFAULT '',
    default_cancel_url         text NOT NULL DEFAULT '',
    payment_method_types       text[] NOT NULL,
    -- [{country, region, percentage_bps, inclusive, display_name}]
    tax_rates                  jsonb NOT NULL DEFAULT '[]',
    bank_transfer_instructions text NOT NULL DEFAULT '',
    append_transaction_id      boolean NOT NULL DEFAULT true,
    created_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sites_org_idx ON admin.sites (organization_id, livemode, seq DESC);

CREATE TABLE admin.checkout_sessions (
    id                   text PRIMARY KEY,
    seq                  bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id      text NOT NULL REFERENCES admin.organizations (id),
    site_id              text NOT NULL REFERENCES admin.sites (id),
    livemode             boolean NOT NULL,
    status               text NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
    payment_status       text NOT NULL CHECK (payment_status IN ('unpaid', 'paid')),
    currency             text NOT NULL,
    amount_subtotal      bigint NOT NULL CHECK (amount_subtotal >= 0),
    amount_tax           bigint NOT NULL CHECK (amount_tax >= 0),
    amount_total         bigint NOT NULL CHECK (amount_total >= 0),
    -- [{name, description, unit_amount, quantity, image_url, amount_total}]
    line_items           jsonb NOT NULL,
    customer             text,
    customer_email       text,
    customer_phone       text,
    success_url          text NOT NULL,
    cancel_url           text NOT NULL,
    metadata             jsonb NOT NULL DEFAULT '{}',
    order_id             text,
    description          text,
    reference            text NOT NULL,
    payment_id           text,
    payment_method_types text[] NOT NULL,
    locale               text NOT NULL,
    notify_url           text,
    expires_at           timestamptz NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    completed_at         timestamptz,
    -- Incremented with every state change; carried by the session's events so
    -- that receivers can order them.
    event_sequence       bigint NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX checkout_sessions_order_idx
    ON admin.checkout_sessions (site_id, livemode, order_id) WHERE order_id IS NOT NULL;
CREATE UNIQUE INDEX checkout_sessions_reference_idx ON admin.checkout_sessions (organization_id, livemode, reference);
CREATE INDEX checkout_sessions_org_idx ON admin.checkout_sessions (organization_id, livemode, seq DESC);
CREATE INDEX checkout_sessions_due_idx ON admin.checkout_sessions (expires_at) WHERE status = 'open';
CREATE INDEX checkout_sessions_payment_idx ON admin.checkout_sessions (payment_id) WHERE payment_id IS NOT NULL;

-- Idempotency-Key records: the first response to a POST, replayed for 24 hours.
CREATE TABLE admin.idempotency_keys (
    organization_id text NOT NULL,
    livemode        boolean NOT NULL,
    key             text NOT NULL,
    -- The method and path plus a hash of the parameters: a reuse with other
    -- parameters is refused.
    request_hash    bytea NOT NULL,
    -- NULL while the first request is in flight.
    response_code   integer,
    response_body   bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, livemode, key)
);
CREATE INDEX idempotency_keys_created_idx ON admin.idempotency_keys (created_at);

-- Transactional outbox (services/platform/outbox): events written in the
-- transaction of the change they describe, published to NATS JetStream by the
-- outbox relay in seq order and then deleted.
CREATE TABLE "admin"."outbox" (
    seq        bigserial PRIMARY KEY,
    -- The event id; also the Nats-Msg-Id, so JetStream drops a re-publish.
    id         text NOT NULL UNIQUE,
    subject    text NOT NULL,
    payload    bytea NOT NULL,
    -- Extra NATS headers as a JSON object of strings, or NULL.
    headers    jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Wakes the relay (LISTEN admin_outbox) as soon as events commit; it also
-- polls, so a missed notification only delays an event.
CREATE FUNCTION "admin"."outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('admin_outbox', '');
    RETURN NULL;
END
$fn$;

CREATE TRIGGER outbox_notify AFTER INSERT ON "admin"."outbox"
    FOR EACH STATEMENT EXECUTE FUNCTION "admin"."outbox_notify"();
