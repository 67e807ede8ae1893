-- Provider accounts: a merchant's own credentials at a payment provider
-- (Stripe), per mode, and the sites' choice of account per payment method.
SET lock_timeout = '5s';

CREATE TABLE admin.provider_accounts (
    id                   text PRIMARY KEY,
    seq                  bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id      text NOT NULL REFERENCES admin.organizations (id),
    livemode             boolean NOT NULL,
    provider             text NOT NULL CHECK (provider IN ('stripe')),
    name                 text NOT NULL DEFAULT '',
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active')),
    -- Public by design: the browser gets it.
    publishable_key      text NOT NULL,
    secret_key_last4     text NOT NULL,
    webhook_secret_last4 text NOT NULL,
    -- secretbox ciphertext ("<key id>:<base64url>") of the JSON
    -- {secret_key, webhook_secret}, bound to (id, organization_id, livemode).
    credentials          text NOT NULL,
    metadata             jsonb NOT NULL DEFAULT '{}',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provider_accounts_org_idx ON admin.provider_accounts (organization_id, livemode, seq DESC);

-- {payment method: provider account id}, e.g. {"card": "pa_…"}. Checked by
-- admin-api (same organization and mode, a provider serving the method);
-- deleting an account in use is refused while it holds the account's row lock.
ALTER TABLE admin.sites ADD COLUMN provider_accounts jsonb NOT NULL DEFAULT '{}';
