-- admin-api replicas cache API keys and sites in memory (store/cache.go).
-- Every transaction that revokes or changes a key, or changes or deletes a
-- site, notifies them at commit so that they forget what they hold.
CREATE FUNCTION admin.notify_cache() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('admin_cache', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

-- last_used_at changes every minute per key and does not matter to the cache.
CREATE TRIGGER api_keys_notify_cache
    AFTER UPDATE OF organization_id, livemode, secret_hash, revoked_at OR DELETE ON admin.api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION admin.notify_cache();

CREATE TRIGGER sites_notify_cache
    AFTER UPDATE OR DELETE ON admin.sites
    FOR EACH STATEMENT EXECUTE FUNCTION admin.notify_cache();
