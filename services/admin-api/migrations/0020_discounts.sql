-- Discounts (issue 15): coupons, promotion codes, and the redemption each
-- discounted session holds. A redemption is reserved when a session takes
-- the discount, counted (times_redeemed) when the session is paid, and
-- released when it expires or its payment fails. The limit check is the
-- conditional UPDATE … WHERE times_redeemed + times_reserved < max_redemptions
-- on the coupon's and the code's rows, so it holds under concurrency.
SET lock_timeout = '5s';

CREATE TABLE admin.coupons (
    organization_id    text NOT NULL REFERENCES admin.organizations (id),
    livemode           boolean NOT NULL,
    -- coupon_… or chosen by the merchant: unique per organization and mode only.
    id                 text NOT NULL,
    seq                bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    name               text,
    -- Hundredths of a percent (1 – 10000): 12.5 % is 1250.
    percent_off        integer CHECK (percent_off BETWEEN 1 AND 10000),
    amount_off         bigint CHECK (amount_off >= 1),
    currency           text,
    duration           text NOT NULL CHECK (duration IN ('once', 'repeating', 'forever')),
    duration_in_months integer,
    max_redemptions    bigint CHECK (max_redemptions >= 1),
    redeem_by          timestamptz,
    -- NULL: every line item; else product ids.
    applies_to_products text[],
    metadata           jsonb NOT NULL DEFAULT '{}',
    times_redeemed     bigint NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0),
    times_reserved     bigint NOT NULL DEFAULT 0 CHECK (times_reserved >= 0),
    deleted_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, livemode, id),
    CHECK ((percent_off IS NULL) <> (amount_off IS NULL)),
    CHECK ((amount_off IS NULL) = (currency IS NULL)),
    CHECK (max_redemptions IS NULL OR times_redeemed + times_reserved <= max_redemptions)
);

CREATE TABLE admin.promotion_codes (
    id                      text PRIMARY KEY,
    seq                     bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    organization_id         text NOT NULL,
    livemode                boolean NOT NULL,
    coupon_id               text NOT NULL,
    code                    text NOT NULL,
    active                  boolean NOT NULL DEFAULT true,
    max_redemptions         bigint CHECK (max_redemptions >= 1),
    expires_at              timestamptz,
    first_time_transaction  boolean NOT NULL DEFAULT false,
    minimum_amount          bigint CHECK (minimum_amount >= 1),
    minimum_amount_currency text,
    customer                text,
    metadata                jsonb NOT NULL DEFAULT '{}',
    times_redeemed          bigint NOT NULL DEFAULT 0 CHECK (times_redeemed >= 0),
    times_reserved          bigint NOT NULL DEFAULT 0 CHECK (times_reserved >= 0),
    created_at              timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, livemode, coupon_id) REFERENCES admin.coupons (organization_id, livemode, id),
    CHECK ((minimum_amount IS NULL) = (minimum_amount_currency IS NULL)),
    CHECK (max_redemptions IS NULL OR times_redeemed + times_reserved <= max_redemptions)
);
-- A code customers type is unique among the active codes of an organization
-- and mode, whatever its case.
CREATE UNIQUE INDEX promotion_codes_active_code_idx ON admin.promotion_codes (organization_id, livemode, lower(code)) WHERE active;
CREATE INDEX promotion_codes_org_idx ON admin.promotion_codes (organization_id, livemode, seq);
CREATE INDEX coupons_org_idx ON admin.coupons (organization_id, livemode, seq);

-- The discount of a session: one redemption per session.
CREATE TABLE admin.discount_redemptions (
    session_id        text PRIMARY KEY REFERENCES admin.checkout_sessions (id),
    organization_id   text NOT NULL,
    livemode          boolean NOT NULL,
    coupon_id         text NOT NULL,
    promotion_code_id text REFERENCES admin.promotion_codes (id),
    status            text NOT NULL CHECK (status IN ('reserved', 'redeemed', 'released')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, livemode, coupon_id) REFERENCES admin.coupons (organization_id, livemode, id)
);

ALTER TABLE admin.checkout_sessions
    ADD COLUMN amount_discount bigint NOT NULL DEFAULT 0 CHECK (amount_discount >= 0),
    ADD COLUMN discount_coupon text,
    ADD COLUMN discount_promotion_code text,
    ADD COLUMN allow_promotion_codes boolean NOT NULL DEFAULT false;
