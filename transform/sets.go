package transform

import (
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/eui"
)

// Simple DLMS updates: one set or action per annex row, values from the
// request or the annex's constant-value column.

// script executes a Script Table script (IC9 method 1, long-unsigned
// script identifier: the annex's constant).
func script(obisCode string, id uint16) func(c *ctx) ([]byte, error) {
	return func(c *ctx) ([]byte, error) { return c.accessRequest(action(9, obisCode, 1, longU(id))) }
}

// resets invokes method 1 (reset, integer 0) on each object.
func resets(class uint16, objs ...string) func(c *ctx) ([]byte, error) {
	return func(c *ctx) ([]byte, error) {
		var items []item
		for _, o := range objs {
			items = append(items, action(class, o, 1, integer(0)))
		}
		return c.accessRequest(items...)
	}
}

func (c *ctx) uint(path string, bits int) (uint64, error) {
	s, err := c.need(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, c.errf("%s: %v", path, err)
	}
	return v, nil
}

// boolean is the xs:boolean at path.
func (c *ctx) boolean(path string) (bool, error) {
	s, err := c.need(path)
	if err != nil {
		return false, err
	}
	switch s {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, c.errf("%s %q: not an xs:boolean", path, s)
}

func (c *ctx) sint(path string, bits int) (int64, error) {
	s, err := c.need(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, c.errf("%s: %v", path, err)
	}
	return v, nil
}

func init() {
	// 7.1 / 7.2 / 7.3 supply enable / disable / arm: Script Table
	// 0-0:10.0.106.255, scripts 0x0033, 0x0034, 0x0036 (annex constants).
	builders["ECS42"] = script("0-0:10.0.106.255", 0x0033)
	builders["ECS43"] = script("0-0:10.0.106.255", 0x0034)
	builders["ECS44"] = script("0-0:10.0.106.255", 0x0036)
	// 1.7 reset the tariff block counter matrix: script 0x0063.
	builders["ECS05"] = script("0-0:10.0.100.255", 0x0063)
	// 2.5 activate emergency credit: IC112 0-0:19.10.1.255 invoke_credit (0).
	builders["ECS09"] = func(c *ctx) ([]byte, error) {
		return c.accessRequest(action(112, "0-0:19.10.1.255", 3, integer(0)))
	}
	// 1.5 adjust: update_amount(double-long); reset: set_amount_to_value(0)
	// on meter balance, emergency credit balance, accumulated debt.
	builders["ECS04a"] = func(c *ctx) ([]byte, error) {
		p := "PrepaymentMode/AdjustMeterBalance"
		if !c.has(p) {
			p = "CreditMode/AdjustMeterBalance"
		}
		v, err := c.sint(p, 32)
		if err != nil {
			return nil, err
		}
		return c.accessRequest(action(112, "0-0:19.10.0.255", 1, doubleLong(int32(v))))
	}
	builders["ECS04b"] = func(c *ctx) ([]byte, error) {
		return c.accessRequest(
			action(112, "0-0:19.10.0.255", 2, doubleLong(0)),
			action(112, "0-0:19.10.1.255", 2, doubleLong(0)),
			action(112, "0-0:19.10.2.255", 2, doubleLong(0)))
	}
	// 6.25 supply tamper state: boolean, Locked = TRUE.
	builders["ECS81"] = func(c *ctx) ([]byte, error) {
		s, err := c.need("SupplyTamperState")
		if err != nil {
			return nil, err
		}
		return c.accessRequest(set(1, "0-0:94.44.0.4", 2, boolean(s == "Locked")))
	}
	// 7.12 randomised offset limit: long-unsigned.
	builders["ECS38"] = func(c *ctx) ([]byte, error) {
		v, err := c.uint("RandomisedOffsetLimit", 16)
		if err != nil {
			return nil, err
		}
		return c.accessRequest(set(1, "0-0:94.44.0.1", 2, longU(uint16(v))))
	}
	// 3.2 restrict access for change of tenancy: octet-string(12) date-time.
	builders["ECS12"] = func(c *ctx) ([]byte, error) {
		s, err := c.need("RestrictionDateTime")
		if err != nil {
			return nil, err
		}
		t, err := parseTime(s)
		if err != nil {
			return nil, c.errf("RestrictionDateTime: %v", err)
		}
		return c.accessRequest(set(1, "0-0:94.44.3.2", 2, octets(dlmsDateTime(t))))
	}
	// 3.5 disable privacy PIN: octet-string(0).
	builders["ECS14"] = func(c *ctx) ([]byte, error) {
		return c.accessRequest(set(1, "0-0:94.44.3.1", 2, octets(nil)))
	}
	// 3.1 display message: the supplier message text.
	builders["ECS10"] = func(c *ctx) ([]byte, error) {
		s, err := c.need("SupplierMessage")
		if err != nil {
			return nil, err
		}
		return c.accessRequest(set(1, "0-2:96.13.1.255", 2, octets([]byte(s))))
	}
	// 3.4 supplier name and telephone number (IC9000 value_active).
	builders["ECS16"] = func(c *ctx) ([]byte, error) {
		tel, err := c.need("SupplierTelephoneNumber")
		if err != nil {
			return nil, err
		}
		name, err := c.need("SupplierName")
		if err != nil {
			return nil, err
		}
		return c.accessRequest(set(9000, "0-0:96.13.0.255", 2, octets([]byte(tel))), set(9000, "0-0:96.13.1.255", 2, octets([]byte(name))))
	}
	// 6.20.1 import MPAN(s): octet-string, the MPANs concatenated.
	builders["ECS39a"] = func(c *ctx) ([]byte, error) {
		s, err := c.need("ImportMPANs/ImportMPAN")
		if err != nil {
			return nil, err
		}
		if s2, ok := c.str("ImportMPANs/SecondaryImportMPAN"); ok {
			s += s2
		}
		return c.accessRequest(set(1, "0-0:94.44.34.11", 2, octets([]byte(s))))
	}
	builders["ECS39b"] = func(c *ctx) ([]byte, error) {
		s, err := c.need("ExportMPAN")
		if err != nil {
			return nil, err
		}
		return c.accessRequest(set(1, "1-0:0.0.2.255", 2, octets([]byte(s))))
	}
	// 6.12 power thresholds: IC21 thresholds array of two
	// double-long-unsigned.
	builders["ECS34"] = func(c *ctx) ([]byte, error) {
		lo, err := c.uint("LowMediumPowerThreshold", 32)
		if err != nil {
			return nil, err
		}
		hi, err := c.uint("MediumHighPowerThreshold", 32)
		if err != nil {
			return nil, err
		}
		return c.accessRequest(set(21, "0-0:16.0.0.255", 2, array(dlu(uint32(lo)), dlu(uint32(hi)))))
	}
	// 6.18.2 reset the maximum demand registers the request names.
	builders["ECS57"] = func(c *ctx) ([]byte, error) {
		var items []item
		for _, r := range []struct{ field, obis string }{
			{"MaxDemandActivePowerImportValue", "1-0:1.6.0.255"},
			{"MaxDemandConfigTimeActivePowerImportValue", "1-0:1.6.1.255"},
			{"MaxDemandActivePowerExportValue", "1-0:2.6.0.255"},
		} {
			if c.has(r.field) {
				items = append(items, action(4, r.obis, 1, integer(0)))
			}
		}
		if len(items) == 0 {
			return nil, c.errf("no register to reset")
		}
		return c.accessRequest(items...)
	}
	builders["ECS28b"] = resets(3, "0-0:94.44.42.255")
	builders["ECS29e"] = resets(3, "1-0:32.32.0.4", "1-0:32.36.0.4")
	builders["ECS29f"] = resets(3, "1-0:32.32.0.4", "1-0:32.36.0.4", "1-0:52.32.0.4", "1-0:52.36.0.4", "1-0:72.32.0.4", "1-0:72.36.0.4")
	builders["ECS15a"] = resets(7, "0-0:99.98.0.255")
	builders["ECS15c"] = resets(7, "0-17:99.98.2.255")
	// 6.29 sub-GHz channel scan request: unsigned 0 (annex constant).
	builders["DBCH05"] = func(c *ctx) ([]byte, error) {
		return c.accessRequest(set(1, "0-0:94.44.10.1", 2, unsigned(0)))
	}
	// 2.2 top up: IC115 enter(octet-string(20) UTRN).
	builders["CS01a"] = func(c *ctx) ([]byte, error) {
		s, err := c.need("UTRN")
		if err != nil {
			return nil, err
		}
		return c.accessRequest(action(115, "0-0:19.40.0.255", 1, octets([]byte(strings.TrimSpace(s)))))
	}
	// 9.1 send the DCC-generated CIN: octet-string(4).
	builders["ECS50"] = func(c *ctx) ([]byte, error) {
		cin := c.opts.CustomerIdentificationNumber
		if len(cin) != 4 {
			return nil, c.errf("Options.CustomerIdentificationNumber must be the 4-digit CIN the DCC generated")
		}
		return c.accessRequest(set(1, "0-3:96.13.1.255", 2, octets([]byte(cin))))
	}
	// 8.9 read CHF device logs: backup_PAN (null) on the log and the
	// historic log.
	builders["CCS07"] = func(c *ctx) ([]byte, error) {
		return c.accessRequest(action(104, "0-0:30.3.0.255", 4, nil), action(104, "0-0:30.3.1.255", 4, nil))
	}
	// 8.11 remove: unregister_device(octet-string(8) device EUI).
	builders["CCS02"] = func(c *ctx) ([]byte, error) {
		id, err := c.eui("DeviceID")
		if err != nil {
			return nil, err
		}
		return c.accessRequest(action(104, "0-0:30.3.0.255", 2, octets(id[:])))
	}
}

func (c *ctx) eui(path string) (eui.EUI64, error) {
	s, err := c.need(path)
	if err != nil {
		return eui.EUI64{}, err
	}
	e, err := eui.Parse(s)
	if err != nil {
		return eui.EUI64{}, c.errf("%s: %v", path, err)
	}
	return e, nil
}
