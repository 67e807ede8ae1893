package store

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tillpoint/tillpoint/services/admin-api/internal/store/db"
	"github.com/tillpoint/tillpoint/services/platform/pgkit"
)

// Every request looks up its API key, every session creation its site, and
// every completion its organization's fee rules: database round trips that
// dominated a create's cost and lengthened a payment's. The cache keeps them
// in memory, which is safe only while changes reach it at once:
//
//   - a trigger (migrations 0004, 0012) runs pg_notify(cacheChannel) in every
//     transaction that revokes or changes a key, changes or deletes a site,
//     or changes fee rules,
//     and Listen empties the cache when the notification arrives, so every
//     replica forgets within milliseconds of the commit;
//   - the replica that made the change empties its cache itself, before it
//     answers (Invalidate), so its own next request sees the change;
//   - while Listen is not connected (before it starts, and after its
//     connection fails until it is back) nothing is cached, so a missed
//     notification can never leave a revoked key usable;
//   - a generation counter stops a lookup that read the database before an
//     invalidation from storing its stale row after it.
//
// Entries also expire after cacheTTL, which bounds memory and any surprise.
const (
	cacheChannel = "admin_cache"
	cacheTTL     = time.Minute
	// cacheMaxEntries: past it the cache starts over rather than grow.
	cacheMaxEntries = 10_000
)

type siteKey struct {
	id, org  string
	livemode bool
}

type orgMode struct {
	org      string
	livemode bool
}

type cached[V any] struct {
	v       V
	expires time.Time
}

// cache holds API keys by secret hash and by id (access tokens name their
// key by id), sites by id, tenant and mode, and fee rules by tenant and mode.
type cache struct {
	mu     sync.Mutex
	live   bool   // Listen is connected: entries may be stored
	gen    uint64 // bumped by every invalidation
	keys   map[string]cached[db.AdminApiKey]
	keyIDs map[string]cached[db.AdminApiKey]
	sites  map[siteKey]cached[db.AdminSite]
	fees   map[orgMode]cached[[]db.AdminFeeRule]
}

// reset empties the cache and turns storing on or off.
func (c *cache) reset(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live = live
	c.emptyLocked()
}

func (c *cache) emptyLocked() {
	c.gen++
	c.keys = map[string]cached[db.AdminApiKey]{}
	c.keyIDs = map[string]cached[db.AdminApiKey]{}
	c.sites = map[siteKey]cached[db.AdminSite]{}
	c.fees = map[orgMode]cached[[]db.AdminFeeRule]{}
}

// Invalidate empties this replica's cache. Call it after committing a change
// to a key or a site (other replicas learn of it through Listen). It leaves
// live as it is, in the same critical section, so that it cannot turn
// caching back on after the listener has just turned it off.
func (s *Store) Invalidate() {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	s.cache.emptyLocked()
}

// Caching reports whether the cache is on: Listen is connected.
func (s *Store) Caching() bool {
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	return s.cache.live
}

// CachedAPIKey is GetAPIKeyByHash through the cache. The row is shared:
// callers must not modify it.
func (s *Store) CachedAPIKey(ctx context.Context, hash []byte) (db.AdminApiKey, error) {
	return lookup(s, func(c *cache) map[string]cached[db.AdminApiKey] { return c.keys }, string(hash),
		func() (db.AdminApiKey, error) { return s.GetAPIKeyByHash(ctx, hash) })
}

// CachedAPIKeyByID is GetAPIKey through the cache. The row is shared:
// callers must not modify it.
func (s *Store) CachedAPIKeyByID(ctx context.Context, id string) (db.AdminApiKey, error) {
	return lookup(s, func(c *cache) map[string]cached[db.AdminApiKey] { return c.keyIDs }, id,
		func() (db.AdminApiKey, error) { return s.GetAPIKey(ctx, id) })
}

// CachedSite is GetSite through the cache. The row is shared: callers must
// not modify it.
func (s *Store) CachedSite(ctx context.Context, arg db.GetSiteParams) (db.AdminSite, error) {
	return lookup(s, func(c *cache) map[siteKey]cached[db.AdminSite] { return c.sites },
		siteKey{arg.ID, arg.OrganizationID, arg.Livemode},
		func() (db.AdminSite, error) { return s.GetSite(ctx, arg) })
}

// CachedDefaultSite is GetDefaultSite through the cache, kept with the
// sites under the empty id (no site has it). Every change of a site empties
// the cache, and so does the INSERT of a site marked default (migration
// 0008). The row is shared: callers must not modify it.
func (s *Store) CachedDefaultSite(ctx context.Context, arg db.GetDefaultSiteParams) (db.AdminSite, error) {
	return lookup(s, func(c *cache) map[siteKey]cached[db.AdminSite] { return c.sites },
		siteKey{"", arg.OrganizationID, arg.Livemode},
		func() (db.AdminSite, error) { return s.GetDefaultSite(ctx, arg) })
}

// CachedFeeRules is ListFeeRules through the cache (migration 0012 notifies
// every change). The rows are shared: callers must not modify them.
func (s *Store) CachedFeeRules(ctx context.Context, arg db.ListFeeRulesParams) ([]db.AdminFeeRule, error) {
	return lookup(s, func(c *cache) map[orgMode]cached[[]db.AdminFeeRule] { return c.fees },
		orgMode{arg.OrganizationID, arg.Livemode},
		func() ([]db.AdminFeeRule, error) { return s.ListFeeRules(ctx, arg) })
}

// UpdateCachedAPIKey replaces a cached key's row after a write that the
// trigger does not report (last_used_at), if it is still cached.
func (s *Store) UpdateCachedAPIKey(k db.AdminApiKey) {
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.keys[string(k.SecretHash)]; ok {
		c.keys[string(k.SecretHash)] = cached[db.AdminApiKey]{v: k, expires: e.expires}
	}
	if e, ok := c.keyIDs[k.ID]; ok {
		c.keyIDs[k.ID] = cached[db.AdminApiKey]{v: k, expires: e.expires}
	}
}

func lookup[K comparable, V any](s *Store, entries func(*cache) map[K]cached[V], k K, load func() (V, error)) (V, error) {
	c := &s.cache
	c.mu.Lock()
	e, ok := entries(c)[k]
	gen := c.gen
	c.mu.Unlock()
	now := time.Now()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live && c.gen == gen {
		m := entries(c)
		if len(m) >= cacheMaxEntries {
			clear(m)
		}
		m[k] = cached[V]{v: v, expires: now.Add(cacheTTL)}
	}
	return v, nil
}

// Listen keeps the cache in step with the database until ctx ends: it
// listens on cacheChannel and empties the cache on every notification.
// Caching is on only while LISTEN is in effect.
func (s *Store) Listen(ctx context.Context, logger *slog.Logger) error {
	pgkit.Listen(ctx, s.Pool, cacheChannel, logger, pgkit.ListenHandlers{
		// Anything committed before LISTEN took effect is in the database,
		// and the cache starts empty: no notification can have been missed.
		Listening: func() { s.cache.reset(true) },
		Notify:    s.Invalidate,
		Lost:      func() { s.cache.reset(false) },
	})
	return nil
}
