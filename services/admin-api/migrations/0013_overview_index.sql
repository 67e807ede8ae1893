-- The dashboard's Overview sums an organization's sessions of the last 30
-- days per site, currency and day (store/queries/overview.sql). This index
-- reads only the organization's rows of the window, in order of creation,
-- and carries the columns the sums need, so the query is an index-only scan
-- (no heap pages once vacuumed).
SET lock_timeout = '5s';

CREATE INDEX checkout_sessions_org_created_idx ON admin.checkout_sessions (organization_id, livemode, created_at)
    INCLUDE (site_id, currency, payment_status, amount_total);
