package transform

import (
	"fmt"
	"strconv"
)

// The DLMS calendars that a request carries as special days plus schedule
// entries (IC11 special days table, IC10 schedule): the auxiliary
// controller calendar (ECS46c/d) and the non-disablement calendar (ECS08a)
// read them the same way.

// weekdayOf is the exec_weekdays position of a DUIS DayOfWeekID (Monday
// first).
var weekdayOf = map[string]int{"Monday": 0, "Tuesday": 1, "Wednesday": 2, "Thursday": 3, "Friday": 4, "Saturday": 5, "Sunday": 6}

// calendarSpecialDays reads the request's special days at list: one IC11 entry
// {index, date, day_id} per definition in request order, index = day_id =
// its identifier (attribute id, 1..20), its date at the element plus
// dateSuffix. defined holds the identifiers, for the schedule entries.
func (c *ctx) calendarSpecialDays(list, id, dateSuffix string) (days []data, defined map[int]bool, err error) {
	defined = map[int]bool{}
	for i := 0; i < c.count(list); i++ {
		p := fmt.Sprintf("%s[%d]", list, i)
		n, err := c.rangeIndex(p+"/"+id, 20)
		if err != nil {
			return nil, nil, err
		}
		if defined[n] {
			return nil, nil, c.errf("special day %d defined twice", n)
		}
		defined[n] = true
		date, err := c.dlmsDateOf(p + dateSuffix)
		if err != nil {
			return nil, nil, err
		}
		days = append(days, structure(longU(uint16(n)), octets(date), unsigned(uint8(n))))
	}
	return days, defined, nil
}

// applicability reads schedule entry number entry's days of the week
// (DaysOfWeekApplicability under entryPath) and its special days (the
// specList elements' specID attribute) as exec_weekdays and exec_specdays.
// exec_specdays has one bit per special day defined (annex 735: "must
// align to the number of special days"), day k at position k−1: a day not
// defined is a bad request, an identifier beyond the count (they skip a
// number) has no bit.
func (c *ctx) applicability(entryPath, specList, specID string, entry int, defined map[int]bool) (week, spec []bool, err error) {
	week = make([]bool, 7)
	wp := entryPath + "DaysOfWeekApplicability/DayOfWeekApplicability"
	for j := 0; j < c.count(wp); j++ {
		d, err := c.need(fmt.Sprintf("%s[%d]/DayOfWeekID", wp, j))
		if err != nil {
			return nil, nil, err
		}
		b, ok := weekdayOf[d]
		if !ok {
			return nil, nil, c.errf("DayOfWeekID %q", d)
		}
		week[b] = true
	}
	nDays := len(defined)
	spec = make([]bool, nDays)
	for j := 0; j < c.count(specList); j++ {
		id, err := c.rangeIndex(fmt.Sprintf("%s[%d]/%s", specList, j, specID), 20)
		if err != nil {
			return nil, nil, err
		}
		if !defined[id] {
			return nil, nil, c.errf("schedule entry %d names special day %d, which the request does not define", entry, id)
		}
		if id > nDays {
			return nil, nil, c.unsupported(fmt.Sprintf("special day %d: exec_specdays has one bit per special day defined (%d), the bit of day id %d is not defined", id, nDays, id))
		}
		spec[id-1] = true
	}
	return week, spec, nil
}

// scheduleEntry is one IC10 schedule entry: {index, enable TRUE, script,
// selector, switch time, validity window 0xFFFF, exec_weekdays,
// exec_specdays, begin date, end date}.
func scheduleEntry(index int, script string, sel uint16, tm []byte, week, spec []bool, begin, end []byte) data {
	return structure(longU(uint16(index)), boolean(true), octets(obis(script)), longU(sel),
		octets(tm), longU(0xFFFF), bitString(week), bitString(spec), octets(begin), octets(end))
}

// rangeIndex reads an index / identifier 1..max.
func (c *ctx) rangeIndex(path string, max int) (int, error) {
	s, err := c.need(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, c.errf("%s %q is not 1..%d", path, s, max)
	}
	return n, nil
}
