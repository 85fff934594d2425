package correlate

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/opendcc/opendcc/duis"
)

// xnode is a light element tree of the request, by local name, for the
// per-SRV field mapping (duis.Decode has already gated and typed the
// document; this view only navigates it). Elements outside the DUIS
// namespace (the ds:Signature) are dropped.
type xnode struct {
	name  string
	attrs map[string]string
	text  string
	kids  []*xnode
}

const maxXMLDepth = 64

func parseXML(data []byte) (*xnode, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xnode
	var root *xnode
	skip := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if skip > 0 || (t.Name.Space != duis.NamespaceSR && len(stack) > 0) {
				skip++
				continue
			}
			if len(stack) >= maxXMLDepth {
				return nil, errors.New("XML nested too deep")
			}
			n := &xnode{name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space == "" {
					if n.attrs == nil {
						n.attrs = map[string]string{}
					}
					n.attrs[a.Name.Local] = a.Value
				}
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			if skip > 0 {
				skip--
				continue
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if skip == 0 && len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no document element")
	}
	return root, nil
}

// child returns the first child with the local name, or nil.
func (n *xnode) child(name string) *xnode {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// children returns the children with the local name.
func (n *xnode) children(name string) []*xnode {
	if n == nil {
		return nil
	}
	var out []*xnode
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// path follows a slash-separated path of first children.
func (n *xnode) path(p string) *xnode {
	for _, s := range strings.Split(p, "/") {
		n = n.child(s)
		if n == nil {
			return nil
		}
	}
	return n
}

// all follows a path where the last step may repeat.
func (n *xnode) all(p string) []*xnode {
	i := strings.LastIndex(p, "/")
	if i >= 0 {
		n = n.path(p[:i])
		p = p[i+1:]
	}
	return n.children(p)
}

// val is the trimmed text of the element at path, and whether it exists.
func (n *xnode) val(p string) (string, bool) {
	e := n.path(p)
	if e == nil {
		return "", false
	}
	return strings.TrimSpace(e.text), true
}

func (n *xnode) has(p string) bool { return n.path(p) != nil }

func (n *xnode) attr(name string) string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.attrs[name])
}

// firstKid is the name of the first child element (a choice), or "".
func (n *xnode) firstKid() string {
	if n == nil || len(n.kids) == 0 {
		return ""
	}
	return n.kids[0].name
}

func (n *xnode) trimmed() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text)
}

// gbcsPayloadFromXML finds the GBCS payload of a DUIS response: the text of
// the first GBCSPayload element (inside PreCommand when there is one).
func gbcsPayloadFromXML(data []byte) (string, error) {
	root, err := parseXML(data)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotPreCommand, err)
	}
	var found *xnode
	var walk func(n *xnode)
	walk = func(n *xnode) {
		if found != nil {
			return
		}
		if n.name == "GBCSPayload" {
			found = n
			return
		}
		for _, k := range n.kids {
			walk(k)
		}
	}
	if pc := findElem(root, "PreCommand"); pc != nil {
		walk(pc)
	}
	if found == nil {
		walk(root)
	}
	if found == nil {
		return "", fmt.Errorf("%w: the XML holds no GBCSPayload", ErrNotPreCommand)
	}
	return found.trimmed(), nil
}

func findElem(n *xnode, name string) *xnode {
	if n.name == name {
		return n
	}
	for _, k := range n.kids {
		if f := findElem(k, name); f != nil {
			return f
		}
	}
	return nil
}
