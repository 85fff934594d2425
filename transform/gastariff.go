package transform

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// GSME tariff (GCS01a) and prices (GCS01b): the annex's GBZ message
// templates of 0x006B / 0x006C; the inverse of the gas part of
// gbcs/correlate/srv_tariff.go. Components: Publish Calendar, one Publish
// Day Profile per day profile, one Publish Week Profile per week, Publish
// Seasons, Publish Special Days (Calendar cluster), Publish Tariff
// Information, Publish Block Thresholds (block tariff only), Publish Price
// Matrix (Price cluster); all ZSE server-to-client cluster commands (0x09).

func fld(name string, v []byte) gbzField {
	if v == nil {
		v = []byte{}
	}
	return gbzField{name: name, n: len(v), value: v}
}

func u8(v byte) []byte { return []byte{v} }

func le48(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v)[:6] }

// zclDateOf encodes a DUIS GasDateWithWildcards as a ZCL Date: year-1900,
// month, day of month, day of week; 0xFF not specified.
func (c *ctx) zclDateOf(p string) ([]byte, error) {
	out := []byte{0xFF, 0xFF, 0xFF, 0xFF}
	for i, f := range []string{"GasYearWithWildcards/SpecifiedYear", "GasMonthWithWildcards/SpecifiedMonth",
		"GasDayOfMonthWithWildcards/SpecifiedDayOfMonth", "GasDayOfWeekWithWildcards/SpecifiedDayOfWeek"} {
		if !c.has(p + "/" + f) {
			continue
		}
		v, err := c.uint(p+"/"+f, 16)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			if v < 1900 || v > 1900+0xFE {
				return nil, c.errf("%s/%s: year %d", p, f, v)
			}
			v -= 1900
		}
		if v > 0xFF {
			return nil, c.errf("%s/%s: %d", p, f, v)
		}
		out[i] = byte(v)
	}
	return out, nil
}

// gasStart is the Start Time of the tariff components: ExecutionDateTime,
// absent 0 (now); the DUIS cancel value gives cancel.
func (c *ctx) gasStart(cancel uint32) ([]byte, error) { return c.zclExecution(cancel) }

func (c *ctx) gasPrices(p string, thresholds int, start, tiStart []byte) ([]gbzComponent, error) {
	now, err := c.nowUTC()
	if err != nil {
		return nil, err
	}
	cur, err := c.need(p + "/CurrencyUnits")
	if err != nil {
		return nil, err
	}
	// The schema's currencies: GBP and ECB (the euro, ISO 4217 978).
	currency := map[string]uint16{"GBP": 826, "ECB": 978}[cur]
	if currency == 0 {
		return nil, c.errf("CurrencyUnits %q", cur)
	}
	sc, err := c.uint(p+"/StandingCharge", 32)
	if err != nil {
		return nil, err
	}
	block := c.has(p + "/BlockTariff")
	var tiers int
	var matrix []byte
	prices := map[int]string{}
	if block {
		if err := c.indexed(p+"/BlockTariff/BlockPrice", 1, 4, prices, func(x int) int { return x - 1 }); err != nil {
			return nil, err
		}
	} else {
		if err := c.indexed(p+"/TOUTariff/TOUPrice", 1, 4, prices, func(x int) int { return x }); err != nil {
			return nil, err
		}
		tiers = len(prices)
	}
	for id := 0; id <= 4; id++ {
		s, ok := prices[id]
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, c.errf("price %d: %v", id, err)
		}
		matrix = append(append(matrix, byte(id)), le32(uint32(v))...)
	}
	if thresholds < 0 {
		thresholds = 0
	}
	tt, spc := byte(0x00), byte(0x01)
	if block {
		tt, spc = 0x10, 0x00
	}
	ti := gbzComponent{cluster: 0x0700, frameControl: 0x09, command: 0x04, fields: []gbzField{
		fld("Provider ID", le32(0)), fld("Issuer Event ID", now), fld("Issuer Tariff ID", le32(1)), fld("Start Time", tiStart),
		fld("Tariff Type", u8(tt)), fld("Tariff Label", u8(0)), fld("Number of Price Tiers in Use", u8(byte(tiers))),
		fld("Number of Block Thresholds in Use", u8(byte(thresholds))), fld("Unit of Measure", u8(0)),
		fld("Currency", le16(currency)), fld("Price Trailing Digit", u8(0x50)), fld("Standing Charge", le32(uint32(sc))),
		fld("TierBlockMode", u8(0xFF)), fld("Block Threshold Multiplier", le32(1)[:3]), fld("Block Threshold Divisor", le32(1000)[:3]),
	}}
	pm := gbzComponent{cluster: 0x0700, frameControl: 0x09, command: 0x05, fields: []gbzField{
		fld("Provider ID", le32(0)), fld("Issuer Event ID", now), fld("Start Time", start), fld("Issuer Tariff ID", le32(1)),
		fld("Command Index", u8(0)), fld("Total Number of Commands", u8(1)), fld("Sub-payload Control", u8(spc)),
		fld("Price Matrix Sub-payload", matrix),
	}}
	return []gbzComponent{ti, pm}, nil
}

func init() {
	builders["GCS01a"] = func(c *ctx) ([]byte, error) {
		g := "GasTariffElements"
		if !c.has(g) {
			return nil, c.errf("missing GasTariffElements")
		}
		now, err := c.nowUTC()
		if err != nil {
			return nil, err
		}
		start, err := c.gasStart(0xFFFFFFFE)
		if err != nil {
			return nil, err
		}
		tiStart, err := c.gasStart(0xFFFFFFFF)
		if err != nil {
			return nil, err
		}
		st := g + "/SwitchingTable"
		nd, nw, ns := c.count(st+"/DayProfiles/DayProfile"), c.count(st+"/WeekProfiles/WeekProfile"), c.count(st+"/Seasons/Season")
		cal := func(cmd byte, fs ...gbzField) gbzComponent {
			return gbzComponent{cluster: 0x0707, frameControl: 0x09, command: cmd,
				fields: append([]gbzField{fld("Provider ID", le32(0)), fld("Issuer Event ID", now)}, fs...)}
		}
		comps := []gbzComponent{cal(0x00, fld("Issuer Calendar ID", now), fld("Start Time", start), fld("Calendar Type", u8(0)),
			fld("Calendar Time Reference", u8(0)), fld("Calendar Name", u8(0)), fld("Number of Seasons", u8(byte(ns))),
			fld("Number of Week Profiles", u8(byte(nw))), fld("Number of Day Profiles", u8(byte(nd))))}
		for i := range nd {
			d := fmt.Sprintf("%s/DayProfiles/DayProfile[%d]", st, i)
			id, err := c.uint(d+"/DayName", 8)
			if err != nil {
				return nil, err
			}
			tier := uint64(0)
			if c.has(d + "/TOUTariffAction") {
				if tier, err = c.uint(d+"/TOUTariffAction", 8); err != nil {
					return nil, err
				}
			}
			comps = append(comps, cal(0x01, fld("Issuer Calendar ID", now), fld("Day ID", u8(byte(id))),
				fld("Total Number of Schedule Entries", u8(1)), fld("Command Index", u8(0)), fld("Total Number of Commands", u8(1)),
				fld("Calendar Type", u8(0)), fld("Day Schedule Entries", []byte{0, 0, byte(tier)})))
		}
		for i := range nw {
			w := fmt.Sprintf("%s/WeekProfiles/WeekProfile[%d]", st, i)
			id, err := c.uint(w+"/WeekName", 8)
			if err != nil {
				return nil, err
			}
			days, err := c.weekDayRefs(w)
			if err != nil {
				return nil, err
			}
			comps = append(comps, cal(0x02, fld("Issuer Calendar ID", now), fld("Week ID", u8(byte(id))), fld("Day ID Refs", days)))
		}
		var seasons []byte
		for i := range ns {
			s := fmt.Sprintf("%s/Seasons/Season[%d]", st, i)
			d, err := c.zclDateOf(s + "/SeasonStartDate")
			if err != nil {
				return nil, err
			}
			w, err := c.uint(s+"/ReferencedWeekName", 8)
			if err != nil {
				return nil, err
			}
			seasons = append(append(seasons, d...), byte(w))
		}
		comps = append(comps, cal(0x03, fld("Issuer Calendar ID", now), fld("Command Index", u8(0)),
			fld("Total Number of Commands", u8(1)), fld("Season Entry", seasons)))
		var special []byte
		nsd := c.count(g + "/SpecialDays/SpecialDay")
		for i := range nsd {
			s := fmt.Sprintf("%s/SpecialDays/SpecialDay[%d]", g, i)
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
		comps = append(comps, cal(0x04, fld("Issuer Calendar ID", now), fld("Start Time", start), fld("Calendar Type", u8(0)),
			fld("Total Number of SpecialDays", u8(byte(nsd))), fld("Command Index", u8(0)), fld("Total Number of Commands", u8(1)),
			fld("Special Day Entry", special)))
		p := "PriceElements/GasPriceElements"
		thresholds := -1
		var bt []byte
		if c.has(p + "/BlockTariff") {
			th := map[int]string{}
			if err := c.indexed(g+"/ThresholdMatrix/BlockThreshold", 1, 3, th, func(x int) int { return x }); err != nil {
				return nil, err
			}
			thresholds = len(th)
			bt = []byte{byte(thresholds)}
			for i := 1; i <= thresholds; i++ {
				s, ok := th[i]
				if !ok {
					return nil, c.errf("BlockThreshold %d missing", i)
				}
				v, err := strconv.ParseUint(s, 10, 48)
				if err != nil {
					return nil, c.errf("BlockThreshold %d: %v", i, err)
				}
				bt = append(bt, le48(v)...)
			}
		}
		pr, err := c.gasPrices(p, thresholds, start, tiStart)
		if err != nil {
			return nil, err
		}
		comps = append(comps, pr[0])
		if thresholds > 0 {
			comps = append(comps, gbzComponent{cluster: 0x0700, frameControl: 0x09, command: 0x06, fields: []gbzField{
				fld("Provider ID", le32(0)), fld("Issuer Event ID", now), fld("Start Time", start), fld("Issuer Tariff ID", le32(1)),
				fld("Command Index", u8(0)), fld("Total Number of Commands", u8(1)), fld("Sub-payload Control", u8(1)),
				fld("Block Threshold Sub-payload", bt)}})
		}
		comps = append(comps, pr[1])
		return c.gbzBuild(comps)
	}
}

func init() {
	// 1.2.1 on a GSME (GCS01b): Publish Tariff Information and Publish
	// Price Matrix; for a block tariff the number of block thresholds in
	// use is BlockTariff/NumberOfThresholds (no thresholds in the request).
	builders["GCS01b"] = func(c *ctx) ([]byte, error) {
		p := "PriceElements/GasPriceElements"
		if !c.has(p) {
			return nil, c.errf("missing GasPriceElements")
		}
		start, err := c.gasStart(0xFFFFFFFE)
		if err != nil {
			return nil, err
		}
		tiStart, err := c.gasStart(0xFFFFFFFF)
		if err != nil {
			return nil, err
		}
		thresholds := -1
		if c.has(p + "/BlockTariff") {
			n, err := c.uint(p+"/BlockTariff/NumberOfThresholds", 8)
			if err != nil {
				return nil, err
			}
			if n > 3 {
				return nil, c.errf("NumberOfThresholds %d", n)
			}
			thresholds = int(n)
		}
		pr, err := c.gasPrices(p, thresholds, start, tiStart)
		if err != nil {
			return nil, err
		}
		return c.gbzBuild(pr)
	}
}
