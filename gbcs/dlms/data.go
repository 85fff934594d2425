package dlms

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// A-XDR Data tags (DLMS UA 1000-2, the COSEM Data CHOICE).
const (
	TagNull                    = 0x00
	TagArray                   = 0x01
	TagStructure               = 0x02
	TagBoolean                 = 0x03
	TagBitString               = 0x04
	TagDoubleLong              = 0x05
	TagDoubleLongUnsigned      = 0x06
	TagOctetString             = 0x09
	TagVisibleString           = 0x0a
	TagUTF8String              = 0x0c
	TagBCD                     = 0x0d
	TagInteger                 = 0x0f
	TagLong                    = 0x10
	TagUnsigned                = 0x11
	TagLongUnsigned            = 0x12
	TagCompactArray            = 0x13
	TagLong64                  = 0x14
	TagLong64Unsigned          = 0x15
	TagEnum                    = 0x16
	TagFloat32                 = 0x17
	TagFloat64                 = 0x18
	TagDateTime                = 0x19
	TagDate                    = 0x1a
	TagTime                    = 0x1b
	TagDeltaInteger            = 0x1c
	TagDeltaLong               = 0x1d
	TagDeltaDoubleLong         = 0x1e
	TagDeltaUnsigned           = 0x1f
	TagDeltaLongUnsigned       = 0x20
	TagDeltaDoubleLongUnsigned = 0x21
	TagDontCare                = 0xff
)

type dataKind int

const (
	kNull dataKind = iota
	kArray
	kStructure
	kBool
	kBits
	kInt  // signed, width bytes
	kUint // unsigned, width bytes
	kOctets
	kVisible
	kUTF8
	kCompact
	kFloat
	kFixedOctets // date-time, date, time: fixed width, no length
)

type dataType struct {
	name  string
	kind  dataKind
	width int
}

var dataTypes = map[byte]dataType{
	TagNull:                    {"null-data", kNull, 0},
	TagArray:                   {"array", kArray, 0},
	TagStructure:               {"structure", kStructure, 0},
	TagBoolean:                 {"boolean", kBool, 1},
	TagBitString:               {"bit-string", kBits, 0},
	TagDoubleLong:              {"double-long", kInt, 4},
	TagDoubleLongUnsigned:      {"double-long-unsigned", kUint, 4},
	TagOctetString:             {"octet-string", kOctets, 0},
	TagVisibleString:           {"visible-string", kVisible, 0},
	TagUTF8String:              {"utf8-string", kUTF8, 0},
	TagBCD:                     {"bcd", kInt, 1},
	TagInteger:                 {"integer", kInt, 1},
	TagLong:                    {"long", kInt, 2},
	TagUnsigned:                {"unsigned", kUint, 1},
	TagLongUnsigned:            {"long-unsigned", kUint, 2},
	TagCompactArray:            {"compact-array", kCompact, 0},
	TagLong64:                  {"long64", kInt, 8},
	TagLong64Unsigned:          {"long64-unsigned", kUint, 8},
	TagEnum:                    {"enum", kUint, 1},
	TagFloat32:                 {"float32", kFloat, 4},
	TagFloat64:                 {"float64", kFloat, 8},
	TagDateTime:                {"date-time", kFixedOctets, 12},
	TagDate:                    {"date", kFixedOctets, 5},
	TagTime:                    {"time", kFixedOctets, 4},
	TagDeltaInteger:            {"delta-integer", kInt, 1},
	TagDeltaLong:               {"delta-long", kInt, 2},
	TagDeltaDoubleLong:         {"delta-double-long", kInt, 4},
	TagDeltaUnsigned:           {"delta-unsigned", kUint, 1},
	TagDeltaLongUnsigned:       {"delta-long-unsigned", kUint, 2},
	TagDeltaDoubleLongUnsigned: {"delta-double-long-unsigned", kUint, 4},
	TagDontCare:                {"dont-care", kNull, 0},
}

var tagByName = func() map[string]byte {
	m := make(map[string]byte, len(dataTypes))
	for t, d := range dataTypes {
		m[d.name] = t
	}
	return m
}()

// DataTypeName returns the A-XDR type name of a Data tag ("" if unknown).
func DataTypeName(tag byte) string { return dataTypes[tag].name }

// IsDataType reports whether a node Type names an A-XDR Data type.
func IsDataType(typ string) bool { _, ok := tagByName[typ]; return ok }

// decodeData reads one tagged Data element.
func (d *decoder) decodeData(r *tree.Reader, name string) (*tree.Node, error) {
	start := r.Pos()
	tag, err := r.U8("A-XDR data tag")
	if err != nil {
		return nil, err
	}
	dt, ok := dataTypes[tag]
	if !ok {
		return nil, tree.Errorf(start, "unknown A-XDR data tag 0x%02x", tag)
	}
	n, err := r.Node(name, dt.name, start)
	if err != nil {
		return nil, err
	}
	switch dt.kind {
	case kArray, kStructure:
		count, nonMin, err := r.BERLength(dt.name + " element count")
		if err != nil {
			return nil, err
		}
		if nonMin > 0 {
			n.SetEnc("len", strconv.Itoa(nonMin))
		}
		if err := r.CheckCount(count, 1, dt.name, start+1); err != nil {
			return nil, err
		}
		if err := r.Enter(); err != nil {
			return nil, err
		}
		n.Children = make([]*tree.Node, 0, count)
		for i := 0; i < count; i++ {
			c, err := d.decodeData(r, "")
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, c)
		}
		r.Leave()
	case kCompact:
		if err := d.decodeCompact(r, n); err != nil {
			return nil, err
		}
	default:
		if err := decodeSimple(r, n, dt); err != nil {
			return nil, err
		}
	}
	return r.End(n), nil
}

// decodeSimple reads the content of a non-container type (no tag).
func decodeSimple(r *tree.Reader, n *tree.Node, dt dataType) error {
	switch dt.kind {
	case kNull:
	case kBool:
		b, err := r.U8(dt.name)
		if err != nil {
			return err
		}
		n.Value = b != 0
		if b > 1 {
			n.SetEnc("raw", tree.Hex([]byte{b}))
		}
	case kInt:
		v, err := r.UintBE(dt.width, dt.name)
		if err != nil {
			return err
		}
		shift := uint(64 - 8*dt.width)
		n.Value = int64(v<<shift) >> shift
	case kUint:
		v, err := r.UintBE(dt.width, dt.name)
		if err != nil {
			return err
		}
		n.Value = v
	case kFloat:
		b, err := r.Bytes(dt.width, dt.name)
		if err != nil {
			return err
		}
		var f float64
		if dt.width == 4 {
			f = float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
		} else {
			f = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			n.Value = tree.Hex(b)
			n.SetEnc("raw", tree.Hex(b))
		} else {
			n.Value = f
		}
	case kFixedOctets:
		b, err := r.Bytes(dt.width, dt.name)
		if err != nil {
			return err
		}
		n.Value = tree.Hex(b)
		switch dt.width {
		case 12:
			n.Text = DateTimeString(b)
		case 5:
			n.Text = dateString(b)
		case 4:
			n.Text = timeString(b)
		}
	case kBits:
		bits, nonMin, err := r.BERLength("bit-string length")
		if err != nil {
			return err
		}
		if nonMin > 0 {
			n.SetEnc("len", strconv.Itoa(nonMin))
		}
		b, err := r.Bytes((bits+7)/8, "bit-string")
		if err != nil {
			return err
		}
		n.Value = bitsString(b, bits)
		if !bytesEq(bitsBytes(n.Value.(string)), b) {
			n.SetEnc("raw", tree.Hex(b))
		}
	case kOctets, kVisible, kUTF8:
		l, nonMin, err := r.BERLength(dt.name + " length")
		if err != nil {
			return err
		}
		if nonMin > 0 {
			n.SetEnc("len", strconv.Itoa(nonMin))
		}
		b, err := r.Bytes(l, dt.name)
		if err != nil {
			return err
		}
		if dt.kind == kOctets {
			n.Value = tree.Hex(b)
			if len(b) == 12 && plausibleDateTime(b) {
				n.Text = DateTimeString(b)
			}
		} else if utf8.Valid(b) {
			n.Value = string(b)
		} else {
			n.Value = tree.Hex(b)
			n.SetEnc("raw", tree.Hex(b))
		}
	}
	return nil
}

func bitsString(b []byte, bits int) string {
	var sb strings.Builder
	sb.Grow(bits)
	for i := 0; i < bits; i++ {
		if b[i/8]&(0x80>>uint(i%8)) != 0 {
			sb.WriteByte('1')
		} else {
			sb.WriteByte('0')
		}
	}
	return sb.String()
}

func bitsBytes(s string) []byte {
	out := make([]byte, (len(s)+7)/8)
	for i := 0; i < len(s); i++ {
		if s[i] == '1' {
			out[i/8] |= 0x80 >> uint(i%8)
		}
	}
	return out
}

func bytesEq(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// decodeCompact reads a compact-array: a type description and the contents
// octet-string, whose elements are encoded without tags.
func (d *decoder) decodeCompact(r *tree.Reader, n *tree.Node) error {
	if err := r.Enter(); err != nil {
		return err
	}
	defer r.Leave()
	desc, err := d.decodeTypeDesc(r)
	if err != nil {
		return err
	}
	cstart := r.Pos()
	l, nonMin, err := r.BERLength("compact-array contents length")
	if err != nil {
		return err
	}
	contents, err := r.Node("contents", "compact-array-contents", cstart)
	if err != nil {
		return err
	}
	if nonMin > 0 {
		contents.SetEnc("len", strconv.Itoa(nonMin))
	}
	body, err := r.Sub(l, "compact-array contents")
	if err != nil {
		return err
	}
	width, fixed := descWidth(desc)
	if fixed && width == 0 && l > 0 {
		return tree.Errorf(cstart, "compact-array of zero-width elements with %d content bytes", l)
	}
	if fixed && width > 0 && l%width != 0 {
		return tree.Errorf(cstart, "compact-array contents of %d bytes are not a multiple of the element size %d", l, width)
	}
	if fixed && width > 0 {
		if err := body.CheckCount(l/width, width, "compact-array", cstart); err != nil {
			return err
		}
		contents.Children = make([]*tree.Node, 0, l/width)
	}
	for !body.Done() {
		before := body.Len()
		e, err := d.decodeUntagged(body, desc, "")
		if err != nil {
			return err
		}
		if body.Len() == before {
			return tree.Errorf(e.Offset, "compact-array element of zero size with contents left")
		}
		contents.Add(e)
	}
	r.End(contents)
	n.Add(desc, contents)
	return nil
}

// decodeTypeDesc reads a TypeDescription.
func (d *decoder) decodeTypeDesc(r *tree.Reader) (*tree.Node, error) {
	start := r.Pos()
	tag, err := r.U8("type description")
	if err != nil {
		return nil, err
	}
	dt, ok := dataTypes[tag]
	if !ok {
		return nil, tree.Errorf(start, "unknown A-XDR type 0x%02x in a type description", tag)
	}
	n, err := r.Node("type", "type-description", start)
	if err != nil {
		return nil, err
	}
	n.Value = uint64(tag)
	n.Text = dt.name
	if err := r.Enter(); err != nil {
		return nil, err
	}
	defer r.Leave()
	switch dt.kind {
	case kArray:
		cs := r.Pos()
		count, err := r.UintBE(2, "compact array number-of-elements")
		if err != nil {
			return nil, err
		}
		cn, err := r.Node("number-of-elements", "u16", cs)
		if err != nil {
			return nil, err
		}
		cn.Value = count
		r.End(cn)
		el, err := d.decodeTypeDesc(r)
		if err != nil {
			return nil, err
		}
		n.Add(cn, el)
	case kStructure:
		cs := r.Pos()
		count, nonMin, err := r.BERLength("structure description count")
		if err != nil {
			return nil, err
		}
		if nonMin > 0 {
			n.SetEnc("len", strconv.Itoa(nonMin))
		}
		if err := r.CheckCount(count, 1, "structure description", cs); err != nil {
			return nil, err
		}
		for i := 0; i < count; i++ {
			c, err := d.decodeTypeDesc(r)
			if err != nil {
				return nil, err
			}
			n.Add(c)
		}
	case kCompact:
		return nil, tree.Errorf(start, "compact-array inside a compact-array type description")
	}
	return r.End(n), nil
}

// descWidth returns the encoded size of an element of the description when
// it is fixed (no variable-length parts).
func descWidth(desc *tree.Node) (int, bool) {
	tag := byte(desc.Value.(uint64))
	dt := dataTypes[tag]
	switch dt.kind {
	case kNull:
		return 0, true
	case kBool:
		return 1, true
	case kInt, kUint, kFloat, kFixedOctets:
		return dt.width, true
	case kArray:
		count := int(desc.Children[0].Value.(uint64))
		w, ok := descWidth(desc.Children[1])
		if !ok {
			return 0, false
		}
		return sat(count * w), true
	case kStructure:
		total := 0
		for _, c := range desc.Children {
			w, ok := descWidth(c)
			if !ok {
				return 0, false
			}
			total = sat(total + w)
		}
		return total, true
	}
	return 0, false
}

// decodeUntagged reads one compact-array element following its description.
func (d *decoder) decodeUntagged(r *tree.Reader, desc *tree.Node, name string) (*tree.Node, error) {
	start := r.Pos()
	tag := byte(desc.Value.(uint64))
	dt := dataTypes[tag]
	n, err := r.Node(name, dt.name, start)
	if err != nil {
		return nil, err
	}
	switch dt.kind {
	case kArray:
		count := int(desc.Children[0].Value.(uint64))
		if err := r.CheckCount(count, 0, "compact array element", start); err != nil {
			return nil, err
		}
		if w, ok := descWidth(desc.Children[1]); ok && w > 0 && count > r.Len()/w {
			return nil, r.Errorf("compact array of %d elements of %d bytes cannot fit in %d bytes", count, w, r.Len())
		}
		if err := r.Enter(); err != nil {
			return nil, err
		}
		for i := 0; i < count; i++ {
			c, err := d.decodeUntagged(r, desc.Children[1], "")
			if err != nil {
				return nil, err
			}
			n.Add(c)
		}
		r.Leave()
	case kStructure:
		if err := r.Enter(); err != nil {
			return nil, err
		}
		for _, cd := range desc.Children {
			c, err := d.decodeUntagged(r, cd, "")
			if err != nil {
				return nil, err
			}
			n.Add(c)
		}
		r.Leave()
	default:
		if err := decodeSimple(r, n, dt); err != nil {
			return nil, err
		}
	}
	return r.End(n), nil
}

// sat caps computed element sizes so that nested counts cannot overflow.
func sat(w int) int {
	if w > 1<<32 || w < 0 {
		return 1 << 32
	}
	return w
}
