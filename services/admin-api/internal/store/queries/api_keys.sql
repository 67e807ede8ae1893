-- name: CreateAPIKey :one
INSERT INTO admin.api_keys (id, organization_id, livemode, name, prefix, secret_hash)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: EnsureAPIKey :one
-- Idempotent insert for seeding a known secret.
INSERT INTO admin.api_keys (id, organization_id, livemode, name, prefix, secret_hash)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (secret_hash) DO UPDATE SET revoked_at = NULL
RETURNING *;

-- name: GetAPIKeyByHash :one
SELECT * FROM admin.api_keys WHERE secret_hash = $1;

-- name: TouchAPIKey :exec
-- Records use at most once a minute, so that authentication is not a write per request.
UPDATE admin.api_keys SET last_used_at = now()
WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: RevokeAPIKey :one
UPDATE admin.api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE id = $1 AND organization_id = $2 AND livemode = $3
RETURNING *;

-- name: ListAPIKeys :many
SELECT * FROM admin.api_keys
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: GetAPIKeySeq :one
SELECT seq FROM admin.api_keys WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: GetAPIKey :one
SELECT * FROM admin.api_keys WHERE id = $1;
