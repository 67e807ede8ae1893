-- Invitations to an organization's dashboard, by link. The link holds a
-- random 256-bit token; only its SHA-256 is stored, so a copy of this table
-- opens no invitation. An invitation is used once (accepted_at), ends after
-- expires_at, and a revoked one is deleted.
SET lock_timeout = '5s';

CREATE TABLE admin.dashboard_invitations (
    id              text PRIMARY KEY,
    organization_id text NOT NULL REFERENCES admin.organizations (id),
    email           text NOT NULL CHECK (email = lower(email)),
    role            text NOT NULL CHECK (role IN ('owner', 'developer', 'support', 'viewer')),
    token_hash      bytea NOT NULL UNIQUE,
    -- The owner who invited (kept when that user is deleted: the record stays).
    invited_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz
);
CREATE INDEX dashboard_invitations_org_idx ON admin.dashboard_invitations (organization_id, created_at);

-- When the user last signed in (the Team page shows it); null: never.
ALTER TABLE admin.dashboard_users ADD COLUMN last_sign_in_at timestamptz;
