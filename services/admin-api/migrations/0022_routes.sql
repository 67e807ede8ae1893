-- Routes (issue 16): how a site's payments of a method are sent over the
-- organization's provider accounts, per mode (docs/routing.md); a session
-- may name one. Test-provider accounts exist so that a test-mode route can
-- cascade between two accounts of the built-in test provider.
SET lock_timeout = '5s';

CREATE TABLE admin.routes (
    id                text PRIMARY KEY,
    seq               bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id   text NOT NULL REFERENCES admin.organizations (id),
    livemode          boolean NOT NULL,
    site_id           text NOT NULL REFERENCES admin.sites (id),
    payment_method    text NOT NULL CHECK (payment_method IN ('card')),
    type              text NOT NULL CHECK (type IN ('priority', 'volume_split')),
    name              text NOT NULL DEFAULT '',
    -- [{"provider_account": "pa_…", "weight": 70}, …] in priority order;
    -- checked by admin-api (the organization's accounts in this mode).
    accounts          jsonb NOT NULL,
    currencies        text[] NOT NULL DEFAULT '{}',
    amount_min        bigint CHECK (amount_min >= 0),
    amount_max        bigint CHECK (amount_max >= 0),
    billing_countries text[] NOT NULL DEFAULT '{}',
    is_default        boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (amount_min IS NULL OR amount_max IS NULL OR amount_min <= amount_max)
);
CREATE INDEX routes_org_idx ON admin.routes (organization_id, livemode, seq DESC);
CREATE INDEX routes_site_idx ON admin.routes (site_id, livemode, payment_method, seq);
-- One default route per site, method and mode.
CREATE UNIQUE INDEX routes_default_idx ON admin.routes (site_id, livemode, payment_method) WHERE is_default;

ALTER TABLE admin.checkout_sessions ADD COLUMN route_id text;

-- Provider accounts of the built-in test provider (test mode only; no
-- credentials). Other providers' migrations extend the same list.
ALTER TABLE admin.provider_accounts DROP CONSTRAINT provider_accounts_provider_check;
ALTER TABLE admin.provider_accounts ADD CONSTRAINT provider_accounts_provider_check CHECK (provider IN ('stripe', 'gocardless', 'test'));
