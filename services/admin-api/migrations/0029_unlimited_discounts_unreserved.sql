-- Coupons and promotion codes without max_redemptions reserve nothing any
-- more (issue 12: their reservation serialised concurrent checkouts on the
-- coupon's row). Reservations taken before are no longer given back, so
-- their count starts again from nothing; times_redeemed is unchanged.
SET lock_timeout = '5s';

UPDATE admin.coupons SET times_reserved = 0 WHERE max_redemptions IS NULL AND times_reserved <> 0;
UPDATE admin.promotion_codes SET times_reserved = 0 WHERE max_redemptions IS NULL AND times_reserved <> 0;
