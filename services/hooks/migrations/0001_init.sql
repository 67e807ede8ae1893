-- The hooks schema: the provider-event inbox, webhook endpoints and deliveries
-- (added with webhooks), and the outbox. No other service reads this schema.
SET lock_timeout = '5s';

CREATE SCHEMA IF NOT EXISTS hooks;

-- Transactional outbox (services/platform/outbox): events written in the
-- transaction of the change they describe, published to NATS JetStream by the
-- outbox relay in seq order and then deleted.
CREATE TABLE "hooks"."outbox" (
    seq        bigserial PRIMARY KEY,
    -- The event id; also the Nats-Msg-Id, so JetStream drops a re-publish.
    id         text NOT NULL UNIQUE,
    subject    text NOT NULL,
    payload    bytea NOT NULL,
    -- Extra NATS headers as a JSON object of strings, or NULL.
    headers    jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Wakes the relay (LISTEN hooks_outbox) as soon as events commit; it also
-- polls, so a missed notification only delays an event.
CREATE FUNCTION "hooks"."outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('hooks_outbox', '');
    RETURN NULL;
END
$fn$;

CREATE TRIGGER outbox_notify AFTER INSERT ON "hooks"."outbox"
    FOR EACH STATEMENT EXECUTE FUNCTION "hooks"."outbox_notify"();
