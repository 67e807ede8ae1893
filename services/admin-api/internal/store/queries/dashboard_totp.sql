-- name: SetDashboardUserPendingTOTP :execrows
-- Starts (or restarts) setting up two-factor sign-in; a user who has it on
-- changes nothing (0 rows): they turn it off first.
UPDATE admin.dashboard_users SET totp_pending_secret = $2 WHERE id = $1 AND totp_secret IS NULL;

-- name: EnableDashboardUserTOTP :execrows
-- Turns two-factor sign-in on with the secret being set up, if it is still
-- the one the user confirmed a code of, and notes that code's step.
UPDATE admin.dashboard_users
SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_last_step = @step
WHERE id = @id AND totp_secret IS NULL AND totp_pending_secret = @pending;

-- name: DisableDashboardUserTOTP :exec
UPDATE admin.dashboard_users SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = 0 WHERE id = $1;

-- name: AdvanceDashboardUserTOTPStep :execrows
-- Accepts a code of step: only for a later step than any accepted before,
-- in one statement, so a code replayed (or posted twice at once) is
-- accepted once.
UPDATE admin.dashboard_users SET totp_last_step = @step
WHERE id = @id AND totp_secret IS NOT NULL AND totp_last_step < @step;

-- name: ReplaceDashboardRecoveryCodes :exec
-- Replaces the user's recovery codes with these hashes.
WITH gone AS (DELETE FROM admin.dashboard_recovery_codes WHERE user_id = @user_id)
INSERT INTO admin.dashboard_recovery_codes (user_id, code_hash)
SELECT @user_id, unnest(@code_hashes::bytea[]);

-- name: DeleteDashboardRecoveryCodes :exec
DELETE FROM admin.dashboard_recovery_codes WHERE user_id = $1;

-- name: UseDashboardRecoveryCode :execrows
-- Uses a recovery code up: 1 row when it was the user's and unused.
DELETE FROM admin.dashboard_recovery_codes WHERE user_id = $1 AND code_hash = $2;

-- name: CountDashboardRecoveryCodes :one
SELECT count(*) FROM admin.dashboard_recovery_codes WHERE user_id = $1;

-- name: CreateDashboardPendingSignIn :exec
INSERT INTO admin.dashboard_pending_sign_ins (token_hash, user_id, organization_id, expires_at)
VALUES ($1, $2, $3, $4);

-- name: GetDashboardPendingSignIn :one
-- A sign-in waiting for its code, not expired, with what checking it needs.
SELECT p.user_id, p.organization_id, u.email, u.totp_secret, u.totp_last_step
FROM admin.dashboard_pending_sign_ins p JOIN admin.dashboard_users u ON u.id = p.user_id
WHERE p.token_hash = $1 AND p.expires_at > now();

-- name: DeleteDashboardPendingSignIn :execrows
-- Uses a pending sign-in up: 1 row when it was still there and not expired.
DELETE FROM admin.dashboard_pending_sign_ins WHERE token_hash = $1 AND expires_at > now();

-- name: DeleteExpiredDashboardPendingSignIns :execrows
DELETE FROM admin.dashboard_pending_sign_ins WHERE expires_at <= now();

-- name: StaleDashboardTOTPSecrets :many
-- Users whose TOTP secret (on or being set up) is not sealed under the
-- current key (does not start with "<current key id>:"), locked for
-- re-sealing.
SELECT id, totp_secret, totp_pending_secret FROM admin.dashboard_users
WHERE left(totp_secret, length(@key_prefix::text)) <> @key_prefix::text
   OR left(totp_pending_secret, length(@key_prefix::text)) <> @key_prefix::text
ORDER BY id
LIMIT @row_limit
FOR UPDATE SKIP LOCKED;

-- name: SetDashboardUserTOTPSecrets :exec
UPDATE admin.dashboard_users SET totp_secret = $2, totp_pending_secret = $3 WHERE id = $1;
