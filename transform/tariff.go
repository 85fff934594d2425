package transform

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ESME tariffs (ECS01a–d): the annex's DLMS tables for 0x0019, 0x00A2,
// 0x00B7 and 0x00C7; the inverse of gbcs/correlate/srv_tariff.go.

// DLMS objects of the ESME tariff.
const (
	obisCalendarPrimary   = "0-0:13.0.0.255"
	obisCalendarSecondary = "0-0:13.0.1.255"
	obisSpecialPrimary    = "0-1:11.0.0.255"
	obisSpecialSecondary  = "0-1:11.0.1.255"
	obisSpecialActPrimary = "0-0:94.44.128.29"
	obisSpecialActSecond  = "0-0:94.44.128.30"
	obisCurrency          = "0-0:94.44.2.0"
	obisStandingCharge    = "0-0:19.20.4.255"
	obisPriceMatrix       = "0-0:19.20.0.255"
	obisPriceSecondary    = "0-0:19.20.5.255"
	obisThresholdAct      = "0-0:63.1.1.255"
	obisTariffScript      = "0-0:10.0.100.255"
)

// dlmsDateOf encodes a DUIS sr:Date at path as a DLMS date (octet-string(5)):
// year (0xFFFF not specified), month, day of month (0xFE last, 0xFD second
// last, 0xFF not specified), day of week (0xFF not specified).
func (c *ctx) dlmsDateOf(p string) ([]byte, error) {
	num := func(f string, bits int) (int, bool, error) {
		if !c.has(p + "/" + f) {
			return 0, false, nil
		}
		v, err := c.uint(p+"/"+f, bits)
		return int(v), true, err
	}
	y, ok, err := num("Year/SpecifiedYear", 16)
	if err != nil {
		return nil, err
	}
	if !ok {
		y = 0xFFFF
	}
	m, ok, err := num("Month/SpecifiedMonth", 8)
	if err != nil {
		return nil, err
	}
	if !ok {
		m = 0xFF
	}
	d, ok, err := num("DayOfMonth/SpecifiedDayOfMonth", 8)
	if err != nil {
		return nil, err
	}
	switch {
	case ok:
	case c.has(p + "/DayOfMonth/LastDayOfMonth"):
		d = 0xFE
	case c.has(p + "/DayOfMonth/SecondLastDayOfMonth"):
		d = 0xFD
	default:
		d = 0xFF
	}
	w, ok, err := num("DayOfWeek/SpecifiedDayOfWeek", 8)
	if err != nil {
		return nil, err
	}
	if !ok {
		w = 0xFF
	}
	return []byte{byte(y >> 8), byte(y), byte(m), byte(d), byte(w)}, nil
}

// dlmsTimeOf encodes an xs:time as a DLMS time (octet-string(4): hour,
// minute, second, hundredths), in UTC.
func (c *ctx) dlmsTimeOf(p string) ([]byte, error) {
	s, err := c.need(p)
	if err != nil {
		return nil, err
	}
	for _, l := range []string{"15:04:05.999999999Z07:00", "15:04:05.999999999"} {
		if t, err := time.Parse(l, s); err == nil {
			t = t.UTC()
			return []byte{byte(t.Hour()), byte(t.Minute()), byte(t.Second()), byte(t.Nanosecond() / 1e7)}, nil
		}
	}
	return nil, c.errf("%s: bad xs:time %q", p, s)
}

// nameOctets encodes a DUIS week name (a number) as the octet-string week
// name: its value in the fewest octets (RTDS: week 1 is "01").
func (c *ctx) nameOctets(p string) ([]byte, error) {
	v, err := c.uint(p, 32)
	if err != nil {
		return nil, err
	}
	var out []byte
	for v > 0xFF {
		out = append([]byte{byte(v)}, out...)
		v >>= 8
	}
	return append([]byte{byte(v)}, out...), nil
}

// calendar returns the Activity Calendar passive sets (a7 seasons, a8 week
// profiles, a9 day profiles) for the switching table at p. Tariff actions
// select script 0-0:10.0.100.255: TOU rate n is selector touBase+n, block
// tariff action n is 100+n (GBCS 7.3.7, as RTDS shows).
func (c *ctx) calendar(p, obisCal string, touBase int) ([]item, error) {
	var seasons []data
	for i := range c.count(p + "/Seasons/Season") {
		s := fmt.Sprintf("%s/Seasons/Season[%d]", p, i)
		name, err := c.need(s + "/SeasonName")
		if err != nil {
			return nil, err
		}
		d, err := c.dlmsDateOf(s + "/SeasonStartDate")
		if err != nil {
			return nil, err
		}
		start := append(d, 0, 0, 0, 0, 0x80, 0x00, 0xFF)
		wk, err := c.nameOctets(s + "/ReferencedWeekName")
		if err != nil {
			return nil, err
		}
		seasons = append(seasons, structure(octets([]byte(name)), octets(start), octets(wk)))
	}
	var weeks []data
	for i := range c.count(p + "/WeekProfiles/WeekProfile") {
		w := fmt.Sprintf("%s/WeekProfiles/WeekProfile[%d]", p, i)
		name, err := c.nameOctets(w + "/WeekName")
		if err != nil {
			return nil, err
		}
		el := []data{octets(name)}
		n := c.count(w + "/ReferencedDayName")
		if n != 7 {
			return nil, c.errf("%s: %d ReferencedDayName, want 7", w, n)
		}
		days := make([]data, 7)
		for j := range n {
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
			days[k] = unsigned(uint8(v))
		}
		for j, d := range days {
			if d == nil {
				return nil, c.errf("%s: day %d missing", w, j+1)
			}
		}
		weeks = append(weeks, structure(append(el, days...)...))
	}
	var dayProfiles []data
	for i := range c.count(p + "/DayProfiles/DayProfile") {
		d := fmt.Sprintf("%s/DayProfiles/DayProfile[%d]", p, i)
		id, err := c.uint(d+"/DayName", 8)
		if err != nil {
			return nil, err
		}
		var acts []data
		for j := range c.count(d + "/ProfileSchedule") {
			ps := fmt.Sprintf("%s/ProfileSchedule[%d]", d, j)
			st, err := c.dlmsTimeOf(ps + "/StartTime")
			if err != nil {
				return nil, err
			}
			var sel uint64
			switch {
			case c.has(ps + "/TOUTariffAction"):
				v, err := c.uint(ps+"/TOUTariffAction", 16)
				if err != nil {
					return nil, err
				}
				sel = uint64(touBase) + v
			case c.has(ps + "/BlockTariffAction"):
				v, err := c.uint(ps+"/BlockTariffAction", 16)
				if err != nil {
					return nil, err
				}
				sel = 100 + v
			default:
				return nil, c.errf("%s: no tariff action", ps)
			}
			acts = append(acts, structure(octets(st), octets(obis(obisTariffScript)), longU(uint16(sel))))
		}
		dayProfiles = append(dayProfiles, structure(unsigned(uint8(id)), array(acts...)))
	}
	return []item{
		set(20, obisCal, 7, array(seasons...)),
		set(20, obisCal, 8, array(weeks...)),
		set(20, obisCal, 9, array(dayProfiles...)),
	}, nil
}

// specialDays is the Special Days Table entries set: {index (position,
// from 1), date, day id}.
func (c *ctx) specialDays(p, obisSD string) (item, error) {
	var el []data
	for i := range c.count(p + "/SpecialDay") {
		s := fmt.Sprintf("%s/SpecialDay[%d]", p, i)
		d, err := c.dlmsDateOf(s + "/Date")
		if err != nil {
			return item{}, err
		}
		id, err := c.uint(s+"/ReferencedDayName", 8)
		if err != nil {
			return item{}, err
		}
		el = append(el, structure(longU(uint16(i+1)), octets(d), unsigned(uint8(id))))
	}
	return set(11, obisSD, 2, array(el...)), nil
}

// charge is an IC113 unit_charge value: {{commodity_scale, price_scale},
// {class_id, logical_name, attribute_index}, charge_table}.
func charge(commodityScale, priceScale int8, class uint16, ln string, attr int8, table []data) data {
	return structure(
		structure(integer(commodityScale), integer(priceScale)),
		structure(longU(class), octets(obis(ln)), integer(attr)),
		array(table...))
}

func (c *ctx) int8At(p string) (int8, error) {
	v, err := c.sint(p, 8)
	return int8(v), err
}

func (c *ctx) long(p string) (data, error) {
	v, err := c.sint(p, 16)
	if err != nil {
		return nil, err
	}
	return long(int16(v)), nil
}

// indexed reads the {Index, Value} elements at path into idx → value.
func (c *ctx) indexed(path string, lo, hi int, into map[int]string, key func(int) int) error {
	for i := range c.count(path) {
		e := fmt.Sprintf("%s[%d]", path, i)
		s, err := c.need(e + "/Index")
		if err != nil {
			return err
		}
		x, err := strconv.Atoi(s)
		if err != nil || x < lo || x > hi {
			return c.errf("%s: bad index %q", e, s)
		}
		v, err := c.need(e + "/Value")
		if err != nil {
			return err
		}
		into[key(x)] = v
	}
	return nil
}

// elecPrices: StandingCharge and TariffBlockPriceMatrixTOU unit_charge_passive
// (annex rows 1107–1120). The charge table has 80 entries: TOU rate t
// (1..48) at index t, then the price of block b (1..4) at TOU rate t (1..8)
// at index (0xA+b-1)<<4 | t; prices the request does not give are 0.
func (c *ctx) elecPrices(p string) ([]item, error) {
	sc, err := c.long(p + "/StandingCharge")
	if err != nil {
		return nil, err
	}
	scs, err := c.int8At(p + "/StandingChargeScale")
	if err != nil {
		return nil, err
	}
	ps, err := c.int8At(p + "/PriceScale")
	if err != nil {
		return nil, err
	}
	prices := map[int]string{}
	id := func(x int) int { return x }
	for _, k := range []string{"TOUTariff", "HybridTariff"} {
		if err := c.indexed(p+"/"+k+"/TOUPrice", 1, 48, prices, id); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"BlockTariff", "HybridTariff"} {
		for i := range c.count(p + "/" + k + "/BlockPrices") {
			bp := fmt.Sprintf("%s/%s/BlockPrices[%d]", p, k, i)
			s, err := c.need(bp + "/Index")
			if err != nil {
				return nil, err
			}
			t, err := strconv.Atoi(s)
			if err != nil || t < 1 || t > 8 {
				return nil, c.errf("%s: bad index %q", bp, s)
			}
			if err := c.indexed(bp+"/BlockPrice", 1, 4, prices, func(b int) int { return (0xA+b-1)<<4 | t }); err != nil {
				return nil, err
			}
		}
	}
	var idx []int
	for t := 1; t <= 48; t++ {
		idx = append(idx, t)
	}
	for b := 0xA; b <= 0xD; b++ {
		for t := 1; t <= 8; t++ {
			idx = append(idx, b<<4|t)
		}
	}
	table, err := c.chargeTable(idx, prices)
	if err != nil {
		return nil, err
	}
	return []item{
		set(113, obisStandingCharge, 6, charge(0, scs, 0, "0-0:0.0.0.0", 0, []data{structure(octets(nil), sc)})),
		set(113, obisPriceMatrix, 6, charge(3, ps, 3, "1-0:1.8.0.255", 2, table)),
	}, nil
}

func (c *ctx) chargeTable(idx []int, prices map[int]string) ([]data, error) {
	var table []data
	for _, i := range idx {
		v := int64(0)
		if s, ok := prices[i]; ok {
			var err error
			v, err = strconv.ParseInt(strings.TrimSpace(s), 10, 16)
			if err != nil {
				return nil, c.errf("price %#x: %v", i, err)
			}
		}
		table = append(table, structure(octets([]byte{byte(i)}), long(int16(v))))
	}
	for i := range prices {
		found := false
		for _, j := range idx {
			found = found || i == j
		}
		if !found {
			return nil, c.errf("price index %#x not in the charge table", i)
		}
	}
	return table, nil
}

// secondaryPrices: SecondaryTariffTOUPriceMatrix unit_charge_passive (rows
// 1106–1118), TOU rates 1..4 at index 1..4.
func (c *ctx) secondaryPrices(p string) (item, error) {
	ps, err := c.int8At(p + "/PriceScale")
	if err != nil {
		return item{}, err
	}
	prices := map[int]string{}
	if err := c.indexed(p+"/ElectricityPriceElement", 1, 4, prices, func(x int) int { return x }); err != nil {
		return item{}, err
	}
	table, err := c.chargeTable([]int{1, 2, 3, 4}, prices)
	if err != nil {
		return item{}, err
	}
	return set(113, obisPriceSecondary, 6, charge(3, ps, 3, "1-20:1.8.0.255", 2, table)), nil
}

func init() {
	// 1.1.1 ECS01a: calendar, special days, thresholds, currency, standing
	// charge, price matrix, then the activation times (annex order).
	builders["ECS01a"] = func(c *ctx) ([]byte, error) {
		e := "ElecTariffElements"
		if !c.has(e) {
			return nil, c.errf("missing ElecTariffElements")
		}
		items, err := c.calendar(e+"/SwitchingTable", obisCalendarPrimary, 0)
		if err != nil {
			return nil, err
		}
		sd, err := c.specialDays(e+"/SpecialDays", obisSpecialPrimary)
		if err != nil {
			return nil, err
		}
		items = append(items, sd)
		th := make([]data, 8)
		for i := range c.count(e + "/ThresholdMatrix/Thresholds") {
			t := fmt.Sprintf("%s/ThresholdMatrix/Thresholds[%d]", e, i)
			s, err := c.need(t + "/Index")
			if err != nil {
				return nil, err
			}
			x, err := strconv.Atoi(s)
			if err != nil || x < 1 || x > 8 {
				return nil, c.errf("%s: bad index %q", t, s)
			}
			var el []data
			for j := range c.count(t + "/BlockThreshold") {
				v, err := c.uint(fmt.Sprintf("%s/BlockThreshold[%d]/Value", t, j), 32)
				if err != nil {
					return nil, err
				}
				el = append(el, dlu(uint32(v)))
			}
			th[x-1] = array(el...)
		}
		for i, t := range th {
			if t == nil {
				return nil, c.errf("ThresholdMatrix: Thresholds %d missing", i+1)
			}
			items = append(items, set(21, fmt.Sprintf("0-0:16.1.%d.255", 11+i), 2, t))
		}
		cur, err := c.need(e + "/CurrencyUnits")
		if err != nil {
			return nil, err
		}
		// The schema's currencies: GBP and ECB (the euro, named after the
		// European Central Bank); the flag is true for pounds.
		if cur != "GBP" && cur != "ECB" {
			return nil, c.errf("CurrencyUnits %q", cur)
		}
		items = append(items, set(9000, obisCurrency, 4, boolean(cur == "GBP")))
		pr, err := c.elecPrices("PriceElements/ElectricityPriceElements")
		if err != nil {
			return nil, err
		}
		items = append(items, pr...)
		at, err := c.activation()
		if err != nil {
			return nil, err
		}
		a := octets(at)
		items = append(items,
			set(20, obisCalendarPrimary, 10, a),
			set(9000, obisSpecialActPrimary, 6, a),
			set(9000, obisCurrency, 6, a),
			set(113, obisStandingCharge, 7, a),
			set(113, obisPriceMatrix, 7, a),
			set(9000, obisThresholdAct, 6, a))
		return c.accessRequest(items...)
	}
	// 1.2.1 ECS01b: standing charge and price matrix with their activation.
	builders["ECS01b"] = func(c *ctx) ([]byte, error) {
		items, err := c.elecPrices("PriceElements/ElectricityPriceElements")
		if err != nil {
			return nil, err
		}
		at, err := c.activation()
		if err != nil {
			return nil, err
		}
		items = append(items, set(113, obisStandingCharge, 7, octets(at)), set(113, obisPriceMatrix, 7, octets(at)))
		return c.accessRequest(items...)
	}
	// 1.1.2 ECS01c: secondary prices, calendar (TOU rate n is selector
	// 200+n), special days, then the activation times.
	builders["ECS01c"] = func(c *ctx) ([]byte, error) {
		pr, err := c.secondaryPrices("PriceElements")
		if err != nil {
			return nil, err
		}
		cal, err := c.calendar("SwitchingTable", obisCalendarSecondary, 200)
		if err != nil {
			return nil, err
		}
		sd, err := c.specialDays("SpecialDays", obisSpecialSecondary)
		if err != nil {
			return nil, err
		}
		at, err := c.activation()
		if err != nil {
			return nil, err
		}
		a := octets(at)
		items := append([]item{pr}, cal...)
		items = append(items, sd,
			set(20, obisCalendarSecondary, 10, a),
			set(113, obisPriceSecondary, 7, a),
			set(9000, obisSpecialActSecond, 6, a))
		return c.accessRequest(items...)
	}
	// 1.2.2 ECS01d: secondary prices with their activation.
	builders["ECS01d"] = func(c *ctx) ([]byte, error) {
		pr, err := c.secondaryPrices("PriceElements")
		if err != nil {
			return nil, err
		}
		at, err := c.activation()
		if err != nil {
			return nil, err
		}
		return c.accessRequest(pr, set(113, obisPriceSecondary, 7, octets(at)))
	}
}
