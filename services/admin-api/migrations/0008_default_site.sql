-- A site can be its organization's default in its mode: the site a session
-- created without site_id belongs to (seed 001's create has no site). At
-- most one default per organization and mode; with none marked, the oldest
-- site is the default. admin-api unsets the previous default in the same
-- transaction, under a lock of the organization's row, so that two requests
-- marking different sites cannot both win.
SET lock_timeout = '5s';

ALTER TABLE admin.sites ADD COLUMN is_default boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX sites_one_default_idx ON admin.sites (organization_id, livemode) WHERE is_default;

-- A site inserted already marked is a new default, so cached defaults must be
-- forgotten then too (an unmarked new site changes nothing: the oldest stays
-- the default, and an organization without sites has nothing cached).
CREATE TRIGGER sites_insert_default_notify_cache
    AFTER INSERT ON admin.sites
    FOR EACH ROW WHEN (NEW.is_default) EXECUTE FUNCTION admin.notify_cache();
