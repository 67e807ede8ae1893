-- Cascade line items (issue 15, seed 002): a session's fallback pricing
-- tiers and the tier in use (0: its own line items). Constant defaults: the
-- ALTER is instant on large tables.
SET lock_timeout = '5s';

ALTER TABLE admin.checkout_sessions
    ADD COLUMN cascade_line_items jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN cascade_tier integer NOT NULL DEFAULT 0,
    -- The declined payment after which the session moved to its current
    -- tier: the page offers the next tier only after a newer decline.
    ADD COLUMN cascade_payment_id text;
