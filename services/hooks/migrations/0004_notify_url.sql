-- Per-session notify_url callbacks: each URL is a hidden endpoint (kind
-- 'notify') that receives only the completions of the sessions that name it,
-- signed with the organization's notify secret for the mode.
SET lock_timeout = '5s';

ALTER TABLE hooks.endpoints ADD COLUMN kind text NOT NULL DEFAULT 'endpoint' CHECK (kind IN ('endpoint', 'notify'));
CREATE UNIQUE INDEX endpoints_notify_url_key ON hooks.endpoints (organization_id, livemode, url) WHERE kind = 'notify';

CREATE TABLE hooks.notify_secrets (
    organization_id text NOT NULL,
    livemode        boolean NOT NULL,
    secret          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, livemode)
);
