package correlate

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ZCL clusters and commands (client-to-server unless noted) used below.
const (
	clPrice      = 0x0700
	clMetering   = 0x0702
	clPrepayment = 0x0705
	clCalendar   = 0x0707
)

func init() {
	srvChecks["1.5"] = checkMeterBalance
	srvChecks["1.6"] = checkPaymentMode
	srvChecks["1.7"] = checkResetBlockCounters
	srvChecks["2.3"] = checkDebt
	srvChecks["2.5"] = checkEmergencyCredit
	srvChecks["6.4.1"] = checkLoadLimit
	srvChecks["6.6"] = checkGasConversion
	srvChecks["6.7"] = checkGasFlow
	srvChecks["6.8"] = checkBillingCalendar
	srvChecks["6.11"] = checkClock
	srvChecks["8.1.1"] = checkClock
	srvChecks["6.25"] = checkTamperState
	srvChecks["6.26"] = checkDailyBlockReset
	srvChecks["7.1"] = checkSupply(51, 2, "ECS42")
	srvChecks["7.2"] = checkSupply(52, 0, "ECS43", "GCS32")
	srvChecks["7.3"] = checkSupply(54, 1, "ECS44", "GCS39")
	srvChecks["7.5"] = checkAuxLoad("ActivateALCSHCALCS", 0x11, 1)
	srvChecks["7.6"] = checkAuxLoad("DeactivateALCSHCALCS", 0x12, 2)
	srvChecks["7.8"] = checkAuxLoad("ResetALCSHCALCS", 0x20, 0)
	srvChecks["7.12"] = checkRandomisedOffset
	srvChecks["7.13"] = checkAuxController("0-0:10.0.103.255", 1, 2)
	srvChecks["7.16"] = checkAuxController("0-0:10.0.107.255", 3, 4)
}

// 1.5 Update Meter Balance: ECS04a/b (ESME, DLMS IC112 Account Credit
// methods), GCS40a-d (GSME, ZSE Prepayment Credit Adjustment, annex GBZ
// templates: type 0 adjust prepayment, 1 reset prepayment, 3 adjust credit
// mode, 2 reset credit mode / BillToDateDelivered).
func checkMeterBalance(c *checker, b *xnode) {
	mode := "PrepaymentMode"
	ar := b.child(mode)
	if ar == nil {
		mode = "CreditMode"
		ar = b.child(mode)
	}
	adjust, isAdjust := ar.val("AdjustMeterBalance")
	op := "ResetMeterBalance"
	if isAdjust {
		op = "AdjustMeterBalance"
	}
	switch c.uc {
	case "ECS04a", "ECS04b":
		if isAdjust {
			c.wantUseCase("ECS04a")
			c.dnum(mode+"/AdjustMeterBalance vs MeterBalance.update_amount", adjust, 3, 112, "0-0:19.10.0.255", 1)
		} else {
			c.wantUseCase("ECS04b")
			for _, o := range []struct{ obis, name string }{{"0-0:19.10.0.255", "MeterBalance"}, {"0-0:19.10.1.255", "EmergencyCredit"}, {"0-0:19.10.2.255", "AccumulatedDebtRegister"}} {
				c.dnum(mode+"/ResetMeterBalance vs "+o.name+".set_amount_to_value", "0", 3, 112, o.obis, 2)
			}
		}
	default:
		want := map[string]string{"PrepaymentMode/AdjustMeterBalance": "GCS40a", "PrepaymentMode/ResetMeterBalance": "GCS40b",
			"CreditMode/AdjustMeterBalance": "GCS40c", "CreditMode/ResetMeterBalance": "GCS40d"}[mode+"/"+op]
		c.wantUseCase(want)
		typ := map[string]string{"GCS40a": "0", "GCS40b": "1", "GCS40c": "3", "GCS40d": "2"}[want]
		g := c.comp(mode+"/"+op, "", clPrepayment, 0x05)
		if g == nil {
			return
		}
		c.eq(mode+"/"+op+" vs Credit Adjustment Type", typ, gfield(g, "credit-adjustment-type"))
		v := "0"
		if isAdjust {
			v = adjust
		}
		c.gnum(mode+"/"+op+" vs Credit Adjustment Value", v, g, "credit-adjustment-value")
	}
}

// 1.6 Update Payment Mode: ECS02/ECS03 (IC111 Account a2
// account_mode_and_status: payment_mode 1 credit / 2 prepayment), GCS02/03
// (ZSE Change Payment Mode, Proposed Payment Control Configuration bit 1
// "prepayment enabled").
func checkPaymentMode(c *checker, b *xnode) {
	prepay := b.child("Prepayment")
	mode, dl, zb := "Credit", "1", "0"
	if prepay != nil {
		mode, dl, zb = "Prepayment", "2", "1"
	}
	switch c.uc {
	case "ECS02", "ECS03":
		if prepay != nil {
			c.wantUseCase("ECS03")
		} else {
			c.wantUseCase("ECS02")
		}
		if n := c.dval("payment mode", mode, 2, 111, "0-1:19.0.0.255", 2); n != nil {
			c.eq("payment mode vs account_mode_and_status.payment_mode", dl, nodeNum(kid(n, 0)))
		}
		if it := c.item(2, 111, "0-1:19.0.0.255", 11); it != nil {
			c.skip("SuspendDebtDisabled / SuspendDebtEmergency vs credit_charge_configuration", "", "the five allowed values are defined in GBCS 18.2.1, which is not among the project's sources")
		}
		if prepay != nil {
			c.dnum("Prepayment/DisablementThreshold vs DisablementThreshold(MeterBalance).value_passive", prepay.trimmed1("DisablementThreshold"), 2, 9000, "0-0:94.44.128.22", 4)
		}
	default:
		if prepay != nil {
			c.wantUseCase("GCS03")
		} else {
			c.wantUseCase("GCS02")
		}
		g := c.comp("payment mode", mode, clPrepayment, 0x06)
		if g == nil {
			return
		}
		cfg := gfield(g, "proposed-payment-control-configuration")
		got := cfg
		if v, err := strconv.ParseUint(cfg, 10, 64); err == nil {
			got = strconv.FormatUint(v>>1&1, 10)
		}
		c.eq("payment mode vs Proposed Payment Control Configuration bit 1 (prepayment enabled)", zb, got)
		if prepay != nil {
			c.gnum("Prepayment/DisablementThreshold vs Cut Off Value", prepay.trimmed1("DisablementThreshold"), g, "cut-off-value")
			c.skip("Prepayment/SuspendDebtDisabled, SuspendDebtEmergency", "", "their bits in the Payment Control Configuration are defined in GBCS 18.2.1, not among the project's sources")
		}
	}
}

func (n *xnode) trimmed1(p string) string { v, _ := n.val(p); return v }

// 1.7 Reset Tariff Block Counter Matrix: ECS05, IC9 Script Table
// 0-0:10.0.100.255 execute; the request has no parameters.
func checkResetBlockCounters(c *checker, b *xnode) {
	c.wantUseCase("ECS05")
	if n := c.dval("ResetTariffBlockCounterMatrix", "reset", 3, 9, "0-0:10.0.100.255", 1); n != nil {
		c.skip("ResetTariffBlockCounterMatrix script selector", nodeNum(n), "the script number is fixed by GBCS, not by the request")
	}
}

// 2.3 Update Debt: ECS07 (IC113 Charge objects DebtRecoveryRates[1..2],
// DebtRecoveryperPayment), GCS04 (three ZSE Change Debt commands).
func checkDebt(c *checker, b *xnode) {
	if c.uc == "ECS07" || b.has("ElecDebtRecovery1") {
		c.wantUseCase("ECS07")
		c.dnum("TimeDebtRegister1 vs DebtRecoveryRates[1].update_total_amount_remaining", b.trimmed1("TimeDebtRegister1"), 3, 113, "0-0:19.20.1.255", 4)
		c.dnum("TimeDebtRegister2 vs DebtRecoveryRates[2].update_total_amount_remaining", b.trimmed1("TimeDebtRegister2"), 3, 113, "0-0:19.20.2.255", 4)
		c.dnum("PaymentDebtRegister vs DebtRecoveryperPayment.update_total_amount_remaining", b.trimmed1("PaymentDebtRegister"), 3, 113, "0-0:19.20.3.255", 4)
		c.dnum("DebtRecoveryPerPayment vs DebtRecoveryperPayment.proportion", b.trimmed1("DebtRecoveryPerPayment"), 2, 113, "0-0:19.20.3.255", 13)
		for i, obis := range []string{"0-0:19.20.1.255", "0-0:19.20.2.255"} {
			p := fmt.Sprintf("ElecDebtRecovery%d", i+1)
			r := b.child(p)
			if n := c.dval(p+"/DebtRecoveryRate", r.trimmed1("DebtRecoveryRate"), 2, 113, obis, 6); n != nil {
				c.eq(p+"/DebtRecoveryRate vs charge_per_unit", normInt(r.trimmed1("DebtRecoveryRate")), nodeNum(kid(kid(kid(n, 2), 0), 1)))
				c.eq(p+"/DebtRecoveryRatePriceScale vs price_scale", normInt(r.trimmed1("DebtRecoveryRatePriceScale")), nodeNum(kid(kid(n, 0), 1)))
			}
			c.dnum(p+"/DebtRecoveryRatePeriod vs period (seconds)", periodSeconds(r.trimmed1("DebtRecoveryRatePeriod")), 2, 113, obis, 8)
			if n := c.dval(p+" activation", "", 3, 113, obis, 2); n != nil {
				c.eq(p+" activate_passive_unit_charge invoked", "0", nodeNum(n))
			}
		}
		return
	}
	c.wantUseCase("GCS04")
	cs := c.comps(clPrepayment, 0x02)
	// Change Debt commands by Debt Amount Type (annex GBZ template: 1 time
	// debt 1, 3 time debt 2, 5 payment-based debt; all incremental).
	byType := map[string]*gComp{}
	for _, g := range cs {
		byType[gfield(g, "debt-amount-type")] = g
	}
	for i, d := range []struct{ reg, typ, rec string }{{"TimeDebtRegister1", "1", "GasDebtRecovery1"}, {"TimeDebtRegister2", "3", "GasDebtRecovery2"}, {"PaymentDebtRegister", "5", ""}} {
		g := byType[d.typ]
		if g == nil {
			c.absent(d.reg, b.trimmed1(d.reg), "Change Debt with Debt Amount Type "+d.typ)
			continue
		}
		c.gnum(d.reg+" vs Change Debt Debt Amount", b.trimmed1(d.reg), g, "debt-amount")
		if d.rec != "" {
			r := b.child(d.rec)
			c.gnum(d.rec+"/DebtRecoveryRate vs Debt Recovery Amount", r.trimmed1("DebtRecoveryRate"), g, "debt-recovery-amount")
			c.eq(d.rec+"/DebtRecoveryRatePeriod vs Debt Recovery Frequency", zclFrequency(r.trimmed1("DebtRecoveryRatePeriod")), gfield(g, "debt-recovery-frequency"))
		} else {
			c.gnum("DebtRecoveryPerPayment vs Debt Recovery Balance Percentage", b.trimmed1("DebtRecoveryPerPayment"), g, "debt-recovery-balance-percentage")
		}
		_ = i
	}
}

func periodSeconds(p string) string {
	switch strings.ToUpper(strings.TrimSpace(p)) {
	case "HOURLY":
		return "3600"
	case "DAILY":
		return "86400"
	case "WEEKLY":
		return "604800"
	}
	return p
}

// zclFrequency is the ZSE Debt Recovery Frequency (annex: 0x00 hourly,
// 0x01 daily).
func zclFrequency(p string) string {
	switch strings.ToUpper(strings.TrimSpace(p)) {
	case "HOURLY":
		return "0"
	case "DAILY":
		return "1"
	}
	return p
}

// 2.5 Activate Emergency Credit: ECS09 (IC112 EmergencyCredit m3
// invoke_credit) or GCS06 (ZSE Select Available Emergency Credit).
func checkEmergencyCredit(c *checker, b *xnode) {
	if c.uc == "ECS09" {
		c.wantUseCase("ECS09")
		if n := c.dval("ActivateEmergencyCredit", "activate", 3, 112, "0-0:19.10.1.255", 3); n != nil {
			c.eq("ActivateEmergencyCredit vs EmergencyCredit.invoke_credit", "activate", "activate")
		}
		return
	}
	c.wantUseCase("GCS06")
	if g := c.comp("ActivateEmergencyCredit", "activate", clPrepayment, 0x00); g != nil {
		c.eq("ActivateEmergencyCredit vs Select Available Emergency Credit", "activate", "activate")
	}
}

// 6.4.1 Load Limiting general settings: ECS28a, IC9000 value_passive.
func checkLoadLimit(c *checker, b *xnode) {
	c.wantUseCase("ECS28a")
	c.dnum("LoadLimitPeriod", b.trimmed1("LoadLimitPeriod"), 2, 9000, "0-0:94.44.128.6", 4)
	c.dnum("LoadLimitPowerThreshold", b.trimmed1("LoadLimitPowerThreshold"), 2, 9000, "0-0:94.44.128.7", 4)
	c.dnum("LoadLimitRestorationPeriod", b.trimmed1("LoadLimitRestorationPeriod"), 2, 9000, "0-0:94.44.128.8", 4)
	// Annex row 1180: LoadLimitSupplyState valueNext Disable(TRUE), Unchanged(FALSE).
	st := b.trimmed1("LoadLimitSupplyState")
	want := map[string]string{"Disabled": "true", "Disable": "true", "Unchanged": "false"}[st]
	if want == "" {
		want = st
	}
	if n := c.dval("LoadLimitSupplyState", st, 2, 9000, "0-0:94.44.0.3", 4); n != nil {
		c.eq("LoadLimitSupplyState ("+st+") vs value_passive", want, nodeNum(n))
	}
}

// 6.6 Gas conversion: GCS23, ZSE Publish Conversion Factor (5 decimals,
// trailing digit 0x50) and Publish Calorific Value (1 decimal, 0x10, MJ/m3).
func checkGasConversion(c *checker, b *xnode) {
	c.wantUseCase("GCS23")
	if g := c.comp("ConversionFactor", b.trimmed1("ConversionFactor"), clPrice, 0x02); g != nil {
		cmpScaled(c, "ConversionFactor", b.trimmed1("ConversionFactor"), gfield(g, "conversion-factor"), gfield(g, "conversion-factor-trailing-digit"))
	}
	if g := c.comp("CalorificValue", b.trimmed1("CalorificValue"), clPrice, 0x03); g != nil {
		cmpScaled(c, "CalorificValue", b.trimmed1("CalorificValue"), gfield(g, "calorific-value"), gfield(g, "calorific-value-trailing-digit"))
		c.eq("CalorificValue unit (MJ/m3)", "1", gfield(g, "calorific-value-unit"))
	}
}

// cmpScaled compares a decimal with an integer whose decimal places are the
// high nibble of a ZCL trailing-digit bitmap.
func cmpScaled(c *checker, name, req, val, trailing string) {
	td, err := strconv.Atoi(trailing)
	if err != nil {
		c.absent(name, req, "trailing digit")
		return
	}
	places := td >> 4
	want, ok := decimalScaled(req, places)
	if !ok {
		c.add(Field{Name: name, Request: req, Command: fmt.Sprintf("%s with %d decimal places", val, places), Result: Differ})
		return
	}
	c.eq(fmt.Sprintf("%s (×10^%d)", name, places), want, val)
}

// 6.7 Gas flow: GCS24 / GCS24a, ZSE Set Uncontrolled Flow Threshold and Set
// Supply Status (annex: 0x03 unchanged, 0x00 locked).
func checkGasFlow(c *checker, b *xnode) {
	g := c.comp("UncontrolledGasFlowRate", "", clMetering, 0x0E)
	if v, ok := b.val("UncontrolledGasFlowRate"); ok {
		c.wantUseCase("GCS24")
		if g != nil {
			c.gnum("UncontrolledGasFlowRate", v, g, "uncontrolled-flow-threshold")
			c.eq("UncontrolledGasFlowRate divisor", "1", gfield(g, "divisor"))
		}
	} else if v, ok := b.val("UncontrolledGasFlowRateDecimal"); ok {
		c.wantUseCase("GCS24a")
		if g != nil {
			div := gfield(g, "divisor")
			places := strings.Count(div, "0")
			if strings.TrimRight(div, "0") != "1" {
				places = -1
			}
			if want, ok := decimalScaled(v, places); ok && places >= 0 {
				c.eq("UncontrolledGasFlowRateDecimal (÷"+div+")", want, gfield(g, "uncontrolled-flow-threshold"))
			} else {
				c.add(Field{Name: "UncontrolledGasFlowRateDecimal", Request: v, Command: gfield(g, "uncontrolled-flow-threshold") + " ÷ " + div, Result: Differ})
			}
		}
	}
	if g != nil {
		c.gnum("StabilisationPeriod", b.trimmed1("StabilisationPeriod"), g, "stabilisation-period")
		c.gnum("MeasurementPeriod", b.trimmed1("MeasurementPeriod"), g, "measurement-period")
	}
	if s := c.comp("SupplyTamperState / SupplyDepletionState", "", clMetering, 0x0D); s != nil {
		c.eq("SupplyTamperState ("+b.trimmed1("SupplyTamperState")+")", zclSupplyState(b.trimmed1("SupplyTamperState")), gfield(s, "supply-tamper-state"))
		c.eq("SupplyDepletionState ("+b.trimmed1("SupplyDepletionState")+")", zclSupplyState(b.trimmed1("SupplyDepletionState")), gfield(s, "supply-depletion-state"))
	}
}

func zclSupplyState(s string) string {
	switch s {
	case "Unchanged":
		return "3"
	case "Locked":
		return "0"
	}
	return s
}

// 6.8 Billing calendar: ECS30/ECS30a (IC22 Single Action Schedule
// 0-0:15.0.0.255 a4 execution_time), GCS25/GCS25a (ZSE Publish Billing
// Period and Publish Block Period).
func checkBillingCalendar(c *checker, b *xnode) {
	if e := b.child("ElectricityBillingCalendar"); e != nil && len(e.kids) > 0 {
		kind := e.kids[len(e.kids)-1].name
		if kind == "Daily" || kind == "Weekly" || kind == "Monthly" {
			c.wantUseCase("ECS30", "ECS30a")
		} else {
			c.wantUseCase("ECS30a")
		}
		n := c.dval("ElectricityBillingCalendar", kind, 2, 22, "0-0:15.0.0.255", 4)
		if n == nil {
			return
		}
		tm := dlmsTimeOfDay(e.trimmed1("BillingTime"))
		var want []string
		switch kind {
		case "Daily":
			want = []string{tm + " ffffffffff"}
		case "Weekly":
			want = []string{fmt.Sprintf("%s ffffffff%02x", tm, atoiDef(e.trimmed1("Weekly"), 0xFF))}
		case "Monthly":
			want = []string{fmt.Sprintf("%s ffffff%02xff", tm, atoiDef(e.trimmed1("Monthly"), 0xFF))}
		default:
			q := e.child(kind)
			step := map[string]int{"Quarterly": 3, "SixMonthly": 6, "Yearly": 12}[kind]
			start := atoiDef(q.trimmed1("BillingPeriodStartMonth"), 1)
			day := atoiDef(q.trimmed1("DayOfMonth"), 0xFF)
			for m := 0; m < 12/step; m++ {
				mon := (start-1+m*step)%12 + 1
				want = append(want, fmt.Sprintf("%s ffff%02x%02xff", tm, mon, day))
			}
		}
		var got []string
		for _, s := range kids(n) {
			got = append(got, fmt.Sprintf("%x %x", octets(kid(s, 0)), octets(kid(s, 1))))
		}
		c.eq("ElectricityBillingCalendar ("+kind+") vs execution_time (time date)", strings.Join(want, ", "), strings.Join(got, ", "))
		return
	}
	g := b.child("GasBillingCalendar")
	per := g.trimmed1("Periodicity")
	if per == "Monthly" || per == "Quarterly" {
		c.wantUseCase("GCS25", "GCS25a")
	} else {
		c.wantUseCase("GCS25a")
	}
	dur, base := map[string][2]string{"Daily": {"1", "1"}, "Weekly": {"1", "2"}, "Monthly": {"1", "3"}, "Quarterly": {"3", "3"}, "SixMonthly": {"6", "3"}, "Yearly": {"12", "3"}}[per][0], map[string][2]string{"Daily": {"1", "1"}, "Weekly": {"1", "2"}, "Monthly": {"1", "3"}, "Quarterly": {"3", "3"}, "SixMonthly": {"6", "3"}, "Yearly": {"12", "3"}}[per][1]
	start := timeRender(g.trimmed1("BillingPeriodStart"))
	for _, x := range []struct {
		cmd              uint64
		name, st, du, dt string
	}{{0x09, "Publish Billing Period", "billing-period-start-time", "billing-period-duration", "billing-period-duration-type"},
		{0x01, "Publish Block Period", "block-period-start-time", "block-period-duration", "block-period-duration-type"}} {
		gc := c.comp("GasBillingCalendar", per, clPrice, x.cmd)
		if gc == nil {
			continue
		}
		st := "absent"
		if n := pc(gc.payload, x.st); n != nil {
			v, _ := n.Uint()
			st = zclUTC(v)
		}
		c.eq("BillingPeriodStart vs "+x.name+" start time", start, st)
		c.eq("Periodicity ("+per+") vs "+x.name+" duration", dur, gfield(gc, x.du))
		dt := gfield(gc, x.dt)
		if v, err := strconv.Atoi(dt); err == nil {
			dt = strconv.Itoa(v & 0x0F)
		}
		c.eq("Periodicity ("+per+") vs "+x.name+" duration timebase (1 day, 2 week, 3 month)", base, dt)
	}
}

func atoiDef(s string, def int) int {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return v
}

// dlmsTimeOfDay renders an xs:time as the DLMS time octets hhmmsscc.
func dlmsTimeOfDay(s string) string {
	t, err := parseXSTime(s)
	if err != nil {
		return "malformed " + s
	}
	return fmt.Sprintf("%02x%02x%02x00", t.Hour(), t.Minute(), t.Second())
}

func parseXSTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{"15:04:05.999999999Z07:00", "15:04:05.999999999"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad xs:time %q", s)
}

// 6.11 / 8.1.1 Synchronise clock: ECS70 (IC8 Clock preset_adjusting_time
// {preset, validity start, validity end}) or GCS28 (ASN.1 validity interval
// of two GeneralizedTimes); the validity interval is CurrentDateTime to
// CurrentDateTime + TolerancePeriod.
func checkClock(c *checker, b *xnode) {
	cur, err := parseXSDateTime(b.trimmed1("CurrentDateTime"))
	tol, err2 := strconv.Atoi(b.trimmed1("TolerancePeriod"))
	if err != nil || err2 != nil {
		c.skip("CurrentDateTime / TolerancePeriod", b.trimmed1("CurrentDateTime"), "not a valid date-time and period")
		return
	}
	from := cur.Format(time.RFC3339)
	to := cur.Add(time.Duration(tol) * time.Second).Format(time.RFC3339)
	if c.uc == "ECS70" {
		c.wantUseCase("ECS70")
		n := c.dval("CurrentDateTime", from, 3, 8, "0-0:1.0.0.255", 5)
		if n != nil {
			c.eq("CurrentDateTime vs preset_adjusting_time validity_interval_start", from, dlmsDateTime(octets(kid(n, 1))))
			c.eq("CurrentDateTime + TolerancePeriod vs validity_interval_end", to, dlmsDateTime(octets(kid(n, 2))))
		}
		c.item(2, 8, "0-0:1.0.0.255", 9)
		c.item(3, 8, "0-0:1.0.0.255", 4)
		c.item(1, 8, "0-0:1.0.0.255", 2)
		c.item(1, 8, "0-0:1.0.0.255", 4)
		return
	}
	c.wantUseCase("GCS28")
	if c.asn == nil || len(c.asn.Children) < 2 {
		c.absent("CurrentDateTime", from, "ASN.1 validity interval")
		return
	}
	c.eq("CurrentDateTime vs validity interval start", from, asnTime(nodeText(kid(c.asn, 0))))
	c.eq("CurrentDateTime + TolerancePeriod vs validity interval end", to, asnTime(nodeText(kid(c.asn, 1))))
}

// 6.25 Supply tamper state: ECS81, IC1 0-0:94.44.0.4 a2 boolean (Locked TRUE).
func checkTamperState(c *checker, b *xnode) {
	c.wantUseCase("ECS81")
	st := b.trimmed1("SupplyTamperState")
	want := map[string]string{"Locked": "true", "Unlocked": "false", "Unchanged": "false"}[st]
	if n := c.dval("SupplyTamperState", st, 2, 1, "0-0:94.44.0.4", 2); n != nil {
		c.eq("SupplyTamperState ("+st+") vs value", want, nodeNum(n))
	}
}

// 6.26 Daily resetting of the Tariff Block Counter Matrix: ECS48, IC22
// 0-0:15.1.0.255 a4 execution_time: midnight daily when true, empty when false.
func checkDailyBlockReset(c *checker, b *xnode) {
	c.wantUseCase("ECS48")
	v := strings.TrimSpace(b.trimmed1("DailyTariffBlockCounterMatrixReset"))
	n := c.dval("DailyTariffBlockCounterMatrixReset", v, 2, 22, "0-0:15.1.0.255", 4)
	if n == nil {
		return
	}
	var got []string
	for _, s := range kids(n) {
		got = append(got, fmt.Sprintf("%x %x", octets(kid(s, 0)), octets(kid(s, 1))))
	}
	want := ""
	if v == "true" || v == "1" {
		want = "00000000 ffffffffff"
	}
	c.eq("DailyTariffBlockCounterMatrixReset ("+v+") vs execution_time (daily at 00:00 / none)", want, strings.Join(got, ", "))
}

// 7.1/7.2/7.3 supply: ECS42/43/44 run the IC9 0-0:10.0.106.255 script
// (annex: 51 enable; 52 disable and 54 arm by the same rule), GCS32/GCS39
// send ZSE Change Supply (Proposed Supply Status 0 off, 1 armed, 2 on).
func checkSupply(script int, zse int, ucs ...string) func(*checker, *xnode) {
	return func(c *checker, b *xnode) {
		c.wantUseCase(ucs[0], ucs[1:]...)
		action := map[int]string{51: "enable", 52: "disable", 54: "arm"}[script]
		if strings.HasPrefix(c.uc, "ECS") {
			if n := c.dval("supply "+action, action, 3, 9, "0-0:10.0.106.255", 1); n != nil {
				c.eq("supply "+action+" vs SupplyState script", strconv.Itoa(script), nodeNum(n))
			}
			return
		}
		if g := c.comp("supply "+action, action, clMetering, 0x0B); g != nil {
			c.eq("supply "+action+" vs Change Supply Proposed Supply Status", strconv.Itoa(zse), gfield(g, "proposed-supply-status"))
		}
	}
}

// 7.5/7.6/7.8 auxiliary load: ECS47, IC1 0-0:94.44.(116+n).{1,2} a2
// duration and the IC9 0-0:10.0.103.255 script whose selector carries the
// controller number (high byte) and the action (low byte 0x11 activate, 0x12
// deactivate, 0x20 reset; GBCS 7.3.6.1, read from RTDS).
func checkAuxLoad(elem string, action uint64, durE int) func(*checker, *xnode) {
	return func(c *checker, b *xnode) {
		c.wantUseCase("ECS47")
		e := b.child(elem)
		idx := atoiDef(e.attr("index"), 0)
		if durE > 0 {
			c.dnum(fmt.Sprintf("%s[%d]/Duration", elem, idx), e.trimmed1("Duration"), 2, 1, fmt.Sprintf("0-0:94.44.%d.%d", 116+idx, durE), 2)
		}
		if n := c.dval(elem+" script", "", 3, 9, "0-0:10.0.103.255", 1); n != nil {
			v, _ := n.Uint()
			c.eq(elem+" index vs script selector controller number", strconv.Itoa(idx), strconv.FormatUint(v>>8, 10))
			c.eq(elem+" action vs script selector action", fmt.Sprintf("0x%02X", action), fmt.Sprintf("0x%02X", v&0xFF))
		}
	}
}

// 7.12 Randomised offset limit: ECS38, IC1 0-0:94.44.0.1 a2.
func checkRandomisedOffset(c *checker, b *xnode) {
	c.wantUseCase("ECS38")
	c.dnum("RandomisedOffsetLimit", b.trimmed1("RandomisedOffsetLimit"), 2, 1, "0-0:94.44.0.1", 2)
}

// 7.13 Set Auxiliary Controller State (ECS47a) and 7.16 Limit APC Level
// (ECS47e): IC1 0-0:94.44.(116+n).{1,2} (ECS47e .3/.4) start and end
// date-times, and the IC9 script selector controllerNumberAndCommandedState
// (GBCS 7.3.6.1; read from RTDS: high byte 0x10+n, or 0x20+n with
// InputFromControlledLoad; low byte the commanded level).
func checkAuxController(script string, eStart, eEnd int) func(*checker, *xnode) {
	return func(c *checker, b *xnode) {
		if eStart == 1 {
			c.wantUseCase("ECS47a")
		} else {
			c.wantUseCase("ECS47e")
		}
		n := atoiDef(b.attr("auxiliaryControllerN"), 0)
		for _, x := range []struct {
			f string
			e int
		}{{"StartDateTime", eStart}, {"EndDateTime", eEnd}} {
			want := timeRender(b.trimmed1(x.f))
			if d := c.dval(x.f, want, 2, 1, fmt.Sprintf("0-0:94.44.%d.%d", 116+n, x.e), 2); d != nil {
				c.eq(x.f, want, dlmsDateTime(octets(d)))
			}
		}
		d := c.dval("controllerNumberAndCommandedState", "", 3, 9, script, 1)
		if d == nil {
			return
		}
		v, _ := d.Uint()
		c.eq("auxiliaryControllerN vs script selector controller number", strconv.Itoa(n), strconv.FormatUint(v>>8&0x0F, 10))
		in := "absent"
		if b.has("InputFromControlledLoad") {
			in = "present"
		}
		got := map[uint64]string{1: "absent", 2: "present"}[v>>12&0x0F]
		if got == "" {
			got = fmt.Sprintf("unknown flag 0x%X", v>>12&0x0F)
		}
		c.eq("InputFromControlledLoad vs script selector flag", in, got)
		c.eq("CommandedStateLevel vs script selector level", normInt(b.trimmed1("CommandedStateLevel")), strconv.FormatUint(v&0xFF, 10))
	}
}
