package tree

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// String renders the tree as indented text, one node a line:
//
//	name: type = value (text) @offset+len
func (n *Node) String() string {
	var b strings.Builder
	n.write(&b, 0)
	return b.String()
}

func (n *Node) write(b *strings.Builder, depth int) {
	if n == nil {
		return
	}
	b.WriteString(strings.Repeat("  ", depth))
	if n.Name != "" {
		b.WriteString(n.Name)
		b.WriteString(": ")
	}
	b.WriteString(n.Type)
	if n.Value != nil {
		b.WriteString(" = ")
		b.WriteString(formatValue(n.Value))
	} else if len(n.Children) > 0 {
		fmt.Fprintf(b, " [%d]", len(n.Children))
	}
	if n.Text != "" {
		b.WriteString(" (")
		b.WriteString(n.Text)
		b.WriteString(")")
	}
	if n.Decrypted {
		b.WriteString(" {decrypted}")
	}
	if n.Enc != "" {
		b.WriteString(" <")
		b.WriteString(n.Enc)
		b.WriteString(">")
	}
	fmt.Fprintf(b, " @%d+%d\n", n.Offset, n.Len)
	for _, c := range n.Children {
		c.write(b, depth+1)
	}
}

func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// JSON renders the tree as indented JSON (field names: name, type, value,
// text, offset, len, enc, decrypted, children).
func (n *Node) JSON() ([]byte, error) {
	return json.MarshalIndent(n, "", "  ")
}

// ParseJSON reads a tree written by JSON. Numbers are kept as json.Number so
// that 64-bit values survive; the encoders accept that form.
func ParseJSON(data []byte) (*Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var n Node
	if err := dec.Decode(&n); err != nil {
		return nil, err
	}
	return &n, nil
}
