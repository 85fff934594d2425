package transform

import "github.com/opendcc/opendcc/eui"

// HANBackup is the DCC's record of a CHF's HAN: what the CHF's backup_PAN
// reports (IC104 m4, read by CCS07 — RTDS CCS07: {backup time, extended
// PAN ID, [{EUI, hashed TC link key}]}) and what restore_PAN (CCS03) gives
// a replacement CHF back.
type HANBackup struct {
	ExtendedPANID [8]byte
	Devices       []HANDevice
}

// HANDevice is one device of a HAN backup: its EUI and the hashed Trust
// Centre link key the CHF holds for it.
type HANDevice struct {
	ID            eui.EUI64
	HashedLinkKey [16]byte
}

// maxRestorePAN is the annex's devices_to_restore[1..16] bound (CCS03 rows
// 1015, 1014).
const maxRestorePAN = 16

// CCS03 Restore CHF Device Log (SRV 8.12.1, RequestType by OldCHFID), the
// annex's DLMS table of CCS03 (rows 1017, 1016, 1015, 1014): on IC104
// ZigBee Network Control 0-0:30.3.0.255
//
//	action m5 restore_PAN structure {
//	        extended_PAN_ID     octet-string(8)        logDetails.hanIdentifier
//	        devices_to_restore  array[1..16] of structure {
//	                MAC_address         octet-string(8)   device identifier
//	                hashed_TC_link_key  octet-string(16)  securityDetails } }
//
// The request names only the old CHF: the values are the DCC's record of
// the old CHF's HAN (Options.HANBackup), in the record's order — the order
// the old CHF reported its devices in (RTDS CCS03 restores the devices of
// RTDS CCS07's device log backup in its order). The DCC keeps that record
// from the CHF's backup_PAN answers (dcc/dccparties.go, docs/processing.md).
func init() {
	builders["CCS03"] = func(c *ctx) ([]byte, error) { return c.ccs03() }
}

func (c *ctx) ccs03() ([]byte, error) {
	old, err := c.eui("OldCHFID")
	if err != nil {
		return nil, err
	}
	if c.opts.HANBackup == nil {
		return nil, c.errf("CCS03 restores the old CHF's HAN from the DCC's record: Options.HANBackup is needed")
	}
	b, ok := c.opts.HANBackup(old)
	if !ok {
		return nil, c.errf("the DCC holds no HAN backup of the old CHF %s", old)
	}
	if len(b.Devices) == 0 || len(b.Devices) > maxRestorePAN {
		return nil, c.errf("HAN backup of %s: %d devices (restore_PAN takes 1..%d)", old, len(b.Devices), maxRestorePAN)
	}
	var devs []data
	for _, d := range b.Devices {
		devs = append(devs, structure(octets(d.ID[:]), octets(d.HashedLinkKey[:])))
	}
	return c.accessRequest(action(104, chfDeviceLogOBIS, 5, structure(octets(b.ExtendedPANID[:]), array(devs...))))
}
