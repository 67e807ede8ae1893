-- The catalog, first part: customers, products and their prices. Every row
-- belongs to one organization and one mode; ids are random (platform/ids),
-- seq orders lists and resolves cursors. Line items made from a price keep
-- its price_id and product_id inside checkout_sessions.line_items (jsonb),
-- so the session tables need no change.
SET lock_timeout = '5s';

CREATE TABLE admin.customers (
    id              text PRIMARY KEY,
    seq             bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id text NOT NULL REFERENCES admin.organizations (id),
    livemode        boolean NOT NULL,
    email           text,
    name            text,
    phone           text,
    -- {line1, line2, city, state, postal_code, country}, or null.
    address         jsonb,
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Deleted customers stay for the sessions (and, later, subscriptions)
    -- that name them, but are no longer found, listed or usable.
    deleted_at      timestamptz
);
CREATE INDEX customers_org_idx ON admin.customers (organization_id, livemode, seq DESC) WHERE deleted_at IS NULL;
CREATE INDEX customers_email_idx ON admin.customers (organization_id, livemode, lower(email)) WHERE deleted_at IS NULL;

CREATE TABLE admin.products (
    id              text PRIMARY KEY,
    seq             bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id text NOT NULL REFERENCES admin.organizations (id),
    livemode        boolean NOT NULL,
    name            text NOT NULL,
    description     text,
    images          text[] NOT NULL DEFAULT '{}',
    active          boolean NOT NULL DEFAULT true,
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- A price's product is found by (id, organization, mode) together, so
    -- that a price can only ever point at a product of its own tenant.
    UNIQUE (id, organization_id, livemode)
);
CREATE INDEX products_org_idx ON admin.products (organization_id, livemode, seq DESC);

CREATE TABLE admin.prices (
    id              text PRIMARY KEY,
    seq             bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id text NOT NULL,
    livemode        boolean NOT NULL,
    product_id      text NOT NULL,
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    unit_amount     bigint NOT NULL CHECK (unit_amount >= 0),
    type            text NOT NULL CHECK (type IN ('one_time', 'recurring')),
    -- day | week | month | year, and the count: both null for one_time.
    recurring_interval       text CHECK (recurring_interval IN ('day', 'week', 'month', 'year')),
    recurring_interval_count integer CHECK (recurring_interval_count >= 1),
    active          boolean NOT NULL DEFAULT true,
    nickname        text,
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (product_id, organization_id, livemode) REFERENCES admin.products (id, organization_id, livemode),
    CHECK ((type = 'recurring') = (recurring_interval IS NOT NULL AND recurring_interval_count IS NOT NULL)),
    CHECK (type = 'recurring' OR (recurring_interval IS NULL AND recurring_interval_count IS NULL))
);
CREATE INDEX prices_org_idx ON admin.prices (organization_id, livemode, seq DESC);
CREATE INDEX prices_product_idx ON admin.prices (product_id, seq DESC);

-- The prices' columns never change after creation (the API refuses it; this
-- makes it a rule of the data): only active, nickname and metadata may.
CREATE FUNCTION admin.prices_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.product_id, NEW.currency, NEW.unit_amount, NEW.type, NEW.recurring_interval, NEW.recurring_interval_count,
        NEW.organization_id, NEW.livemode)
       IS DISTINCT FROM
       (OLD.product_id, OLD.currency, OLD.unit_amount, OLD.type, OLD.recurring_interval, OLD.recurring_interval_count,
        OLD.organization_id, OLD.livemode) THEN
        RAISE EXCEPTION 'a price''s product, currency, amount and recurrence are immutable' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER prices_immutable BEFORE UPDATE ON admin.prices FOR EACH ROW EXECUTE FUNCTION admin.prices_immutable();
