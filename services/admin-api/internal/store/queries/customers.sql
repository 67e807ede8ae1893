-- name: CreateCustomer :one
INSERT INTO admin.customers (id, organization_id, livemode, email, name, phone, address, metadata, test_clock_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, sqlc.narg(test_clock_id))
RETURNING *;

-- name: GetCustomer :one
SELECT * FROM admin.customers
WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND deleted_at IS NULL;

-- name: LockCustomer :one
-- The customer an update or delete changes, locked until the transaction
-- ends so that concurrent metadata merges do not lose each other's keys.
SELECT * FROM admin.customers
WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND deleted_at IS NULL
FOR UPDATE;

-- name: UpdateCustomer :one
UPDATE admin.customers SET email = $4, name = $5, phone = $6, address = $7, metadata = $8
WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND deleted_at IS NULL
RETURNING *;

-- name: DeleteCustomer :execrows
UPDATE admin.customers SET deleted_at = now()
WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND deleted_at IS NULL;

-- name: ListCustomers :many
SELECT * FROM admin.customers
WHERE organization_id = @organization_id AND livemode = @livemode AND deleted_at IS NULL
  AND (sqlc.narg(email)::text IS NULL OR lower(email) = lower(sqlc.narg(email)))
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: GetCustomerSeq :one
SELECT seq FROM admin.customers
WHERE id = $1 AND organization_id = $2 AND livemode = $3 AND deleted_at IS NULL;

-- name: GetCustomerTestClock :one
-- The test clock of a customer, deleted or not: a session made for it
-- before its deletion still creates its subscription when paid.
SELECT test_clock_id FROM admin.customers WHERE id = $1 AND organization_id = $2 AND livemode = $3;
