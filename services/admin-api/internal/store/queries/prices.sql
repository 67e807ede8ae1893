-- name: CreatePrice :one
INSERT INTO admin.prices (id, organization_id, livemode, product_id, currency, unit_amount, type,
    recurring_interval, recurring_interval_count, active, nickname, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING *;

-- name: GetPrice :one
SELECT * FROM admin.prices WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: LockPrice :one
SELECT * FROM admin.prices WHERE id = $1 AND organization_id = $2 AND livemode = $3 FOR UPDATE;

-- name: UpdatePrice :one
-- Only what may change; the trigger prices_immutable guards the rest.
UPDATE admin.prices SET active = $4, nickname = $5, metadata = $6
WHERE id = $1 AND organization_id = $2 AND livemode = $3
RETURNING *;

-- name: ListPrices :many
SELECT * FROM admin.prices
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(product_id)::text IS NULL OR product_id = sqlc.narg(product_id))
  AND (sqlc.narg(active)::boolean IS NULL OR active = sqlc.narg(active))
  AND (sqlc.narg(type)::text IS NULL OR type = sqlc.narg(type))
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: GetPriceSeq :one
SELECT seq FROM admin.prices WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: GetPricesForLineItems :many
-- The prices a new session's line items name, with their products, in the
-- caller's organization and mode (ids of other tenants are simply absent).
SELECT sqlc.embed(pr), sqlc.embed(p)
FROM admin.prices pr JOIN admin.products p ON p.id = pr.product_id
WHERE pr.id = ANY(@ids::text[]) AND pr.organization_id = @organization_id AND pr.livemode = @livemode;
