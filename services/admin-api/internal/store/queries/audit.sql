-- name: InsertAuditEntry :exec
INSERT INTO admin.audit_log (id, organization_id, livemode, actor_kind, actor_id, actor_email, action, target_id, client_addr, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: GetAuditEntryTime :one
-- Where a page cursor (an entry id) stands in the organization's log; an
-- entry of another organization finds nothing.
SELECT occurred_at FROM admin.audit_log WHERE organization_id = $1 AND id = $2;

-- name: ListAuditEntries :many
-- An organization's entries newest first, after a cursor (before_at,
-- before_id) when given, narrowed by the filters that are not null: the
-- actor (an id, or a user's email), the action (a name, or a prefix such
-- as "team" for team.*), the target, and a time range [since, until).
SELECT * FROM admin.audit_log
WHERE organization_id = @organization_id
  AND (sqlc.narg(actor)::text IS NULL OR actor_id = sqlc.narg(actor) OR actor_email = lower(sqlc.narg(actor)))
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action) OR starts_with(action, sqlc.narg(action) || '.'))
  AND (sqlc.narg(target_id)::text IS NULL OR target_id = sqlc.narg(target_id))
  AND (sqlc.narg(since)::timestamptz IS NULL OR occurred_at >= sqlc.narg(since))
  AND (sqlc.narg(until)::timestamptz IS NULL OR occurred_at < sqlc.narg(until))
  AND (sqlc.narg(before_at)::timestamptz IS NULL OR (occurred_at, id) < (sqlc.narg(before_at), sqlc.narg(before_id)::text))
ORDER BY occurred_at DESC, id DESC
LIMIT @row_limit;
