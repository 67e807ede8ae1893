-- The Admin Panel's people: dashboard users (email and password), their
-- membership of organizations with a role, and their server-side sessions.
-- Users are people, not API keys; what a role may do is decided in
-- internal/dashboard (one table of role × action).
SET lock_timeout = '5s';

CREATE TABLE admin.dashboard_users (
    id            text PRIMARY KEY,
    -- Stored lower-cased and trimmed, so that lookups are exact.
    email         text NOT NULL UNIQUE CHECK (email = lower(email)),
    -- An argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE admin.dashboard_memberships (
    user_id         text NOT NULL REFERENCES admin.dashboard_users (id) ON DELETE CASCADE,
    organization_id text NOT NULL REFERENCES admin.organizations (id),
    role            text NOT NULL CHECK (role IN ('owner', 'developer', 'support', 'viewer')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, organization_id)
);
CREATE INDEX dashboard_memberships_org_idx ON admin.dashboard_memberships (organization_id);

-- A signed-in browser. The cookie holds a random token; only its SHA-256 is
-- stored (the token has 256 random bits: nothing to brute-force), so a copy
-- of this table signs nobody in.
CREATE TABLE admin.dashboard_sessions (
    token_hash      bytea PRIMARY KEY,
    user_id         text NOT NULL REFERENCES admin.dashboard_users (id) ON DELETE CASCADE,
    organization_id text NOT NULL REFERENCES admin.organizations (id),
    -- The mode the user is looking at (the header's test/live toggle).
    livemode        boolean NOT NULL DEFAULT false,
    -- Signs the CSRF tokens of this session's forms.
    csrf_secret     bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Moved forward by use (at most once a minute); idle timeout from it.
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    -- The absolute timeout: no use extends it.
    expires_at      timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_user_idx ON admin.dashboard_sessions (user_id);
CREATE INDEX dashboard_sessions_expires_idx ON admin.dashboard_sessions (expires_at);
