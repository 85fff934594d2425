package transform

import (
	"fmt"
)

// The auxiliary controller calendar: ECS46d (6.14.3, the annex's DLMS
// table of 0x011A) and its older sibling ECS46c (6.14.2, no annex table on
// this machine: ECS46d's table preceded by the switch types of ECS61e's
// typeAndIdentifier rows, as every RTDS ECS46c command shows), and ECS61a
// (7.7), the older read of the same objects. See docs/transform.md,
// "Auxiliary controllers".

// Objects of the auxiliary controller calendar (annex ECS46d: rows 1824 /
// 1820 / 1822 special days, 754–777 schedule, 1201 / 1818 activation).
const (
	auxSpecialDays    = "0-1:11.0.3.255"
	auxSchedule       = "0-1:12.0.2.255"
	auxScheduleAct    = "0-0:94.44.128.26"
	auxSpecialDaysAct = "0-0:94.44.128.35"
)

// auxCalendar names the request elements of one calendar use case.
type auxCalendar struct {
	days, dayID   string // special days element path and its id attribute
	sched, dates  string // schedule entries path and their dates-and-time element
	applies, apID string // an entry's special-day reference element and its id attribute
	// selector is the script selector of schedule entry p ("…[i]/")
	selector func(c *ctx, p string) (uint16, error)
}

// build returns the calendar's sets in annex order: special days, schedule,
// the schedule's then the special days' activation time (both the
// request's ExecutionDateTime).
//
// Special days (IC11 a2): one {index, date, day_id} per definition in
// request order, index = day_id = its identifier (annex 1822: the number
// the calendar entries use for the day; RTDS: index = day id = identifier).
// Schedule (IC10 a2): one entry per request entry, {index from 1 in request
// order, enable TRUE (annex 743), script 0-0:10.0.103.255 (783), selector,
// switch time, validity window 0xFFFF (758), exec_weekdays Monday first,
// exec_specdays, begin date, end date}. exec_specdays has one bit per
// special day defined (annex 735: "must align to the number of special
// days"), the bit of day_id k at position k−1 (the IC11 day_id the entry
// names).
func (a auxCalendar) build(c *ctx) ([]item, error) {
	days, defined, err := c.calendarSpecialDays(a.days, a.dayID, "")
	if err != nil {
		return nil, err
	}
	var entries []data
	for i := 0; i < c.count(a.sched); i++ {
		p := fmt.Sprintf("%s[%d]/", a.sched, i)
		sel, err := a.selector(c, p)
		if err != nil {
			return nil, err
		}
		tm, err := c.dlmsTimeOf(p + a.dates + "/SwitchTime")
		if err != nil {
			return nil, err
		}
		week, spec, err := c.applicability(p, p+a.applies, a.apID, i+1, defined)
		if err != nil {
			return nil, err
		}
		begin, err := c.dlmsDateOf(p + a.dates + "/StartDate")
		if err != nil {
			return nil, err
		}
		end, err := c.dlmsDateOf(p + a.dates + "/EndDate")
		if err != nil {
			return nil, err
		}
		entries = append(entries, scheduleEntry(i+1, auxScriptTable, sel, tm, week, spec, begin, end))
	}
	act, err := c.activation()
	if err != nil {
		return nil, err
	}
	return []item{
		set(11, auxSpecialDays, 2, array(days...)),
		set(10, auxSchedule, 2, array(entries...)),
		set(9000, auxScheduleAct, 6, octets(act)),
		set(9000, auxSpecialDaysAct, 6, octets(act)),
	}, nil
}

// ecs46d: the selector of a scheduled action is ECS47a's
// controllerNumberAndCommandedState with bit 7 of the level octet set.
// Inferred from RTDS: all 70 entries of the seven ECS46d commands carry it
// (levels 0, 50, 100 → 0x80, 0xB2, 0xE4; output 0x1n, input 0x2n), and
// no immediate ECS47a / ECS47e command does; the level (0..100) needs
// only the low 7 bits.
var ecs46d = auxCalendar{
	days: "AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition", dayID: "Identifier",
	sched: "AuxiliaryControllerSchedule", dates: "AuxiliaryControllerSchedulePeriodAndTime",
	applies: "SpecialDaysApplicability", apID: "Identifier",
	selector: func(c *ctx, p string) (uint16, error) {
		s, err := c.auxSelector(p + "AuxiliaryControllerAction/")
		return s | 0x80, err
	},
}

// ecs46c: the older calendar's selector is the switch number in the high
// octet and 1 (ActivateSwitch) or 2 (DeactivateSwitch) in the low one.
// Inferred from RTDS: every entry of the four ECS46c commands (switch 1
// 0x0101 / 0x0102, switch 2 0x0201 / 0x0202).
var ecs46c = auxCalendar{
	days: "ALCSHCALCSSpecialDays/ALCSHCALCSSpecialDay", dayID: "Index",
	sched: "ALCSHCALCSConnectionSchedule", dates: "ALCSScheduleDatesAndTime",
	applies: "SpecialDaysApplicability", apID: "Index",
	selector: func(c *ctx, p string) (uint16, error) {
		n, err := c.auxController(p + "ActivateDeactivateSwitch/Index")
		if err != nil {
			return 0, err
		}
		switch {
		case c.has(p + "ActivateDeactivateSwitch/ActivateSwitch"):
			return uint16(n<<8 | 1), nil
		case c.has(p + "ActivateDeactivateSwitch/DeactivateSwitch"):
			return uint16(n<<8 | 2), nil
		}
		return 0, c.errf("%sActivateDeactivateSwitch: neither ActivateSwitch nor DeactivateSwitch", p)
	},
}

// ecs61a reads the older ALCS / HCALCS data: the descriptions (ECS61d
// rows, 0-0:94.44.0.11..15), the switch types and ids (ECS61e's
// typeAndIdentifier, 0-0:94.44.0.21..25), the active calendar's special
// days and schedule (ECS61d, 0-0:11.0.3.255 / 0-0:12.0.2.255), then the
// output_state (a2) of the switches' Disconnect Control objects
// 0-n:96.3.10.255, n = 1..5 (the supply's is 0-0:96.3.10.255, ECS45). No
// annex table on this machine: the list is that of both RTDS ECS61a
// commands; the request carries no values.
const ecs61a = "A1/0-0:94.44.0.11/2 A1/0-0:94.44.0.12/2 A1/0-0:94.44.0.13/2 A1/0-0:94.44.0.14/2 A1/0-0:94.44.0.15/2 " +
	"A1/0-0:94.44.0.21/2 A1/0-0:94.44.0.22/2 A1/0-0:94.44.0.23/2 A1/0-0:94.44.0.24/2 A1/0-0:94.44.0.25/2 " +
	"A11/0-0:11.0.3.255/2 A10/0-0:12.0.2.255/2 " +
	"A70/0-1:96.3.10.255/2 A70/0-2:96.3.10.255/2 A70/0-3:96.3.10.255/2 A70/0-4:96.3.10.255/2 A70/0-5:96.3.10.255/2"

func init() {
	builders["ECS46d"] = func(c *ctx) ([]byte, error) {
		items, err := ecs46d.build(c)
		if err != nil {
			return nil, err
		}
		return c.accessRequest(items...)
	}
	// 6.14.2: first IC1 0-0:94.44.0.(20+n) a2 octet-string(8) for each
	// SwitchTypeAndId given, by index: eight zero octets for an ALCS, the
	// HCALCS's EUI (annex ECS61e rows 1830–1834, typeAndIdentifier), then
	// the calendar as ECS46d.
	builders["ECS46c"] = func(c *ctx) ([]byte, error) {
		var ids [6][]byte
		for i := 0; i < c.count("SwitchTypeAndId"); i++ {
			p := fmt.Sprintf("SwitchTypeAndId[%d]", i)
			n, err := c.auxController(p + "/Index")
			if err != nil {
				return nil, err
			}
			if ids[n] != nil {
				return nil, c.errf("SwitchTypeAndId index %d twice", n)
			}
			switch {
			case c.has(p + "/HCALCS"):
				e, err := c.eui(p + "/HCALCS")
				if err != nil {
					return nil, err
				}
				ids[n] = e[:]
			case c.has(p + "/ALCS"):
				ids[n] = make([]byte, 8)
			default:
				return nil, c.errf("%s: neither ALCS nor HCALCS", p)
			}
		}
		var items []item
		for n := 1; n <= 5; n++ {
			if ids[n] != nil {
				items = append(items, set(1, fmt.Sprintf("0-0:94.44.0.%d", 20+n), 2, octets(ids[n])))
			}
		}
		cal, err := ecs46c.build(c)
		if err != nil {
			return nil, err
		}
		return c.accessRequest(append(items, cal...)...)
	}
	objs := parseObjs(ecs61a)
	builders["ECS61a"] = func(c *ctx) ([]byte, error) { return c.dlmsRead(objs) }
}
