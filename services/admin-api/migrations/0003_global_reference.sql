-- Bank feeds report transfers by reference alone, without saying which
-- organization they are for, so a reference must identify one session across
-- the whole deployment.
SET lock_timeout = '5s';

DROP INDEX admin.checkout_sessions_reference_idx;
CREATE UNIQUE INDEX checkout_sessions_reference_key ON admin.checkout_sessions (reference);
