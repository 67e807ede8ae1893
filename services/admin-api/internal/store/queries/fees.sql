-- name: ListFeeRules :many
SELECT * FROM admin.fee_rules WHERE organization_id = $1 AND livemode = $2
ORDER BY payment_method, currency;

-- name: DeleteFeeRules :exec
DELETE FROM admin.fee_rules WHERE organization_id = $1 AND livemode = $2;

-- name: CreateFeeRules :exec
INSERT INTO admin.fee_rules (organization_id, livemode, payment_method, currency, percent_bps, fixed_amount)
SELECT @organization_id, @livemode, unnest(@payment_methods::text[]), unnest(@currencies::text[]),
    unnest(@percent_bps::bigint[]), unnest(@fixed_amounts::bigint[]);
