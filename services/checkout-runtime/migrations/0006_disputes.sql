-- Disputes (chargebacks) a provider reports on a payment: the payer's bank
-- questions it. Kept on the payment, so that the merchant sees it on the
-- payment object and in a payment.disputed event; the provider's dashboard
-- is where it is answered.
SET lock_timeout = '5s';

ALTER TABLE runtime.payments
    ADD COLUMN dispute_id     text,
    ADD COLUMN dispute_reason text,
    ADD COLUMN dispute_status text,
    ADD COLUMN dispute_amount bigint,
    ADD COLUMN disputed_at    timestamptz;
