-- A site can be its organization's default in its mode: the site a session
-- created without site_id belongs to (seed 001's create has no site). At
-- most one default per organization and mode; with none marked, the oldest
-- site is the default. admin-api unsets the previous default in the same
-- transaction, under a lock of the organization's row, so that two requests
-- marking different sites cannot both win.
SET lock_timeout = '5s';

ALTER TABLE admin.sites ADD COLUMN is_default boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX sites_one_default_idx ON admin.sites (organization_id, livemode) WHERE is_default;

-- A new site can become the default (marked, or the first of its mode), so
-- cached defaults must also be forgotten on INSERT.
DROP TRIGGER sites_notify_cache ON admin.sites;
CREATE TRIGGER sites_notify_cache
    AFTER INSERT OR UPDATE OR DELETE ON admin.sites
    FOR EACH STATEMENT EXECUTE FUNCTION admin.notify_cache();
