-- Optional two-factor sign-in for dashboard users: a TOTP secret (RFC 6238)
-- and one-time recovery codes. The secret is sealed with secretbox (AES-GCM
-- under TILLPOINT_ENCRYPTION_KEY, bound to the user's id), never stored in
-- clear; recovery codes and sign-in tokens are stored as SHA-256 hashes only.
SET lock_timeout = '5s';

ALTER TABLE admin.dashboard_users
    -- The sealed secret; null: two-factor sign-in is off.
    ADD COLUMN totp_secret text,
    -- The sealed secret being set up: shown to the user until they confirm
    -- it with a code, then moved to totp_secret.
    ADD COLUMN totp_pending_secret text,
    -- The last time step (unix seconds / 30) whose code was accepted. A code
    -- is accepted only for a later step, and this only moves up, so a code
    -- seen over a shoulder or in a log cannot be used again.
    ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;

-- Recovery codes: ten per user, shown once when two-factor sign-in is turned
-- on; each signs in once (its row is deleted when used). Codes have 80
-- random bits, so their SHA-256 cannot be reversed by trying them all.
CREATE TABLE admin.dashboard_recovery_codes (
    user_id   text NOT NULL REFERENCES admin.dashboard_users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- A sign-in waiting for its second factor: the password was right, the code
-- is asked for next. The browser holds a random 256-bit token in a cookie;
-- only its SHA-256 is stored. It lasts 5 minutes and is deleted when used.
CREATE TABLE admin.dashboard_pending_sign_ins (
    token_hash      bytea PRIMARY KEY,
    user_id         text NOT NULL REFERENCES admin.dashboard_users (id) ON DELETE CASCADE,
    organization_id text NOT NULL REFERENCES admin.organizations (id),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX dashboard_pending_sign_ins_expires_idx ON admin.dashboard_pending_sign_ins (expires_at);
