package transform

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opendcc/opendcc/gbcs"
)

// A-XDR data tags (GBCS §1.8 of the project notes; DLMS Blue Book).
const (
	tNull       = 0x00
	tArray      = 0x01
	tStructure  = 0x02
	tBoolean    = 0x03
	tBitString  = 0x04
	tDoubleLong = 0x05
	tDLU        = 0x06
	tOctets     = 0x09
	tVisible    = 0x0A
	tInteger    = 0x0F
	tLong       = 0x10
	tUnsigned   = 0x11
	tLongU      = 0x12
	tLong64     = 0x14
	tLong64U    = 0x15
	tEnum       = 0x16
)

// data is one encoded A-XDR Data element.
type data []byte

func null() data                { return data{tNull} }
func boolean(b bool) data       { return data{tBoolean, b2u(b)} } // TRUE 0xFF, FALSE 0x00
func enum(v uint8) data         { return data{tEnum, v} }
func unsigned(v uint8) data     { return data{tUnsigned, v} }
func integer(v int8) data       { return data{tInteger, byte(v)} }
func longU(v uint16) data       { return binary.BigEndian.AppendUint16(data{tLongU}, v) }
func long(v int16) data         { return binary.BigEndian.AppendUint16(data{tLong}, uint16(v)) }
func dlu(v uint32) data         { return binary.BigEndian.AppendUint32(data{tDLU}, v) }
func doubleLong(v int32) data   { return binary.BigEndian.AppendUint32(data{tDoubleLong}, uint32(v)) }
func long64(v int64) data       { return binary.BigEndian.AppendUint64(data{tLong64}, uint64(v)) }
func long64U(v uint64) data     { return binary.BigEndian.AppendUint64(data{tLong64U}, v) }
func octets(b []byte) data      { return append(gbcs.AppendLength(data{tOctets}, len(b)), b...) }
func visible(s string) data     { return append(gbcs.AppendLength(data{tVisible}, len(s)), s...) }
func structure(el ...data) data { return seq(tStructure, el) }
func array(el ...data) data     { return seq(tArray, el) }

// b2u is the A-XDR boolean octet: any non-zero is TRUE; GBCS commands
// use 0xFF (RTDS).
func b2u(b bool) byte {
	if b {
		return 0xFF
	}
	return 0
}

func seq(tag byte, el []data) data {
	out := gbcs.AppendLength(data{tag}, len(el))
	for _, e := range el {
		out = append(out, e...)
	}
	return out
}

// bitString encodes a bit-string of n bits, bits[0] the first (MSB) bit.
func bitString(bits []bool) data {
	out := gbcs.AppendLength(data{tBitString}, len(bits))
	buf := make([]byte, (len(bits)+7)/8)
	for i, b := range bits {
		if b {
			buf[i/8] |= 0x80 >> (i % 8)
		}
	}
	return append(out, buf...)
}

// obis parses "a-b:c.d.e.f".
func obis(s string) []byte {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == ':' || r == '.' })
	if len(f) != 6 {
		panic("transform: bad OBIS " + s)
	}
	out := make([]byte, 6)
	for i, x := range f {
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 || n > 255 {
			panic("transform: bad OBIS " + s)
		}
		out[i] = byte(n)
	}
	return out
}

// DLMS access-request request-spec choices.
const (
	specGet    = 1
	specSet    = 2
	specAction = 3
	specGetSel = 4
)

// item is one request-spec of an access-request with its data.
type item struct {
	kind  byte
	class uint16
	obis  string
	id    uint8
	// selective access (get-with-selection): selector and parameters
	sel    uint8
	params data
	// data: null for get, the value for set, the parameter for action
	// (nil: null-data)
	data data
}

func get(class uint16, o string, attr uint8) item {
	return item{kind: specGet, class: class, obis: o, id: attr}
}
func set(class uint16, o string, attr uint8, v data) item {
	return item{kind: specSet, class: class, obis: o, id: attr, data: v}
}
func action(class uint16, o string, m uint8, v data) item {
	return item{kind: specAction, class: class, obis: o, id: m, data: v}
}

// accessRequest encodes a DLMS access-request: D9, long-invoke-id-and-
// priority (0x20 break-on-error ‖ low 24 bits of the originator counter),
// empty date-time, the request-specs and the data list.
func (c *ctx) accessRequest(items ...item) ([]byte, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("transform: empty access-request")
	}
	out := []byte{0xD9}
	out = binary.BigEndian.AppendUint32(out, 0x20000000|uint32(c.counter&0xFFFFFF))
	out = append(out, 0x00)
	out = gbcs.AppendLength(out, len(items))
	for _, it := range items {
		out = append(out, it.kind)
		out = binary.BigEndian.AppendUint16(out, it.class)
		out = append(out, obis(it.obis)...)
		out = append(out, it.id)
		if it.kind == specGetSel {
			out = append(out, it.sel)
			out = append(out, it.params...)
		}
	}
	out = gbcs.AppendLength(out, len(items))
	for _, it := range items {
		if it.data == nil {
			out = append(out, tNull)
		} else {
			out = append(out, it.data...)
		}
	}
	return out, nil
}

var epoch2000 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// parseTime parses xs:dateTime; without a zone it is UTC (GBCS times are UTC).
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad xs:dateTime %q", s)
}

// utcSeconds is seconds since 2000-01-01T00:00:00Z (GBCS UTC time in DLMS
// range descriptors and ZigBee UTCTime).
func utcSeconds(t time.Time) uint32 {
	d := t.Sub(epoch2000) / time.Second
	if d < 0 {
		return 0
	}
	return uint32(d)
}

// dlmsDateTime is the 12-byte DLMS date-time of t in UTC: day of week
// 0xFF (not specified), hundredths 0, deviation 0x8000 (not specified),
// clock status 0xFF (not specified) — the form GBCS commands use.
func dlmsDateTime(t time.Time) []byte {
	t = t.UTC()
	return []byte{byte(t.Year() >> 8), byte(t.Year()), byte(t.Month()), byte(t.Day()), 0xFF,
		byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0x00, 0x80, 0x00, 0xFF}
}

// dlmsNow and dlmsNever are the activation date-times "now" and "never".
func dlmsNow() []byte { return []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0xFF} }
func dlmsNever() []byte {
	return []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0xFF}
}
