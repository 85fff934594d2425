package sim

import (
	"strconv"
	"strings"
	"sync"

	"github.com/opendcc/opendcc/gbcs/dlms"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// dtype is a parsed annex attribute type (annex_types_gen.go, grammar in
// sim/internal/annexgen).
type dtype struct {
	typ   string // leaf DLMS type, "structure" or "array"
	n     int    // leaf length (octet-string, bit-string); array maximum
	twin  bool   // present on twin-element ESMEs only
	elems []*dtype
}

var (
	annexOnce   sync.Once
	annexParsed map[objKey]*dtype
)

// annexType returns the annex's type of an attribute, or nil.
func annexType(k objKey) *dtype {
	annexOnce.Do(func() {
		annexParsed = make(map[objKey]*dtype, len(annexTypes))
		for k, s := range annexTypes {
			if t, rest := parseDType(s); t != nil && rest == "" {
				annexParsed[k] = t
			}
		}
	})
	return annexParsed[k]
}

func parseDType(s string) (*dtype, string) {
	twin := strings.HasPrefix(s, "?")
	s = strings.TrimPrefix(s, "?")
	var t *dtype
	switch {
	case strings.HasPrefix(s, "{"):
		t = &dtype{typ: "structure"}
		s = s[1:]
		for len(s) > 0 && s[0] != '}' {
			e, rest := parseDType(s)
			if e == nil {
				return nil, s
			}
			t.elems = append(t.elems, e)
			s = strings.TrimPrefix(rest, ",")
		}
		if !strings.HasPrefix(s, "}") {
			return nil, s
		}
		s = s[1:]
	case strings.HasPrefix(s, "["):
		i := strings.IndexByte(s, ']')
		if i < 0 {
			return nil, s
		}
		max, _ := strconv.Atoi(s[1:i])
		e, rest := parseDType(s[i+1:])
		if e == nil {
			return nil, rest
		}
		t, s = &dtype{typ: "array", n: max, elems: []*dtype{e}}, rest
	default:
		i := strings.IndexAny(s, ",}")
		if i < 0 {
			i = len(s)
		}
		leaf := s[:i]
		s = s[i:]
		t = &dtype{typ: leaf}
		if j := strings.IndexByte(leaf, ':'); j >= 0 {
			t.typ = leaf[:j]
			t.n, _ = strconv.Atoi(leaf[j+1:])
		}
		if !dlms.IsDataType(t.typ) {
			return nil, s
		}
	}
	t.twin = twin
	return t, s
}

// zero builds a value of the type: arrays with one element (a device
// holding one entry), leaves zero (date-times: now).
func (t *dtype) zero(x *exec) *tree.Node {
	twin := x.d.Type == ESMETwin
	switch t.typ {
	case "structure":
		s := structure()
		for _, e := range t.elems {
			if e.twin && !twin {
				continue
			}
			s.Add(e.zero(x))
		}
		return s
	case "array":
		return array(t.elems[0].zero(x))
	}
	return leafZero(x, t.typ, t.n)
}

func leafZero(x *exec, typ string, n int) *tree.Node {
	switch typ {
	case "octet-string":
		if n == 12 {
			return octets(dlmsTime(x.d.fleet.clock.Now()))
		}
		return octets(make([]byte, n))
	case "bit-string":
		if n == 0 {
			n = 8
		}
		return nd(typ, strings.Repeat("0", n))
	case "visible-string", "utf8-string":
		return nd(typ, "")
	case "boolean":
		return boolean(false)
	case "integer", "long", "double-long", "long64":
		return nd(typ, int64(0))
	case "null-data":
		return null()
	}
	return nd(typ, uint64(0))
}

// row fills an entry of a log buffer of this type from a log record:
// the first double-long-unsigned is the timestamp (seconds since
// 2000-01-01), the first long-unsigned the log code, the next
// double-long-unsigned the value; the rest zero.
func (t *dtype) row(x *exec, ts uint64, code uint16, value uint64) *tree.Node {
	twin := x.d.Type == ESMETwin
	if t.typ != "structure" {
		return t.zero(x)
	}
	s := structure()
	dlu, lu := 0, 0
	for _, e := range t.elems {
		if e.twin && !twin {
			continue
		}
		switch {
		case e.typ == "double-long-unsigned" && dlu == 0:
			s.Add(u32(uint32(ts)))
			dlu++
		case e.typ == "double-long-unsigned" && dlu == 1:
			s.Add(u32(uint32(value)))
			dlu++
		case e.typ == "long-unsigned" && lu == 0:
			s.Add(u16(code))
			lu++
		default:
			s.Add(e.zero(x))
		}
	}
	return s
}

// typeDesc is the compact-array type description of the type (arrays with
// their one-element count, as zero builds them).
func (t *dtype) typeDesc(x *exec, count int) *tree.Node {
	twin := x.d.Type == ESMETwin
	tag := dlmsTag(t.typ)
	d := &tree.Node{Type: "type-description", Value: uint64(tag)}
	switch t.typ {
	case "structure":
		for _, e := range t.elems {
			if e.twin && !twin {
				continue
			}
			d.Add(e.typeDesc(x, 1))
		}
	case "array":
		d.Add(named("number-of-elements", "u16", uint64(count)), t.elems[0].typeDesc(x, 1))
	}
	return d
}

var dlmsTags = map[string]byte{
	"null-data": dlms.TagNull, "array": dlms.TagArray, "structure": dlms.TagStructure, "boolean": dlms.TagBoolean,
	"bit-string": dlms.TagBitString, "double-long": dlms.TagDoubleLong, "double-long-unsigned": dlms.TagDoubleLongUnsigned,
	"octet-string": dlms.TagOctetString, "visible-string": dlms.TagVisibleString, "utf8-string": dlms.TagUTF8String,
	"integer": dlms.TagInteger, "long": dlms.TagLong, "unsigned": dlms.TagUnsigned, "long-unsigned": dlms.TagLongUnsigned,
	"long64": dlms.TagLong64, "long64-unsigned": dlms.TagLong64Unsigned, "enum": dlms.TagEnum,
}

func dlmsTag(typ string) byte { return dlmsTags[typ] }

// compact turns a buffer (array of rows of the element type) into the
// compact-array devices answer for Profile Generic buffers (GBCS §18.2).
func compact(x *exec, elem *dtype, rows *tree.Node) *tree.Node {
	c := &tree.Node{Type: "compact-array"}
	contents := &tree.Node{Type: "compact-array-contents", Children: []*tree.Node{}}
	contents.Children = append(contents.Children, rows.Children...)
	c.Add(elem.typeDesc(x, 1), contents)
	return c
}
