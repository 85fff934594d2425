package transform

import (
	"math/big"
	"strings"
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
	// 4.8.1 profile data (GCS17): from the start, one sample per half
	// hour including both ends (RTDS: 48 h → 97).
	gbzFields["GCS17"] = map[string]gbzResolver{
		"EarliestSampleTime (UTCTime)": pathField((*ctx).utcAt, "ReadLogPeriod/StartDateTime"),
		"NumberOfSamples (UINT16)": func(c *ctx, f gbzField) ([]byte, error) {
			s, err := c.need("ReadLogPeriod/StartDateTime")
			if err != nil {
				return nil, err
			}
			e, err := c.need("ReadLogPeriod/EndDateTime")
			if err != nil {
				return nil, err
			}
			ts, err1 := parseTime(s)
			te, err2 := parseTime(e)
			if err1 != nil || err2 != nil || te.Before(ts) {
				return nil, c.errf("bad ReadLogPeriod")
			}
			n := te.Sub(ts).Seconds()/1800 + 1
			if n > 19056 {
				n = 19056
			}
			return le16(uint16(n)), nil
		},
	}
}
