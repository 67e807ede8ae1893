-- Payments through a merchant's own provider account (Stripe today): which
-- account made the payment, so that a provider's callback, verified with that
-- account's secret, applies only to that account's payments; and a lookup of
-- a payment by the provider's id (a Stripe PaymentIntent) for callbacks that
-- do not echo ours.
SET lock_timeout = '5s';

ALTER TABLE runtime.payments ADD COLUMN provider_account text;

CREATE INDEX payments_provider_ref_idx ON runtime.payments (provider, provider_ref) WHERE provider_ref IS NOT NULL;
