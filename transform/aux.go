package transform

import (
	"fmt"
	"strconv"
	"strings"
)

// DLMS updates of auxiliary controllers, boost function and maximum demand
// configuration; ASN.1 and DLMS device-log reads with no request values.

// index reads the index attribute of the repeated element at path[i]
// (1..max).
func (c *ctx) index(path string, i, max int) (int, error) {
	s, err := c.need(fmt.Sprintf("%s[%d]/Index", path, i))
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, c.errf("%s index %q is not 1..%d", path, s, max)
	}
	return n, nil
}

// clockTime parses an xs:time in UTC ("17:00:00.00Z") into the DLMS time
// octet-string(4): hour, minute, second, hundredths.
func (c *ctx) clockTime(path string) ([]byte, error) {
	s, err := c.need(path)
	if err != nil {
		return nil, err
	}
	t := strings.TrimSuffix(s, "Z")
	if strings.HasSuffix(t, "+00:00") {
		t = strings.TrimSuffix(t, "+00:00")
	}
	var h, m int
	var sec float64
	if n, err := fmt.Sscanf(t, "%d:%d:%g", &h, &m, &sec); n != 3 || err != nil || strings.ContainsAny(t[len(t)-1:], "+-") ||
		h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec >= 60 {
		return nil, c.errf("%s: %q is not a UTC xs:time", path, s)
	}
	hs := int(sec*100 + 0.5)
	return []byte{byte(h), byte(m), byte(hs / 100), byte(hs % 100)}, nil
}

func init() {
	// 6.14.1 auxiliary controller descriptions: IC1 0-0:94.44.0.(10+n) a2
	// visible-string for each description the request gives, in annex
	// (index) order.
	builders["ECS46a"] = func(c *ctx) ([]byte, error) {
		const p = "ALCSHCALCSDescription"
		var desc [6]*string
		for i := 0; i < c.count(p); i++ {
			n, err := c.index(p, i, 5)
			if err != nil {
				return nil, err
			}
			if desc[n] != nil {
				return nil, c.errf("%s index %d twice", p, n)
			}
			s, err := c.need(fmt.Sprintf("%s[%d]/SwitchDescription", p, i))
			if err != nil {
				return nil, err
			}
			desc[n] = &s
		}
		var items []item
		for n := 1; n <= 5; n++ {
			if desc[n] != nil {
				items = append(items, set(1, fmt.Sprintf("0-0:94.44.0.%d", 10+n), 2, visible(*desc[n])))
			}
		}
		if len(items) == 0 {
			return nil, c.errf("no %s", p)
		}
		return c.accessRequest(items...)
	}
	// 7.9 / 7.10 add to / remove from the boost button: IC1
	// 0-0:94.44.6.n a2 BoostFunctionControl[n] boolean, TRUE to add, FALSE
	// to remove. An entry "false" (leave that load as it is, or the
	// opposite?) is not determined by the sources.
	boost := func(p string, add bool) func(c *ctx) ([]byte, error) {
		return func(c *ctx) ([]byte, error) {
			var on [6]bool
			for i := 0; i < c.count(p); i++ {
				n, err := c.index(p, i, 5)
				if err != nil {
					return nil, err
				}
				v, err := c.boolean(fmt.Sprintf("%s[%d]/Value", p, i))
				if err != nil {
					return nil, err
				}
				if !v {
					return nil, c.unsupported(p + " false: whether it leaves the load unchanged is not in the sources")
				}
				on[n] = true
			}
			var items []item
			for n := 1; n <= 5; n++ {
				if on[n] {
					items = append(items, set(1, fmt.Sprintf("0-0:94.44.6.%d", n), 2, boolean(add)))
				}
			}
			if len(items) == 0 {
				return nil, c.errf("no %s", p)
			}
			return c.accessRequest(items...)
		}
	}
	ecs62Add, ecs62Remove := boost("AddToBoostButton", true), boost("RemoveFromBoostButton", false)
	builders["ECS62"] = func(c *ctx) ([]byte, error) {
		if c.srv.Variant == "7.10" {
			return ecs62Remove(c)
		}
		return ecs62Add(c)
	}
	// 6.18.1 maximum demand configurable time period: IC10 0-0:12.0.0.255
	// a2, two schedule entries {index 0/1, enable TRUE, script
	// 0-0:10.128.100.255, selector 1 start / 2 end, switch time, validity
	// 0xFFFF, weekdays 1111111, no special days, begin 0x000001FFFF, end
	// 0xFFFFFFFFFF} — annex constants; the selectors 1 (start) and 2 (end)
	// are RTDS's.
	builders["ECS37"] = func(c *ctx) ([]byte, error) {
		var entries []data
		for i, f := range []string{"MaximumDemandTimePeriodSchedule/StartTime", "MaximumDemandTimePeriodSchedule/EndTime"} {
			tm, err := c.clockTime(f)
			if err != nil {
				return nil, err
			}
			entries = append(entries, structure(longU(uint16(i)), boolean(true), octets(obis("0-0:10.128.100.255")),
				longU(uint16(i+1)), octets(tm), longU(0xFFFF), bitString([]bool{true, true, true, true, true, true, true}),
				bitString(nil), octets([]byte{0, 0, 1, 0xFF, 0xFF}), octets([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF})))
		}
		return c.accessRequest(set(10, "0-0:12.0.0.255", 2, array(entries...)))
	}
	// 8.9 on a CHF of the CCS05/CCS04 version: get IC104 0-0:30.3.0.255 a4
	// (the device log), as CCS06 (project notes §6.2).
	builders["CCS05/CCS04"] = func(c *ctx) ([]byte, error) { return c.dlmsRead(parseObjs("A104/0-0:30.3.0.255/4")) }
	// 8.9 read device join details on a ZigBee device: ASN.1 NULL (project
	// notes §6.2).
	builders["CS07"] = func(c *ctx) ([]byte, error) { return []byte{0x05, 0x00}, nil }
}
