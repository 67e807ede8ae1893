-- Cascade line items (issue 15, seed 002): a session's fallback pricing
-- tiers and the tier in use (0: its own line items). Constant defaults: the
-- ALTER is instant on large tables.
SET lock_timeout = '5s';

ALTER TABLE admin.checkout_sessions
    ADD COLUMN cascade_line_items jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN cascade_tier integer NOT NULL DEFAULT 0;
