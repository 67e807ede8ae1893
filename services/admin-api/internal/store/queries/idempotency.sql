-- name: InsertIdempotencyKey :one
INSERT INTO admin.idempotency_keys (organization_id, livemode, key, request_hash)
VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
RETURNING created_at;

-- name: GetIdempotencyKey :one
SELECT * FROM admin.idempotency_keys WHERE organization_id = $1 AND livemode = $2 AND key = $3;

-- name: TakeOverIdempotencyKey :one
-- Reclaims a record whose first request died mid-flight (past the lease) or
-- that is past the 24-hour replay window.
UPDATE admin.idempotency_keys
SET request_hash = @request_hash, response_code = NULL, response_body = NULL, created_at = now()
WHERE organization_id = @organization_id AND livemode = @livemode AND key = @key
  AND ((response_code IS NULL AND created_at < now() - make_interval(secs => @lease_seconds::float8))
       OR created_at < now() - interval '24 hours')
RETURNING created_at;

-- name: FinishIdempotencyKey :exec
UPDATE admin.idempotency_keys SET response_code = $4, response_body = $5
WHERE organization_id = $1 AND livemode = $2 AND key = $3;

-- name: DeleteIdempotencyKey :exec
DELETE FROM admin.idempotency_keys WHERE organization_id = $1 AND livemode = $2 AND key = $3;

-- name: PurgeIdempotencyKeys :execrows
DELETE FROM admin.idempotency_keys WHERE created_at < now() - interval '24 hours';
