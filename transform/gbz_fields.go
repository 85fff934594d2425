package transform

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Variable fields of the GBZ templates, by use case and element name.

// utcAt is the ZigBee UTCTime (LE seconds since 2000) of the xs:dateTime at path.
func (c *ctx) utcAt(path string) ([]byte, error) {
	s, err := c.need(path)
	if err != nil {
		return nil, err
	}
	t, err := parseTime(s)
	if err != nil {
		return nil, c.errf("%s: %v", path, err)
	}
	return le32(utcSeconds(t)), nil
}

// scaled is the decimal at path times 10^digits as a uint32 (ZSE values
// with a trailing-digit nibble of digits decimals); extra digits are an error.
func (c *ctx) scaled(path string, digits int) ([]byte, error) {
	s, err := c.need(path)
	if err != nil {
		return nil, err
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 {
		return nil, c.errf("%s: bad decimal %q", path, s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)))
	if !r.IsInt() || r.Num().BitLen() > 32 {
		return nil, c.errf("%s: %q does not fit %d decimals in 32 bits", path, s, digits)
	}
	return le32(uint32(r.Num().Uint64())), nil
}

func constField(b ...byte) gbzResolver {
	return func(c *ctx, f gbzField) ([]byte, error) { return b, nil }
}

func pathField(fn func(c *ctx, path string) ([]byte, error), path string) gbzResolver {
	return func(c *ctx, f gbzField) ([]byte, error) { return fn(c, path) }
}

// logPeriod: Start/End Time of a log read are the ReadLogPeriod bounds.
var logPeriod = map[string]gbzResolver{
	"Start Time (UTCTime)": pathField((*ctx).utcAt, "ReadLogPeriod/StartDateTime"),
	"End Time (UTCTime)":   pathField((*ctx).utcAt, "ReadLogPeriod/EndDateTime"),
}

func init() {
	// 1.5 adjust (GCS40a): the adjustment (INT32) of either mode.
	gbzFields["GCS40a"] = map[string]gbzResolver{
		"Credit Adjustment Value (INT32)": func(c *ctx, f gbzField) ([]byte, error) {
			p := "PrepaymentMode/AdjustMeterBalance"
			if !c.has(p) {
				p = "CreditMode/AdjustMeterBalance"
			}
			v, err := c.sint(p, 32)
			if err != nil {
				return nil, err
			}
			return le32(uint32(int32(v))), nil
		},
	}
	// 2.2 top up (CS01b): OCTETSTRING length 20 ‖ the UTRN digits.
	gbzFields["CS01b"] = map[string]gbzResolver{
		"TopUp Code (OCTETSTRING)": func(c *ctx, f gbzField) ([]byte, error) {
			s, err := c.need("UTRN")
			if err != nil {
				return nil, err
			}
			s = strings.TrimSpace(s)
			if len(s) != 20 {
				return nil, c.errf("UTRN must have 20 digits")
			}
			return append([]byte{20}, s...), nil
		},
	}
	// 6.6 gas conversion (GCS23): trailing digits 0x50 (5 decimals) and
	// 0x10 (1 decimal), the annex constants.
	gbzFields["GCS23"] = map[string]gbzResolver{
		"Conversion Factor (UINT32)": pathField(func(c *ctx, p string) ([]byte, error) { return c.scaled(p, 5) }, "ConversionFactor"),
		"Calorific Value (UINT32)":   pathField(func(c *ctx, p string) ([]byte, error) { return c.scaled(p, 1) }, "CalorificValue"),
	}
	// 6.13 event / security log (CS10a/b): the device's own log (0x13 /
	// 0x04); the GPF's proxy copies of the GSME logs are not requested.
	gbzFields["CS10a"] = map[string]gbzResolver{"Event Control / Log ID (BITMAP8)": constField(0x13)}
	gbzFields["CS10b"] = map[string]gbzResolver{"Event Control / Log ID (BITMAP8)": constField(0x04)}
	for k, v := range logPeriod {
		gbzFields["CS10a"][k] = v
		gbzFields["CS10b"][k] = v
	}
	// Snapshot log reads (GCS15b/c billing data, GCS16a/b daily reads):
	// every Get (Prepay) Snapshot carries the ReadLogPeriod.
	for _, uc := range []string{"GCS15b", "GCS15c", "GCS16a", "GCS16b"} {
		gbzFields[uc] = map[string]gbzResolver{
			"Earliest Start Time (UTCTime)": pathField((*ctx).utcAt, "ReadLogPeriod/StartDateTime"),
			"Latest End Time (UTCTime)":     pathField((*ctx).utcAt, "ReadLogPeriod/EndDateTime"),
		}
	}
	// 4.4.4 payment-based debt payments (GCS15d) and 4.4.5 prepayment
	// credits (GCS15e): the annex maps the log's fromDateTime to the
	// extended header's From Date Time and toDateTime to Latest End Time:
	// the ReadLogPeriod bounds (RTDS GCS15d; GCS15e has no RTDS case).
	for _, uc := range []string{"GCS15d", "GCS15e"} {
		gbzFields[uc] = map[string]gbzResolver{
			"From Date Time":            pathField((*ctx).utcAt, "ReadLogPeriod/StartDateTime"),
			"Latest End Time (UTCTime)": pathField((*ctx).utcAt, "ReadLogPeriod/EndDateTime"),
		}
	}
	// 4.8.1 profile data (GCS17): from the start, one sample per half
	// hour including both ends (RTDS: 48 h → 97).
	gbzFields["GCS17"] = map[string]gbzResolver{
		"EarliestSampleTime (UTCTime)": pathField((*ctx).utcAt, "ReadLogPeriod/StartDateTime"),
		"NumberOfSamples (UINT16)": func(c *ctx, f gbzField) ([]byte, error) {
			ts, te, err := c.readLogPeriod()
			if err != nil {
				return nil, err
			}
			n := te.Sub(ts).Seconds()/1800 + 1
			if n > 19056 {
				n = 19056
			}
			return le16(uint16(n)), nil
		},
	}
}

// zclExecution is the UTCTime of ExecutionDateTime: absent → 0 (now), the
// DUIS cancel value → cancel, else the time.
func (c *ctx) zclExecution(cancel uint32) ([]byte, error) {
	s, ok := c.str("ExecutionDateTime")
	if !ok {
		return le32(0), nil
	}
	t, err := parseTime(s)
	if err != nil {
		return nil, c.errf("ExecutionDateTime: %v", err)
	}
	if t.Year() == 3000 && t.Month() == 12 && t.Day() == 31 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return le32(cancel), nil
	}
	return le32(utcSeconds(t)), nil
}

// byComp picks the resolver by the position of the component.
func byComp(rs ...gbzResolver) gbzResolver {
	return func(c *ctx, f gbzField) ([]byte, error) {
		if c.gbzComp >= len(rs) || rs[c.gbzComp] == nil {
			return nil, c.unsupported(fmt.Sprintf("GBZ field %q of component %d has no mapping", f.name, c.gbzComp))
		}
		return rs[c.gbzComp](c, f)
	}
}

func int32At(p string) gbzResolver {
	return func(c *ctx, f gbzField) ([]byte, error) {
		v, err := c.sint(p, 32)
		if err != nil {
			return nil, err
		}
		return le32(uint32(int32(v))), nil
	}
}

func uintAt(p string, n int) gbzResolver {
	return func(c *ctx, f gbzField) ([]byte, error) {
		v, err := c.uint(p, 8*n)
		if err != nil {
			return nil, err
		}
		return binary.LittleEndian.AppendUint64(nil, v)[:n], nil
	}
}

// periodicity: DUIS Periodicity → ZSE duration and duration type (most
// significant nibble 0x2, unit 1 days, 2 weeks, 3 months).
var periodicity = map[string]struct {
	n   uint32
	typ byte
}{
	"Daily": {1, 0x21}, "Weekly": {1, 0x22}, "Monthly": {1, 0x23},
	"Quarterly": {3, 0x23}, "SixMonthly": {6, 0x23}, "Yearly": {12, 0x23},
}

func (c *ctx) period() (uint32, byte, error) {
	s, err := c.need("GasBillingCalendar/Periodicity")
	if err != nil {
		return 0, 0, err
	}
	p, ok := periodicity[s]
	if !ok {
		return 0, 0, c.errf("Periodicity %q", s)
	}
	return p.n, p.typ, nil
}

func init() {
	// 1.6 payment mode (GCS02 credit, GCS03 prepayment): implementation
	// time, 0xFFFFFFFF cancels.
	for _, uc := range []string{"GCS02", "GCS03"} {
		gbzFields[uc] = map[string]gbzResolver{
			"Implementation Date/Time (UTCTime)": func(c *ctx, f gbzField) ([]byte, error) { return c.zclExecution(0xFFFFFFFF) },
		}
	}
	// 3.2 restrict access for change of tenancy on the GPF (GCS09): the
	// Publish Change of Tenancy takes effect at RestrictionDateTime, as
	// ECS12's change-of-tenancy date on the ESME (sets.go). The annex
	// writes this field's type "UTCtime".
	gbzFields["GCS09"] = map[string]gbzResolver{
		"Implementation Date/Time (UTCtime)": pathField((*ctx).utcAt, "RestrictionDateTime"),
	}
	// 1.6 to prepayment on a GSME (GCS03): the annex's GBZ message template
	// gives the Proposed Payment Control Configuration for each of the four
	// SuspendDebtEmergency × SuspendDebtDisabled, and the Cut Off Value is
	// the DisablementThreshold (INT32; 0xFFFFFFFF would leave it unchanged).
	// ECS03, the ESME's, stays without a mapping: its flags' encoding is in
	// GBCS 18.2.1 (unsupported.go).
	gbzFields["GCS03"]["Proposed Payment Control Configuration (BITMAP16)"] = func(c *ctx, f gbzField) ([]byte, error) {
		emergency, err := c.boolean("Prepayment/SuspendDebtEmergency")
		if err != nil {
			return nil, err
		}
		disabled, err := c.boolean("Prepayment/SuspendDebtDisabled")
		if err != nil {
			return nil, err
		}
		v := map[[2]bool]uint16{
			{true, true}:   0b0000010010010111,
			{true, false}:  0b0000000010010111,
			{false, true}:  0b0000110010010111,
			{false, false}: 0b0000100010010111,
		}[[2]bool{emergency, disabled}]
		return le16(v), nil
	}
	gbzFields["GCS03"]["Cut Off Value (INT32)"] = func(c *ctx, f gbzField) ([]byte, error) {
		v, err := c.sint("Prepayment/DisablementThreshold", 32)
		if err != nil {
			return nil, err
		}
		if v == -0x80000000 {
			return nil, c.errf("Prepayment/DisablementThreshold %d: outside the annex's range ±0x7FFFFFFF", v)
		}
		return le32(uint32(int32(v))), nil
	}
	// 1.5 adjust in credit mode (GCS40c): as GCS40a.
	gbzFields["GCS40c"] = map[string]gbzResolver{"Credit Adjustment Value (INT32)": gbzFields["GCS40a"]["Credit Adjustment Value (INT32)"]}
	// 2.3 debt (GCS04): components time-based debt 1, 2, payment-based debt.
	freq := func(p string) gbzResolver {
		return func(c *ctx, f gbzField) ([]byte, error) {
			s, err := c.need(p)
			if err != nil {
				return nil, err
			}
			switch s {
			case "HOURLY":
				return []byte{0x00}, nil
			case "DAILY":
				return []byte{0x01}, nil
			}
			return nil, c.errf("%s %q", p, s)
		}
	}
	gbzFields["GCS04"] = map[string]gbzResolver{
		"Debt Amount (INT32)":                       byComp(int32At("TimeDebtRegister1"), int32At("TimeDebtRegister2"), int32At("PaymentDebtRegister")),
		"Debt Recovery Frequency (ENUM8)":           byComp(freq("GasDebtRecovery1Group/GasDebtRecovery1/DebtRecoveryRatePeriod"), freq("GasDebtRecovery1Group/GasDebtRecovery2/DebtRecoveryRatePeriod")),
		"Debt Recovery Amount (INT32)":              byComp(int32At("GasDebtRecovery1Group/GasDebtRecovery1/DebtRecoveryRate"), int32At("GasDebtRecovery1Group/GasDebtRecovery2/DebtRecoveryRate")),
		"Debt Recovery Balance Percentage (UINT16)": byComp(nil, nil, uintAt("DebtRecoveryPerPayment", 2)),
	}
	// 6.7 gas flow (GCS24a): threshold with divisor 10000 (annex), LOCKED
	// 0x00 / UNCHANGED 0x03.
	state := func(p string) gbzResolver {
		return func(c *ctx, f gbzField) ([]byte, error) {
			s, err := c.need(p)
			if err != nil {
				return nil, err
			}
			switch s {
			case "Locked":
				return []byte{0x00}, nil
			case "Unchanged":
				return []byte{0x03}, nil
			}
			return nil, c.errf("%s %q", p, s)
		}
	}
	gbzFields["GCS24a"] = map[string]gbzResolver{
		"Uncontrolled Flow Threshold (UINT16)": func(c *ctx, f gbzField) ([]byte, error) {
			b, err := c.scaled("UncontrolledGasFlowRateDecimal", 4)
			if err != nil {
				return nil, err
			}
			if b[2] != 0 || b[3] != 0 {
				return nil, c.errf("UncontrolledGasFlowRateDecimal too large")
			}
			return b[:2], nil
		},
		"Stabilisation Period (UINT8)":  uintAt("StabilisationPeriod", 1),
		"Measurement Period (UINT16)":   uintAt("MeasurementPeriod", 2),
		"SupplyTamper State (ENUM8)":    state("SupplyTamperState"),
		"SupplyDepletion State (ENUM8)": state("SupplyDepletionState"),
	}
	// 6.8 billing calendar (GCS25/25a): start and periodicity on both the
	// billing period and the block period.
	start := pathField((*ctx).utcAt, "GasBillingCalendar/BillingPeriodStart")
	typ := func(c *ctx, f gbzField) ([]byte, error) {
		_, t, err := c.period()
		return []byte{t}, err
	}
	dur := func(c *ctx, f gbzField) ([]byte, error) {
		n, _, err := c.period()
		return le32(n)[:3], err
	}
	for _, uc := range []string{"GCS25", "GCS25a"} {
		gbzFields[uc] = map[string]gbzResolver{
			"Billing Period Start Time (UTCTime)":    start,
			"Block Period Start Time (UTCTime)":      start,
			"Billing Period Duration Type (BITMAP8)": typ,
			"Block Period Duration Type (BITMAP8)":   typ,
			"Billing Period Duration (UINT24)":       dur,
			"Block Period Duration (UINT24)":         dur,
		}
	}
}

// zclString is a ZCL octet / character string: length octet ‖ bytes.
func (c *ctx) zclString(s string) ([]byte, error) {
	if len(s) > 0xFE {
		return nil, c.errf("string of %d octets is too long for ZCL", len(s))
	}
	return append([]byte{byte(len(s))}, s...), nil
}

func strAt(p string) gbzResolver {
	return func(c *ctx, f gbzField) ([]byte, error) {
		s, err := c.need(p)
		if err != nil {
			return nil, err
		}
		return c.zclString(s)
	}
}

func init() {
	// 3.1 display message (GCS07): Message ID = current time, start now
	// (or ExecutionDateTime), the text as CHARSTRING.
	gbzFields["GCS07"] = map[string]gbzResolver{
		"Start Time (UTCtime)": func(c *ctx, f gbzField) ([]byte, error) { return c.zclExecution(0xFFFFFFFF) },
		"Message (CHARSTRING)": strAt("SupplierMessage"),
	}
	// 9.1 CIN (GCS36): the DCC-generated CIN.
	gbzFields["GCS36"] = map[string]gbzResolver{
		"CustomerID Number (OCTETSTRING)": func(c *ctx, f gbzField) ([]byte, error) {
			cin := c.opts.CustomerIdentificationNumber
			if len(cin) != 4 {
				return nil, c.errf("Options.CustomerIdentificationNumber must be the 4-digit CIN the DCC generated")
			}
			return c.zclString(cin)
		},
	}
	// 6.20.1 MPRN (GCS41).
	gbzFields["GCS41"] = map[string]gbzResolver{"SiteID (OCTETSTRING)": strAt("ImportMPRN")}
	// 3.4 supplier name and telephone (GCS44).
	gbzFields["GCS44"] = map[string]gbzResolver{
		"Proposed Provider Name (OCTETSTRING)":            strAt("SupplierName"),
		"Proposed Provider Contact Details (OCTETSTRING)": strAt("SupplierTelephoneNumber"),
	}
}

// readLogPeriod reads the request's ReadLogPeriod: start and end, the end
// not before the start.
func (c *ctx) readLogPeriod() (start, end time.Time, err error) {
	s, err := c.need("ReadLogPeriod/StartDateTime")
	if err != nil {
		return start, end, err
	}
	e, err := c.need("ReadLogPeriod/EndDateTime")
	if err != nil {
		return start, end, err
	}
	start, err1 := parseTime(s)
	end, err2 := parseTime(e)
	if err1 != nil || err2 != nil || end.Before(start) {
		return start, end, c.errf("bad ReadLogPeriod %s … %s", s, e)
	}
	return start, end, nil
}
