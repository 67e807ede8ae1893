-- The provider's fee for a payment, as the provider reports it at capture
-- (Stripe: the charge's balance transaction), in minor units of the
-- account's settlement currency, which may differ from the payment's.
SET lock_timeout = '5s';

ALTER TABLE runtime.payments
    ADD COLUMN fee          bigint NOT NULL DEFAULT 0 CHECK (fee >= 0),
    ADD COLUMN fee_currency text;
