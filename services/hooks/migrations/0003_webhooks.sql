-- Events (kept 30 days), merchants' webhook endpoints, and the deliveries of
-- events to endpoints with every attempt.
SET lock_timeout = '5s';

CREATE TABLE hooks.events (
    id              text PRIMARY KEY,
    seq             bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id text NOT NULL,
    livemode        boolean NOT NULL,
    type            text NOT NULL,
    object_id       text NOT NULL,
    sequence        bigint NOT NULL,
    created         timestamptz NOT NULL,
    -- The event as merchants receive it (JSON), byte for byte.
    body            bytea NOT NULL
);
CREATE INDEX events_org_idx ON hooks.events (organization_id, livemode, seq DESC);
CREATE INDEX events_type_idx ON hooks.events (organization_id, livemode, type, seq DESC);
CREATE INDEX events_created_idx ON hooks.events (created);

CREATE TABLE hooks.endpoints (
    id                          text PRIMARY KEY,
    seq                         bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id             text NOT NULL,
    livemode                    boolean NOT NULL,
    url                         text NOT NULL,
    description                 text NOT NULL DEFAULT '',
    -- Event types, or {*} for all.
    enabled_events              text[] NOT NULL,
    disabled_reason             text CHECK (disabled_reason IN ('manual', 'gone', 'failing')),
    secret                      text NOT NULL,
    -- During a rotation the old secret signs too, until it expires.
    previous_secret             text,
    previous_secret_expires_at  timestamptz,
    -- Set at the first failure of a run of failures, cleared by a success.
    failing_since               timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_org_idx ON hooks.endpoints (organization_id, livemode, seq DESC);

CREATE TABLE hooks.deliveries (
    -- Also the webhook-id of every attempt, so receivers can deduplicate.
    id              text PRIMARY KEY,
    seq             bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    endpoint_id     text NOT NULL REFERENCES hooks.endpoints (id) ON DELETE CASCADE,
    event_id        text NOT NULL REFERENCES hooks.events (id) ON DELETE CASCADE,
    status          text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempt_count   integer NOT NULL DEFAULT 0,
    -- When the next attempt is due; also the lease of an attempt in flight
    -- (a worker that dies leaves it due again when the lease ends).
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX deliveries_due_idx ON hooks.deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_endpoint_idx ON hooks.deliveries (endpoint_id, seq DESC);
CREATE INDEX deliveries_event_idx ON hooks.deliveries (event_id);

CREATE TABLE hooks.delivery_attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      text NOT NULL REFERENCES hooks.deliveries (id) ON DELETE CASCADE,
    attempted_at     timestamptz NOT NULL DEFAULT now(),
    status_code      integer NOT NULL,
    latency_ms       bigint NOT NULL,
    error            text NOT NULL DEFAULT '',
    response_excerpt text NOT NULL DEFAULT ''
);
CREATE INDEX delivery_attempts_delivery_idx ON hooks.delivery_attempts (delivery_id, id DESC);
