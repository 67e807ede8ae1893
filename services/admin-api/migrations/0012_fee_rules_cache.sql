-- admin-api replicas cache each organization's fee rules (store/cache.go), read
-- on every session completion: every change of the rules notifies them at
-- commit, as changes of keys and sites do (0004).
SET lock_timeout = '5s';

CREATE TRIGGER fee_rules_notify_cache
    AFTER INSERT OR UPDATE OR DELETE ON admin.fee_rules
    FOR EACH STATEMENT EXECUTE FUNCTION admin.notify_cache();
