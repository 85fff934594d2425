package asn

import "github.com/opendcc/opendcc/gbcs/payload/tree"

// Encode writes the TLVs of a tree made by Decode (root type "asn1"), or of a
// single element node.
func Encode(n *tree.Node) ([]byte, error) {
	if n == nil {
		return nil, tree.EncodeErr(nil, "nil node")
	}
	if n.Type == RootType {
		var out []byte
		for _, c := range n.Children {
			b, err := EncodeElement(c)
			if err != nil {
				return nil, err
			}
			out = append(out, b...)
		}
		return out, nil
	}
	return EncodeElement(n)
}

// EncodeElement writes one TLV.
func EncodeElement(n *tree.Node) ([]byte, error) {
	return appendTLV(nil, n, 0)
}

func appendTLV(dst []byte, n *tree.Node, depth int) ([]byte, error) {
	if n == nil {
		return nil, tree.EncodeErr(nil, "nil node")
	}
	if depth > 1000 {
		return nil, tree.EncodeErr(n, "tree too deep")
	}
	class, number, constructed, err := parseType(n.Type)
	if err != nil {
		return nil, tree.EncodeErr(n, "%v", err)
	}
	var content []byte
	if raw, ok := n.EncRaw(); ok {
		content = raw
	} else if constructed {
		for _, c := range n.Children {
			if content, err = appendTLV(content, c, depth+1); err != nil {
				return nil, err
			}
		}
	} else if content, err = primitiveContent(n, class, number); err != nil {
		return nil, err
	}
	dst = appendIdentifier(dst, class, number, constructed)
	dst, err = tree.AppendLength(dst, len(content), n.EncLen())
	if err != nil {
		return nil, tree.EncodeErr(n, "%v", err)
	}
	return append(dst, content...), nil
}

func appendIdentifier(dst []byte, class, number int, constructed bool) []byte {
	id := byte(class) << 6
	if constructed {
		id |= 0x20
	}
	if number < 0x1f {
		return append(dst, id|byte(number))
	}
	dst = append(dst, id|0x1f)
	return appendBase128(dst, uint64(number))
}

func primitiveContent(n *tree.Node, class, number int) ([]byte, error) {
	if class != classUniversal {
		return n.Octets()
	}
	switch number {
	case 1:
		b, err := n.Bool()
		if err != nil {
			return nil, err
		}
		if b {
			return []byte{0xff}, nil
		}
		return []byte{0}, nil
	case 2, 10:
		if _, ok := n.Value.(string); ok {
			return n.Octets() // integers longer than 8 bytes are kept as hex
		}
		v, err := n.Int()
		if err != nil {
			return nil, err
		}
		return encodeInt(v), nil
	case 5:
		return nil, nil
	case 6:
		s, err := n.Str()
		if err != nil {
			return nil, err
		}
		b, err := encodeOID(s)
		if err != nil {
			return nil, tree.EncodeErr(n, "%v", err)
		}
		return b, nil
	case 12, 18, 19, 20, 21, 22, 25, 26, 27, 7, 23, 24:
		s, err := n.Str()
		if err != nil {
			return nil, err
		}
		return []byte(s), nil
	default:
		return n.Octets()
	}
}
