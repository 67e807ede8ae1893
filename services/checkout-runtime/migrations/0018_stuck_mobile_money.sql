-- The payment reconciler claims mobile-money payments left processing too
-- (a crash before Paystack's answer was recorded, or after it): its index
-- covers both methods, so that its pass stays off the whole table.
SET lock_timeout = '5s';

CREATE INDEX payments_processing_stuck_idx ON runtime.payments (updated_at)
    WHERE status = 'processing' AND method IN ('card', 'mobile_money');
DROP INDEX runtime.payments_processing_card_idx;
