-- Installments (seed 004) and the session's UUID (PayPorter's checkoutId).
SET lock_timeout = '5s';

-- [{currency, count, monthly_interest_bps}], one per currency and count.
ALTER TABLE admin.sites ADD COLUMN installment_plans jsonb NOT NULL DEFAULT '[]';

-- uuid: every session gets one, so that any API wanting a UUID can name it;
-- gen_random_uuid() is version 4 (122 random bits).
ALTER TABLE admin.checkout_sessions
    ADD COLUMN uuid uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN max_installment_count integer NOT NULL DEFAULT 1
        CHECK (max_installment_count BETWEEN 1 AND 12),
    ADD COLUMN installment_interest_paid_by text NOT NULL DEFAULT 'merchant'
        CHECK (installment_interest_paid_by IN ('customer', 'merchant')),
    ADD COLUMN return_method text NOT NULL DEFAULT 'redirect'
        CHECK (return_method IN ('redirect', 'post'));
CREATE UNIQUE INDEX checkout_sessions_uuid_idx ON admin.checkout_sessions (uuid);
