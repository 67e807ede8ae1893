-- The runtime schema: payment attempts and their provider state (added with the
-- hosted page), and the outbox. No other service reads this schema.
SET lock_timeout = '5s';

CREATE SCHEMA IF NOT EXISTS runtime;

-- Transactional outbox (services/platform/outbox): events written in the
-- transaction of the change they describe, published to NATS JetStream by the
-- outbox relay in seq order and then deleted.
CREATE TABLE "runtime"."outbox" (
    seq        bigserial PRIMARY KEY,
    -- The event id; also the Nats-Msg-Id, so JetStream drops a re-publish.
    id         text NOT NULL UNIQUE,
    subject    text NOT NULL,
    payload    bytea NOT NULL,
    -- Extra NATS headers as a JSON object of strings, or NULL.
    headers    jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Wakes the relay (LISTEN runtime_outbox) as soon as events commit; it also
-- polls, so a missed notification only delays an event.
CREATE FUNCTION "runtime"."outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('runtime_outbox', '');
    RETURN NULL;
END
$fn$;

CREATE TRIGGER outbox_notify AFTER INSERT ON "runtime"."outbox"
    FOR EACH STATEMENT EXECUTE FUNCTION "runtime"."outbox_notify"();
