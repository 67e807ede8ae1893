-- name: CreateCoupon :one
INSERT INTO admin.coupons (organization_id, livemode, id, name, percent_off, amount_off, currency, duration,
    duration_in_months, max_redemptions, redeem_by, applies_to_products, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING *;

-- name: GetCoupon :one
SELECT * FROM admin.coupons
WHERE organization_id = $1 AND livemode = $2 AND id = $3 AND deleted_at IS NULL;

-- name: GetCouponSeq :one
SELECT seq FROM admin.coupons
WHERE organization_id = $1 AND livemode = $2 AND id = $3 AND deleted_at IS NULL;

-- name: UpdateCoupon :one
UPDATE admin.coupons SET name = $4, metadata = $5
WHERE organization_id = $1 AND livemode = $2 AND id = $3 AND deleted_at IS NULL
RETURNING *;

-- name: DeleteCoupon :one
UPDATE admin.coupons SET deleted_at = now()
WHERE organization_id = $1 AND livemode = $2 AND id = $3 AND deleted_at IS NULL
RETURNING *;

-- name: ListCoupons :many
SELECT * FROM admin.coupons
WHERE organization_id = @organization_id AND livemode = @livemode AND deleted_at IS NULL
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN -seq ELSE seq END
LIMIT @row_limit;

-- name: ReserveCoupon :one
-- Holds one redemption of a coupon that can still be applied: the limit
-- check and the reservation are this one statement, so concurrent sessions
-- queue on the row lock and the last redemption goes to one of them.
UPDATE admin.coupons SET times_reserved = times_reserved + 1
WHERE organization_id = $1 AND livemode = $2 AND id = $3 AND deleted_at IS NULL
  AND (redeem_by IS NULL OR redeem_by > now())
  AND (max_redemptions IS NULL OR times_redeemed + times_reserved < max_redemptions)
RETURNING *;

-- name: CouponReservationDone :exec
-- Ends a redemption: counted (redeemed) or not, and its reservation given
-- back; a coupon without max_redemptions (immutable) reserves nothing, so
-- its row is not written when nothing is counted.
UPDATE admin.coupons
SET times_reserved = times_reserved - CASE WHEN max_redemptions IS NULL THEN 0 ELSE 1 END, times_redeemed = times_redeemed + CASE WHEN @redeemed::boolean THEN 1 ELSE 0 END
WHERE organization_id = @organization_id AND livemode = @livemode AND id = @id
  AND (@redeemed::boolean OR max_redemptions IS NOT NULL);

-- name: CreatePromotionCode :one
INSERT INTO admin.promotion_codes (id, organization_id, livemode, coupon_id, code, active, max_redemptions,
    expires_at, first_time_transaction, minimum_amount, minimum_amount_currency, customer, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING *;

-- name: GetPromotionCode :one
SELECT * FROM admin.promotion_codes WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: GetPromotionCodeSeq :one
SELECT seq FROM admin.promotion_codes WHERE id = $1 AND organization_id = $2 AND livemode = $3;

-- name: FindPromotionCode :one
-- The code a customer typed: the active one, else the newest inactive one
-- (to say why it does not work).
SELECT * FROM admin.promotion_codes
WHERE organization_id = @organization_id AND livemode = @livemode AND lower(code) = lower(@code::text)
ORDER BY active DESC, seq DESC
LIMIT 1;

-- name: UpdatePromotionCode :one
UPDATE admin.promotion_codes SET active = $4, metadata = $5
WHERE id = $1 AND organization_id = $2 AND livemode = $3
RETURNING *;

-- name: ListPromotionCodes :many
SELECT * FROM admin.promotion_codes
WHERE organization_id = @organization_id AND livemode = @livemode
  AND (sqlc.narg(code)::text IS NULL OR lower(code) = lower(sqlc.narg(code)))
  AND (sqlc.narg(coupon)::text IS NULL OR coupon_id = sqlc.narg(coupon))
  AND (sqlc.narg(active)::boolean IS NULL OR active = sqlc.narg(active))
  AND (sqlc.narg(before_seq)::bigint IS NULL OR seq < sqlc.narg(before_seq))
  AND (sqlc.narg(after_seq)::bigint IS NULL OR seq > sqlc.narg(after_seq))
ORDER BY CASE WHEN sqlc.narg(after_seq)::bigint IS NULL THEN -seq ELSE seq END
LIMIT @row_limit;

-- name: ReservePromotionCode :one
-- ReserveCoupon for a promotion code.
UPDATE admin.promotion_codes SET times_reserved = times_reserved + 1
WHERE id = $1 AND active AND (expires_at IS NULL OR expires_at > now())
  AND (max_redemptions IS NULL OR times_redeemed + times_reserved < max_redemptions)
RETURNING *;

-- name: PromotionCodeReservationDone :exec
-- CouponReservationDone for a promotion code.
UPDATE admin.promotion_codes
SET times_reserved = times_reserved - CASE WHEN max_redemptions IS NULL THEN 0 ELSE 1 END, times_redeemed = times_redeemed + CASE WHEN @redeemed::boolean THEN 1 ELSE 0 END
WHERE id = @id AND (@redeemed::boolean OR max_redemptions IS NOT NULL);

-- name: CreateRedemption :exec
INSERT INTO admin.discount_redemptions (session_id, organization_id, livemode, coupon_id, promotion_code_id, status)
VALUES ($1, $2, $3, $4, $5, 'reserved');

-- name: EndRedemption :one
-- Moves a session's reservation to redeemed or released, once.
UPDATE admin.discount_redemptions SET status = @status, updated_at = now()
WHERE session_id = @session_id AND status = 'reserved'
RETURNING *;

-- name: CustomerHasPaidSession :one
-- Whether a customer (by id or email) already paid a session: the
-- first_time_transaction restriction.
SELECT EXISTS (
    SELECT 1 FROM admin.checkout_sessions
    WHERE organization_id = @organization_id AND livemode = @livemode AND payment_status = 'paid'
      AND (customer = sqlc.narg(customer) OR lower(customer_email) = lower(sqlc.narg(customer_email)))
);

-- name: SetSessionDiscount :one
-- Gives a session its discount, in the transaction that reserved it.
UPDATE admin.checkout_sessions
SET amount_discount = sqlc.arg(amount_discount)::bigint, amount_total = amount_subtotal - sqlc.arg(amount_discount)::bigint + amount_tax,
    line_items = @line_items, discount_coupon = @discount_coupon, discount_promotion_code = @discount_promotion_code
WHERE id = @id AND status = 'open' AND discount_coupon IS NULL
RETURNING *;

-- name: AllowPromotionCodes :exec
UPDATE admin.checkout_sessions SET allow_promotion_codes = true WHERE id = @id;

-- name: GetAnyCoupon :one
-- A coupon, deleted or not: what a promotion code shows.
SELECT * FROM admin.coupons WHERE organization_id = $1 AND livemode = $2 AND id = $3;
