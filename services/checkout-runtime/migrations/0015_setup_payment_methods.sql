-- A subscription checkout with a free trial charges nothing: its card is
-- saved without a payment (Stripe Checkout's setup of the trial), so a
-- saved method comes from a payment or, for such a checkout, its session.
SET lock_timeout = '5s';

ALTER TABLE runtime.payment_methods
    ALTER COLUMN payment_id DROP NOT NULL,
    ADD COLUMN session_id text UNIQUE,
    ADD CONSTRAINT payment_methods_origin CHECK ((payment_id IS NULL) <> (session_id IS NULL));

-- A card saved through a merchant's provider account (Stripe: a Customer
-- and its payment method in that account) is charged through that account.
ALTER TABLE runtime.payment_methods ADD COLUMN provider_account text;
