package transform

import (
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
)

// channelMask is the 32-bit channel page mask of IEEE 802.15.4: page in
// bits 27–31, channel k of the group at bit k−offset (the request's
// ChannelN elements), as a DLMS bit-string(32), most significant bit first.
func (c *ctx) channelMask(path string, page, offset int) (data, error) {
	v, ok := lookup(c.body, path)
	for ok && v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if !ok || v.Kind() != reflect.Struct {
		return nil, c.errf("missing %s", path)
	}
	mask := uint32(page) << 27
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		k, err := strconv.Atoi(strings.TrimPrefix(v.Type().Field(i).Name, "Channel"))
		if err != nil || k < offset || k-offset > 26 {
			return nil, c.errf("%s/%s: not a channel of this page", path, v.Type().Field(i).Name)
		}
		mask |= 1 << (k - offset)
	}
	bits := make([]bool, 32)
	for i := range bits {
		bits[i] = mask&(1<<(31-i)) != 0
	}
	return bitString(bits), nil
}

// hundredths is a DUIS decimal × 100 as an integer (exact).
func (c *ctx) hundredths(path string, max uint64) (uint64, error) {
	s, err := c.need(path)
	if err != nil {
		return 0, err
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 {
		return 0, c.errf("%s: %q is not a decimal", path, s)
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() || !r.Num().IsUint64() || r.Num().Uint64() > max {
		return 0, c.errf("%s: %q × 100 is not an integer up to %d", path, s, max)
	}
	return r.Num().Uint64(), nil
}

func init() {
	// 6.28 set CHF sub-GHz configuration: IC1 0-0:94.44.10.0 a2 structure
	// in annex order. Channel masks: pages 28–31 (lower band 0–26, 27–34,
	// 35–61, upper band 0–26); decimal thresholds and percentages × 100
	// (RTDS: 1.3 → 130, 60.00 → 6000).
	builders["DBCH04"] = func(c *ctx) ([]byte, error) {
		var el []data
		for i, g := range []struct {
			path   string
			offset int
		}{{"LowerBandSubGHzChannels0To26", 0}, {"LowerBandSubGHzChannels27To34", 27}, {"LowerBandSubGHzChannels35To61", 35}, {"UpperBandSubGHzChannels0To26", 0}} {
			m, err := c.channelMask(g.path, 28+i, g.offset)
			if err != nil {
				return nil, err
			}
			el = append(el, m)
		}
		for _, f := range []struct {
			path string
			kind byte // 'h' hundredths long-unsigned, 'u' unsigned, 'l' long-unsigned
		}{
			{"NormalLimitedDutyCycleThreshold", 'h'}, {"LimitedCriticalDutyCycleThreshold", 'h'},
			{"MaximumSubGHzChannelChangesPerWeek", 'u'}, {"GSMECurfew", 'l'},
			{"ChannelQuieterThreshold", 'u'}, {"ChannelNoisierThreshold", 'u'},
			{"NonGSMEPoorCommsPercentageThreshold", 'h'}, {"NonGSMEPoorCommsMeasurementPeriods", 'u'},
			{"LocalCHNoiseMeasurementPeriod", 'l'}, {"LocalCHFailurePercentage", 'h'}, {"LocalCHRetryPercentage", 'h'},
		} {
			switch f.kind {
			case 'h':
				v, err := c.hundredths(f.path, 0xFFFF)
				if err != nil {
					return nil, err
				}
				el = append(el, longU(uint16(v)))
			case 'u':
				v, err := c.uint(f.path, 8)
				if err != nil {
					return nil, err
				}
				el = append(el, unsigned(uint8(v)))
			default:
				v, err := c.uint(f.path, 16)
				if err != nil {
					return nil, err
				}
				el = append(el, longU(uint16(v)))
			}
		}
		if len(el) != 15 {
			return nil, fmt.Errorf("transform: DBCH04 structure has %d elements", len(el))
		}
		return c.accessRequest(set(1, "0-0:94.44.10.0", 2, structure(el...)))
	}
}
