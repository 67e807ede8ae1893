-- Funds received beyond what a payment could use, recorded explicitly: more
-- than its amount, or any funds for a payment that was settled, canceled or
-- failed before they came. The merchant owes the payer this much back.
SET lock_timeout = '5s';

ALTER TABLE runtime.payments
    ADD COLUMN amount_overpaid bigint NOT NULL DEFAULT 0 CHECK (amount_overpaid >= 0),
    ADD CONSTRAINT payments_overpaid_within_received CHECK (amount_overpaid <= amount_received);

-- One receipt is at most the largest amount a session may have
-- (money.MaxAmount); NOT VALID: rows written before are not rescanned.
ALTER TABLE runtime.bank_receipts
    ADD CONSTRAINT bank_receipts_amount_max CHECK (amount <= 99999999999) NOT VALID;

