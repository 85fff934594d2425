package correlate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/gbcs/payload"
)

func init() {
	srvChecks["2.1"] = checkPrepayConfig
	srvChecks["6.14.1"] = checkALCDescriptions
	srvChecks["6.14.2"] = checkALCScheduler
	srvChecks["6.14.3"] = checkAuxControllerScheduler
}

// 2.1 Update Prepay Configuration: ECS08/ECS08a (IC9000 value_passive
// objects, the Non-Disablement Calendar IC10 0-1:12.0.1.255 and its special
// days IC11 0-1:11.0.2.255) or GCS05 (ZSE Emergency Credit Setup, Set
// Overall Debt Cap, Set Low Credit Warning Level, Set Maximum Credit Limit
// and a friendly-credit calendar, type 3).
func checkPrepayConfig(c *checker, b *xnode) {
	if e := b.child("UpdatePrepayConfigElectricity"); e != nil {
		c.wantUseCase("ECS08a", "ECS08")
		for _, x := range []struct{ f, obis string }{
			{"DebtRecoveryRateCap", "0-0:94.44.128.12"}, {"EmergencyCreditLimit", "0-0:94.44.128.2"},
			{"EmergencyCreditThreshold", "0-0:94.44.128.3"}, {"LowCreditThreshold", "0-0:94.44.128.9"},
			{"MaxMeterBalance", "0-0:94.44.2.20"}, {"MaxCreditThreshold", "0-0:94.44.2.10"},
		} {
			c.dnum(x.f+" vs "+x.obis+" value_passive", e.trimmed1(x.f), 2, 9000, x.obis, 4)
		}
		cal := e.child("ElectricityNonDisablementCalendar")
		days := cal.all("ElectricitySpecialDays/SpecialDay")
		c.dlmsSpecialDays("ElectricityNonDisablementCalendar/ElectricitySpecialDays", days, "0-1:11.0.2.255")
		c.dlmsSchedule("ElectricityNonDisablementCalendar", cal.children("ElectricityNonDisablementSchedule"), "0-1:12.0.1.255", len(days),
			func(s *xnode) (string, string) { return "script " + s.trimmed1("NonDisablementScript"), "" }, "ScheduleDatesAndTime")
		return
	}
	c.wantUseCase("GCS05")
	g := b.child("UpdatePrepayConfigGas")
	if ec := c.comp("EmergencyCreditLimit / EmergencyCreditThreshold", "", clPrepayment, 0x03); ec != nil {
		c.gnum("EmergencyCreditLimit", g.trimmed1("EmergencyCreditLimit"), ec, "emergency-credit-limit")
		c.gnum("EmergencyCreditThreshold", g.trimmed1("EmergencyCreditThreshold"), ec, "emergency-credit-threshold")
	}
	if dc := c.comp("DebtRecoveryRateCap", g.trimmed1("DebtRecoveryRateCap"), clPrepayment, 0x0C); dc != nil {
		c.gnum("DebtRecoveryRateCap vs Overall Debt Cap", g.trimmed1("DebtRecoveryRateCap"), dc, "overall-debt-cap")
	}
	if lc := c.comp("LowCreditThreshold", g.trimmed1("LowCreditThreshold"), clPrepayment, 0x09); lc != nil {
		c.gnum("LowCreditThreshold vs Low Credit Warning Level", g.trimmed1("LowCreditThreshold"), lc, "low-credit-warning-level")
	}
	if mc := c.comp("MaxMeterBalance / MaxCreditThreshold", "", clPrepayment, 0x0B); mc != nil {
		c.gnum("MaxMeterBalance vs Maximum Credit Level", g.trimmed1("MaxMeterBalance"), mc, "maximum-credit-level")
		c.gnum("MaxCreditThreshold vs Maximum Credit Per Top Up", g.trimmed1("MaxCreditThreshold"), mc, "maximum-credit-per-top-up")
	}
	cal := g.child("GasNonDisablementCalendar")
	c.gasCalendar("GasNonDisablementCalendar", cal, 3)
	c.gasSpecialDays("GasNonDisablementCalendar/SpecialDays", cal.all("SpecialDays/SpecialDay"), 3)
}

var weekdays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

// dlmsSchedule compares schedule entries with an IC10 Schedule's entries
// {index, enable, script, selector, switch_time, validity_window,
// exec_weekdays (Monday first), exec_specdays (special day n is bit n, as
// many bits as special days), begin_date, end_date}, in order. sel returns
// "" as the action when the caller compares the selector itself; else it returns
// the requested action (a label) and, when the annex fixes it, the
// expected selector; otherwise the mapping action → selector must merely be
// consistent (one selector per action, different actions apart).
func (c *checker) dlmsSchedule(name string, sched []*xnode, obis string, nSpecial int, sel func(*xnode) (string, string), dates string) {
	n := c.dval(name, fmt.Sprintf("%d schedule entries", len(sched)), 2, 10, obis, 2)
	if n == nil {
		return
	}
	c.eq(name+" number of schedule entries", strconv.Itoa(len(sched)), strconv.Itoa(len(n.Children)))
	byAction := map[string]string{}
	byValue := map[string]string{}
	for i, s := range sched {
		e := kid(n, i)
		if e == nil {
			break
		}
		label := fmt.Sprintf("%s entry %d", name, i+1)
		action, wantSel := sel(s)
		gotSel := nodeNum(kid(e, 3))
		switch {
		case action == "":
			// the caller compared the selector itself
		case wantSel != "":
			c.eq(label+" "+action+" vs script selector", wantSel, gotSel)
		default:
			if prev, ok := byAction[action]; ok && prev != gotSel {
				c.add(Field{Name: label + " " + action + " vs script selector", Request: action + " (selector " + prev + " in an earlier entry)", Command: gotSel, Result: Differ})
			} else if other, ok := byValue[gotSel]; ok && other != action {
				c.add(Field{Name: label + " " + action + " vs script selector", Request: action, Command: gotSel + " (used for " + other + " too)", Result: Differ})
			} else {
				c.add(Field{Name: label + " " + action + " vs script selector", Request: action, Command: gotSel, Result: Match,
					Note: "consistency only: the selector numbers are not in the annex"})
			}
			byAction[action], byValue[gotSel] = gotSel, action
		}
		dt := s.child(dates)
		c.eq(label+" SwitchTime", dlmsTimeOfDay(dt.trimmed1("SwitchTime")), fmt.Sprintf("%x", octets(kid(e, 4))))
		days := map[string]bool{}
		for _, d := range s.all("DaysOfWeekApplicability/DayOfWeekApplicability") {
			days[d.trimmed1("DayOfWeekID")] = true
		}
		wd := ""
		for _, d := range weekdays {
			if days[d] {
				wd += "1"
			} else {
				wd += "0"
			}
		}
		c.eq(label+" DaysOfWeekApplicability (Mon..Sun)", wd, bitString(kid(e, 6)))
		sp := make([]byte, nSpecial)
		for i := range sp {
			sp[i] = '0'
		}
		for _, a := range specialRefs(s) {
			if a >= 1 && a <= nSpecial {
				sp[a-1] = '1'
			} else {
				sp = append(sp, '?')
			}
		}
		c.eq(label+" SpecialDaysApplicability", string(sp), bitString(kid(e, 7)))
		c.eq(label+" StartDate", scheduleDate(dt.child("StartDate")), fmt.Sprintf("%x", octets(kid(e, 8))))
		c.eq(label+" EndDate", scheduleDate(dt.child("EndDate")), fmt.Sprintf("%x", octets(kid(e, 9))))
	}
	for i := len(sched); i < len(n.Children); i++ {
		c.add(Field{Name: fmt.Sprintf("%s entry %d", name, i+1), Request: "absent", Command: "schedule entry", Result: Differ})
	}
}

// specialRefs lists the special days a schedule entry applies on.
func specialRefs(s *xnode) []int {
	var out []int
	for _, a := range s.children("SpecialDaysApplicability") {
		if len(a.kids) > 0 {
			for _, k := range a.kids {
				out = append(out, atoiDef(k.trimmed1("SpecialDayID"), atoiDef(k.trimmed(), -1)))
			}
			continue
		}
		if v := a.attr("index"); v != "" {
			out = append(out, atoiDef(v, -1))
		} else if v := a.attr("identifier"); v != "" {
			out = append(out, atoiDef(v, -1))
		}
	}
	return out
}

func bitString(n *payload.Node) string {
	if n == nil {
		return "absent"
	}
	if s, ok := n.Value.(string); ok {
		return s
	}
	return nodeText(n)
}

// scheduleDate renders a schedule date: either structured (Year, Month, …)
// or an xs:date "YYYY-MM-DD" where year 65535 is a wildcard.
func scheduleDate(d *xnode) string {
	if d == nil {
		return "absent"
	}
	if len(d.kids) > 0 {
		return dlmsDate(d)
	}
	s := strings.TrimSpace(d.text)
	s = strings.TrimSuffix(s, "Z")
	if i := strings.IndexAny(s[min(len(s), 1):], "+"); i >= 0 {
		s = s[:i+1]
	}
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return "malformed " + d.text
	}
	y, m, dd := atoiDef(parts[0], -1), atoiDef(parts[1], -1), atoiDef(parts[2][:min(2, len(parts[2]))], -1)
	if y < 0 || m < 0 || dd < 0 {
		return "malformed " + d.text
	}
	return fmt.Sprintf("%04x%02x%02xff", y, m, dd)
}

// 6.14.1 ALCS/HCALCS descriptions: ECS46a, IC1 0-0:94.44.0.(10+n) a2.
func checkALCDescriptions(c *checker, b *xnode) {
	c.wantUseCase("ECS46a")
	for _, d := range b.children("ALCSHCALCSDescription") {
		i := atoiDef(d.attr("index"), 0)
		want := d.trimmed1("SwitchDescription")
		if n := c.dval(fmt.Sprintf("ALCSHCALCSDescription[%d]", i), want, 2, 1, fmt.Sprintf("0-0:94.44.0.%d", 10+i), 2); n != nil {
			got := nodeText(n)
			if b := octets(n); b != nil {
				got = string(b)
			}
			c.eq(fmt.Sprintf("ALCSHCALCSDescription[%d]/SwitchDescription", i), want, got)
		}
	}
}

// 6.14.2 ALCS/HCALCS scheduler: ECS46c, the Auxiliary Controller Calendar
// IC10 0-1:12.0.2.255 (selector: switch index in the high byte, 1 activate
// or 2 deactivate in the low byte, as RTDS shows), its special days IC11
// 0-1:11.0.3.255, and the switch type/device ids IC1 0-0:94.44.0.(20+n).
func checkALCScheduler(c *checker, b *xnode) {
	c.wantUseCase("ECS46c")
	days := b.all("ALCSHCALCSSpecialDays/ALCSHCALCSSpecialDay")
	c.specialDaysDated("ALCSHCALCSSpecialDays", days, "0-1:11.0.3.255")
	c.dlmsSchedule("ALCSHCALCSConnectionSchedule", b.children("ALCSHCALCSConnectionSchedule"), "0-1:12.0.2.255", len(days),
		func(s *xnode) (string, string) {
			sw := s.child("ActivateDeactivateSwitch")
			idx := atoiDef(sw.attr("index"), 0)
			act := 1
			if sw.has("DeactivateSwitch") {
				act = 2
			}
			return fmt.Sprintf("switch %d %s", idx, sw.firstKid()), strconv.Itoa(idx<<8 | act)
		}, "ALCSScheduleDatesAndTime")
	for _, st := range b.children("SwitchTypeAndId") {
		i := atoiDef(st.attr("index"), 0)
		if n := c.dval(fmt.Sprintf("SwitchTypeAndId[%d]", i), "", 2, 1, fmt.Sprintf("0-0:94.44.0.%d", 20+i), 2); n != nil {
			// an HCALCS names its device, an ALCS has none (zeros)
			want := "0000000000000000"
			if v, ok := st.val("HCALCS"); ok {
				want = strings.ToLower(strings.ReplaceAll(v, "-", ""))
			}
			c.eq(fmt.Sprintf("SwitchTypeAndId[%d] vs 0-0:94.44.0.%d (device id, zero for an ALCS)", i, 20+i), want, fmt.Sprintf("%x", octets(n)))
		}
	}
}

// specialDaysDated compares special days whose date parts are the element
// itself (ALCS / auxiliary controller special days: index = day id).
func (c *checker) specialDaysDated(name string, days []*xnode, obis string) {
	n := c.dval(name, strconv.Itoa(len(days))+" special days", 2, 11, obis, 2)
	if n == nil {
		return
	}
	var want, got []string
	for i, d := range days {
		idx := atoiDef(d.attr("index"), atoiDef(d.attr("identifier"), i+1))
		want = append(want, fmt.Sprintf("%d %s day %d", idx, dlmsDate(d), idx))
	}
	for _, e := range kids(n) {
		got = append(got, fmt.Sprintf("%s %x day %s", nodeNum(kid(e, 0)), octets(kid(e, 1)), nodeNum(kid(e, 2))))
	}
	c.eq(name+" vs Special Days Table entries (index date day-id)", strings.Join(want, "; "), strings.Join(got, "; "))
}

// 6.14.3 Auxiliary controller scheduler: ECS46d, the same calendar objects;
// the selector carries controller number and input flag as in ECS47a (high
// byte 0x10+n, 0x20+n with InputFromControlledLoad) and the commanded level
// in the low 7 bits (RTDS sets bit 7 in scheduled actions; its meaning is in
// GBCS 7.3.6.1, not among the project's sources).
func checkAuxControllerScheduler(c *checker, b *xnode) {
	c.wantUseCase("ECS46d")
	days := b.all("AuxiliaryControllerSpecialDayDefinitions/AuxiliaryControllerSpecialDayDefinition")
	c.specialDaysDated("AuxiliaryControllerSpecialDayDefinitions", days, "0-1:11.0.3.255")
	sched := b.children("AuxiliaryControllerSchedule")
	n := c.dval("AuxiliaryControllerSchedule", "", 2, 10, "0-1:12.0.2.255", 2)
	if n != nil {
		for i, s := range sched {
			a := s.child("AuxiliaryControllerAction")
			e := kid(n, i)
			if e == nil {
				break
			}
			v, _ := kid(e, 3).Uint()
			label := fmt.Sprintf("AuxiliaryControllerSchedule entry %d", i+1)
			c.eq(label+" auxiliaryControllerN vs selector", a.attr("auxiliaryControllerN"), strconv.FormatUint(v>>8&0x0F, 10))
			in := "absent"
			if a.has("InputFromControlledLoad") {
				in = "present"
			}
			flag := map[uint64]string{1: "absent", 2: "present"}[v>>12&0x0F]
			if flag == "" {
				flag = fmt.Sprintf("unknown flag 0x%X", v>>12&0x0F)
			}
			c.eq(label+" InputFromControlledLoad vs selector flag", in, flag)
			c.eq(label+" CommandedStateLevel vs selector level (low 7 bits)", normInt(a.trimmed1("CommandedStateLevel")), strconv.FormatUint(v&0x7F, 10))
		}
		// the rest of each entry as for the other schedules; the selector
		// was compared above
		for _, it := range c.dl {
			if it.class == 10 && it.obis == "0-1:12.0.2.255" {
				it.used = false
			}
		}
		c.dlmsSchedule("AuxiliaryControllerSchedule", sched, "0-1:12.0.2.255", len(days),
			func(*xnode) (string, string) { return "", "" }, "AuxiliaryControllerSchedulePeriodAndTime")
	}
}
