-- name: CreateRoute :one
INSERT INTO admin.routes (id, organization_id, livemode, site_id, payment_method, type, name, accounts,
    currencies, amount_min, amount_max, billing_countries, is_default)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING *;

-- name: ClearDefaultRoute :exec
-- Before a new default route: the former one stays, as a plain route.
UPDATE admin.routes SET is_default = false
WHERE site_id = $1 AND livemode = $2 AND payment_method = $3 AND is_default;

-- name: LockRoute :one
-- An update reads the route it changes under this lock, so that two
-- updates of one route apply one after the other.
SELECT * FROM admin.routes WHERE id = $1 AND organization_id = $2 AND livemode = $3 FOR UPDATE;

-- name: UpdateRoute :one
UPDATE admin.routes SET type = $4, name = $5, accounts = $6, currencies = $7, amount_min = $8, amount_max = $9,
    billing_countries = $10, is_default = $11, disabled = $12
WHERE id = $1 AND organization_id = $2 AND livemode = $3
RETURNING *;

-- name: GetRoute :one
SELECT * FROM admin.routes WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: GetRouteSeq :one
SELECT seq FROM admin.routes WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: ListRoutes :many
SELECT * FROM admin.routes
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(site_id)::text IS NULL OR site_id = sqlc.narg(site_id))
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
ORDER BY seq DESC
LIMIT @row_limit;

-- name: SiteRoutes :many
-- A site's enabled routes in a mode, of every method, oldest first (the
-- order the runtime tries their rules in), each with its accounts'
-- providers in the accounts' order ('' for an account deleted or disabled
-- since: the runtime skips it): one statement on the hosted page's path.
SELECT sqlc.embed(r), ARRAY(
    SELECT coalesce(pa.provider, '')
    FROM jsonb_array_elements(r.accounts) WITH ORDINALITY AS e (account, n)
    LEFT JOIN admin.provider_accounts pa ON pa.id = e.account ->> 'provider_account'
        AND pa.organization_id = r.organization_id AND pa.livemode = r.livemode AND NOT pa.disabled
    ORDER BY e.n)::text[] AS providers
FROM admin.routes r WHERE r.site_id = $1 AND r.livemode = $2 AND NOT r.disabled
ORDER BY r.seq
LIMIT 100;

-- name: DeleteRoute :execrows
DELETE FROM admin.routes WHERE id = $1 AND organization_id = $2 AND livemode = $3;
