package sqlcore

import (
	"slices"
	"sync"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// userCache keeps the users read from the registry (GetUser, and the user
// of UserByCert) for a store that is the only writer of its database (the
// embedded SQLite store; not PostgreSQL, which other processes may share).
// Every user write of this store empties it, twice: when the write starts
// and when it has committed or rolled back; while any write is in flight
// (pending > 0) the cache is neither read nor filled, so a value written
// by a transaction that has not committed yet (or that rolls back) is never
// served to another caller, and a read that raced a write is not kept.
type userCache struct {
	mu      sync.Mutex
	gen     uint64
	pending int
	m       map[eui.EUI64]store.User
}

func newUserCache() *userCache { return &userCache{m: map[eui.EUI64]store.User{}} }

func (c *userCache) beginWrite() {
	c.mu.Lock()
	c.pending++
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

func (c *userCache) endWrite() {
	c.mu.Lock()
	c.pending--
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

// get returns the cached user, or the generation to fill it with (ok false;
// fill false when no write may be in flight).
func (c *userCache) get(id eui.EUI64) (u store.User, ok bool, gen uint64, fill bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending > 0 {
		return u, false, 0, false
	}
	if u, ok := c.m[id]; ok {
		return cloneUser(u), true, 0, false
	}
	return u, false, c.gen, true
}

func (c *userCache) put(u store.User, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == 0 && c.gen == gen {
		c.m[u.ID] = cloneUser(u)
	}
}

func cloneUser(u store.User) store.User {
	u.Roles = slices.Clone(u.Roles)
	u.Certs = slices.Clone(u.Certs)
	return u
}
