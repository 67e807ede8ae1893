-- The body a session's notify_url receives for an event, when it is not the
-- event itself: seed 003's collection object for sessions created through
-- the collections API (notify_format 'collection'). NULL: the event's body.
SET lock_timeout = '5s';

ALTER TABLE hooks.events ADD COLUMN notify_body bytea;
