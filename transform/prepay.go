package transform

import (
	"fmt"
	"regexp"
	"strconv"
)

// 2.1 Update Prepay Configuration on the ESME (ECS08a, annex table of
// 0x00DE, rows in its order):
//
//	IC11   0-1:11.0.2.255   a2 special days {index, date, day_id}
//	IC9000 0-0:94.44.2.20   a4 MaxMeterBalance            double-long
//	IC9000 0-0:94.44.2.10   a4 MaxCreditThreshold         double-long
//	IC10   0-1:12.0.1.255   a2 non-disablement schedule
//	IC9000 0-0:94.44.128.12 a4 DebtRecoveryRateCap amount long-unsigned
//	IC9000 0-0:94.44.128.13 a4 DebtRecoveryRateCap period double-long 604800
//	IC9000 0-0:94.44.128.9  a4 LowCreditThreshold         double-long
//	IC9000 0-0:94.44.128.2  a4 EmergencyCreditLimit       double-long
//	IC9000 0-0:94.44.128.31 a6 special days activation
//	IC9000 0-0:94.44.128.3  a4 EmergencyCreditThreshold   double-long
//	then a6 activate_passive_value_time of 2.20, 2.10, 128.12, 128.13,
//	128.9, 128.2, 128.3 and 128.28 (the schedule).
//
// Every activation time is the request's ExecutionDateTime (absent "now",
// cancel "never", as all DLMS updates).
//
// The debt recovery rate cap period is not in the request: the annex (rows
// 1182 / periodCurrent of ECS26a) fixes it at 604800 seconds (1 week), the
// ZSE constant.
//
// Schedule entries, one per ElectricityNonDisablementSchedule in request
// order: {index from 1, enable TRUE (annex 0x01; A-XDR TRUE is FF),
// script 0-0:10.0.106.255 (annex constant), selector, switch time,
// validity window 0xFFFF (annex), exec_weekdays Monday first,
// exec_specdays, begin date, end date}.
//
//   - Script selector: START 32, STOP 33. The annex points to GBCS 7.3.7,
//     not among the sources; inferred from RTDS: every entry of the three
//     ECS08a commands (START → 0x20, STOP → 0x21) and the non-disablement
//     calendar the RTDS ESME reports in ECS26a (selectors 32 and 33 only).
//   - exec_specdays: one bit per special day defined (annex: "the length …
//     must align to the number of special days"), the bit of SpecialDayID k
//     at position k−1 (RTDS: 5 days, ids 1, 2, 5 → 11001).
//   - Dates: xs:date year, month, day, weekday 0xFF; year 65535 (DUIS "any
//     year") → 0xFFFF (RTDS 65535-04-29 → FFFF041DFF).
//
// Special days: one {index, date, day_id} per SpecialDay in request order,
// index = day_id = its index attribute (RTDS); none → an empty array
// (annex).
const (
	ndSpecialDays    = "0-1:11.0.2.255"
	ndSchedule       = "0-1:12.0.1.255"
	ndScript         = "0-0:10.0.106.255"
	ndSpecialDaysAct = "0-0:94.44.128.31"
	ndScheduleAct    = "0-0:94.44.128.28"
	debtCapPeriod    = 604800 // annex: fixed at 1 week
)

// ndSelector is the script selector of a NonDisablementScript (RTDS).
var ndSelector = map[string]uint16{"START": 32, "STOP": 33}

var xsDateRE = regexp.MustCompile(`^(\d{4,5})-(\d{2})-(\d{2})(Z|[+-]00:00)?$`)

// xsDate encodes an xs:date as a DLMS date (octet-string(5)); the DUIS year
// 65535 is "not specified" (0xFFFF), the weekday is not specified.
func (c *ctx) xsDate(path string) ([]byte, error) {
	s, err := c.need(path)
	if err != nil {
		return nil, err
	}
	m := xsDateRE.FindStringSubmatch(s)
	if m == nil {
		return nil, c.errf("%s: %q is not a UTC xs:date", path, s)
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	if y > 0xFFFF || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return nil, c.errf("%s: %q out of range", path, s)
	}
	return []byte{byte(y >> 8), byte(y), byte(mo), byte(d), 0xFF}, nil
}

func init() {
	builders["ECS08a"] = func(c *ctx) ([]byte, error) {
		const p = "UpdatePrepayConfigElectricity/"
		const cal = p + "ElectricityNonDisablementCalendar/"
		dl := func(f string) (data, error) {
			v, err := c.sint(p+f, 32)
			return doubleLong(int32(v)), err
		}
		// special days
		sd, defined, err := c.calendarSpecialDays(cal+"ElectricitySpecialDays/SpecialDay", "Index", "/Date")
		if err != nil {
			return nil, err
		}
		// schedule
		sched := cal + "ElectricityNonDisablementSchedule"
		var entries []data
		for i := 0; i < c.count(sched); i++ {
			ep := fmt.Sprintf("%s[%d]/", sched, i)
			s, err := c.need(ep + "NonDisablementScript")
			if err != nil {
				return nil, err
			}
			sel, ok := ndSelector[s]
			if !ok {
				return nil, c.errf("%sNonDisablementScript %q", ep, s)
			}
			tm, err := c.dlmsTimeOf(ep + "ScheduleDatesAndTime/SwitchTime")
			if err != nil {
				return nil, err
			}
			week, spec, err := c.applicability(ep, ep+"SpecialDaysApplicability/SpecialDayApplicability", "SpecialDayID", i+1, defined)
			if err != nil {
				return nil, err
			}
			begin, err := c.xsDate(ep + "ScheduleDatesAndTime/StartDate")
			if err != nil {
				return nil, err
			}
			end, err := c.xsDate(ep + "ScheduleDatesAndTime/EndDate")
			if err != nil {
				return nil, err
			}
			entries = append(entries, scheduleEntry(i+1, ndScript, sel, tm, week, spec, begin, end))
		}
		maxBal, err := dl("MaxMeterBalance")
		if err != nil {
			return nil, err
		}
		maxCredit, err := dl("MaxCreditThreshold")
		if err != nil {
			return nil, err
		}
		capAmount, err := c.uint(p+"DebtRecoveryRateCap", 16)
		if err != nil {
			return nil, err
		}
		low, err := dl("LowCreditThreshold")
		if err != nil {
			return nil, err
		}
		ecLimit, err := dl("EmergencyCreditLimit")
		if err != nil {
			return nil, err
		}
		ecThreshold, err := dl("EmergencyCreditThreshold")
		if err != nil {
			return nil, err
		}
		at, err := c.activation()
		if err != nil {
			return nil, err
		}
		act := octets(at)
		items := []item{
			set(11, ndSpecialDays, 2, array(sd...)),
			set(9000, "0-0:94.44.2.20", 4, maxBal),
			set(9000, "0-0:94.44.2.10", 4, maxCredit),
			set(10, ndSchedule, 2, array(entries...)),
			set(9000, "0-0:94.44.128.12", 4, longU(uint16(capAmount))),
			set(9000, "0-0:94.44.128.13", 4, doubleLong(debtCapPeriod)),
			set(9000, "0-0:94.44.128.9", 4, low),
			set(9000, "0-0:94.44.128.2", 4, ecLimit),
			set(9000, ndSpecialDaysAct, 6, act),
			set(9000, "0-0:94.44.128.3", 4, ecThreshold),
		}
		for _, o := range []string{"0-0:94.44.2.20", "0-0:94.44.2.10", "0-0:94.44.128.12", "0-0:94.44.128.13",
			"0-0:94.44.128.9", "0-0:94.44.128.2", "0-0:94.44.128.3", ndScheduleAct} {
			items = append(items, set(9000, o, 6, act))
		}
		return c.accessRequest(items...)
	}
}
