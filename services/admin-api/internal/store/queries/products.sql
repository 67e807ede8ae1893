-- name: CreateProduct :one
INSERT INTO admin.products (id, organization_id, livemode, name, description, images, active, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *;

-- name: GetProduct :one
SELECT * FROM admin.products WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: LockProduct :one
-- The product an update changes (or a new price is made for), locked until
-- the transaction ends.
SELECT * FROM admin.products WHERE id = $1 AND organization_id = $2 AND livemode = $3 FOR UPDATE;

-- name: UpdateProduct :one
UPDATE admin.products SET name = $4, description = $5, images = $6, active = $7, metadata = $8
WHERE id = $1 AND organization_id = $2 AND livemode = $3
RETURNING *;

-- name: ListProducts :many
SELECT * FROM admin.products
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(active)::boolean IS NULL OR active = sqlc.narg(active))
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: GetProductSeq :one
SELECT seq FROM admin.products WHERE id = $1 AND organization_id = $2 AND livemode = $3;
