-- The Checkouts list (GET /v1/checkout/sessions and the dashboard) at a
-- million sessions: every filter the dashboard offers reads a page off an
-- index, newest first, with a keyset cursor (store/queries/sessions.sql,
-- proven by store/listplan_test.go).
--
-- The list is ordered by (created_at, seq): the created range is then a
-- range of the same index that gives the order. checkout_sessions_list_idx
-- replaces both checkout_sessions_org_idx (the order by seq) and
-- checkout_sessions_org_created_idx (the Overview's sums), and carries the
-- columns the filters test (site, status, payment status, currency,
-- amount), so that a filtered page is an index-only walk until it has its
-- rows: heap pages are read only for the page's own rows.
--
-- Searches that match a handful of rows get narrow partial indexes (only
-- rows that have the value pay for them on INSERT): a customer's email
-- (compared without case) in the list's order, and an order id across the
-- organization's sites (checkout_sessions_order_idx starts with site_id).
-- The reference, payment id and session id searches already have unique or
-- partial indexes.
--
-- Net: one index more per session with an email or an order id, none for
-- the others (two dropped, three added).
SET lock_timeout = '5s';

CREATE INDEX checkout_sessions_list_idx ON admin.checkout_sessions (organization_id, livemode, created_at, seq)
    INCLUDE (site_id, currency, status, payment_status, amount_total);
DROP INDEX admin.checkout_sessions_org_idx;
DROP INDEX admin.checkout_sessions_org_created_idx;

CREATE INDEX checkout_sessions_email_idx
    ON admin.checkout_sessions (organization_id, livemode, lower(customer_email), created_at, seq)
    WHERE customer_email IS NOT NULL;
CREATE INDEX checkout_sessions_org_order_idx ON admin.checkout_sessions (organization_id, livemode, order_id)
    WHERE order_id IS NOT NULL;
