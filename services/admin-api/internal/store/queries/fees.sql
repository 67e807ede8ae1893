-- name: ListFeeRules :many
SELECT * FROM admin.fee_rules WHERE organization_id = $1 AND livemode = $2
ORDER BY payment_method, currency;

-- name: DeleteFeeRules :exec
DELETE FROM admin.fee_rules WHERE organization_id = $1 AND livemode = $2;

-- name: CreateFeeRules :exec
INSERT INTO admin.fee_rules (organization_id, livemode, payment_method, currency, percent_bps, fixed_amount)
SELECT @organization_id, @livemode, unnest(@payment_methods::text[]), unnest(@currencies::text[]),
    unnest(@percent_bps::bigint[]), unnest(@fixed_amounts::bigint[]);

-- name: ListSessionFeeRules :many
-- The fee rules of a session's organization and mode, with the session's
-- currency, in one round trip (none: no fee).
SELECT r.payment_method, r.currency, r.percent_bps, r.fixed_amount, s.currency AS session_currency
FROM admin.checkout_sessions s
JOIN admin.fee_rules r ON r.organization_id = s.organization_id AND r.livemode = s.livemode
WHERE s.id = $1;
