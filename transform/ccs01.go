package transform

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/opendcc/opendcc/eui"
)

// CCS01 Add Device to CHF device log (SRV 8.11, RequestType Add), from the
// annex's DLMS table of CCS01 (rows 1004, 1002, 1000, 1003, 1001, 985, 984
// in that order, "according to section 19.2.1"): on IC104 ZigBee Network
// Control 0-0:30.3.0.255
//
//	action m1 register_device  structure {
//	        ieee_address  octet-string(8)   the request's DeviceID   (row 1002)
//	        key_type      enum              1 = install code         (row 1000)
//	        key           octet-string(16)  InstallCode, no CRC      (row 1003)
//	        device_type   enum              chfLogDeviceType         (row 1001)
//	}
//	set a3 join_timeout            long-unsigned  JoinTimePeriod     (row 985)
//	set a2 enable_disable_joining  boolean TRUE                      (row 984)
//
// The annex writes the method's inputs register_device.ieee_address …
// without an index, where it writes repeated entries with one
// (active_devices[0..16].active_device.mac_address): one structure, no
// array. See docs/transform.md.

// chfDeviceLogOBIS is the CHF device log (IC104 ZigBee Network Control).
const chfDeviceLogOBIS = "0-0:30.3.0.255"

// chfLogDeviceType is register_device.device_type by inventory type: the
// values listed in the notes of annex CCS01 DLMS row 1001 ("0 = ESME,
// 1 = GSME, 13 = HC ALCS, 128 = IHD, 130 = CAD, 132 = PPMID") and the GPF's
// 254 of the CHTS row 1001 ("the CHF shall support the value 254 for GPF").
// The annex gives no value for a CHF.
var chfLogDeviceType = map[DeviceType]uint8{
	ESME: 0, GSME: 1, HCALCS: 13, IHD: 128, CAD: 130, PPMID: 132, GPF: 254,
}

// register_device key_type: (1) install code (annex row 1000, the only
// value it allows).
const keyTypeInstallCode = 1

// installCodeLen is the annex's key: octet-string(16), a 128-bit install
// code without its 16-bit CRC (row 1003, ZSE Table 5-10).
const installCodeLen = 16

func init() {
	builders["CCS01"] = func(c *ctx) ([]byte, error) { return c.ccs01() }
}

func (c *ctx) ccs01() ([]byte, error) {
	if rt, _ := c.str("RequestType"); rt != "Add" {
		return nil, c.errf("RequestType %q: CCS01 is the Add of 8.11", rt)
	}
	id, err := c.eui("DeviceID")
	if err != nil {
		return nil, err
	}
	const w = "AddDeviceToCHFWhitelist"
	if !c.has(w) {
		return nil, c.errf("RequestType Add needs %s", w)
	}
	jt, err := c.uint(w+"/JoinTimePeriod", 16)
	if err != nil {
		return nil, err
	}
	if jt < 1 || jt > 3600 {
		return nil, c.errf("%s/JoinTimePeriod %d outside 1..3600 seconds", w, jt)
	}
	s, err := c.need(w + "/InstallCode")
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, c.errf("%s/InstallCode: %v", w, err)
	}
	if len(key) != installCodeLen {
		return nil, c.unsupported(fmt.Sprintf("InstallCode of %d octets: the annex (CCS01 row 1003) carries the install code as octet-string(16), a 128-bit install code without its CRC; no source gives the key of a %d-bit install code", len(key), 8*len(key)))
	}
	dt, err := c.otherDeviceType(id)
	if err != nil {
		return nil, err
	}
	code, ok := chfLogDeviceType[dt]
	if !ok {
		return nil, c.unsupported(fmt.Sprintf("device %s is a %q in the inventory: the annex (CCS01 row 1001, register_device.device_type) gives no deviceType value for it (only ESME 0, GSME 1, HCALCS 13, IHD 128, CAD 130, PPMID 132, GPF 254)", id, dt))
	}
	return c.accessRequest(
		action(104, chfDeviceLogOBIS, 1, structure(octets(id[:]), enum(keyTypeInstallCode), octets(key), enum(code))),
		set(104, chfDeviceLogOBIS, 3, longU(uint16(jt))),
		set(104, chfDeviceLogOBIS, 2, boolean(true)),
	)
}

// otherDeviceType is the inventory type of a device the command names
// other than its target (Options.OtherDeviceType).
func (c *ctx) otherDeviceType(id eui.EUI64) (DeviceType, error) {
	if c.opts.OtherDeviceType == nil {
		return "", c.errf("the device type of %s comes from the DCC's inventory: Options.OtherDeviceType is needed", id)
	}
	t, ok := c.opts.OtherDeviceType(id)
	if !ok {
		return "", c.errf("device %s is not in the inventory (Options.OtherDeviceType)", id)
	}
	return t, nil
}
