-- An object's events (a checkout session's, a payment's), for the Admin
-- Panel's checkout page and the events list's object_id filter.
SET lock_timeout = '5s';

CREATE INDEX events_object_idx ON hooks.events (organization_id, livemode, object_id, seq DESC);
