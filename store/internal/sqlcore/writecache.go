package sqlcore

import "sync"

// writeCache keeps values read from the database for a store that is the
// only writer of its database (the embedded SQLite store; not PostgreSQL,
// which other processes may share). Every write of its kind empties it,
// twice: when the write starts (beginWrite) and when it has committed or
// rolled back (endWrite); while any such write is in flight (pending > 0)
// the cache is neither read nor filled, so a value written by a
// transaction that has not committed yet (or that rolls back) is never
// served to another caller, and a read that raced a write is not kept (the
// generation it was read under has changed). The users, devices and
// registrations caches are instances.
type writeCache[K comparable, V any] struct {
	mu      sync.Mutex
	gen     uint64
	pending int
	m       map[K]V
	max     int       // entries kept at most; 0: no bound
	clone   func(V) V // copies values with reference fields; nil: none
}

func newWriteCache[K comparable, V any](max int, clone func(V) V) *writeCache[K, V] {
	return &writeCache[K, V]{m: map[K]V{}, max: max, clone: clone}
}

func (c *writeCache[K, V]) beginWrite() {
	c.mu.Lock()
	c.pending++
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

func (c *writeCache[K, V]) endWrite() {
	c.mu.Lock()
	c.pending--
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

// get returns the cached value, or the generation to fill it with (ok
// false; fill false when a write may be in flight).
func (c *writeCache[K, V]) get(k K) (v V, ok bool, gen uint64, fill bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending > 0 {
		return v, false, 0, false
	}
	if v, ok := c.m[k]; ok {
		if c.clone != nil {
			v = c.clone(v)
		}
		return v, true, 0, false
	}
	return v, false, c.gen, true
}

// put keeps v if no write started since gen was handed out.
func (c *writeCache[K, V]) put(k K, v V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == 0 && c.gen == gen && (c.max == 0 || len(c.m) < c.max) {
		if c.clone != nil {
			v = c.clone(v)
		}
		c.m[k] = v
	}
}
