-- name: ListFeeRules :many
SELECT * FROM admin.fee_rules WHERE organization_id = $1 AND livemode = $2
ORDER BY payment_method, currency;

-- name: DeleteFeeRules :exec
DELETE FROM admin.fee_rules WHERE organization_id = $1 AND livemode = $2;

-- name: CreateFeeRules :exec
INSERT INTO admin.fee_rules (organization_id, livemode, payment_method, currency, percent_bps, fixed_amount)
SELECT @organization_id, @livemode, unnest(@payment_methods::text[]), unnest(@currencies::text[]),
    unnest(@percent_bps::bigint[]), unnest(@fixed_amounts::bigint[]);

-- name: LockOrganization :exec
-- Serialises schedule replacements of one organization (NO KEY: sessions
-- and keys may still be inserted meanwhile).
SELECT id FROM admin.organizations WHERE id = $1 FOR NO KEY UPDATE;

-- name: SetSessionFee :one
-- Fixes the processing fee of a session that just completed.
UPDATE admin.checkout_sessions SET processing_fee = @processing_fee, net_amount = @net_amount
WHERE id = @id AND status = 'complete' AND processing_fee IS NULL
RETURNING *;
