package gbz

import (
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Encode writes a GBZ tree (as made by Decode) back to bytes. Component
// lengths ([len16]) are recomputed; the component count is written as held.
// View children of leaves (ciphered parts, decrypted plaintext, alert
// fields) are ignored.
func Encode(n *tree.Node) ([]byte, error) {
	if n == nil || n.Type != "gbz" {
		return nil, tree.EncodeErr(n, "not a GBZ payload")
	}
	return appendChildren(nil, n, 0)
}

func appendChildren(dst []byte, n *tree.Node, depth int) ([]byte, error) {
	var err error
	for i, c := range n.Children {
		if c.Type == "len16" {
			var rest []byte
			for _, s := range n.Children[i+1:] {
				if rest, err = appendNode(rest, s, depth+1); err != nil {
					return nil, err
				}
			}
			if len(rest) > 0xffff {
				return nil, tree.EncodeErr(c, "%d bytes do not fit a 16-bit length", len(rest))
			}
			dst = tree.PutBE(dst, uint64(len(rest)), 2)
			return append(dst, rest...), nil
		}
		if dst, err = appendNode(dst, c, depth+1); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

var beWidth = map[string]int{"u8": 1, "u16": 2, "u32": 4, "u64": 8}

func appendNode(dst []byte, n *tree.Node, depth int) ([]byte, error) {
	if n == nil {
		return nil, tree.EncodeErr(nil, "nil node")
	}
	if depth > 1000 {
		return nil, tree.EncodeErr(n, "tree too deep")
	}
	if w, ok := beWidth[n.Type]; ok {
		v, err := n.Uint()
		if err != nil {
			return nil, err
		}
		if w < 8 && v>>(8*uint(w)) != 0 {
			return nil, tree.EncodeErr(n, "value %d does not fit in %d bytes", v, w)
		}
		return tree.PutBE(dst, v, w), nil
	}
	switch n.Type {
	case "component", "zcl", "zcl-payload", "entries", "entry", "sub-payload":
		return appendChildren(dst, n, depth)
	case "attribute-record":
		if len(n.Children) < 2 || len(n.Children) > 3 {
			return nil, tree.EncodeErr(n, "want attribute, status [, value]")
		}
		var err error
		if dst, err = appendZCL(dst, n.Children[0], depth+1); err != nil {
			return nil, err
		}
		if dst, err = appendZCL(dst, n.Children[1], depth+1); err != nil {
			return nil, err
		}
		if len(n.Children) == 3 {
			return appendTyped(dst, n.Children[2], depth+1)
		}
		return dst, nil
	case "write-record":
		if len(n.Children) != 2 {
			return nil, tree.EncodeErr(n, "want attribute, value")
		}
		dst, err := appendZCL(dst, n.Children[0], depth+1)
		if err != nil {
			return nil, err
		}
		return appendTyped(dst, n.Children[1], depth+1)
	case "ciphered":
		b, err := n.Octets()
		if err != nil {
			return nil, err
		}
		if len(b) > 0xffff {
			return nil, tree.EncodeErr(n, "ciphered information too long")
		}
		return append(tree.PutBE(dst, uint64(len(b)), 2), b...), nil
	case "raw":
		b, err := n.Octets()
		if err != nil {
			return nil, err
		}
		return append(dst, b...), nil
	case "octets8":
		b, err := n.Octets()
		if err != nil {
			return nil, err
		}
		if len(b) > 0xff {
			return nil, tree.EncodeErr(n, "too long")
		}
		return append(append(dst, byte(len(b))), b...), nil
	case "octet-string":
		b, err := n.Octets()
		if err != nil {
			return nil, err
		}
		dst = append(dst, 0x09)
		if dst, err = tree.AppendLength(dst, len(b), n.EncLen()); err != nil {
			return nil, tree.EncodeErr(n, "%v", err)
		}
		return append(dst, b...), nil
	}
	if IsZCLType(n.Type) {
		return appendZCL(dst, n, depth)
	}
	return nil, tree.EncodeErr(n, "unknown GBZ node type")
}
