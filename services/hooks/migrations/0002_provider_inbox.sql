-- The provider-callback inbox: every verified callback once, by provider and
-- the provider's event id, so that a replay has no second effect.
SET lock_timeout = '5s';

CREATE TABLE hooks.provider_events (
    provider    text NOT NULL,
    event_id    text NOT NULL,
    body        bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);
