-- Mobile money (Paystack): a payment method of its own. The payment's id is
-- Paystack's reference (provider_ref), and it waits in requires_action while
-- the payer types a code or approves the operator's prompt.
SET lock_timeout = '5s';

ALTER TABLE runtime.payments DROP CONSTRAINT payments_method_check;
ALTER TABLE runtime.payments ADD CONSTRAINT payments_method_check
    CHECK (method IN ('card', 'bank_transfer', 'direct_debit', 'mobile_money')) NOT VALID;
ALTER TABLE runtime.payments VALIDATE CONSTRAINT payments_method_check;

-- What the page shows while a mobile-money payment waits in requires_action:
-- a code form (otp) or the wait for the phone prompt (approve_on_phone).
ALTER TABLE runtime.payments ADD COLUMN next_action text
    CHECK (next_action IN ('otp', 'approve_on_phone'));

-- The timeout sweep's scan: payments still waiting, oldest first.
CREATE INDEX payments_waiting_idx ON runtime.payments (provider, updated_at) WHERE status = 'requires_action';
