-- Stripe's client_reference_id: the merchant's reference for a session (a
-- cart or customer id). Unlike order_id it is not unique.
SET lock_timeout = '5s';

ALTER TABLE admin.checkout_sessions ADD COLUMN client_reference_id text;
