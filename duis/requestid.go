package duis

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/eui"
)

// RequestID is the DUIS RequestID originatorEUI:targetEUI:counter. The same
// shape, with the EUIs swapped, is the ResponseID of a device response.
//
// EUIs compare case-insensitively (they are parsed to bytes), but the DCC
// must echo a RequestID exactly as received, so the original text is kept.
type RequestID struct {
	Originator eui.EUI64
	Target     eui.EUI64
	Counter    uint64
	raw        string
}

// ErrRequestID is wrapped by every RequestID parse error.
var ErrRequestID = errors.New("duis: invalid RequestID")

// ParseRequestID parses originator:target:counter. The counter is a decimal
// uint64 without leading zeros (as the XSD pattern requires).
func ParseRequestID(s string) (RequestID, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return RequestID{}, fmt.Errorf("%w: %q: want originator:target:counter", ErrRequestID, s)
	}
	o, err := eui.Parse(parts[0])
	if err != nil || len(parts[0]) != 23 {
		return RequestID{}, fmt.Errorf("%w: %q: originator is not an EUI-64 in DUIS form", ErrRequestID, s)
	}
	t, err := eui.Parse(parts[1])
	if err != nil || len(parts[1]) != 23 {
		return RequestID{}, fmt.Errorf("%w: %q: target is not an EUI-64 in DUIS form", ErrRequestID, s)
	}
	c := parts[2]
	if c == "" || (len(c) > 1 && c[0] == '0') || strings.TrimLeft(c, "0123456789") != "" {
		return RequestID{}, fmt.Errorf("%w: %q: counter must be a decimal without leading zeros", ErrRequestID, s)
	}
	n, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return RequestID{}, fmt.Errorf("%w: %q: counter out of range 0..18446744073709551615", ErrRequestID, s)
	}
	return RequestID{Originator: o, Target: t, Counter: n, raw: s}, nil
}

// NewRequestID builds a RequestID whose text is the canonical upper-case form.
func NewRequestID(originator, target eui.EUI64, counter uint64) RequestID {
	r := RequestID{Originator: originator, Target: target, Counter: counter}
	r.raw = r.Canonical()
	return r
}

// String returns the text as received (or the canonical form if built).
func (r RequestID) String() string {
	if r.raw == "" {
		return r.Canonical()
	}
	return r.raw
}

// Canonical formats with upper-case EUIs.
func (r RequestID) Canonical() string {
	return r.Originator.String() + ":" + r.Target.String() + ":" + strconv.FormatUint(r.Counter, 10)
}

// ResponseID returns target:originator:counter, the ResponseID of the device
// response to this request. The EUIs keep the case they were received in.
func (r RequestID) ResponseID() string {
	if r.raw != "" {
		p := strings.Split(r.raw, ":")
		return p[1] + ":" + p[0] + ":" + p[2]
	}
	return r.Target.String() + ":" + r.Originator.String() + ":" + strconv.FormatUint(r.Counter, 10)
}

// WithCounter returns the RequestID with another counter, keeping the EUIs'
// spelling (used when a signer replaces the counter, as DCC Boxed does).
func (r RequestID) WithCounter(n uint64) RequestID {
	out := r
	out.Counter = n
	if r.raw != "" {
		i := strings.LastIndexByte(r.raw, ':')
		out.raw = r.raw[:i+1] + strconv.FormatUint(n, 10)
	}
	return out
}

// Equal compares the parsed values (case-insensitive EUIs).
func (r RequestID) Equal(o RequestID) bool {
	return r.Originator == o.Originator && r.Target == o.Target && r.Counter == o.Counter
}
