-- A provider account can be disabled: it keeps its credentials, so that
-- refunds of its payments and its provider's callbacks still work, but no
-- new payment is routed to it (docs/routing.md).
SET lock_timeout = '5s';

ALTER TABLE admin.provider_accounts ADD COLUMN disabled boolean NOT NULL DEFAULT false;
