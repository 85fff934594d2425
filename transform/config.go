package transform

import (
	"fmt"
	"strings"
	"time"
)

// DLMS configuration updates: voltage settings (6.5), billing calendar
// (6.8), daily block-counter reset (6.26).

// row is one annex table row of a configuration update: a set of a
// double-long-unsigned from a request field, or a reset (IC3 m1, 0).
type row struct {
	class uint16
	obis  string
	id    uint8
	field string // request path; "" = reset method
}

// voltageRows are the annex tables of ECS29a–d. Phase-dependent rows use
// "%d" for the OBIS group (32, 52, 72) and "{P}" for the request's
// settings of that phase.
var voltageRows = map[string][]string{
	"ECS29a": {"C/1-0:32.24.0.255", "RMS", "1/S/1-0:32.35.0.4/AverageRMSOverVoltageThreshold", "1/S/1-0:32.31.0.4/AverageRMSUnderVoltageThreshold", "R/1-0:32.32.0.4", "R/1-0:32.36.0.4"},
	"ECS29c": {"1/S/1-0:32.31.0.4/AverageRMSUnderVoltageThreshold", "1/S/1-0:32.35.0.4/AverageRMSOverVoltageThreshold", "C/1-0:32.24.0.255", "RMS"},
	"ECS29b": {"C/1-0:32.24.0.255", "C/1-0:52.24.0.255", "C/1-0:72.24.0.255", "RMS",
		"1/1/1-0:32.35.0.4/AverageRMSOverVoltageThreshold", "1/1/1-0:32.31.0.4/AverageRMSUnderVoltageThreshold",
		"1/2/1-0:52.31.0.4/AverageRMSUnderVoltageThreshold", "1/2/1-0:52.35.0.4/AverageRMSOverVoltageThreshold",
		"1/3/1-0:72.31.0.4/AverageRMSUnderVoltageThreshold", "1/3/1-0:72.35.0.4/AverageRMSOverVoltageThreshold",
		"R/1-0:32.32.0.4", "R/1-0:32.36.0.4", "R/1-0:52.32.0.4", "R/1-0:52.36.0.4", "R/1-0:72.32.0.4", "R/1-0:72.36.0.4"},
	"ECS29d": {"1/1/1-0:32.31.0.4/AverageRMSUnderVoltageThreshold", "1/1/1-0:32.35.0.4/AverageRMSOverVoltageThreshold",
		"1/2/1-0:52.31.0.4/AverageRMSUnderVoltageThreshold", "1/2/1-0:52.35.0.4/AverageRMSOverVoltageThreshold",
		"1/3/1-0:72.31.0.4/AverageRMSUnderVoltageThreshold", "1/3/1-0:72.35.0.4/AverageRMSOverVoltageThreshold",
		"C/1-0:32.24.0.255", "C/1-0:52.24.0.255", "C/1-0:72.24.0.255", "RMS"},
}

// phaseSettings is the request path of a phase's average RMS settings:
// SinglePhaseVoltageSettings, or the PolyPhaseVoltageSettings entry whose
// Phase is p.
func (c *ctx) phaseSettings(p int) (string, error) {
	if c.has("SinglePhaseVoltageSettings") {
		if p != 1 {
			return "", c.errf("polyphase settings needed, the request has SinglePhaseVoltageSettings")
		}
		return "SinglePhaseVoltageSettings", nil
	}
	for i := 0; i < c.count("PolyPhaseVoltageSettings"); i++ {
		if s, _ := c.str(fmt.Sprintf("PolyPhaseVoltageSettings[%d]/Phase", i)); s == fmt.Sprint(p) {
			return fmt.Sprintf("PolyPhaseVoltageSettings[%d]/PhaseVoltageSettings", i), nil
		}
	}
	return "", c.errf("no voltage settings for phase %d", p)
}

func (c *ctx) voltage(rows []string) ([]byte, error) {
	var items []item
	dlu32 := func(path string) (data, error) {
		v, err := c.uint(path, 32)
		if err != nil {
			return nil, err
		}
		return dlu(uint32(v)), nil
	}
	for _, r := range rows {
		p := strings.Split(r, "/")
		switch p[0] {
		case "RMS":
			// IC71 0-0:17.0.1..4.255 threshold_normal (a4) and
			// min_over_threshold_duration (a6).
			for i, name := range []string{"RMSExtremeOverVoltage", "RMSExtremeUnderVoltage", "RMSVoltageSag", "RMSVoltageSwell"} {
				o := fmt.Sprintf("0-0:17.0.%d.255", i+1)
				th, err := dlu32("RMSVoltageSettings/" + name + "Threshold")
				if err != nil {
					return nil, err
				}
				per, err := dlu32("RMSVoltageSettings/" + name + "MeasurementPeriod")
				if err != nil {
					return nil, err
				}
				items = append(items, set(71, o, 4, th), set(71, o, 6, per))
			}
		case "R":
			items = append(items, action(3, p[1], 1, integer(0)))
		case "C":
			// IC7 capture_period = the phase's AverageRMSVoltageMeasurementPeriod
			phase := map[string]int{"32": 1, "52": 2, "72": 3}[strings.Split(strings.Split(p[1], ":")[1], ".")[0]]
			s, err := c.phaseSettings(phase)
			if err != nil {
				return nil, err
			}
			v, err := dlu32(s + "/AverageRMSVoltageMeasurementPeriod")
			if err != nil {
				return nil, err
			}
			items = append(items, set(7, p[1], 4, v))
		case "1":
			phase := 1
			if p[1] != "S" {
				phase = int(p[1][0] - '0')
			}
			s, err := c.phaseSettings(phase)
			if err != nil {
				return nil, err
			}
			v, err := dlu32(s + "/" + p[3])
			if err != nil {
				return nil, err
			}
			items = append(items, set(1, p[2], 2, v))
		}
	}
	return c.accessRequest(items...)
}

// executionTimes is the IC22 execution_time of a billing calendar: one
// {time, date} per billing date, the date with "not specified" (0xFF)
// wildcards (DLMS Blue Book 4.1.6.1; RTDS ECS30 monthly, ECS30a
// quarterly, ECS48 daily).
func (c *ctx) billingExecutionTimes(older bool) (data, error) {
	const p = "ElectricityBillingCalendar"
	tm, err := c.clockTime(p + "/BillingTime")
	if err != nil {
		return nil, err
	}
	entry := func(month, day, weekday byte) data {
		return structure(octets(tm), octets([]byte{0xFF, 0xFF, month, day, weekday}))
	}
	switch {
	case c.has(p + "/Daily"):
		return array(entry(0xFF, 0xFF, 0xFF)), nil
	case c.has(p + "/Weekly"):
		d, err := c.uint(p+"/Weekly", 8)
		if err != nil || d < 1 || d > 7 {
			return nil, c.errf("%s/Weekly: not 1..7", p)
		}
		return array(entry(0xFF, 0xFF, byte(d))), nil
	case c.has(p + "/Monthly"):
		d, err := c.uint(p+"/Monthly", 8)
		if err != nil || d < 1 || d > 28 {
			return nil, c.errf("%s/Monthly: not 1..28", p)
		}
		return array(entry(0xFF, byte(d), 0xFF)), nil
	}
	for _, k := range []struct {
		name string
		step int
	}{{"Quarterly", 3}, {"SixMonthly", 6}, {"Yearly", 12}} {
		q := p + "/" + k.name
		if !c.has(q) {
			continue
		}
		if older {
			return nil, c.errf("%s billing needs ECS30a (the device supports ECS30: daily, weekly, monthly)", k.name)
		}
		d, err := c.uint(q+"/DayOfMonth", 8)
		if err != nil || d < 1 || d > 28 {
			return nil, c.errf("%s/DayOfMonth: not 1..28", q)
		}
		m, err := c.uint(q+"/BillingPeriodStartMonth", 8)
		if err != nil || m < 1 || m > 12 {
			return nil, c.errf("%s/BillingPeriodStartMonth: not 1..12", q)
		}
		var es []data
		for i := 0; i < 12/k.step; i++ {
			es = append(es, entry(byte((int(m)-1+i*k.step)%12+1), byte(d), 0xFF))
		}
		return array(es...), nil
	}
	return nil, c.errf("%s: no periodicity", p)
}

func init() {
	for uc, rows := range voltageRows {
		builders[uc] = func(c *ctx) ([]byte, error) { return c.voltage(rows) }
	}
	// 6.8 billing calendar: IC22 0-0:15.0.0.255 a4 execution_time.
	for _, uc := range []string{"ECS30", "ECS30a"} {
		older := uc == "ECS30"
		builders[uc] = func(c *ctx) ([]byte, error) {
			et, err := c.billingExecutionTimes(older)
			if err != nil {
				return nil, err
			}
			return c.accessRequest(set(22, "0-0:15.0.0.255", 4, et))
		}
	}
	// 6.26 daily reset of the tariff block counter matrix: IC22
	// 0-0:15.1.0.255 a4 execution_time {00:00:00.00, every day} (RTDS).
	// Switching it off (false) is not shown by the sources.
	builders["ECS48"] = func(c *ctx) ([]byte, error) {
		v, err := c.boolean("DailyTariffBlockCounterMatrixReset")
		if err != nil {
			return nil, err
		}
		if !v {
			return nil, c.unsupported("DailyTariffBlockCounterMatrixReset false: the execution_time that switches the reset off is GBCS 18.2.1, not among the sources")
		}
		return c.accessRequest(set(22, "0-0:15.1.0.255", 4, array(structure(octets([]byte{0, 0, 0, 0}), octets([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF})))))
	}
}

// validity is the clock-setting validity interval of 6.11 / 8.1.1:
// CurrentDateTime to CurrentDateTime + TolerancePeriod (seconds), as every
// RTDS ECS70 / GCS28 command shows.
func (c *ctx) validity() (from, to time.Time, err error) {
	s, err := c.need("CurrentDateTime")
	if err != nil {
		return
	}
	if from, err = parseTime(s); err != nil {
		return from, to, c.errf("CurrentDateTime: %v", err)
	}
	tol, err := c.uint("TolerancePeriod", 32)
	if err != nil {
		return
	}
	if from.Nanosecond() != 0 {
		return from, to, c.errf("CurrentDateTime %s: the command carries whole seconds", s)
	}
	return from, from.Add(time.Duration(tol) * time.Second), nil
}

func init() {
	// 6.11 / 8.1.1 set clock on the ESME (annex): clock_base enum 5;
	// preset_adjusting_time {preset FF…FF8000FF, validity start, end};
	// adjust_to_preset_time 0; get time and status.
	builders["ECS70"] = func(c *ctx) ([]byte, error) {
		from, to, err := c.validity()
		if err != nil {
			return nil, err
		}
		const clk = "0-0:1.0.0.255"
		return c.accessRequest(
			set(8, clk, 9, enum(5)),
			action(8, clk, 5, structure(octets(dlmsNever()), octets(dlmsDateTime(from)), octets(dlmsDateTime(to)))),
			action(8, clk, 4, integer(0)),
			get(8, clk, 2),
			get(8, clk, 4))
	}
	// 6.11 / 8.1.1 set clock on the GSME: ASN.1 SEQUENCE of the validity
	// interval's two GeneralizedTimes (RTDS; the annex points to GBCS).
	builders["GCS28"] = func(c *ctx) ([]byte, error) {
		from, to, err := c.validity()
		if err != nil {
			return nil, err
		}
		var body []byte
		for _, t := range []time.Time{from, to} {
			g := t.UTC().Format("20060102150405Z")
			body = append(append(body, 0x18, byte(len(g))), g...)
		}
		return append([]byte{0x30, byte(len(body))}, body...), nil
	}
}
