package xmldsig

import (
	"bytes"
	"fmt"

	"github.com/beevik/etree"
	"github.com/opendcc/opendcc/internal/xmlsafe"
)

const xmlNamespace = "http://www.w3.org/XML/1998/namespace"

// parse runs the xmlsafe gate and builds the tree. It also checks what
// etree (built on encoding/xml's RawToken) does not: one root element, no
// text outside it, no duplicate attributes, every prefix declared. It
// returns the document, its root and every ds:Signature element found.
func parse(doc []byte, maxSize int) (*etree.Document, *etree.Element, []*etree.Element, error) {
	return parseMode(doc, maxSize, false)
}

// parseMode is parse; compactForm leaves out comments and whitespace
// between elements where the parser can tell (for Sign).
func parseMode(doc []byte, maxSize int, compactForm bool) (*etree.Document, *etree.Element, []*etree.Element, error) {
	if err := xmlsafe.Check(doc, maxSize); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrInvalidDocument, err)
	}
	doc = bytes.TrimPrefix(doc, []byte{0xEF, 0xBB, 0xBF})
	d, err := parseXML(doc, compactForm)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	var root *etree.Element
	for _, t := range d.Child {
		switch t := t.(type) {
		case *etree.Element:
			if root != nil {
				return nil, nil, nil, fmt.Errorf("%w: more than one root element", ErrInvalidDocument)
			}
			root = t
		case *etree.CharData:
			if !isXMLSpace(t.Data) {
				return nil, nil, nil, fmt.Errorf("%w: text outside the root element", ErrInvalidDocument)
			}
		case *etree.Directive:
			return nil, nil, nil, fmt.Errorf("%w: directive <!%s> not allowed", ErrInvalidDocument, truncate(t.Data))
		}
	}
	if root == nil {
		return nil, nil, nil, fmt.Errorf("%w: no root element", ErrInvalidDocument)
	}
	var scopeBuf [8]nsBinding
	w := walker{scope: scopeBuf[:0]}
	if err := w.walk(root); err != nil {
		return nil, nil, nil, err
	}
	return d, root, w.sigs, nil
}

// walker checks namespaces and collects ds:Signature elements in one pass.
type walker struct {
	scope []nsBinding // in-scope declarations, innermost last
	sigs  []*etree.Element
}

type nsBinding struct{ prefix, uri string }

func (w *walker) lookup(prefix string) (string, bool) {
	switch prefix {
	case "xml":
		return xmlNamespace, true
	case "xmlns":
		return "", false
	}
	for i := len(w.scope) - 1; i >= 0; i-- {
		if w.scope[i].prefix == prefix {
			return w.scope[i].uri, true
		}
	}
	if prefix == "" {
		return "", true // no default namespace
	}
	return "", false
}

func (w *walker) walk(el *etree.Element) error {
	mark := len(w.scope)
	for i, a := range el.Attr {
		for _, b := range el.Attr[:i] {
			if a.Space == b.Space && a.Key == b.Key {
				return fmt.Errorf("%w: element <%s>: duplicate attribute %s", ErrInvalidDocument, el.FullTag(), a.FullKey())
			}
		}
		switch {
		case a.Space == "xmlns":
			if a.Key == "xmlns" || (a.Key == "xml") != (a.Value == xmlNamespace) {
				return fmt.Errorf("%w: element <%s>: reserved namespace declaration %s", ErrInvalidDocument, el.FullTag(), a.FullKey())
			}
			if a.Value == "" {
				return fmt.Errorf("%w: element <%s>: empty namespace for prefix %q", ErrInvalidDocument, el.FullTag(), a.Key)
			}
			w.scope = append(w.scope, nsBinding{a.Key, a.Value})
		case a.Space == "" && a.Key == "xmlns":
			w.scope = append(w.scope, nsBinding{"", a.Value})
		}
	}
	if _, ok := w.lookup(el.Space); !ok {
		return fmt.Errorf("%w: element <%s>: undeclared namespace prefix %q", ErrInvalidDocument, el.FullTag(), el.Space)
	}
	for _, a := range el.Attr {
		if a.Space != "" && a.Space != "xmlns" {
			if _, ok := w.lookup(a.Space); !ok {
				return fmt.Errorf("%w: element <%s>: attribute %s: undeclared namespace prefix", ErrInvalidDocument, el.FullTag(), a.FullKey())
			}
		}
	}
	// Namespaces in XML: no two attributes with the same expanded name.
	for i, a := range el.Attr {
		if a.Space == "" || a.Space == "xmlns" {
			continue
		}
		ua, _ := w.lookup(a.Space)
		for _, b := range el.Attr[:i] {
			if b.Key == a.Key && b.Space != "" && b.Space != "xmlns" {
				if ub, _ := w.lookup(b.Space); ub == ua {
					return fmt.Errorf("%w: element <%s>: attributes %s and %s have the same expanded name", ErrInvalidDocument, el.FullTag(), b.FullKey(), a.FullKey())
				}
			}
		}
	}
	if el.Tag == "Signature" {
		if uri, _ := w.lookup(el.Space); uri == Namespace {
			w.sigs = append(w.sigs, el)
		}
	}
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok {
			if err := w.walk(c); err != nil {
				return err
			}
		}
	}
	w.scope = w.scope[:mark]
	return nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// compact removes comments everywhere below el, and whitespace-only text
// from every element that has element children (element-only content, as
// a DUIS document has no mixed content). It reports whether anything changed.
func compact(el *etree.Element) bool {
	changed := false
	hasElem := false
	for _, t := range el.Child {
		if _, ok := t.(*etree.Element); ok {
			hasElem = true
			break
		}
	}
	n := 0
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Comment:
			changed = true
			continue
		case *etree.CharData:
			if hasElem && isXMLSpace(t.Data) {
				changed = true
				continue
			}
		case *etree.Element:
			if compact(t) {
				changed = true
			}
		}
		el.Child[n] = t
		n++
	}
	if n != len(el.Child) {
		clear(el.Child[n:])
		el.Child = el.Child[:n]
		el.ReindexChildren()
	}
	return changed
}

func isXMLSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// dsChildren returns the element children of el, which must all be in the
// ds namespace, refusing non-whitespace text. Comments are ignored.
func dsChildren(el *etree.Element) ([]*etree.Element, error) {
	n := 0
	for _, t := range el.Child {
		if _, ok := t.(*etree.Element); ok {
			n++
		}
	}
	var out []*etree.Element
	if n > 0 {
		out = make([]*etree.Element, 0, n)
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if t.NamespaceURI() != Namespace {
				return nil, fmt.Errorf("%w: <%s> inside ds:%s is not in the xmldsig namespace", ErrMalformedSignature, t.FullTag(), el.Tag)
			}
			out = append(out, t)
		case *etree.CharData:
			if !isXMLSpace(t.Data) {
				return nil, fmt.Errorf("%w: text inside ds:%s", ErrMalformedSignature, el.Tag)
			}
		case *etree.ProcInst:
			return nil, fmt.Errorf("%w: processing instruction inside ds:%s", ErrMalformedSignature, el.Tag)
		}
	}
	return out, nil
}

// expectChildren checks that el's children are exactly the named ds elements.
func expectChildren(el *etree.Element, names ...string) ([]*etree.Element, error) {
	kids, err := dsChildren(el)
	if err != nil {
		return nil, err
	}
	for i, name := range names {
		if i >= len(kids) {
			return nil, fmt.Errorf("%w: ds:%s lacks ds:%s", ErrMalformedSignature, el.Tag, name)
		}
		if kids[i].Tag != name {
			return nil, fmt.Errorf("%w: ds:%s has ds:%s where ds:%s belongs", ErrMalformedSignature, el.Tag, kids[i].Tag, name)
		}
	}
	if len(kids) > len(names) {
		return nil, fmt.Errorf("%w: unexpected ds:%s in ds:%s", ErrMalformedSignature, kids[len(names)].Tag, el.Tag)
	}
	return kids, nil
}

// onlyAttrs refuses attributes other than namespace declarations and the listed ones.
func onlyAttrs(el *etree.Element, allowed ...string) error {
next:
	for _, a := range el.Attr {
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		if a.Space == "" {
			for _, k := range allowed {
				if a.Key == k {
					continue next
				}
			}
		}
		return fmt.Errorf("%w: unexpected attribute %s on ds:%s", ErrMalformedSignature, a.FullKey(), el.Tag)
	}
	return nil
}

// textOf concatenates el's text children.
func textOf(el *etree.Element) string {
	// Usually one text child: its string as it is.
	var only *etree.CharData
	n := 0
	for _, t := range el.Child {
		if c, ok := t.(*etree.CharData); ok {
			only = c
			n++
		}
	}
	switch n {
	case 0:
		return ""
	case 1:
		return only.Data
	}
	var b []byte
	for _, t := range el.Child {
		if c, ok := t.(*etree.CharData); ok {
			b = append(b, c.Data...)
		}
	}
	return string(b)
}
