package sim

import (
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// ZCL Calendar types the GSME holds (ZSE 1.2 Calendar cluster): the
// delivered (TOU) calendar and the friendly credit calendar.
const (
	calTypeDelivered      = 0
	calTypeFriendlyCredit = 3
)

// Issuer calendar ids the Get commands name instead of a calendar's own id
// (GBCS: 0xFFFFFFFF the TOU calendar in force, 0xFFFFFFFE the friendly
// credit calendar).
const (
	calIDCurrentTOU     = 0xFFFFFFFF
	calIDFriendlyCredit = 0xFFFFFFFE
)

// calendar is a ZCL calendar as published to the device (Publish Calendar,
// Day Profile, Week Profile, Seasons, Special Days) and answered by the Get
// commands.
type calendar struct {
	calType    uint8
	issuerID   uint32 // issuer calendar id
	issuerEvt  uint32 // issuer event id
	providerID uint32
	days       []calDay
	weeks      []calWeek
	seasons    []calDated // season start (date, week id)
	special    []calDated // special days (date, day id)
}

type calDay struct {
	id      uint8
	start   []uint16 // minutes after midnight
	value   []uint8  // price tier (TOU) or friendly credit enable (0/1)
	encoded bool
}

type calWeek struct {
	id   uint8
	days [7]uint8 // Monday..Sunday → day id
}

type calDated struct {
	date [4]byte // ZCL date: year-1900 (FF any), month, day, weekday (FF)
	ref  uint8
}

// defaultCalendars is the supplier configuration a device is installed
// with (Device.InstallTariff): a two-season TOU calendar of four day
// profiles (winter/summer weekday and weekend; peak tiers from the
// device's seeded switching hour) and the bank holidays as special days,
// and a friendly credit calendar of the same shape (friendly credit in
// the evening and at night).
func defaultCalendars(h uint64, installed time.Time) [2]*calendar {
	peak := uint16(16*60 + 30*(h%3))   // 16:00, 16:30 or 17:00
	morning := uint16(7*60 + 30*(h%2)) // 07:00 or 07:30
	id := uint32(zclUTC(installed.Truncate(24 * time.Hour)))
	bank := []calDated{
		{[4]byte{0xFF, 12, 25, 0xFF}, 3}, {[4]byte{0xFF, 12, 26, 0xFF}, 3}, {[4]byte{0xFF, 1, 1, 0xFF}, 3},
	}
	seasons := []calDated{{[4]byte{0xFF, 3, 25, 0xFF}, 2}, {[4]byte{0xFF, 10, 25, 0xFF}, 1}}
	tou := &calendar{calType: calTypeDelivered, issuerID: id, issuerEvt: id,
		days: []calDay{
			{id: 1, start: []uint16{0, morning, peak, peak + 180}, value: []uint8{1, 2, 3, 2}}, // winter weekday
			{id: 2, start: []uint16{0, morning}, value: []uint8{1, 2}},                         // winter weekend / holiday
			{id: 3, start: []uint16{0, morning, peak + 60}, value: []uint8{1, 2, 1}},           // summer weekday
			{id: 4, start: []uint16{0}, value: []uint8{1}},                                     // summer weekend
		},
		weeks:   []calWeek{{1, [7]uint8{1, 1, 1, 1, 1, 2, 2}}, {2, [7]uint8{3, 3, 3, 3, 3, 4, 4}}},
		seasons: seasons, special: bank,
	}
	fc := &calendar{calType: calTypeFriendlyCredit, issuerID: id, issuerEvt: id,
		days: []calDay{
			{id: 1, start: []uint16{0, 8 * 60, 18 * 60}, value: []uint8{1, 0, 1}},
			{id: 2, start: []uint16{0}, value: []uint8{1}},
			{id: 3, start: []uint16{0, 8 * 60, 20 * 60}, value: []uint8{1, 0, 1}},
			{id: 4, start: []uint16{0}, value: []uint8{1}},
		},
		weeks:   []calWeek{{1, [7]uint8{1, 1, 1, 1, 1, 2, 2}}, {2, [7]uint8{3, 3, 3, 3, 3, 4, 4}}},
		seasons: seasons, special: bank,
	}
	return [2]*calendar{tou, fc}
}

// dateMatches reports whether a ZCL date (0xFF fields: any) is the day of t.
func dateMatches(d [4]byte, t time.Time) bool {
	return (d[0] == 0xFF || int(d[0])+1900 == t.Year()) && (d[1] == 0xFF || int(d[1]) == int(t.Month())) &&
		(d[2] == 0xFF || int(d[2]) == t.Day())
}

// dayAt is the day profile of the calendar in force at t: a special day,
// else the day of the week profile of the season (the latest season start
// on or before t in the year; before the first, the last of the year).
func (c *calendar) dayAt(t time.Time) *calDay {
	ref := uint8(0)
	for _, s := range c.special {
		if dateMatches(s.date, t) {
			ref = s.ref
		}
	}
	if ref == 0 && len(c.seasons) > 0 {
		week := uint8(0)
		best := -1
		last, lastKey := uint8(0), -1
		key := func(d [4]byte) int { return int(d[1])*32 + int(d[2]) }
		today := int(t.Month())*32 + t.Day()
		for _, s := range c.seasons {
			k := key(s.date)
			if k <= today && k > best {
				best, week = k, s.ref
			}
			if k > lastKey {
				lastKey, last = k, s.ref
			}
		}
		if week == 0 {
			week = last
		}
		wd := (int(t.Weekday()) + 6) % 7 // Monday 0
		for _, w := range c.weeks {
			if w.id == week {
				ref = w.days[wd]
			}
		}
	}
	for i := range c.days {
		if c.days[i].id == ref {
			return &c.days[i]
		}
	}
	if len(c.days) > 0 {
		return &c.days[0]
	}
	return nil
}

// calendarFor is the calendar a Get command names by issuer calendar id
// (or, for Get Special Days, by calendar type).
func (m *meter) calendarFor(id uint64, typ int) *calendar {
	for _, c := range m.calendars {
		if c == nil {
			continue
		}
		switch {
		case id == calIDFriendlyCredit && c.calType == calTypeFriendlyCredit,
			id == calIDCurrentTOU && c.calType != calTypeFriendlyCredit && (typ < 0 || int(c.calType) == typ),
			id == uint64(c.issuerID) && (typ < 0 || int(c.calType) == typ),
			id == 0 && typ >= 0 && int(c.calType) == typ:
			return c
		}
	}
	return nil
}

// calReply is one ZCL response component a command produced.
type calReply struct {
	fc, cid byte
	p       *tree.Node
}

// calendarGet answers Get Day Profiles / Week Profiles / Seasons / Special
// Days from the calendar the device holds: one Publish command per day or
// week profile asked (number 0: all from the start id), one Publish
// Seasons, one Publish Special Days; NOT_FOUND when the device holds no
// such calendar or nothing in the range.
func (x *exec) calendarGet(cid byte, pl *tree.Node) []calReply {
	typ := -1
	if cid == 0x04 {
		typ = int(childUint(pl, "calendar-type"))
	}
	c := x.st.meter.calendarFor(childUint(pl, "issuer-calendar-id"), typ)
	nf := func() []calReply {
		fc, rc, p := defaultResponse(cid, zclNotFound)
		return []calReply{{fc, rc, p}}
	}
	if c == nil {
		return nf()
	}
	head := func() *tree.Node {
		return named("payload", "zcl-payload", nil, named("provider-id", "uint32", uint64(c.providerID)),
			named("issuer-event-id", "uint32", uint64(c.issuerEvt)), named("issuer-calendar-id", "uint32", uint64(c.issuerID)))
	}
	var out []calReply
	switch cid {
	case 0x01:
		from, n := uint8(childUint(pl, "start-day-id")), int(childUint(pl, "number-of-days"))
		for _, d := range c.days {
			if d.id < from || n > 0 && len(out) >= n {
				continue
			}
			ents := named("day-schedule-entries", "entries", nil)
			for i, s := range d.start {
				v := named("price-tier", "enum8", uint64(d.value[i]))
				if c.calType == calTypeFriendlyCredit {
					v = named("friendly-credit-enable", "bool", d.value[i] != 0)
				}
				ents.Add(nd("entry", nil, named("start-time", "uint16", uint64(s)), v))
			}
			p := head().Add(named("day-id", "uint8", uint64(d.id)), named("total-number-of-schedule-entries", "uint8", uint64(len(d.start))),
				named("command-index", "uint8", uint64(0)), named("total-number-of-commands", "uint8", uint64(1)),
				named("calendar-type", "enum8", uint64(c.calType)), ents)
			out = append(out, calReply{0x19, 0x01, p})
		}
	case 0x02:
		from, n := uint8(childUint(pl, "start-week-id")), int(childUint(pl, "number-of-weeks"))
		for _, w := range c.weeks {
			if w.id < from || n > 0 && len(out) >= n {
				continue
			}
			p := head().Add(named("week-id", "uint8", uint64(w.id)))
			for i, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
				p.Add(named("day-id-ref-"+d, "uint8", uint64(w.days[i])))
			}
			out = append(out, calReply{0x19, 0x02, p})
		}
	case 0x03:
		if len(c.seasons) == 0 {
			return nf()
		}
		ents := named("season-entries", "entries", nil)
		for _, s := range c.seasons {
			ents.Add(nd("entry", nil, named("season-start-date", "date", hex.EncodeToString(s.date[:])), named("week-id-ref", "uint8", uint64(s.ref))))
		}
		p := head().Add(named("command-index", "uint8", uint64(0)), named("total-number-of-commands", "uint8", uint64(1)), ents)
		out = append(out, calReply{0x19, 0x03, p})
	case 0x04:
		n := int(childUint(pl, "number-of-events"))
		ents := named("special-day-entries", "entries", nil)
		for _, s := range c.special {
			if n > 0 && len(ents.Children) >= n {
				break
			}
			ents.Add(nd("entry", nil, named("special-day-date", "date", hex.EncodeToString(s.date[:])), named("day-id-ref", "uint8", uint64(s.ref))))
		}
		if len(ents.Children) == 0 {
			return nf()
		}
		p := head().Add(named("start-time", "UTC", childUint(pl, "start-time")), named("calendar-type", "enum8", uint64(c.calType)),
			named("total-number-of-special-days", "uint8", uint64(len(ents.Children))),
			named("command-index", "uint8", uint64(0)), named("total-number-of-commands", "uint8", uint64(1)), ents)
		out = append(out, calReply{0x19, 0x04, p})
	}
	if len(out) == 0 {
		return nf()
	}
	return out
}

// calendarPublish stores a Publish Calendar / Day Profile / Week Profile /
// Seasons / Special Days the supplier sends (a Publish Calendar starts a
// new calendar of its type).
func (x *exec) calendarPublish(cid byte, pl *tree.Node) {
	st := x.st
	slot := func(typ uint8) **calendar {
		if typ == calTypeFriendlyCredit {
			return &st.meter.calendars[1]
		}
		return &st.meter.calendars[0]
	}
	find := func(id uint64, typ int) *calendar {
		if c := st.meter.calendarFor(id, typ); c != nil {
			return c
		}
		t := uint8(calTypeDelivered)
		if typ >= 0 {
			t = uint8(typ)
		}
		c := &calendar{calType: t, issuerID: uint32(id)}
		*slot(t) = c
		return c
	}
	id := childUint(pl, "issuer-calendar-id")
	switch cid {
	case 0x00:
		t := uint8(childUint(pl, "calendar-type"))
		*slot(t) = &calendar{calType: t, issuerID: uint32(id), issuerEvt: uint32(childUint(pl, "issuer-event-id")),
			providerID: uint32(childUint(pl, "provider-id"))}
	case 0x01:
		t := int(childUint(pl, "calendar-type"))
		c := find(id, t)
		d := calDay{id: uint8(childUint(pl, "day-id"))}
		if ds := pl.Child("day-schedule-entries"); ds != nil {
			for _, e := range ds.Children {
				d.start = append(d.start, uint16(childUint(e, "start-time")))
				v := childUint(e, "price-tier")
				if b := e.Child("friendly-credit-enable"); b != nil {
					if ok, _ := b.Bool(); ok {
						v = 1
					}
				}
				d.value = append(d.value, uint8(v))
			}
		}
		for i := range c.days {
			if c.days[i].id == d.id {
				c.days[i] = d
				return
			}
		}
		c.days = append(c.days, d)
	case 0x02:
		c := find(id, -1)
		w := calWeek{id: uint8(childUint(pl, "week-id"))}
		for i, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
			w.days[i] = uint8(childUint(pl, "day-id-ref-"+d))
		}
		for i := range c.weeks {
			if c.weeks[i].id == w.id {
				c.weeks[i] = w
				return
			}
		}
		c.weeks = append(c.weeks, w)
	case 0x03, 0x04:
		typ := -1
		name, dn, rn := "season-entries", "season-start-date", "week-id-ref"
		if cid == 0x04 {
			typ = int(childUint(pl, "calendar-type"))
			name, dn, rn = "special-day-entries", "special-day-date", "day-id-ref"
		}
		c := find(id, typ)
		var l []calDated
		if es := pl.Child(name); es != nil {
			for _, e := range es.Children {
				var cd calDated
				if n := e.Child(dn); n != nil {
					if b, err := n.Octets(); err == nil {
						copy(cd.date[:], b)
					}
				}
				cd.ref = uint8(childUint(e, rn))
				l = append(l, cd)
			}
		}
		if cid == 0x03 {
			c.seasons = l
		} else {
			c.special = l
		}
	}
}

// tou is the delivered (TOU) calendar the device holds, or nil.
func (m *meter) tou() *calendar { return m.calendars[0] }

// InstallTariff applies the supplier's tariff and prepayment configuration
// to the device now, as the supplier sends it after installation: a TOU
// calendar and a friendly credit calendar (see defaultCalendars), the tier
// prices (as Publish Price Matrix: a change-of-tariff snapshot) and, for a
// gas meter, prepayment mode (as Change Payment Mode: a change-of-mode
// snapshot). Commands replace them.
func (d *Device) InstallTariff() {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.state()
	now := d.fleet.clock.Now()
	d.advance(now)
	var b [8]byte
	copy(b[:], d.EUI[:])
	h := binary.BigEndian.Uint64(b[:]) ^ d.fleet.seed
	m := &st.meter
	m.calendars = defaultCalendars(h, now)
	base := m.price[0]
	for i := 0; i < gasTiers; i++ {
		m.price[i] = base * uint32(4+i) / 5 // off-peak cheaper, peak dearer
	}
	d.takeSnapshot(now, snapPriceMatrix)
	if d.Type.IsGas() {
		// as Change Payment Mode to prepayment (a snapshot whether or not
		// the meter was commissioned in prepayment)
		m.prepayment = true
		d.takeSnapshot(now, snapChangeOfMode)
	}
}
