package transform

import (
	"fmt"
	"strconv"
	"time"
)

// 2.1 on a GSME (GCS05, 0x006F): the annex's GBZ message template —
// Emergency Credit Setup, Set Overall Debt Cap, Set Low Credit Warning
// Level (From Date Time in the extended header), Set Maximum Credit Limit
// (Prepayment cluster, client-to-server 0x01), then the non-disablement
// calendar as a Friendly Credit Calendar (type 3): Publish Calendar, one
// Publish Day Profile per day profile, one Publish Week Profile per week,
// Publish Seasons, Publish Special Days (Calendar cluster, 0x09). The
// annex's mapping table: DebtRecoveryRateCap → Overall Debt Cap,
// MaxMeterBalance → Maximum Credit Level, MaxCreditThreshold → Maximum
// Credit Per Top Up; a schedule entry's action is BOOLEAN 1 = non-
// disablement active (START), 0 = inactive (STOP). Times: ExecutionDateTime,
// absent 0; the DUIS cancel value 0xFFFFFFFF on the Prepayment commands
// (annex "0xFFFFFFFF = cancel") and 0xFFFFFFFE on Publish Calendar and
// Publish Special Days (as GCS01a; all three RTDS commands agree).
func init() {
	builders["GCS05"] = func(c *ctx) ([]byte, error) {
		g := "UpdatePrepayConfigGas"
		if !c.has(g) {
			return nil, c.errf("missing UpdatePrepayConfigGas")
		}
		now, err := c.nowUTC()
		if err != nil {
			return nil, err
		}
		impl, err := c.zclExecution(0xFFFFFFFF)
		if err != nil {
			return nil, err
		}
		calStart, err := c.zclExecution(0xFFFFFFFE)
		if err != nil {
			return nil, err
		}
		u32 := func(name string) ([]byte, error) {
			v, err := c.uint(g+"/"+name, 32)
			if err != nil {
				return nil, err
			}
			return le32(uint32(v)), nil
		}
		var vals [6][]byte
		for i, n := range []string{"EmergencyCreditLimit", "EmergencyCreditThreshold", "LowCreditThreshold", "MaxMeterBalance", "MaxCreditThreshold"} {
			if vals[i], err = u32(n); err != nil {
				return nil, err
			}
		}
		debtCap, err := c.sint(g+"/DebtRecoveryRateCap", 32)
		if err != nil {
			return nil, err
		}
		vals[5] = le32(uint32(int32(debtCap)))
		pp := func(cmd, control byte, fs ...gbzField) gbzComponent {
			return gbzComponent{control: control, cluster: 0x0705, frameControl: 0x01, command: cmd, fields: fs}
		}
		comps := []gbzComponent{
			pp(0x03, 0, fld("Issuer Event ID", now), fld("Start Time", impl), fld("Emergency Credit Limit", vals[0]),
				fld("Emergency Credit Threshold", vals[1])),
			pp(0x0C, 0, fld("Provider ID", le32(0)), fld("Issuer Event ID", now), fld("Implementation Date/Time", impl),
				fld("Overall Debt Cap", vals[5])),
			pp(0x09, 0x10, fld("From Date Time", impl), fld("Low Credit Warning Level", vals[2])),
			pp(0x0B, 0, fld("Provider ID", le32(0)), fld("Issuer Event ID", now), fld("Implementation Date/Time", impl),
				fld("Maximum Credit Level", vals[3]), fld("Maximum Credit Per Top Up", vals[4])),
		}
		cal := func(cmd byte, fs ...gbzField) gbzComponent {
			return gbzComponent{cluster: 0x0707, frameControl: 0x09, command: cmd,
				fields: append([]gbzField{fld("Provider ID", le32(0)), fld("Issuer Event ID", now), fld("Issuer Calendar ID", now)}, fs...)}
		}
		nd := g + "/GasNonDisablementCalendar"
		days, weeks, seasons := nd+"/DayProfiles/GasNonDisablementDayProfile", nd+"/WeekProfiles/WeekProfile", nd+"/SeasonProfiles/Season"
		ndays, nweeks, nseasons := c.count(days), c.count(weeks), c.count(seasons)
		if ndays < 1 || ndays > 5 || nweeks > 2 || nseasons > 3 {
			return nil, c.errf("non-disablement calendar: %d day profiles (1-5), %d week profiles (0-2), %d seasons (0-3)", ndays, nweeks, nseasons)
		}
		comps = append(comps, cal(0x00, fld("Start Time", calStart), fld("Calendar Type", u8(3)), fld("Calendar Time Reference", u8(0)),
			fld("Calendar Name", u8(0)), fld("Number of Seasons", u8(byte(nseasons))), fld("Number of Week Profiles", u8(byte(nweeks))),
			fld("Number of Day Profiles", u8(byte(ndays)))))
		for i := range ndays {
			d := fmt.Sprintf("%s[%d]", days, i)
			id, err := c.uint(d+"/GasDayName", 8)
			if err != nil {
				return nil, err
			}
			n := c.count(d + "/TimeStartAction")
			var entries []byte
			for j := range n {
				a := fmt.Sprintf("%s/TimeStartAction[%d]", d, j)
				m, err := c.minutesOfDay(a + "/StartTime")
				if err != nil {
					return nil, err
				}
				act, err := c.need(a + "/NonDisablementAction")
				if err != nil {
					return nil, err
				}
				on, ok := map[string]byte{"START": 1, "STOP": 0}[act]
				if !ok {
					return nil, c.errf("%s/NonDisablementAction %q", a, act)
				}
				entries = append(append(entries, m...), on)
			}
			comps = append(comps, cal(0x01, fld("Day ID", u8(byte(id))), fld("Total Number of Schedule Entries", u8(byte(n))),
				fld("Command Index", u8(0)), fld("Total Number of Commands", u8(1)), fld("Calendar Type", u8(3)),
				fld("Day Schedule Entries", entries)))
		}
		for i := range nweeks {
			w := fmt.Sprintf("%s[%d]", weeks, i)
			id, err := c.uint(w+"/WeekName", 8)
			if err != nil {
				return nil, err
			}
			refs, err := c.weekDayRefs(w)
			if err != nil {
				return nil, err
			}
			comps = append(comps, cal(0x02, fld("Week ID", u8(byte(id))), fld("Day ID Refs", refs)))
		}
		var se []byte
		for i := range nseasons {
			s := fmt.Sprintf("%s[%d]", seasons, i)
			d, err := c.zclDateOf(s + "/SeasonStartDate")
			if err != nil {
				return nil, err
			}
			w, err := c.uint(s+"/ReferencedWeekName", 8)
			if err != nil {
				return nil, err
			}
			se = append(append(se, d...), byte(w))
		}
		comps = append(comps, cal(0x03, fld("Command Index", u8(0)), fld("Total Number of Commands", u8(1)), fld("Season Entry", se)))
		var special []byte
		nsd := c.count(nd + "/SpecialDays/SpecialDay")
		if nsd > 20 {
			return nil, c.errf("%d special days (0-20)", nsd)
		}
		for i := range nsd {
			s := fmt.Sprintf("%s/SpecialDays/SpecialDay[%d]", nd, i)
			d, err := c.zclDateOf(s + "/Date")
			if err != nil {
				return nil, err
			}
			id, err := c.uint(s+"/ReferencedDayName", 8)
			if err != nil {
				return nil, err
			}
			special = append(append(special, d...), byte(id))
		}
		comps = append(comps, cal(0x04, fld("Start Time", calStart), fld("Calendar Type", u8(3)),
			fld("Total Number of SpecialDays", u8(byte(nsd))), fld("Command Index", u8(0)), fld("Total Number of Commands", u8(1)),
			fld("Special Day Entry", special)))
		return c.gbzBuild(comps)
	}
}

// minutesOfDay is the xs:time at path as minutes from midnight (UINT16);
// seconds must be zero.
func (c *ctx) minutesOfDay(path string) ([]byte, error) {
	s, err := c.need(path)
	if err != nil {
		return nil, err
	}
	for _, l := range []string{"15:04:05.999999999Z07:00", "15:04:05.999999999"} {
		if t, err := time.Parse(l, s); err == nil {
			t = t.UTC()
			if t.Second() != 0 || t.Nanosecond() != 0 {
				return nil, c.errf("%s %q: not a whole minute", path, s)
			}
			return le16(uint16(t.Hour()*60 + t.Minute())), nil
		}
	}
	return nil, c.errf("%s: bad time %q", path, s)
}

// weekDayRefs are the seven ReferencedDayName of a WeekProfile, Monday
// first (by the index attribute when present).
func (c *ctx) weekDayRefs(w string) ([]byte, error) {
	if c.count(w+"/ReferencedDayName") != 7 {
		return nil, c.errf("%s: want 7 ReferencedDayName", w)
	}
	days := make([]byte, 7)
	for j := range 7 {
		r := fmt.Sprintf("%s/ReferencedDayName[%d]", w, j)
		k := j
		if s, ok := c.str(r + "/Index"); ok && s != "" {
			x, err := strconv.Atoi(s)
			if err != nil || x < 1 || x > 7 {
				return nil, c.errf("%s: bad index %q", r, s)
			}
			k = x - 1
		}
		v, err := c.uint(r+"/Value", 8)
		if err != nil {
			return nil, err
		}
		days[k] = byte(v)
	}
	return days, nil
}
