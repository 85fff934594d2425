package dlms

import (
	"encoding/binary"
	"math"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Encode writes a DLMS APDU tree (as made by Decode) back to bytes. View
// children of leaves (protected-block parts, decrypted plaintext, alert
// payload fields) are ignored: the leaf Value is what is written.
func Encode(n *tree.Node) ([]byte, error) {
	if n == nil {
		return nil, tree.EncodeErr(nil, "nil node")
	}
	var tag byte
	var want []string
	switch n.Type {
	case TypeAccessRequest:
		tag, want = TagAccessRequest, []string{"u32", "octets", "list", "list"}
	case TypeAccessResponse:
		tag, want = TagAccessResponse, []string{"u32", "octets", "optional", "list", "list"}
	case TypeDataNotification:
		tag = TagDataNotification
		want = []string{"u32", "octets", ""}
	default:
		return nil, tree.EncodeErr(n, "not a DLMS APDU")
	}
	if len(n.Children) != len(want) {
		return nil, tree.EncodeErr(n, "has %d children, want %d", len(n.Children), len(want))
	}
	for i, w := range want {
		if w != "" && n.Children[i].Type != w {
			return nil, tree.EncodeErr(n.Children[i], "want type %s", w)
		}
	}
	out := []byte{tag}
	var err error
	for _, c := range n.Children {
		if out, err = AppendNode(out, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AppendNode appends the encoding of one DLMS node: an APDU field type
// (u8, u16, u32, u64, obis, octets, list, optional, request-spec,
// response-spec) or a tagged A-XDR Data element.
func AppendNode(dst []byte, n *tree.Node) ([]byte, error) {
	return appendNode(dst, n, 0)
}

func appendNode(dst []byte, n *tree.Node, depth int) ([]byte, error) {
	if n == nil {
		return nil, tree.EncodeErr(nil, "nil node")
	}
	if depth > 1000 {
		return nil, tree.EncodeErr(n, "tree too deep")
	}
	var err error
	switch n.Type {
	case "u8", "u16", "u32", "u64":
		return appendFixed(dst, n, map[string]int{"u8": 1, "u16": 2, "u32": 4, "u64": 8}[n.Type])
	case "obis":
		b, err := n.Octets()
		if err != nil {
			return nil, err
		}
		if len(b) != 6 {
			return nil, tree.EncodeErr(n, "OBIS code of %d bytes", len(b))
		}
		return append(dst, b...), nil
	case "octets":
		b, err := n.Octets()
		if err != nil {
			return nil, err
		}
		return appendLenBytes(dst, n, b)
	case "list":
		if dst, err = tree.AppendLength(dst, len(n.Children), n.EncLen()); err != nil {
			return nil, tree.EncodeErr(n, "%v", err)
		}
		return appendChildren(dst, n, depth)
	case "optional":
		present, err := n.Bool()
		if err != nil {
			return nil, err
		}
		if !present {
			return append(dst, 0), nil
		}
		return appendChildren(append(dst, 1), n, depth)
	case "request-spec", "response-spec":
		choice, err := n.Uint()
		if err != nil {
			return nil, err
		}
		if choice > 0xff {
			return nil, tree.EncodeErr(n, "choice %d out of range", choice)
		}
		return appendChildren(append(dst, byte(choice)), n, depth)
	}
	tag, ok := tagByName[n.Type]
	if !ok {
		return nil, tree.EncodeErr(n, "unknown DLMS node type")
	}
	dst = append(dst, tag)
	return appendData(dst, n, tag, depth)
}

func appendChildren(dst []byte, n *tree.Node, depth int) ([]byte, error) {
	var err error
	for _, c := range n.Children {
		if dst, err = appendNode(dst, c, depth+1); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func appendFixed(dst []byte, n *tree.Node, width int) ([]byte, error) {
	v, err := n.Uint()
	if err != nil {
		return nil, err
	}
	if width < 8 && v>>(8*uint(width)) != 0 {
		return nil, tree.EncodeErr(n, "value %d does not fit in %d bytes", v, width)
	}
	return tree.PutBE(dst, v, width), nil
}

func appendLenBytes(dst []byte, n *tree.Node, b []byte) ([]byte, error) {
	dst, err := tree.AppendLength(dst, len(b), n.EncLen())
	if err != nil {
		return nil, tree.EncodeErr(n, "%v", err)
	}
	return append(dst, b...), nil
}

// appendData writes the content of a Data element after its tag (or, inside
// a compact array, with no tag at all).
func appendData(dst []byte, n *tree.Node, tag byte, depth int) ([]byte, error) {
	dt := dataTypes[tag]
	var err error
	switch dt.kind {
	case kArray, kStructure:
		if dst, err = tree.AppendLength(dst, len(n.Children), n.EncLen()); err != nil {
			return nil, tree.EncodeErr(n, "%v", err)
		}
		for _, c := range n.Children {
			if dst, err = appendNode(dst, c, depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case kCompact:
		return appendCompact(dst, n, depth)
	}
	return appendSimple(dst, n, dt)
}

func appendSimple(dst []byte, n *tree.Node, dt dataType) ([]byte, error) {
	raw, hasRaw := n.EncRaw()
	switch dt.kind {
	case kNull:
		return dst, nil
	case kBool:
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
	case kInt:
		v, err := n.Int()
		if err != nil {
			return nil, err
		}
		lo, hi := int64(-1)<<(8*uint(dt.width)-1), int64(1)<<(8*uint(dt.width)-1)-1
		if dt.width < 8 && (v < lo || v > hi) {
			return nil, tree.EncodeErr(n, "value %d out of range", v)
		}
		return tree.PutBE(dst, uint64(v), dt.width), nil
	case kUint:
		return appendFixed(dst, n, dt.width)
	case kFloat:
		if hasRaw {
			return append(dst, raw...), nil
		}
		f, err := n.Float()
		if err != nil {
			return nil, err
		}
		if dt.width == 4 {
			return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(f))), nil
		}
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(f)), nil
	case kFixedOctets:
		b, err := n.Octets()
		if err != nil {
			return nil, err
		}
		if len(b) != dt.width {
			return nil, tree.EncodeErr(n, "%d bytes, want %d", len(b), dt.width)
		}
		return append(dst, b...), nil
	case kBits:
		s, err := n.Str()
		if err != nil {
			return nil, err
		}
		for _, c := range s {
			if c != '0' && c != '1' {
				return nil, tree.EncodeErr(n, "bit-string value must be 0/1 characters")
			}
		}
		dst, err = tree.AppendLength(dst, len(s), n.EncLen())
		if err != nil {
			return nil, tree.EncodeErr(n, "%v", err)
		}
		if hasRaw {
			return append(dst, raw...), nil
		}
		return append(dst, bitsBytes(s)...), nil
	case kOctets:
		b, err := n.Octets()
		if err != nil {
			return nil, err
		}
		return appendLenBytes(dst, n, b)
	case kVisible, kUTF8:
		if hasRaw {
			return appendLenBytes(dst, n, raw)
		}
		s, err := n.Str()
		if err != nil {
			return nil, err
		}
		return appendLenBytes(dst, n, []byte(s))
	}
	return nil, tree.EncodeErr(n, "cannot encode")
}

func appendCompact(dst []byte, n *tree.Node, depth int) ([]byte, error) {
	if len(n.Children) != 2 || n.Children[0].Type != "type-description" || n.Children[1].Type != "compact-array-contents" {
		return nil, tree.EncodeErr(n, "want children type-description and compact-array-contents")
	}
	desc := n.Children[0]
	var err error
	if dst, err = appendTypeDesc(dst, desc, depth+1); err != nil {
		return nil, err
	}
	var body []byte
	for _, e := range n.Children[1].Children {
		if body, err = appendUntagged(body, e, desc, depth+1); err != nil {
			return nil, err
		}
	}
	return appendLenBytes(dst, n.Children[1], body)
}

func appendTypeDesc(dst []byte, d *tree.Node, depth int) ([]byte, error) {
	if depth > 1000 {
		return nil, tree.EncodeErr(d, "tree too deep")
	}
	v, err := d.Uint()
	if err != nil {
		return nil, err
	}
	dt, ok := dataTypes[byte(v)]
	if !ok || v > 0xff || dt.kind == kCompact {
		return nil, tree.EncodeErr(d, "bad type 0x%x", v)
	}
	dst = append(dst, byte(v))
	switch dt.kind {
	case kArray:
		if len(d.Children) != 2 {
			return nil, tree.EncodeErr(d, "array description wants number-of-elements and an element type")
		}
		if dst, err = appendFixed(dst, d.Children[0], 2); err != nil {
			return nil, err
		}
		return appendTypeDesc(dst, d.Children[1], depth+1)
	case kStructure:
		if dst, err = tree.AppendLength(dst, len(d.Children), d.EncLen()); err != nil {
			return nil, tree.EncodeErr(d, "%v", err)
		}
		for _, c := range d.Children {
			if dst, err = appendTypeDesc(dst, c, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return dst, nil
}

func appendUntagged(dst []byte, e, desc *tree.Node, depth int) ([]byte, error) {
	if depth > 1000 {
		return nil, tree.EncodeErr(e, "tree too deep")
	}
	v, err := desc.Uint()
	if err != nil {
		return nil, err
	}
	dt := dataTypes[byte(v)]
	if e.Type != dt.name {
		return nil, tree.EncodeErr(e, "compact-array element of type %s where the description says %s", e.Type, dt.name)
	}
	switch dt.kind {
	case kArray:
		count, err := desc.Children[0].Uint()
		if err != nil {
			return nil, err
		}
		if uint64(len(e.Children)) != count {
			return nil, tree.EncodeErr(e, "%d elements where the description says %d", len(e.Children), count)
		}
		for _, c := range e.Children {
			if dst, err = appendUntagged(dst, c, desc.Children[1], depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	case kStructure:
		if len(e.Children) != len(desc.Children) {
			return nil, tree.EncodeErr(e, "%d fields where the description says %d", len(e.Children), len(desc.Children))
		}
		for i, c := range e.Children {
			if dst, err = appendUntagged(dst, c, desc.Children[i], depth+1); err != nil {
				return nil, err
			}
		}
		return dst, nil
	}
	return appendSimple(dst, e, dt)
}
