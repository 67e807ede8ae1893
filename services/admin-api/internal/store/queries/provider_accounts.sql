-- name: CreateProviderAccount :one
INSERT INTO admin.provider_accounts (id, organization_id, livemode, provider, name, publishable_key,
    secret_key_last4, webhook_secret_last4, credentials, metadata, reusable_mandate)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING *;

-- name: GetProviderAccount :one
SELECT * FROM admin.provider_accounts WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: LockProviderAccount :one
-- For an update or a delete: waits for, and then excludes, sites being
-- pointed at the account (they take LockProviderAccountShared).
SELECT * FROM admin.provider_accounts WHERE id = $1 AND organization_id = $2 AND livemode = $3
FOR UPDATE;

-- name: LockProviderAccountShared :one
-- For a site naming the account: the account cannot be deleted until the
-- site's transaction ends.
SELECT * FROM admin.provider_accounts WHERE id = $1 AND organization_id = $2 AND livemode = $3
FOR SHARE;

-- name: GetProviderAccountByID :one
-- For the internal API (checkout-runtime and hooks), which know only the id.
SELECT * FROM admin.provider_accounts WHERE id = $1;

-- name: UpdateProviderAccount :one
UPDATE admin.provider_accounts SET name = $4, metadata = $5, publishable_key = $6,
    secret_key_last4 = $7, webhook_secret_last4 = $8, credentials = $9, reusable_mandate = $10, disabled = $11, updated_at = now()
WHERE id = $1 AND organization_id = $2 AND livemode = $3
RETURNING *;

-- name: DeleteProviderAccount :execrows
DELETE FROM admin.provider_accounts WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: SitesUsingProviderAccount :many
-- The sites (oldest first) that name the account for some method.
SELECT id FROM admin.sites
WHERE organization_id = @organization_id AND livemode = @livemode
  AND EXISTS (SELECT 1 FROM jsonb_each_text(provider_accounts) e WHERE e.value = @account_id::text)
ORDER BY seq
LIMIT 10;

-- name: ListProviderAccounts :many
SELECT * FROM admin.provider_accounts
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: GetProviderAccountSeq :one
SELECT seq FROM admin.provider_accounts WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: StaleProviderAccounts :many
-- Accounts whose credentials are not sealed under the current key (whose
-- ciphertext does not start with "<current key id>:"), locked for re-sealing.
SELECT * FROM admin.provider_accounts
WHERE left(credentials, length(@key_prefix::text)) <> @key_prefix::text
ORDER BY seq
LIMIT @row_limit
FOR UPDATE SKIP LOCKED;

-- name: SetProviderAccountCredentials :exec
UPDATE admin.provider_accounts SET credentials = $2 WHERE id = $1;
