-- A session's secure token (PaymentKit surface): a random 256-bit bearer
-- token that opens the hosted page at /c/{secure_token}. Only its SHA-256
-- hash is stored; the token itself is shown once, in the create answer.
SET lock_timeout = '5s';

ALTER TABLE admin.checkout_sessions ADD COLUMN secure_token_hash bytea;
CREATE UNIQUE INDEX checkout_sessions_secure_token_idx ON admin.checkout_sessions (secure_token_hash)
    WHERE secure_token_hash IS NOT NULL;
