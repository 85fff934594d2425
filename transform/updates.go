package transform

import "strings"

// activation is a DLMS activation date-time for the request's
// ExecutionDateTime: absent → "now" (00…8000FF), the DUIS cancel value
// 3000-12-31T00:00:00 → "never" (FF…8000FF), else the time (UTC).
func (c *ctx) activation() ([]byte, error) {
	s, ok := c.str("ExecutionDateTime")
	if !ok {
		return dlmsNow(), nil
	}
	t, err := parseTime(s)
	if err != nil {
		return nil, c.errf("ExecutionDateTime: %v", err)
	}
	if t.Year() == 3000 && t.Month() == 12 && t.Day() == 31 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return dlmsNever(), nil
	}
	return dlmsDateTime(t), nil
}

func init() {
	// 6.4.1 load limiting: IC9000 value_passive of supply state (boolean:
	// Disable TRUE, Unchanged FALSE, annex row 1180), power threshold,
	// period and restoration period (double-long-unsigned), then their
	// activate_passive_value_time — annex order.
	builders["ECS28a"] = func(c *ctx) ([]byte, error) {
		st, err := c.need("LoadLimitSupplyState")
		if err != nil {
			return nil, err
		}
		var vals []data
		vals = append(vals, boolean(strings.HasPrefix(st, "Disable")))
		for _, f := range []string{"LoadLimitPowerThreshold", "LoadLimitPeriod", "LoadLimitRestorationPeriod"} {
			v, err := c.uint(f, 32)
			if err != nil {
				return nil, err
			}
			vals = append(vals, dlu(uint32(v)))
		}
		at, err := c.activation()
		if err != nil {
			return nil, err
		}
		objs := []string{"0-0:94.44.0.3", "0-0:94.44.128.7", "0-0:94.44.128.6", "0-0:94.44.128.8"}
		var items []item
		for i, o := range objs {
			items = append(items, set(9000, o, 4, vals[i]))
		}
		for _, o := range objs {
			items = append(items, set(9000, o, 6, octets(at)))
		}
		return c.accessRequest(items...)
	}
}
