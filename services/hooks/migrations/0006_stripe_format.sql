-- Endpoints may choose Stripe's signature format and event shape, so that
-- Stripe's SDKs verify their deliveries; events keep their object in
-- Stripe's shape too (checkout sessions only), rendered once when stored.
SET lock_timeout = '5s';

ALTER TABLE hooks.endpoints
    ADD COLUMN signature_format text NOT NULL DEFAULT 'standard' CHECK (signature_format IN ('standard', 'stripe')),
    -- The api_version of a stripe endpoint's events.
    ADD COLUMN api_version text;

-- The event's object in Stripe's shape (JSON), or NULL when Stripe has none.
ALTER TABLE hooks.events ADD COLUMN stripe_object bytea;
