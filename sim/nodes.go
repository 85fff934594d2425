package sim

import (
	"encoding/hex"
	"time"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Tree builders for payloads the device writes.

func nd(typ string, v any, children ...*tree.Node) *tree.Node {
	return &tree.Node{Type: typ, Value: v, Children: children}
}

func named(name, typ string, v any, children ...*tree.Node) *tree.Node {
	return &tree.Node{Name: name, Type: typ, Value: v, Children: children}
}

func octets(b []byte) *tree.Node { return nd("octet-string", hex.EncodeToString(b)) }
func null() *tree.Node           { return nd("null-data", nil) }
func u8(v uint8) *tree.Node      { return nd("unsigned", uint64(v)) }
func u16(v uint16) *tree.Node    { return nd("long-unsigned", uint64(v)) }
func u32(v uint32) *tree.Node    { return nd("double-long-unsigned", uint64(v)) }
func i32(v int32) *tree.Node     { return nd("double-long", int64(v)) }
func i8(v int8) *tree.Node       { return nd("integer", int64(v)) }
func i16(v int16) *tree.Node     { return nd("long", int64(v)) }
func enum(v uint8) *tree.Node    { return nd("enum", uint64(v)) }
func boolean(v bool) *tree.Node  { return nd("boolean", v) }
func structure(c ...*tree.Node) *tree.Node {
	if c == nil {
		c = []*tree.Node{}
	}
	return &tree.Node{Type: "structure", Children: c}
}
func array(c ...*tree.Node) *tree.Node {
	if c == nil {
		c = []*tree.Node{}
	}
	return &tree.Node{Type: "array", Children: c}
}

// scalerUnit is the IC3 scaler_unit structure.
func scalerUnit(scaler int8, unit uint8) *tree.Node { return structure(i8(scaler), enum(unit)) }

// DLMS units (Blue Book): Wh 30, varh 32, W 27, m3 13, currency 10.
const (
	unitWh   = 30
	unitVarh = 32
	unitW    = 27
	unitM3   = 13
)

// dlmsTime encodes a DLMS date-time (12 octets, UTC, deviation 0, status 0).
func dlmsTime(t time.Time) []byte {
	t = t.UTC()
	return []byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()), byte((int(t.Weekday())+6)%7 + 1),
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0, 0x00, 0x00, 0x00}
}

// parseDLMSTime reads a DLMS date-time; ok is false for "now" (all zero),
// "never" (FF…) and malformed values.
func parseDLMSTime(b []byte) (time.Time, bool) {
	if len(b) != 12 || b[0] == 0xFF || (b[0] == 0 && b[1] == 0) || b[2] == 0xFF || b[3] == 0xFF {
		return time.Time{}, false
	}
	y := int(b[0])<<8 | int(b[1])
	h, mi, s := int(b[5]), int(b[6]), int(b[7])
	if h == 0xFF {
		h = 0
	}
	if mi == 0xFF {
		mi = 0
	}
	if s == 0xFF {
		s = 0
	}
	return time.Date(y, time.Month(b[2]), int(b[3]), h, mi, s, 0, time.UTC), true
}

// zclUTC is seconds since 2000-01-01 UTC.
func zclUTC(t time.Time) uint64 {
	d := t.Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	if d < 0 {
		return 0
	}
	return uint64(d / time.Second)
}

func fromZCLUTC(v uint64) time.Time {
	return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(v) * time.Second)
}

func childUint(n *tree.Node, name string) uint64 {
	if n == nil {
		return 0
	}
	c := n.Child(name)
	if c == nil {
		return 0
	}
	v, _ := c.Uint()
	return v
}

func childInt(n *tree.Node, name string) int64 {
	if n == nil {
		return 0
	}
	c := n.Child(name)
	if c == nil {
		return 0
	}
	v, _ := c.Int()
	return v
}
