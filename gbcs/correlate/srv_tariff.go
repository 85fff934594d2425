package correlate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/gbcs/payload"
)

func init() {
	srvChecks["1.1.1"] = checkTariffPrimary
	srvChecks["1.2.1"] = checkPricePrimary
	srvChecks["1.1.2"] = checkTariffSecondary
	srvChecks["1.2.2"] = checkPriceSecondary
}

// DLMS objects of the ESME tariff (GBCS annex, ECS01a-d).
const (
	obisCalendarPrimary   = "0-0:13.0.0.255"
	obisCalendarSecondary = "0-0:13.0.1.255"
	obisSpecialPrimary    = "0-1:11.0.0.255"
	obisSpecialSecondary  = "0-1:11.0.1.255"
	obisCurrency          = "0-0:94.44.2.0"
	obisStandingCharge    = "0-0:19.20.4.255"
	obisPriceMatrix       = "0-0:19.20.0.255"
	obisPriceSecondary    = "0-0:19.20.5.255"
)

// 1.1.1 Update Import Tariff (primary): ECS01a (ESME, DLMS) or GCS01a (GSME, GBZ).
func checkTariffPrimary(c *checker, b *xnode) {
	if e := b.child("ElecTariffElements"); e != nil {
		c.wantUseCase("ECS01a")
		c.elecCurrency(e.trimmed1("CurrencyUnits"))
		c.dlmsCalendar("SwitchingTable", e.child("SwitchingTable"), obisCalendarPrimary, true)
		c.dlmsSpecialDays("SpecialDays", e.all("SpecialDays/SpecialDay"), obisSpecialPrimary)
		for _, th := range e.all("ThresholdMatrix/Thresholds") {
			i := atoiDef(th.attr("index"), 0)
			var want []string
			for _, bt := range th.children("BlockThreshold") {
				want = append(want, normInt(bt.trimmed()))
			}
			name := fmt.Sprintf("ThresholdMatrix/Thresholds[%d]", i)
			if n := c.dval(name, strings.Join(want, ", "), 2, 21, fmt.Sprintf("0-0:16.1.%d.255", 10+i), 2); n != nil {
				c.eq(name+" vs TariffThresholdMatrix TOU["+strconv.Itoa(i)+"].thresholds", strings.Join(want, ", "), joinNums(n.Children))
			}
		}
		c.elecPrices(b.path("PriceElements/ElectricityPriceElements"))
		return
	}
	c.wantUseCase("GCS01a")
	g := b.child("GasTariffElements")
	c.gasCalendar("SwitchingTable", g.child("SwitchingTable"), 0)
	c.gasSpecialDays("SpecialDays", g.all("SpecialDays/SpecialDay"), 0)
	var th []string
	for _, t := range g.all("ThresholdMatrix/BlockThreshold") {
		th = append(th, normInt(t.trimmed()))
	}
	bt := c.comps(clPrice, 0x06)
	var got []string
	if len(bt) > 0 {
		for _, e := range kids(pc(bt[0].payload, "block-thresholds")) {
			for _, k := range kids(e) {
				if strings.HasPrefix(k.Name, "block-threshold-") {
					got = append(got, nodeNum(k))
				}
			}
		}
	}
	if b.has("PriceElements/GasPriceElements/TOUTariff") {
		// Annex GCS01a template: Publish Block Thresholds is omitted when
		// Number of Block Thresholds in Use is 0, as for a TOU tariff.
		c.skip("ThresholdMatrix/BlockThreshold", strings.Join(th, ", "), "a gas TOU tariff carries no block thresholds")
		c.eq("Publish Block Thresholds for a TOU tariff", "", strings.Join(got, ", "))
	} else {
		if len(bt) == 0 {
			got = []string{"absent"}
		}
		c.eq("ThresholdMatrix/BlockThreshold vs Publish Block Thresholds", strings.Join(th, ", "), strings.Join(got, ", "))
	}
	c.gasPrices(b.path("PriceElements/GasPriceElements"), len(th))
}

// 1.2.1 Update Price (primary): ECS01b or GCS01b.
func checkPricePrimary(c *checker, b *xnode) {
	if e := b.path("PriceElements/ElectricityPriceElements"); e != nil {
		c.wantUseCase("ECS01b")
		c.elecPrices(e)
		return
	}
	c.wantUseCase("GCS01b")
	c.gasPrices(b.path("PriceElements/GasPriceElements"), -1)
}

// 1.1.2 Update Import Tariff (secondary element): ECS01c.
func checkTariffSecondary(c *checker, b *xnode) {
	c.wantUseCase("ECS01c")
	c.dlmsCalendar("SwitchingTable", b.child("SwitchingTable"), obisCalendarSecondary, false)
	c.dlmsSpecialDays("SpecialDays", b.all("SpecialDays/SpecialDay"), obisSpecialSecondary)
	c.secondaryPrices(b.child("PriceElements"))
}

// 1.2.2 Update Price (secondary element): ECS01d.
func checkPriceSecondary(c *checker, b *xnode) {
	c.wantUseCase("ECS01d")
	c.secondaryPrices(b.child("PriceElements"))
}

// elecCurrency: annex row 18, CurrencyUnit value_passive GB Pounds TRUE, Euro FALSE.
func (c *checker) elecCurrency(cur string) {
	want := map[string]string{"GBP": "true", "ECB": "false"}[cur] // the schema's currencies: GBP, ECB (euro)
	if want == "" {
		want = cur
	}
	if n := c.dval("CurrencyUnits", cur, 2, 9000, obisCurrency, 4); n != nil {
		c.eq("CurrencyUnits ("+cur+") vs CurrencyUnit.value_passive (GBP true)", want, nodeNum(n))
	}
}

// chargeTable reads a Charge unit_charge: price_scale and index -> price.
func chargeTable(n *payload.Node) (scale string, table map[string]string, order []string) {
	scale = nodeNum(kid(kid(n, 0), 1))
	table = map[string]string{}
	for _, e := range kids(kid(n, 2)) {
		idx := fmt.Sprintf("%x", octets(kid(e, 0)))
		table[idx] = nodeNum(kid(e, 1))
		order = append(order, idx)
	}
	return
}

// elecPrices compares ElectricityPriceElements with the StandingCharge and
// TariffBlockPriceMatrixTOU Charge objects. Charge table index (annex rows
// 1132/1120): TOU rate t is index t (1..48); the price of block b (1..4) at
// TOU rate t is index (0xA+b-1)<<4 | t.
func (c *checker) elecPrices(p *xnode) {
	if p == nil {
		c.skip("PriceElements", "", "no electricity price elements in the request")
		return
	}
	if n := c.dval("StandingCharge", p.trimmed1("StandingCharge"), 2, 113, obisStandingCharge, 6); n != nil {
		scale, table, order := chargeTable(n)
		got := "absent"
		if len(order) > 0 {
			got = table[order[0]]
		}
		c.eq("StandingCharge vs StandingCharge.charge_per_unit", normInt(p.trimmed1("StandingCharge")), got)
		c.eq("StandingChargeScale vs StandingCharge price_scale", normInt(p.trimmed1("StandingChargeScale")), scale)
	}
	n := c.dval("PriceElements", "", 2, 113, obisPriceMatrix, 6)
	if n == nil {
		return
	}
	scale, table, _ := chargeTable(n)
	c.eq("PriceScale vs TariffBlockPriceMatrixTOU price_scale", normInt(p.trimmed1("PriceScale")), scale)
	want := map[string]string{}
	label := map[string]string{}
	for _, tp := range p.all("TOUTariff/TOUPrice") {
		i := fmt.Sprintf("%02x", atoiDef(tp.attr("index"), 0))
		want[i], label[i] = normInt(tp.trimmed()), "TOUPrice["+tp.attr("index")+"]"
	}
	for _, kind := range []string{"BlockTariff", "HybridTariff"} {
		k := p.child(kind)
		for _, tp := range k.children("TOUPrice") {
			i := fmt.Sprintf("%02x", atoiDef(tp.attr("index"), 0))
			want[i], label[i] = normInt(tp.trimmed()), kind+"/TOUPrice["+tp.attr("index")+"]"
		}
		for _, bp := range k.children("BlockPrices") {
			t := atoiDef(bp.attr("index"), 0)
			for _, pr := range bp.children("BlockPrice") {
				blk := atoiDef(pr.attr("index"), 0)
				i := fmt.Sprintf("%02x", (0x0A+blk-1)<<4|t)
				want[i], label[i] = normInt(pr.trimmed()), fmt.Sprintf("%s/BlockPrices[%d]/BlockPrice[%d]", kind, t, blk)
			}
		}
	}
	c.compareChargeTable(want, label, table)
}

// compareChargeTable compares the requested prices by charge-table index
// and requires every other entry of the table to be zero.
func (c *checker) compareChargeTable(want, label, table map[string]string) {
	var idx []string
	for i := range want {
		idx = append(idx, i)
	}
	sort.Strings(idx)
	for _, i := range idx {
		got, ok := table[i]
		if !ok {
			got = "absent"
		}
		c.eq(label[i]+" vs charge_table index 0x"+i, want[i], got)
	}
	var extra []string
	for i, v := range table {
		if _, ok := want[i]; !ok && v != "0" {
			extra = append(extra, "0x"+i+"="+v)
		}
	}
	sort.Strings(extra)
	c.eq("charge_table entries the request does not set are zero", "", strings.Join(extra, ", "))
}

// secondaryPrices: SecondaryTariffTOUPriceMatrix, index 1..4.
func (c *checker) secondaryPrices(p *xnode) {
	n := c.dval("PriceElements", "", 2, 113, obisPriceSecondary, 6)
	if n == nil {
		return
	}
	scale, table, _ := chargeTable(n)
	c.eq("PriceScale vs SecondaryTariffTOUPriceMatrix price_scale", normInt(p.trimmed1("PriceScale")), scale)
	want, label := map[string]string{}, map[string]string{}
	for _, e := range p.children("ElectricityPriceElement") {
		i := fmt.Sprintf("%02x", atoiDef(e.attr("index"), 0))
		want[i], label[i] = normInt(e.trimmed()), "ElectricityPriceElement["+e.attr("index")+"]"
	}
	c.compareChargeTable(want, label, table)
}

func joinNums(ns []*payload.Node) string {
	var s []string
	for _, n := range ns {
		s = append(s, nodeNum(n))
	}
	return strings.Join(s, ", ")
}

// dateParts reads a DUIS date (Year, Month, DayOfMonth, DayOfWeek in that
// order, each a choice of Specified… or a wildcard) as year (-1 any),
// month, day (0xFE last, 0xFD second last), weekday; 0xFF is "any".
func dateParts(d *xnode) (year, month, day, dow int) {
	year, month, day, dow = -1, 0xFF, 0xFF, 0xFF
	if d == nil {
		return
	}
	for i, k := range d.kids {
		v := k.firstKid()
		val := atoiDef(k.child(v).trimmed(), -1)
		switch i {
		case 0:
			if strings.HasPrefix(v, "Specified") {
				year = val
			}
		case 1:
			if strings.HasPrefix(v, "Specified") {
				month = val
			}
		case 2:
			switch v {
			case "LastDayOfMonth":
				day = 0xFE
			case "SecondLastDayOfMonth":
				day = 0xFD
			default:
				if strings.HasPrefix(v, "Specified") {
					day = val
				}
			}
		case 3:
			if strings.HasPrefix(v, "Specified") {
				dow = val
			}
		}
	}
	return
}

// dlmsDate renders request date parts as the DLMS date octets.
func dlmsDate(d *xnode) string {
	y, m, dd, w := dateParts(d)
	if y < 0 {
		y = 0xFFFF
	}
	return fmt.Sprintf("%04x%02x%02x%02x", y, m, dd, w)
}

// zclDate renders request date parts as the ZCL Date octets (year - 1900).
func zclDate(d *xnode) string {
	y, m, dd, w := dateParts(d)
	yy := 0xFF
	if y >= 1900 {
		yy = y - 1900
	}
	return fmt.Sprintf("%02x%02x%02x%02x", yy, m, dd, w)
}

// dlmsCalendar compares a switching table with the Activity Calendar
// passive attributes (annex rows 828-856): a7 seasons {name, start, week},
// a8 weeks {name, Monday..Sunday day ids}, a9 day profiles {day id,
// {start time, script 0-0:10.0.100.255, selector}}. Tariff actions: TOU rate
// n is selector n; block tariff action n is selector 100+n (GBCS 7.3.7, as
// RTDS shows; the secondary element's TOU rate n is selector 200+n).
func (c *checker) dlmsCalendar(name string, st *xnode, obis string, primary bool) {
	touBase := 0
	if !primary {
		touBase = 200
	}
	if st == nil {
		return
	}
	if n := c.dval(name+"/Seasons", "", 2, 20, obis, 7); n != nil {
		var want, got []string
		for _, s := range st.all("Seasons/Season") {
			want = append(want, fmt.Sprintf("%q %s week %s", s.trimmed1("SeasonName"), dlmsDate(s.child("SeasonStartDate")), normInt(s.trimmed1("ReferencedWeekName"))))
		}
		for _, e := range kids(n) {
			start := octets(kid(e, 1))
			if len(start) > 5 {
				start = start[:5]
			}
			got = append(got, fmt.Sprintf("%q %x week %s", string(octets(kid(e, 0))), start, octetNum(kid(e, 2))))
		}
		c.eq(name+"/Seasons vs season_profile_passive", strings.Join(want, "; "), strings.Join(got, "; "))
	}
	if n := c.dval(name+"/WeekProfiles", "", 2, 20, obis, 8); n != nil {
		var want, got []string
		for _, w := range st.all("WeekProfiles/WeekProfile") {
			s := "week " + normInt(w.trimmed1("WeekName")) + ":"
			for _, d := range w.children("ReferencedDayName") {
				s += " " + normInt(d.trimmed())
			}
			want = append(want, s)
		}
		for _, e := range kids(n) {
			s := "week " + octetNum(kid(e, 0)) + ":"
			for _, d := range kids(e)[min(1, len(kids(e))):] {
				s += " " + nodeNum(d)
			}
			got = append(got, s)
		}
		c.eq(name+"/WeekProfiles vs week_profile_table_passive", strings.Join(want, "; "), strings.Join(got, "; "))
	}
	if n := c.dval(name+"/DayProfiles", "", 2, 20, obis, 9); n != nil {
		var want, got []string
		for _, d := range st.all("DayProfiles/DayProfile") {
			s := "day " + normInt(d.trimmed1("DayName")) + ":"
			for _, ps := range d.children("ProfileSchedule") {
				sel := "?"
				if v, ok := ps.val("TOUTariffAction"); ok {
					sel = strconv.Itoa(touBase + atoiDef(v, 0))
				} else if v, ok := ps.val("BlockTariffAction"); ok {
					sel = strconv.Itoa(100 + atoiDef(v, 0))
				}
				s += fmt.Sprintf(" %s→%s", dlmsTimeOfDay(ps.trimmed1("StartTime")), sel)
			}
			want = append(want, s)
		}
		for _, e := range kids(n) {
			s := "day " + nodeNum(kid(e, 0)) + ":"
			for _, a := range kids(kid(e, 1)) {
				s += fmt.Sprintf(" %x→%s", octets(kid(a, 0)), nodeNum(kid(a, 2)))
				if sc := fmt.Sprintf("%x", octets(kid(a, 1))); sc != "00000a0064ff" {
					s += "(script " + sc + ")"
				}
			}
			got = append(got, s)
		}
		c.eq(name+"/DayProfiles vs day_profile_table_passive (start→script selector)", strings.Join(want, "; "), strings.Join(got, "; "))
	}
}

// octetNum renders a short octet-string as the number it holds.
func octetNum(n *payload.Node) string {
	b := octets(n)
	v := uint64(0)
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	if len(b) == 0 || len(b) > 8 {
		return fmt.Sprintf("%x", b)
	}
	return strconv.FormatUint(v, 10)
}

// dlmsSpecialDays compares special days with the Special Days Table entries
// {index, date, day id}; the index is the request's index attribute, else
// the position.
func (c *checker) dlmsSpecialDays(name string, days []*xnode, obis string) {
	n := c.dval(name, strconv.Itoa(len(days))+" special days", 2, 11, obis, 2)
	if n == nil {
		return
	}
	var want, got []string
	for i, d := range days {
		idx := i + 1
		if a := d.attr("index"); a != "" {
			idx = atoiDef(a, idx)
		}
		want = append(want, fmt.Sprintf("%d %s day %s", idx, dlmsDate(d.child("Date")), dayRef(d)))
	}
	for _, e := range kids(n) {
		got = append(got, fmt.Sprintf("%s %x day %s", nodeNum(kid(e, 0)), octets(kid(e, 1)), nodeNum(kid(e, 2))))
	}
	c.eq(name+" vs Special Days Table entries (index date day-id)", strings.Join(want, "; "), strings.Join(got, "; "))
}

// dayRef is the day profile a special day refers to (ReferencedDayName), or
// its own index for the non-disablement calendar where day id = index.
func dayRef(d *xnode) string {
	if v, ok := d.val("ReferencedDayName"); ok {
		return normInt(v)
	}
	return normInt(d.attr("index"))
}

// gasCalendar compares a switching table with the ZSE Publish Calendar,
// Publish Day Profile, Publish Week Profile and Publish Seasons commands of
// the calendar type given (0 delivered tariff, 3 friendly credit).
func (c *checker) gasCalendar(name string, st *xnode, calType int) {
	if st == nil {
		return
	}
	ct := strconv.Itoa(calType)
	days := st.all("DayProfiles/DayProfile")
	if len(days) == 0 {
		days = st.all("DayProfiles/GasNonDisablementDayProfile")
	}
	weeks := st.all("WeekProfiles/WeekProfile")
	seasons := st.all("Seasons/Season")
	if len(seasons) == 0 {
		seasons = st.all("SeasonProfiles/Season")
	}
	var cal *gComp
	for _, g := range c.comps(clCalendar, 0x00) {
		if gfield(g, "calendar-type") == ct {
			cal = g
		}
	}
	if cal == nil {
		c.absent(name, "", "Publish Calendar of calendar type "+ct)
	} else {
		c.eq(name+" counts vs Publish Calendar (seasons/weeks/days)",
			fmt.Sprintf("%d/%d/%d", len(seasons), len(weeks), len(days)),
			fmt.Sprintf("%s/%s/%s", gfield(cal, "number-of-seasons"), gfield(cal, "number-of-week-profiles"), gfield(cal, "number-of-day-profiles")))
	}
	var want, got []string
	for _, d := range days {
		id := d.trimmed1("DayName")
		if id == "" {
			id = d.trimmed1("GasDayName")
		}
		s := "day " + normInt(id) + ":"
		if v, ok := d.val("TOUTariffAction"); ok {
			s += " 0→" + normInt(v)
		} else if d.has("BlockTariff") {
			s += " 0→0"
		}
		for _, e := range d.children("TimeStartAction") {
			mins := "?"
			if t, err := parseXSTime(e.trimmed1("StartTime")); err == nil {
				mins = strconv.Itoa(t.Hour()*60 + t.Minute())
			}
			on := map[string]string{"START": "true", "STOP": "false"}[e.trimmed1("NonDisablementAction")]
			s += " " + mins + "→" + on
		}
		want = append(want, s)
	}
	for _, g := range c.comps(clCalendar, 0x01) {
		if gfield(g, "calendar-type") != ct {
			continue
		}
		s := "day " + gfield(g, "day-id") + ":"
		for _, e := range kids(pc(g.payload, "day-schedule-entries")) {
			s += " " + nodeNum(kid(e, 0)) + "→" + nodeNum(kid(e, 1))
		}
		got = append(got, s)
	}
	c.eq(name+"/DayProfiles vs Publish Day Profile (minutes→tier/enable)", strings.Join(want, "; "), strings.Join(got, "; "))
	want, got = nil, nil
	for _, w := range weeks {
		s := "week " + normInt(w.trimmed1("WeekName")) + ":"
		for _, d := range w.children("ReferencedDayName") {
			s += " " + normInt(d.trimmed())
		}
		want = append(want, s)
	}
	// Publish Week Profile carries no calendar type; take those with the
	// calendar id of the Publish Calendar above.
	calID := gfield(cal, "issuer-calendar-id")
	for _, g := range c.comps(clCalendar, 0x02) {
		if cal != nil && gfield(g, "issuer-calendar-id") != calID {
			continue
		}
		s := "week " + gfield(g, "week-id") + ":"
		for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
			s += " " + gfield(g, "day-id-ref-"+d)
		}
		got = append(got, s)
	}
	c.eq(name+"/WeekProfiles vs Publish Week Profile", strings.Join(want, "; "), strings.Join(got, "; "))
	want, got = nil, nil
	for _, s := range seasons {
		want = append(want, zclDate(s.child("SeasonStartDate"))+" week "+normInt(s.trimmed1("ReferencedWeekName")))
	}
	for _, g := range c.comps(clCalendar, 0x03) {
		if cal != nil && gfield(g, "issuer-calendar-id") != calID {
			continue
		}
		for _, e := range kids(pc(g.payload, "season-entries")) {
			got = append(got, fmt.Sprintf("%x week %s", octets(kid(e, 0)), nodeNum(kid(e, 1))))
		}
	}
	c.eq(name+"/Seasons vs Publish Seasons (date week)", strings.Join(want, "; "), strings.Join(got, "; "))
}

// gasSpecialDays compares special days with Publish Special Days.
func (c *checker) gasSpecialDays(name string, days []*xnode, calType int) {
	ct := strconv.Itoa(calType)
	var sd *gComp
	for _, g := range c.comps(clCalendar, 0x04) {
		if gfield(g, "calendar-type") == ct {
			sd = g
		}
	}
	var want, got []string
	for _, d := range days {
		want = append(want, zclDate(d.child("Date"))+" day "+dayRef(d))
	}
	if sd == nil {
		c.absent(name, strings.Join(want, "; "), "Publish Special Days of calendar type "+ct)
		return
	}
	for _, e := range kids(pc(sd.payload, "special-day-entries")) {
		got = append(got, fmt.Sprintf("%x day %s", octets(kid(e, 0)), nodeNum(kid(e, 1))))
	}
	c.eq(name+" vs Publish Special Days (date day)", strings.Join(want, "; "), strings.Join(got, "; "))
	c.eq(name+" count vs Total Number of SpecialDays", strconv.Itoa(len(days)), gfield(sd, "total-number-of-special-days"))
}

// gasPrices compares GasPriceElements with Publish Tariff Information
// (currency 826/978, standing charge, tariff type TOU 0x0_ / block 0x1_) and
// Publish Price Matrix (TOU: tier id = TOUPrice index; block: id = block-1).
func (c *checker) gasPrices(p *xnode, thresholds int) {
	if p == nil {
		return
	}
	cur := p.trimmed1("CurrencyUnits")
	if ti := c.comp("CurrencyUnits / StandingCharge", "", clPrice, 0x04); ti != nil {
		c.eq("CurrencyUnits ("+cur+") vs Publish Tariff Information Currency", map[string]string{"GBP": "826", "ECB": "978"}[cur], gfield(ti, "currency"))
		c.gnum("StandingCharge vs Publish Tariff Information", p.trimmed1("StandingCharge"), ti, "standing-charge")
		tt := gfield(ti, "tariff-type-charging-scheme")
		if v, err := strconv.Atoi(tt); err == nil {
			tt = strconv.Itoa(v >> 4)
		}
		if p.has("BlockTariff") {
			c.eq("BlockTariff vs Tariff Type (high nibble 1 = block)", "1", tt)
			if thresholds >= 0 {
				c.eq("ThresholdMatrix count vs Number of Block Thresholds in Use", strconv.Itoa(thresholds), gfield(ti, "number-of-block-thresholds-in-use"))
			}
			c.skip("BlockTariff/NumberOfThresholds", p.trimmed1("BlockTariff/NumberOfThresholds"), "RTDS sets Number of Block Thresholds in Use from the thresholds supplied, not from this field")
		} else {
			c.eq("TOUTariff vs Tariff Type (high nibble 0 = TOU)", "0", tt)
			c.eq("TOUTariff count vs Number of Price Tiers in Use", strconv.Itoa(len(p.all("TOUTariff/TOUPrice"))), gfield(ti, "number-of-price-tiers-in-use"))
		}
	}
	pm := c.comp("prices", "", clPrice, 0x05)
	if pm == nil {
		return
	}
	got := map[string]string{}
	for _, e := range kids(pc(pm.payload, "price-matrix")) {
		got[nodeNum(kid(e, 0))] = nodeNum(kid(e, 1))
	}
	want, label := map[string]string{}, map[string]string{}
	for _, t := range p.all("TOUTariff/TOUPrice") {
		id := strconv.Itoa(atoiDef(t.attr("index"), 0))
		want[id], label[id] = normInt(t.trimmed()), "TOUTariff/TOUPrice["+t.attr("index")+"]"
	}
	for _, t := range p.all("BlockTariff/BlockPrice") {
		id := strconv.Itoa(atoiDef(t.attr("index"), 0) - 1)
		want[id], label[id] = normInt(t.trimmed()), "BlockTariff/BlockPrice["+t.attr("index")+"]"
	}
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		g, ok := got[id]
		if !ok {
			g = "absent"
		}
		c.eq(label[id]+" vs Publish Price Matrix tier/block id "+id, want[id], g)
	}
	var extra []string
	for id, v := range got {
		if _, ok := want[id]; !ok {
			extra = append(extra, id+"="+v)
		}
	}
	sort.Strings(extra)
	c.eq("Publish Price Matrix entries the request does not set", "", strings.Join(extra, ", "))
}
