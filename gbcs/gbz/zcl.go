package gbz

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// zclKind classifies ZCL data types by encoding.
type zclKind int

const (
	zNone        zclKind = iota // no data
	zUint                       // unsigned little-endian integer: uintN, enumN, bitmapN, dataN, ids, ToD...
	zInt                        // signed little-endian integer
	zBool                       // boolean
	zFloat                      // float32/float64 (semi precision kept as hex)
	zOctStr                     // 1-byte length octet string
	zCharStr                    // 1-byte length character string
	zLongOctStr                 // 2-byte length octet string
	zLongCharStr                // 2-byte length character string
	zArray                      // element type, 2-byte count, elements
	zStruct                     // 2-byte count, (type, value) elements
	zBytes                      // fixed-width octets (IEEE address, key, semi float)
	zUTC                        // UTCTime: uint32 seconds since 2000-01-01
	zDate                       // Date: year-1900, month, day, weekday
)

// ZCLType describes a ZCL data type (ZCL specification, data type table).
type ZCLType struct {
	ID    byte
	Name  string
	kind  zclKind
	width int
}

var zclTypes = []ZCLType{
	{0x00, "nodata", zNone, 0},
	{0x08, "data8", zUint, 1}, {0x09, "data16", zUint, 2}, {0x0a, "data24", zUint, 3}, {0x0b, "data32", zUint, 4},
	{0x0c, "data40", zUint, 5}, {0x0d, "data48", zUint, 6}, {0x0e, "data56", zUint, 7}, {0x0f, "data64", zUint, 8},
	{0x10, "bool", zBool, 1},
	{0x18, "bitmap8", zUint, 1}, {0x19, "bitmap16", zUint, 2}, {0x1a, "bitmap24", zUint, 3}, {0x1b, "bitmap32", zUint, 4},
	{0x1c, "bitmap40", zUint, 5}, {0x1d, "bitmap48", zUint, 6}, {0x1e, "bitmap56", zUint, 7}, {0x1f, "bitmap64", zUint, 8},
	{0x20, "uint8", zUint, 1}, {0x21, "uint16", zUint, 2}, {0x22, "uint24", zUint, 3}, {0x23, "uint32", zUint, 4},
	{0x24, "uint40", zUint, 5}, {0x25, "uint48", zUint, 6}, {0x26, "uint56", zUint, 7}, {0x27, "uint64", zUint, 8},
	{0x28, "int8", zInt, 1}, {0x29, "int16", zInt, 2}, {0x2a, "int24", zInt, 3}, {0x2b, "int32", zInt, 4},
	{0x2c, "int40", zInt, 5}, {0x2d, "int48", zInt, 6}, {0x2e, "int56", zInt, 7}, {0x2f, "int64", zInt, 8},
	{0x30, "enum8", zUint, 1}, {0x31, "enum16", zUint, 2},
	{0x38, "semi", zBytes, 2}, {0x39, "single", zFloat, 4}, {0x3a, "double", zFloat, 8},
	{0x41, "octstr", zOctStr, 0}, {0x42, "string", zCharStr, 0}, {0x43, "octstr16", zLongOctStr, 0}, {0x44, "string16", zLongCharStr, 0},
	{0x48, "array", zArray, 0}, {0x4c, "struct", zStruct, 0}, {0x50, "set", zArray, 0}, {0x51, "bag", zArray, 0},
	{0xe0, "ToD", zUint, 4}, {0xe1, "date", zDate, 4}, {0xe2, "UTC", zUTC, 4},
	{0xe8, "clusterId", zUint, 2}, {0xe9, "attribId", zUint, 2}, {0xea, "bacOID", zUint, 4},
	{0xf0, "EUI64", zBytes, 8}, {0xf1, "key128", zBytes, 16},
	{0xff, "unknown", zNone, 0},
}

var zclByID, zclByName = func() (map[byte]ZCLType, map[string]ZCLType) {
	a, b := map[byte]ZCLType{}, map[string]ZCLType{}
	for _, t := range zclTypes {
		a[t.ID] = t
		b[t.Name] = t
	}
	return a, b
}()

// ZCLTypeByID returns the ZCL data type with the given id.
func ZCLTypeByID(id byte) (ZCLType, bool) { t, ok := zclByID[id]; return t, ok }

// IsZCLType reports whether a node Type names a ZCL data type.
func IsZCLType(name string) bool { _, ok := zclByName[name]; return ok }

// decodeZCL reads one value of ZCL type t (little-endian) into a new node.
func decodeZCL(r *tree.Reader, name string, t ZCLType) (*tree.Node, error) {
	start := r.Pos()
	n, err := r.Node(name, t.Name, start)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case zNone:
	case zUint:
		v, err := r.UintLE(t.width, name)
		if err != nil {
			return nil, err
		}
		n.Value = v
	case zInt:
		v, err := r.UintLE(t.width, name)
		if err != nil {
			return nil, err
		}
		shift := uint(64 - 8*t.width)
		n.Value = int64(v<<shift) >> shift
	case zBool:
		b, err := r.U8(name)
		if err != nil {
			return nil, err
		}
		switch b {
		case 0, 1:
			n.Value = b == 1
		default:
			n.Value = tree.Hex([]byte{b})
			n.SetEnc("raw", tree.Hex([]byte{b}))
			if b == 0xff {
				n.Text = "invalid"
			}
		}
	case zFloat:
		b, err := r.Bytes(t.width, name)
		if err != nil {
			return nil, err
		}
		var f float64
		if t.width == 4 {
			f = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		} else {
			f = math.Float64frombits(binary.LittleEndian.Uint64(b))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			n.Value = tree.Hex(b)
			n.SetEnc("raw", tree.Hex(b))
		} else {
			n.Value = f
		}
	case zBytes:
		b, err := r.Bytes(t.width, name)
		if err != nil {
			return nil, err
		}
		n.Value = tree.Hex(b)
	case zUTC:
		v, err := r.UintLE(4, name)
		if err != nil {
			return nil, err
		}
		n.Value = v
		n.Text = UTCText(uint32(v))
	case zDate:
		b, err := r.Bytes(4, name)
		if err != nil {
			return nil, err
		}
		n.Value = tree.Hex(b)
		n.Text = DateText(b)
	case zOctStr, zCharStr, zLongOctStr, zLongCharStr:
		lw := 1
		if t.kind == zLongOctStr || t.kind == zLongCharStr {
			lw = 2
		}
		l, err := r.UintLE(lw, name+" length")
		if err != nil {
			return nil, err
		}
		if (lw == 1 && l == 0xff) || (lw == 2 && l == 0xffff) {
			n.SetEnc("strlen", "invalid")
			n.Text = "invalid string"
			break
		}
		b, err := r.Bytes(int(l), name)
		if err != nil {
			return nil, err
		}
		if t.kind == zOctStr || t.kind == zLongOctStr {
			n.Value = tree.Hex(b)
			if printable(b) {
				n.Text = strconv.Quote(string(b))
			}
		} else if utf8.Valid(b) {
			n.Value = string(b)
		} else {
			n.Value = tree.Hex(b)
			n.SetEnc("raw", tree.Hex(b))
		}
	case zArray:
		et, err := r.U8(name + " element type")
		if err != nil {
			return nil, err
		}
		elem, ok := zclByID[et]
		if !ok {
			return nil, tree.Errorf(start+1, "unknown ZCL data type 0x%02x in an array", et)
		}
		count, err := r.UintLE(2, name+" count")
		if err != nil {
			return nil, err
		}
		n.Value = uint64(et)
		n.Text = "of " + elem.Name
		min := elem.width
		if min == 0 && elem.kind != zNone {
			min = 1
		}
		if elem.kind == zNone && count > 0 {
			return nil, tree.Errorf(start, "ZCL array of %d elements without data", count)
		}
		if err := r.CheckCount(int(count), min, name, start); err != nil {
			return nil, err
		}
		if err := r.Enter(); err != nil {
			return nil, err
		}
		for i := 0; i < int(count); i++ {
			c, err := decodeZCL(r, "", elem)
			if err != nil {
				return nil, err
			}
			n.Add(c)
		}
		r.Leave()
	case zStruct:
		count, err := r.UintLE(2, name+" count")
		if err != nil {
			return nil, err
		}
		if err := r.CheckCount(int(count), 1, name, start); err != nil {
			return nil, err
		}
		if err := r.Enter(); err != nil {
			return nil, err
		}
		for i := 0; i < int(count); i++ {
			c, err := decodeTyped(r, "")
			if err != nil {
				return nil, err
			}
			n.Add(c)
		}
		r.Leave()
	}
	return r.End(n), nil
}

// decodeTyped reads a type id and a value of that type; the node carries
// the value's type, so the id is not stored separately.
func decodeTyped(r *tree.Reader, name string) (*tree.Node, error) {
	start := r.Pos()
	id, err := r.U8("ZCL data type")
	if err != nil {
		return nil, err
	}
	t, ok := zclByID[id]
	if !ok {
		return nil, tree.Errorf(start, "unknown ZCL data type 0x%02x", id)
	}
	n, err := decodeZCL(r, name, t)
	if err != nil {
		return nil, err
	}
	n.Offset = start
	return r.End(n), nil
}

func printable(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// Epoch2000 is the origin of ZigBee UTCTime.
var Epoch2000 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// UTCText renders a ZigBee UTCTime (seconds since 2000-01-01 UTC).
func UTCText(v uint32) string {
	switch v {
	case 0:
		return "0 (now)"
	case 0xffffffff:
		return "0xFFFFFFFF (invalid / cancel)"
	case 0xfffffffe:
		return "0xFFFFFFFE"
	}
	return Epoch2000.Add(time.Duration(v) * time.Second).Format(time.RFC3339)
}

// DateText renders a ZCL Date (year-1900, month, day, weekday; 0xFF = any).
func DateText(b []byte) string {
	if len(b) != 4 {
		return ""
	}
	f := func(v byte, w int, add int) string {
		if v == 0xff {
			return "**"
		}
		return fmt.Sprintf("%0*d", w, int(v)+add)
	}
	s := f(b[0], 4, 1900) + "-" + f(b[1], 2, 0) + "-" + f(b[2], 2, 0)
	if b[3] != 0xff {
		s += fmt.Sprintf(" wd%d", b[3])
	}
	return s
}

// appendZCL writes a value node of a ZCL type.
func appendZCL(dst []byte, n *tree.Node, depth int) ([]byte, error) {
	t, ok := zclByName[n.Type]
	if !ok {
		return nil, tree.EncodeErr(n, "not a ZCL data type")
	}
	if depth > 1000 {
		return nil, tree.EncodeErr(n, "tree too deep")
	}
	raw, hasRaw := n.EncRaw()
	switch t.kind {
	case zNone:
		return dst, nil
	case zUint, zUTC:
		v, err := n.Uint()
		if err != nil {
			return nil, err
		}
		if t.width < 8 && v>>(8*uint(t.width)) != 0 {
			return nil, tree.EncodeErr(n, "value %d does not fit in %d bytes", v, t.width)
		}
		return tree.PutLE(dst, v, t.width), nil
	case zInt:
		v, err := n.Int()
		if err != nil {
			return nil, err
		}
		if t.width < 8 {
			lo, hi := int64(-1)<<(8*uint(t.width)-1), int64(1)<<(8*uint(t.width)-1)-1
			if v < lo || v > hi {
				return nil, tree.EncodeErr(n, "value %d out of range", v)
			}
		}
		return tree.PutLE(dst, uint64(v), t.width), nil
	case zBool:
		if hasRaw {
			return append(dst, raw...), nil
		}
		b, err := n.Bool()
		if err != nil {
			return nil, err
		}
		if b {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case zFloat:
		if hasRaw {
			return append(dst, raw...), nil
		}
		f, err := n.Float()
		if err != nil {
			return nil, err
		}
		if t.width == 4 {
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(f))), nil
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), nil
	case zBytes, zDate:
		b, err := n.Octets()
		if err != nil {
			return nil, err
		}
		if len(b) != t.width {
			return nil, tree.EncodeErr(n, "%d bytes, want %d", len(b), t.width)
		}
		return append(dst, b...), nil
	case zOctStr, zCharStr, zLongOctStr, zLongCharStr:
		lw := 1
		if t.kind == zLongOctStr || t.kind == zLongCharStr {
			lw = 2
		}
		if v, ok := n.EncItem("strlen"); ok && v == "invalid" {
			if lw == 1 {
				return append(dst, 0xff), nil
			}
			return append(dst, 0xff, 0xff), nil
		}
		var b []byte
		var err error
		switch {
		case hasRaw:
			b = raw
		case t.kind == zOctStr || t.kind == zLongOctStr:
			b, err = n.Octets()
		default:
			var s string
			s, err = n.Str()
			b = []byte(s)
		}
		if err != nil {
			return nil, err
		}
		max := 0xfe
		if lw == 2 {
			max = 0xfffe
		}
		if len(b) > max {
			return nil, tree.EncodeErr(n, "string of %d bytes too long", len(b))
		}
		return append(tree.PutLE(dst, uint64(len(b)), lw), b...), nil
	case zArray:
		et, err := n.Uint()
		if err != nil {
			return nil, err
		}
		elem, ok := zclByID[byte(et)]
		if !ok || et > 0xff {
			return nil, tree.EncodeErr(n, "unknown element type 0x%x", et)
		}
		if len(n.Children) > 0xffff {
			return nil, tree.EncodeErr(n, "too many elements")
		}
		dst = append(dst, byte(et))
		dst = tree.PutLE(dst, uint64(len(n.Children)), 2)
		for _, c := range n.Children {
			if c.Type != elem.Name {
				return nil, tree.EncodeErr(c, "array element of type %s, want %s", c.Type, elem.Name)
			}
			if dst, err = appendZCL(dst, c, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case zStruct:
		if len(n.Children) > 0xffff {
			return nil, tree.EncodeErr(n, "too many elements")
		}
		dst = tree.PutLE(dst, uint64(len(n.Children)), 2)
		var err error
		for _, c := range n.Children {
			if dst, err = appendTyped(dst, c, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	}
	return nil, tree.EncodeErr(n, "cannot encode")
}

// appendTyped writes a type id followed by the value.
func appendTyped(dst []byte, n *tree.Node, depth int) ([]byte, error) {
	t, ok := zclByName[n.Type]
	if !ok {
		return nil, tree.EncodeErr(n, "not a ZCL data type")
	}
	return appendZCL(append(dst, t.ID), n, depth)
}
