-- Direct debit (GoCardless) payments: the method joins card and bank
-- transfer. (The constraint is PostgreSQL's default name for the column
-- check of migration 0002.)
SET lock_timeout = '5s';

ALTER TABLE runtime.payments DROP CONSTRAINT payments_method_check;
ALTER TABLE runtime.payments ADD CONSTRAINT payments_method_check
    CHECK (method IN ('card', 'bank_transfer', 'direct_debit')) NOT VALID;
ALTER TABLE runtime.payments VALIDATE CONSTRAINT payments_method_check;
