package sqlcore

import (
	"sync"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// deviceCache keeps the inventory entries read (GetDevice), under the same
// rules as userCache: only for a store that is the only writer of its
// database; every device write empties it when it starts and again when it
// has committed or rolled back, and while any device write is in flight it
// is neither read nor filled. Access control and the device pipeline read
// the target of every request, inside the accepting transaction: the read
// would otherwise run on the single writer, on the serial path of every
// group commit.
type deviceCache struct {
	mu      sync.Mutex
	gen     uint64
	pending int
	m       map[eui.EUI64]store.Device
}

func newDeviceCache() *deviceCache { return &deviceCache{m: map[eui.EUI64]store.Device{}} }

func (c *deviceCache) beginWrite() {
	c.mu.Lock()
	c.pending++
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

func (c *deviceCache) endWrite() {
	c.mu.Lock()
	c.pending--
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

// get returns the cached device, or the generation to fill it with (ok
// false; fill false when a write may be in flight).
func (c *deviceCache) get(id eui.EUI64) (d store.Device, ok bool, gen uint64, fill bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending > 0 {
		return d, false, 0, false
	}
	if d, ok := c.m[id]; ok {
		return d, true, 0, false // no reference fields: a copy
	}
	return d, false, c.gen, true
}

func (c *deviceCache) put(d store.Device, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == 0 && c.gen == gen && len(c.m) < maxCachedDevices {
		c.m[d.ID] = d
	}
}

// maxCachedDevices bounds the cache (an inventory may be large; the
// devices being addressed now are what matters).
const maxCachedDevices = 1 << 16

// deviceWrite marks the start of a device write; the returned func marks
// its end (for a write inside a transaction, the transaction's end does).
func (r *repos) deviceWrite() func() {
	if r.dc == nil {
		return func() {}
	}
	if r.tx {
		if !r.devicesDirty {
			r.devicesDirty = true
			r.dc.beginWrite()
		}
		return func() {}
	}
	r.dc.beginWrite()
	return r.dc.endWrite
}
