package store

import (
	"sync"
	"time"
)

// cacheTTL bounds how stale a cached check may be when another instance
// (on PostgreSQL) changed a dictionary, a user or a key; changes made
// through this instance clear the caches at once.
const cacheTTL = 2 * time.Second

// lookupCache remembers positive answers to the small reads every write
// makes — which custom fields does an entity declare — so that creating a
// lead does not cost extra queries. Credentials are never cached: a
// revoked key or a disabled user must stop at once in every process.
type lookupCache struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	v   any
	exp time.Time
}

func (c *lookupCache) get(key string) (any, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || time.Now().After(e.exp) {
		return nil, false
	}
	return e.v, true
}

func (c *lookupCache) put(key string, v any) {
	c.mu.Lock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cacheEntry{}
	}
	c.m[key] = cacheEntry{v: v, exp: time.Now().Add(cacheTTL)}
	c.mu.Unlock()
}

func (c *lookupCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
