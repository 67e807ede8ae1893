-- The audit log: who did what to an organization's configuration and
-- money, through the dashboard (a user) or the API (a key). Rows are only
-- ever inserted. The rule of what is recorded is in docs/dashboard.md
-- ("Audit log"): every configuration change by any actor, and every
-- money-moving or delivery action by a dashboard user. Session creation
-- by API key is not recorded (it is the hot path, and the session itself
-- is its record).
SET lock_timeout = '5s';

CREATE TABLE admin.audit_log (
    id              text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES admin.organizations (id),
    -- The mode acted in; null for actions outside modes (the team, sign-in).
    livemode        boolean,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    actor_kind      text NOT NULL CHECK (actor_kind IN ('user', 'api_key')),
    -- The dashboard user's id (usr_…) or the API key's id (key_…).
    actor_id        text NOT NULL,
    -- The user's email when they acted (users are renamed, keys have none).
    actor_email     text,
    -- A stable dotted name: api_key.create, refund.create, team.invite, …
    action          text NOT NULL,
    -- The object acted on (created, changed or deleted); null when the
    -- action has none (the fee schedule, a sign-in).
    target_id       text,
    -- Where the call came from; null when unknown.
    client_addr     text,
    -- Which parameters were given and a few non-secret values (amounts,
    -- currencies, roles): never a secret, never a card number.
    detail          jsonb NOT NULL DEFAULT '{}'
);
-- The page lists an organization's entries newest first, by keyset on
-- (occurred_at, id); the filters narrow that walk.
CREATE INDEX audit_log_org_idx ON admin.audit_log (organization_id, occurred_at DESC, id DESC);
