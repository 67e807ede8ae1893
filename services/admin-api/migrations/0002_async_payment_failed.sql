-- Remembers that a session's asynchronous payment failed, so that a repeated
-- provider callback has no second effect (no second event).
SET lock_timeout = '5s';

ALTER TABLE admin.checkout_sessions ADD COLUMN async_payment_failed_at timestamptz;
