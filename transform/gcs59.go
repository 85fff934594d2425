package transform

import (
	"fmt"
	"sort"

	"github.com/opendcc/opendcc/eui"
)

// LogDevice is one entry of a device log as the DCC's inventory knows it.
type LogDevice struct {
	ID   eui.EUI64
	Type DeviceType
}

// GCS59 Restore GPF Device Log (SRV 8.12.2): the annex points to GBCS
// 13.8 (not among the sources); RTDS GCS59 and GCS62 (the GPF's Backup GPF
// Device Log alert) carry the log as
//
//	SEQUENCE { SEQUENCE OF SEQUENCE { device EUI OCTET STRING(8), device type INTEGER } }
//
// with the join device-type INTEGERs (joinDeviceType: 5 PPMID, 6 Type 2).
// The request names only the old GPF: the entries are the devices the
// DCC's inventory holds joined to it (Options.GPFDeviceLog;
// dcc/dccparties.go derives them from the joins it records), ordered by
// EUI — the order is free (the sources do not fix it; RTDS GCS59's two
// entries are in EUI order too).
func init() {
	builders["GCS59"] = func(c *ctx) ([]byte, error) { return c.gcs59() }
}

func (c *ctx) gcs59() ([]byte, error) {
	old, err := c.eui("OldGPFID")
	if err != nil {
		return nil, err
	}
	if old == c.rid.Target {
		return nil, c.errf("OldGPFID %s is the target GPF itself", old)
	}
	if c.opts.GPFDeviceLog == nil {
		return nil, c.errf("GCS59 restores the old GPF's device log from the DCC's inventory: Options.GPFDeviceLog is needed")
	}
	log, ok := c.opts.GPFDeviceLog(old)
	if !ok {
		return nil, c.errf("GPF %s is not in the inventory", old)
	}
	if len(log) == 0 {
		return nil, c.errf("the inventory holds no device joined to the old GPF %s: nothing to restore", old)
	}
	log = append([]LogDevice(nil), log...)
	sort.Slice(log, func(i, j int) bool { return string(log[i].ID[:]) < string(log[j].ID[:]) })
	seq := aSeq()
	for _, d := range log {
		v, ok := joinDeviceType[d.Type]
		if !ok {
			return nil, c.unsupported(fmt.Sprintf("device %s of the old GPF's log is a %q: no source shows its device-log type INTEGER (RTDS shows GSME 0, ESME 1, GPF 3, HCALCS 4, PPMID 5, Type 2 6)", d.ID, d.Type))
		}
		seq.Add(aSeq(aOct(d.ID[:]), aInt(v)))
	}
	return asnBytes(aSeq(seq))
}
