-- The installment plan a card payment was made with (seed 004). amount is
-- what the payer is charged: the interest is in it when the customer pays it.
SET lock_timeout = '5s';

ALTER TABLE runtime.payments
    ADD COLUMN installment_count integer NOT NULL DEFAULT 1 CHECK (installment_count BETWEEN 1 AND 12),
    ADD COLUMN installment_monthly_bps bigint NOT NULL DEFAULT 0 CHECK (installment_monthly_bps >= 0),
    ADD COLUMN installment_interest bigint NOT NULL DEFAULT 0 CHECK (installment_interest >= 0),
    ADD COLUMN installment_interest_paid_by text NOT NULL DEFAULT 'merchant'
        CHECK (installment_interest_paid_by IN ('customer', 'merchant'));
