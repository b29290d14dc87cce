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
// lead does not cost extra queries. Credentials are not kept here: a
// revoked key or a disabled user must stop at once in every process (see
// keyCache).
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

// Cached returns load's answer for key, remembered like the store's own
// lookups: for cacheTTL at most, and forgotten at once when a write through
// this store logs no event (the writes of settings, dictionaries and users
// do not). For the settings other packages read on every write (the
// duplicate rules); load's error is not remembered.
func (s *Store) Cached(key string, load func() (any, error)) (any, error) {
	if v, ok := s.cache.get("ext:" + key); ok {
		return v, nil
	}
	v, err := load()
	if err == nil {
		s.cache.put("ext:"+key, v)
	}
	return v, err
}

// keyTTL bounds how long a key check is reused even when no change was
// heard.
const keyTTL = 10 * time.Second

// keyCache remembers CheckAPIKey's reads by key prefix on PostgreSQL,
// where that read is a round trip on every API request (issue 21). An
// entry is good only under the credentials epoch it was read in (see
// db.CredentialsEpoch): any change of a key or a user, in this process or
// heard from the database, makes every entry stale. The secret is
// compared with the kept hash on every use.
type keyCache struct {
	mu sync.Mutex
	m  map[string]keyEntry
}

type keyEntry struct {
	ko    KeyOwner
	hash  string
	epoch uint64
	exp   time.Time
}

func (c *keyCache) get(prefix string, epoch uint64) (keyEntry, bool) {
	c.mu.Lock()
	e, ok := c.m[prefix]
	c.mu.Unlock()
	if !ok || e.epoch != epoch || time.Now().After(e.exp) {
		return keyEntry{}, false
	}
	return e, true
}

func (c *keyCache) put(prefix string, e keyEntry) {
	e.exp = time.Now().Add(keyTTL)
	c.mu.Lock()
	if c.m == nil || len(c.m) > 1000 {
		c.m = map[string]keyEntry{}
	}
	c.m[prefix] = e
	c.mu.Unlock()
}
