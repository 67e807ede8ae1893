-- Provider accounts of GoCardless (direct debit) besides Stripe. (The
-- constraint is PostgreSQL's default name for the column check of
-- migration 0005.)
SET lock_timeout = '5s';

ALTER TABLE admin.provider_accounts DROP CONSTRAINT provider_accounts_provider_check;
ALTER TABLE admin.provider_accounts ADD CONSTRAINT provider_accounts_provider_check
    CHECK (provider IN ('stripe', 'gocardless')) NOT VALID;
ALTER TABLE admin.provider_accounts VALIDATE CONSTRAINT provider_accounts_provider_check;

-- GoCardless: each payment also asks the payer for a reusable mandate.
ALTER TABLE admin.provider_accounts ADD COLUMN reusable_mandate boolean NOT NULL DEFAULT false;
