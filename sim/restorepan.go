package sim

import (
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// CCS03 Restore CHF Device Log: IC104 m5 restore_PAN of the CHF device log
// (0-0:30.3.0.255), structure {extended PAN ID, array of {MAC address,
// hashed TC link key}} (annex CCS03 rows 1016, 1015, 1014). A replacement
// CHF takes the devices of the old CHF's HAN into its device log (no join
// event: the devices were joined to the HAN before); the extended PAN ID
// and the keys are not modelled (the simulator derives its link keys).
func init() {
	dlmsMethods[key(104, "0-0:30.3.0.255", 5)] = func(x *exec, arg *tree.Node) (byte, *tree.Node) { return x.restorePAN(arg) }
}

func (x *exec) restorePAN(arg *tree.Node) (byte, *tree.Node) {
	if x.d.Type != CHF {
		return resUndefined, nil
	}
	if arg == nil || len(arg.Children) != 2 {
		return resOther, nil
	}
	var ids []eui.EUI64
	for _, dev := range arg.Children[1].Children {
		if len(dev.Children) != 2 {
			return resOther, nil
		}
		b, err := dev.Children[0].Octets()
		if err != nil || len(b) != 8 {
			return resOther, nil
		}
		var id eui.EUI64
		copy(id[:], b)
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return resOther, nil
	}
	for _, id := range ids {
		known := false
		for _, e := range x.st.deviceLog {
			known = known || e.id == id
		}
		if known {
			continue
		}
		t := TypeUnknown
		if o, ok := x.d.fleet.Device(id); ok {
			t = o.Type
		}
		x.st.deviceLog = append(x.st.deviceLog, deviceLogEntry{id, t})
	}
	return resSuccess, nil
}
