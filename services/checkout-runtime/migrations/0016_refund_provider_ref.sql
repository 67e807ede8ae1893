-- Paystack's id for a refund (the provider's answer's reference), recorded as
-- soon as the provider answers: Paystack takes no idempotency key, so a
-- retry of a refund still pending reads this refund (GET /refund/{id})
-- instead of creating another.
SET lock_timeout = '5s';

ALTER TABLE runtime.refunds ADD COLUMN provider_ref text;
