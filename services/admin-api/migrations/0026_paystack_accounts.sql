-- Paystack provider accounts (mobile money). Their credentials are the
-- secret key alone, sealed like Stripe's; Paystack signs webhooks with it.
SET lock_timeout = '5s';

ALTER TABLE admin.provider_accounts DROP CONSTRAINT provider_accounts_provider_check;
ALTER TABLE admin.provider_accounts ADD CONSTRAINT provider_accounts_provider_check
    CHECK (provider IN ('stripe', 'gocardless', 'paystack', 'test')) NOT VALID;
ALTER TABLE admin.provider_accounts VALIDATE CONSTRAINT provider_accounts_provider_check;
