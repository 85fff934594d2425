// Package tree is the value tree shared by the GBCS payload decoders (DLMS
// A-XDR in gbcs/dlms, ZigBee GBZ/ZCL in gbcs/gbz, ASN.1 DER in gbcs/asn):
// one Node type, its text and JSON renderings, the decode error type, decode
// limits and the bounds-checked byte reader the decoders share.
//
// A tree carries everything needed to encode it back to the same bytes:
// each node's Type names its wire encoding, Value holds the scalar, Children
// the nested elements, and Enc the rare non-canonical details (a length
// written in a longer form than needed, content bytes that the value form
// cannot reproduce). Offsets and lengths locate every node in the input.
package tree

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Node is one element of a decoded payload.
//
// Value holds the scalar of a leaf: uint64 for unsigned integers, int64 for
// signed ones, bool, float64, string for text, and lower-case hex (no prefix)
// for octets. Containers have a nil Value and Children.
//
// For leaf types the encoders use Value (and Enc) only; Children of a leaf
// are derived views: an octet-string split into the fields it carries, the
// parts of a ciphered block, or its decrypted plaintext (Decrypted set).
// Editing a view does not change the encoding.
type Node struct {
	Name      string  `json:"name,omitempty"`
	Type      string  `json:"type"`
	Value     any     `json:"value,omitempty"`
	Text      string  `json:"text,omitempty"` // human rendering: OBIS, date-time, enum and result names
	Offset    int     `json:"offset"`         // byte offset in the decoded input (in the plaintext below a Decrypted node)
	Len       int     `json:"len"`            // bytes covered, tag and length fields included
	Enc       string  `json:"enc,omitempty"`  // non-canonical encoding details: "len:N", "raw:HEX" (comma-separated)
	Decrypted bool    `json:"decrypted,omitempty"`
	Children  []*Node `json:"children,omitempty"`
}

// Add appends children and returns n.
func (n *Node) Add(c ...*Node) *Node {
	n.Children = append(n.Children, c...)
	return n
}

// Child returns the first direct child with the given name, or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Walk calls f for n and every descendant, depth first, until f returns false
// for a node (its subtree is then skipped).
func (n *Node) Walk(f func(*Node) bool) {
	if n == nil || !f(n) {
		return
	}
	for _, c := range n.Children {
		c.Walk(f)
	}
}

// EncLen returns the byte count recorded by a "len:N" Enc item, or 0.
func (n *Node) EncLen() int {
	v, ok := n.encItem("len")
	if !ok {
		return 0
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return 0
	}
	return i
}

// EncRaw returns the content bytes recorded by a "raw:HEX" Enc item.
func (n *Node) EncRaw() ([]byte, bool) {
	v, ok := n.encItem("raw")
	if !ok {
		return nil, false
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return nil, false
	}
	return b, true
}

// SetEnc adds or replaces an Enc item.
func (n *Node) SetEnc(key, val string) {
	var items []string
	for _, it := range strings.Split(n.Enc, ",") {
		if it == "" || strings.HasPrefix(it, key+":") {
			continue
		}
		items = append(items, it)
	}
	items = append(items, key+":"+val)
	n.Enc = strings.Join(items, ",")
}

// EncItem returns the value of an Enc item ("len", "raw", or a
// format-specific key).
func (n *Node) EncItem(key string) (string, bool) { return n.encItem(key) }

func (n *Node) encItem(key string) (string, bool) {
	if n.Enc == "" {
		return "", false
	}
	for _, it := range strings.Split(n.Enc, ",") {
		if v, ok := strings.CutPrefix(it, key+":"); ok {
			return v, true
		}
	}
	return "", false
}

// Uint returns Value as an unsigned integer. It accepts every Go integer
// type, float64 holding an integer, json.Number and decimal or 0x-hex strings,
// so that trees read back from JSON encode as well.
func (n *Node) Uint() (uint64, error) {
	switch v := n.Value.(type) {
	case uint64:
		return v, nil
	case uint32:
		return uint64(v), nil
	case uint16:
		return uint64(v), nil
	case uint8:
		return uint64(v), nil
	case uint:
		return uint64(v), nil
	case int64:
		if v < 0 {
			return 0, n.valueErr("negative value for an unsigned field")
		}
		return uint64(v), nil
	case int:
		if v < 0 {
			return 0, n.valueErr("negative value for an unsigned field")
		}
		return uint64(v), nil
	case int32:
		if v < 0 {
			return 0, n.valueErr("negative value for an unsigned field")
		}
		return uint64(v), nil
	case float64:
		if v < 0 || v != float64(uint64(v)) {
			return 0, n.valueErr("not an unsigned integer")
		}
		return uint64(v), nil
	case json.Number:
		return strconv.ParseUint(string(v), 10, 64)
	case string:
		if h, ok := strings.CutPrefix(v, "0x"); ok {
			return strconv.ParseUint(h, 16, 64)
		}
		return strconv.ParseUint(v, 10, 64)
	}
	return 0, n.valueErr(fmt.Sprintf("value %T is not an unsigned integer", n.Value))
}

// Int returns Value as a signed integer (see Uint for the accepted forms).
func (n *Node) Int() (int64, error) {
	switch v := n.Value.(type) {
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case int16:
		return int64(v), nil
	case int8:
		return int64(v), nil
	case uint64:
		if v > 1<<63-1 {
			return 0, n.valueErr("value overflows int64")
		}
		return int64(v), nil
	case uint32:
		return int64(v), nil
	case uint16:
		return int64(v), nil
	case uint8:
		return int64(v), nil
	case float64:
		if v != float64(int64(v)) {
			return 0, n.valueErr("not an integer")
		}
		return int64(v), nil
	case json.Number:
		return strconv.ParseInt(string(v), 10, 64)
	case string:
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, n.valueErr(fmt.Sprintf("value %T is not an integer", n.Value))
}

// Bool returns Value as a boolean.
func (n *Node) Bool() (bool, error) {
	if b, ok := n.Value.(bool); ok {
		return b, nil
	}
	return false, n.valueErr(fmt.Sprintf("value %T is not a boolean", n.Value))
}

// Str returns Value as a string.
func (n *Node) Str() (string, error) {
	if s, ok := n.Value.(string); ok {
		return s, nil
	}
	if n.Value == nil {
		return "", nil
	}
	return "", n.valueErr(fmt.Sprintf("value %T is not a string", n.Value))
}

// Octets returns Value decoded from hex.
func (n *Node) Octets() ([]byte, error) {
	s, err := n.Str()
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, n.valueErr("value is not hex: " + err.Error())
	}
	return b, nil
}

// Float returns Value as a float64.
func (n *Node) Float() (float64, error) {
	switch v := n.Value.(type) {
	case float64:
		return v, nil
	case float32:
		return float64(v), nil
	case json.Number:
		return v.Float64()
	case int64:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	case int:
		return float64(v), nil
	}
	return 0, n.valueErr(fmt.Sprintf("value %T is not a number", n.Value))
}

func (n *Node) valueErr(msg string) error {
	return &EncodeError{Path: n.label(), Msg: msg}
}

func (n *Node) label() string {
	if n.Name != "" {
		return n.Name + " (" + n.Type + ")"
	}
	return n.Type
}

// EncodeError reports a tree that cannot be encoded.
type EncodeError struct {
	Path string
	Msg  string
}

func (e *EncodeError) Error() string { return "encode " + e.Path + ": " + e.Msg }

// EncodeErr builds an EncodeError for node n.
func EncodeErr(n *Node, format string, args ...any) error {
	if n == nil {
		return &EncodeError{Path: "<nil>", Msg: fmt.Sprintf(format, args...)}
	}
	return &EncodeError{Path: n.label(), Msg: fmt.Sprintf(format, args...)}
}

// Hex renders bytes as lower-case hex, the form octet values take in a tree.
func Hex(b []byte) string { return hex.EncodeToString(b) }
