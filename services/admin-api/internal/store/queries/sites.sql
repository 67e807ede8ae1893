-- name: CreateSite :one
INSERT INTO admin.sites (id, organization_id, livemode, name, logo_url, primary_color, accent_color,
    default_currency, default_success_url, default_cancel_url, payment_method_types, tax_rates,
    bank_transfer_instructions, append_transaction_id, provider_accounts, installment_plans, is_default, custom_fields,
    subscription_custom_fields, subscription_dunning_end)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, coalesce(sqlc.narg(provider_accounts)::jsonb, '{}'::jsonb),
    coalesce(sqlc.narg(installment_plans)::jsonb, '[]'::jsonb), coalesce(sqlc.narg(is_default)::boolean, false),
    coalesce(sqlc.narg(custom_fields)::jsonb, '[]'::jsonb), coalesce(sqlc.narg(subscription_custom_fields)::jsonb, '[]'::jsonb),
    coalesce(sqlc.narg(subscription_dunning_end)::text, 'cancel'))
ON CONFLICT (id) DO NOTHING
RETURNING *;

-- name: GetSite :one
SELECT * FROM admin.sites WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: UpdateSite :one
UPDATE admin.sites SET name = $4, logo_url = $5, primary_color = $6, accent_color = $7,
    default_currency = $8, default_success_url = $9, default_cancel_url = $10,
    payment_method_types = $11, tax_rates = $12, bank_transfer_instructions = $13,
    append_transaction_id = $14, provider_accounts = $15, installment_plans = $16, is_default = $17, custom_fields = $18,
    subscription_custom_fields = $19, subscription_dunning_end = $20
WHERE id = $1 AND organization_id = $2 AND livemode = $3
RETURNING *;

-- name: ListSites :many
SELECT * FROM admin.sites
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN seq END DESC,
         CASE WHEN sqlc.narg(after_seq)::bigint IS NOT NULL THEN seq END ASC
LIMIT @row_limit;

-- name: GetSiteSeq :one
SELECT seq FROM admin.sites WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: GetDefaultSite :one
-- The site of a session created without site_id: the one marked default,
-- else the oldest.
SELECT * FROM admin.sites WHERE organization_id = $1 AND livemode = $2
ORDER BY is_default DESC, seq ASC
LIMIT 1;

-- name: LockOrganization :exec
-- Serialises the changes of an organization's default site. FOR NO KEY
-- UPDATE does not block the key-share locks of foreign keys (new sites,
-- sessions, keys).
SELECT id FROM admin.organizations WHERE id = $1 FOR NO KEY UPDATE;

-- name: UnsetDefaultSites :exec
-- Unmarks the organization's default in a mode, but for the site keep_id.
UPDATE admin.sites SET is_default = false
WHERE organization_id = @organization_id AND livemode = @livemode AND is_default AND id <> @keep_id;
