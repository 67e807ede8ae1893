-- name: CreateOrganization :one
INSERT INTO admin.organizations (id, name) VALUES ($1, $2)
RETURNING *;

-- name: UpsertOrganization :one
INSERT INTO admin.organizations (id, name) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name
RETURNING *;

-- name: GetOrganization :one
SELECT * FROM admin.organizations WHERE id = $1;
