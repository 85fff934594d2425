package sqlcore

import (
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// deviceCache keeps the inventory entries read (GetDevice), under
// writeCache's rules. Access control and the device pipeline read the
// target of every request, inside the accepting transaction: the read
// would otherwise run on the single writer, on the serial path of every
// group commit. Devices have no reference fields: no clone.
type deviceCache = writeCache[eui.EUI64, store.Device]

func newDeviceCache() *deviceCache {
	return newWriteCache[eui.EUI64, store.Device](maxCachedDevices, nil)
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
