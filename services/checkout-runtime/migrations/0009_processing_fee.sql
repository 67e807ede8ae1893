-- The processing fee of a payment: what the gateway keeps by the
-- organization's fee schedule, fixed by admin-api on the session the payment
-- completed, and copied here so that payment events and the payment object
-- carry it. Not the provider's own fee (column fee, migration 0007).
SET lock_timeout = '5s';

ALTER TABLE runtime.payments
    ADD COLUMN processing_fee bigint CHECK (processing_fee >= 0),
    ADD COLUMN net_amount     bigint CHECK (net_amount >= 0);
