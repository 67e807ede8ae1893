-- name: InsertAuditEntry :exec
INSERT INTO admin.audit_log (id, organization_id, livemode, actor_kind, actor_id, actor_email, action, target_id, client_addr, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: GetAuditEntryTime :one
-- Where a page cursor (an entry id) stands in the organization's log; an
-- entry of another organization finds nothing.
SELECT occurred_at FROM admin.audit_log WHERE organization_id = $1 AND id = $2;

-- name: ListAuditEntries :many
-- An organization's entries newest first, from the position (before_at,
-- before_id) back to since, narrowed by the filters that are not null: the
-- actor (an id, or a user's email), the action (a name, or a family such
-- as "team" for team.*) and the target. The position and since are always
-- given (the first page starts after the newest possible entry), so that
-- they bound the index scan in every plan, generic ones too: a page deep
-- in a long log costs what the first one does.
SELECT * FROM admin.audit_log
WHERE organization_id = @organization_id
  AND (occurred_at, id) < (@before_at::timestamptz, @before_id::text)
  AND occurred_at >= @since::timestamptz
  AND (sqlc.narg(actor)::text IS NULL OR actor_id = sqlc.narg(actor) OR actor_email = lower(sqlc.narg(actor)))
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action) OR starts_with(action, sqlc.narg(action) || '.'))
  AND (sqlc.narg(target_id)::text IS NULL OR target_id = sqlc.narg(target_id))
ORDER BY occurred_at DESC, id DESC
LIMIT @row_limit;
