package duis

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/opendcc/opendcc/internal/xmlsafe"
	"github.com/opendcc/opendcc/internal/xsd"
)

// Namespaces of the DUIS schema set.
const (
	NamespaceSR  = "http://www.dccinterface.co.uk/ServiceUserGateway" // DUIS (prefix sr)
	NamespaceRA  = "http://www.dccinterface.co.uk/ResponseAndAlert"   // MMC types (prefix ra)
	NamespaceDS  = "http://www.w3.org/2000/09/xmldsig#"               // XML-DSig (prefix ds)
	NamespaceXSI = "http://www.w3.org/2001/XMLSchema-instance"
)

// Message is one DUIS document. Exactly one of the document element fields
// is non-nil.
type Message struct {
	Request              *Request
	Response             *Response
	SMETS1SignedResponse *SMETS1SignedResponse
	S1SPAlert            *S1SPAlert

	// RawSignature is set by Decode: the bytes of the document element's
	// ds:Signature child exactly as they appear in the input (namespace
	// declarations made by ancestors are not repeated in it). The decoded
	// form is in the root type's Signature field. Encode ignores it.
	RawSignature []byte
}

// AnyElement holds an element matched by a schema wildcard (xs:any, only
// in the xmldsig types) or declared with xs:anyType. Mixed text is kept as
// the concatenation of its character data.
type AnyElement struct {
	Space, Local string
	Attrs        []AnyAttr
	Text         string
	Children     []AnyElement
}

// AnyAttr is an attribute of an AnyElement.
type AnyAttr struct {
	Space, Local, Value string
}

// Decode parses a DUIS document into typed values. It runs the input gate
// (xmlsafe.Check) first. Decode does not validate values (enumerations,
// patterns, ranges) and tolerates missing required elements, so that a
// response can still be built for an invalid request; call Validate for
// the full schema check. It fails on documents it cannot represent without
// losing data: malformed XML, an unknown document element, and elements,
// attributes or text that have no place in the types.
func Decode(data []byte) (*Message, error) {
	if err := xmlsafe.Check(data, 0); err != nil {
		return nil, &ValidationError{Path: "/", Reason: err.Error(), Err: err}
	}
	root, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	return decodeTree(data, root)
}

// node is an element of a parsed document, with resolved names.
type node struct {
	ns, local, prefix string
	attrs             []nodeAttr
	kids              []*node
	text              string // concatenated character data (direct content)
	hasText           bool   // text has non-whitespace characters
	parent            *node
	line              int
	start, end        int // byte offsets of the element in the input
	piAt              int // length of text before the first processing instruction child, -1 if none
	nkids             int // number of element children (kids is filled at the end of the parse)
}

type nodeAttr struct {
	ns, local, prefix, value string
}

func (n *node) is(ns, local string) bool { return n.local == local && n.ns == ns }

func (a *nodeAttr) is(ns, local string) bool { return a.local == local && a.ns == ns }

func (n *node) qname() string {
	if n.prefix == "" {
		return n.local
	}
	return n.prefix + ":" + n.local
}

func (n *node) path() string {
	var parts []string
	for x := n; x != nil; x = x.parent {
		parts = append(parts, x.qname())
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

// parseTree reads a well-formed document into nodes, resolving namespace
// prefixes. Namespace declarations and xsi:* attributes are not kept.
func parseTree(data []byte) (*node, error) {
	root, _, err := parseTreeValidating(data, nil)
	return root, err
}

// parseTreeValidating is parseTree that also feeds every token to the
// validation stream vs when it is not nil, so that one scan of data both
// validates and builds the tree. With vs set, verr is what Validate
// (without its input gate) returns for data, and err (reported only when
// verr is nil) is what parseTree returns: the tree is built until its first
// error, the validation runs to the end of the document. Well-formedness
// errors and text outside the root, which the stream does not see, are
// reported by running Validate again (an error path only).
func parseTreeValidating(data []byte, vs *xsd.Stream) (*node, error, error) {
	sc := validator.NewScanner(data)
	type binding struct{ prefix, uri string }
	var (
		nsBuf    [16]binding
		marksBuf [32]int
		stackBuf [32]*node
		textsBuf [32][]byte
		ns       = nsBuf[:0]
		marks    = marksBuf[:0]
		stack    = stackBuf[:0]
		texts    = textsBuf[:0] // character data per open element (buffers reused)
		root     *node
		// Nodes are allocated in chunks and listed in document order;
		// the kids slices are cut from one array at the end. Attribute
		// lists are cut from attrSlab.
		slab     []node
		nodes    []*node
		attrSlab []nodeAttr
	)
	// Every element has an end tag or is self-closing: most have two '<'
	// (bytes.Count of one byte is vectorised); a slab that runs out is
	// followed by another.
	if est := bytes.Count(data, []byte{'<'})*9/16 + 2; est < 4096 {
		slab = make([]node, 0, est)
		nodes = make([]*node, 0, est)
	}
	lookup := func(prefix string) (string, bool) {
		for i := len(ns) - 1; i >= 0; i-- {
			if ns[i].prefix == prefix {
				return ns[i].uri, true
			}
		}
		switch prefix {
		case "":
			return "", true
		case "xml":
			return xsd.NSXML, true
		}
		return "", false
	}
	// fail builds a tree error. With a stream, the whole document is
	// validated again first: its verdict comes before the tree's.
	fail := func(line int, path, reason string) (*node, error, error) {
		if path == "" {
			path = "/"
		}
		err := &ValidationError{Line: line, Path: path, Reason: reason}
		if vs != nil {
			if verr := validator.Validate(data); verr != nil {
				return nil, verr, nil
			}
		}
		return nil, nil, err
	}
	curPath := func() string {
		if len(stack) == 0 {
			return "/"
		}
		return stack[len(stack)-1].path()
	}
	for {
		k, err := sc.Next()
		line := sc.Line()
		if err != nil {
			var se *xsd.ScanError
			if errors.As(err, &se) {
				line, err = se.Line, errors.New(se.Msg)
			}
			return fail(line, curPath(), "not well-formed XML: "+err.Error())
		}
		if k == xsd.TokEOF {
			if vs != nil {
				if verr := vs.Finish(sc.Line()); verr != nil {
					return nil, verr, nil
				}
			}
			break
		}
		start, end := sc.Raw()
		switch k {
		case xsd.TokStart:
			prefix, local := sc.Name()
			attrs := sc.Attrs()
			if vs != nil {
				if verr := vs.Start(prefix, local, attrs, line); verr != nil {
					return nil, verr, nil
				}
			}
			marks = append(marks, len(ns))
			for _, a := range attrs {
				if a.Name.Space == "xmlns" {
					ns = append(ns, binding{a.Name.Local, a.Value})
				} else if a.Name.Space == "" && a.Name.Local == "xmlns" {
					ns = append(ns, binding{"", a.Value})
				}
			}
			if len(slab) == cap(slab) {
				slab = make([]node, 0, 16+len(nodes)/4)
			}
			slab = append(slab, node{local: local, prefix: prefix, line: line, start: start, piAt: -1})
			n := &slab[len(slab)-1]
			nodes = append(nodes, n)
			var ok bool
			if n.ns, ok = lookup(prefix); !ok {
				return fail(line, curPath()+"/"+n.qname(), "undeclared namespace prefix "+strconv.Quote(prefix))
			}
			if len(attrs) > 0 {
				if cap(attrSlab)-len(attrSlab) < len(attrs) {
					attrSlab = make([]nodeAttr, 0, max(8, len(attrs)))
				}
				l := len(attrSlab)
				attrSlab = attrSlab[:l+len(attrs)]
				n.attrs = attrSlab[l : l : l+len(attrs)]
			}
			for _, a := range attrs {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				an := nodeAttr{local: a.Name.Local, prefix: a.Name.Space, value: a.Value}
				if a.Name.Space != "" {
					if an.ns, ok = lookup(a.Name.Space); !ok {
						return fail(line, curPath()+"/"+n.qname(), "undeclared namespace prefix "+strconv.Quote(a.Name.Space))
					}
				}
				for _, b := range n.attrs {
					if b.ns == an.ns && b.local == an.local {
						return fail(line, curPath()+"/"+n.qname(), "duplicate attribute "+a.Name.Local)
					}
				}
				if an.ns == NamespaceXSI {
					continue
				}
				n.attrs = append(n.attrs, an)
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				n.parent = p
				p.nkids++
			} else {
				if root != nil {
					return fail(line, "/", "more than one root element")
				}
				root = n
			}
			stack = append(stack, n)
			if len(texts) < len(stack) {
				texts = append(texts, nil)
			}
			texts[len(stack)-1] = texts[len(stack)-1][:0]
		case xsd.TokEnd:
			prefix, local := sc.Name()
			if vs != nil {
				if verr := vs.End(prefix, local, line); verr != nil {
					return nil, verr, nil
				}
			}
			if len(stack) == 0 {
				return fail(line, "/", "unexpected end tag")
			}
			n := stack[len(stack)-1]
			if n.prefix != prefix || n.local != local {
				return fail(line, n.path(), "end tag "+local+" does not match")
			}
			n.end = end
			if t := texts[len(stack)-1]; len(t) > 0 && (n.nkids == 0 || n.hasText) {
				n.text = string(t)
			}
			ns = ns[:marks[len(marks)-1]]
			marks = marks[:len(marks)-1]
			stack = stack[:len(stack)-1]
		case xsd.TokText:
			t := sc.Text()
			if len(stack) == 0 {
				if sc.CDATA() || !isSpace(data[start:end]) {
					return fail(line, "/", "text outside the root element")
				}
				continue
			}
			if vs != nil {
				if verr := vs.Text(t, line); verr != nil {
					return nil, verr, nil
				}
			}
			if !isSpace(t) {
				stack[len(stack)-1].hasText = true
			}
			texts[len(stack)-1] = append(texts[len(stack)-1], t...)
		case xsd.TokPI:
			if len(stack) > 0 {
				if n := stack[len(stack)-1]; n.piAt < 0 {
					n.piAt = len(texts[len(stack)-1])
				}
			}
		}
	}
	if len(stack) > 0 {
		return fail(sc.Line(), stack[len(stack)-1].path(), "document ends inside the element")
	}
	if root == nil {
		return fail(0, "/", "no root element")
	}
	kids := make([]*node, len(nodes))
	off := 0
	for _, n := range nodes {
		if n.nkids > 0 {
			n.kids = kids[off : off : off+n.nkids]
			off += n.nkids
		}
	}
	for _, n := range nodes[1:] {
		n.parent.kids = append(n.parent.kids, n)
	}
	return root, nil, nil
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// decoder collects the first decoding error.
type decoder struct {
	err error
}

func (d *decoder) failf(n *node, format string, args ...any) {
	if d.err == nil {
		d.err = &ValidationError{Line: n.line, Path: n.path(), Reason: fmt.Sprintf(format, args...)}
	}
}

func (d *decoder) noAttrs(n *node) {
	if len(n.attrs) > 0 {
		d.badAttr(n, &n.attrs[0])
	}
}

func (d *decoder) badAttr(n *node, a *nodeAttr) {
	name := a.local
	if a.prefix != "" {
		name = a.prefix + ":" + a.local
	}
	d.failf(n, "attribute %s is not allowed here", name)
}

// text returns the value of an element of simple content.
func (d *decoder) text(n *node) string {
	if len(n.kids) > 0 {
		d.failf(n.kids[0], "element not allowed: %s has simple content", n.qname())
	}
	return n.text
}

// mixedText returns the character data of mixed content (whitespace-only
// text counts as none).
func (d *decoder) mixedText(n *node) string {
	if !n.hasText {
		return ""
	}
	return n.text
}

func (d *decoder) empty(n *node) {
	switch {
	case len(n.kids) > 0:
		d.failf(n.kids[0], "element not allowed: %s has empty content", n.qname())
	case n.hasText:
		d.failf(n, "text not allowed: the content is empty")
	}
}

func (d *decoder) cursor(n *node) *cursor {
	if n.hasText {
		d.failf(n, "text not allowed in element-only content")
	}
	return &cursor{n: n}
}

func (d *decoder) mixedCursor(n *node) *cursor { return &cursor{n: n} }

// done reports the first child the type had no place for.
func (d *decoder) done(c *cursor) {
	if c.i < len(c.n.kids) {
		k := c.n.kids[c.i]
		d.failf(k, "unexpected element %s (out of order, repeated too often, or not part of %s)", k.qname(), c.n.qname())
	}
}

// any converts an element matched by a wildcard.
func (d *decoder) any(n *node) AnyElement {
	var a AnyElement
	a.decodeXML(d, n)
	return a
}

func (a *AnyElement) decodeXML(d *decoder, n *node) {
	a.Space, a.Local = n.ns, n.local
	for _, at := range n.attrs {
		a.Attrs = append(a.Attrs, AnyAttr{Space: at.ns, Local: at.local, Value: at.value})
	}
	if len(n.kids) == 0 || n.hasText {
		a.Text = n.text
	}
	for _, k := range n.kids {
		a.Children = append(a.Children, d.any(k))
	}
}

func ptr(s string) *string { return &s }

type qname struct{ ns, local string }

// first is the set of element names that can start a group.
type first struct {
	names []qname
	wilds []*xsd.WildTable
	sub   []*first
}

func (f *first) has(ns, local string) bool {
	for _, q := range f.names {
		if q.local == local && q.ns == ns {
			return true
		}
	}
	for _, w := range f.wilds {
		if w.Allows(ns) {
			return true
		}
	}
	for _, s := range f.sub {
		if s.has(ns, local) {
			return true
		}
	}
	return false
}

// cursor walks the child elements of a node.
type cursor struct {
	n *node
	i int
}

func (c *cursor) at(ns, local string) bool {
	return c.i < len(c.n.kids) && c.n.kids[c.i].is(ns, local)
}

func (c *cursor) in(f *first) bool {
	return c.i < len(c.n.kids) && f.has(c.n.kids[c.i].ns, c.n.kids[c.i].local)
}

func (c *cursor) wild(w *xsd.WildTable) bool {
	return c.i < len(c.n.kids) && w.Allows(c.n.kids[c.i].ns)
}

func (c *cursor) next() *node {
	n := c.n.kids[c.i]
	c.i++
	return n
}

// Declaration written by Encode, as DCC Boxed writes it.
const xmlDecl = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>`

// Encode writes m as compact XML: the declaration
// <?xml version="1.0" encoding="UTF-8" standalone="no"?>, then the
// document element with no whitespace between elements. Prefixes are sr,
// ra and ds. Namespace declarations follow DCC Boxed: a Request declares
// xmlns:sr, xmlns:ds and xmlns:xsi on the root (as the RTDS templates and
// the signing tool's output do); a Response, SMETS1SignedResponse or
// S1SPAlert declares xmlns:sr, xmlns:ns3 (xmldsig, unused) and xmlns:ra, and
// its ds:Signature declares xmlns:ds itself. A namespace not declared on
// the root is declared on the first element that uses it. Empty elements
// are written as <x/>. The output is byte-stable:
// Encode(Decode(Encode(m))) == Encode(m).
//
// Encode does not validate; Validate the result when m may be invalid.
func Encode(m *Message) ([]byte, error) {
	if m == nil || rootCount(m) != 1 {
		return nil, errors.New("duis: Encode needs a Message with exactly one document element")
	}
	e := encoders.Get().(*encoder)
	defer e.release()
	e.b = append(e.b, xmlDecl...)
	if m.Request != nil {
		e.rootDecls = requestRootDecls
	} else {
		e.rootDecls = responseRootDecls
	}
	encodeRoot(e, m)
	if e.err != nil {
		return nil, e.err
	}
	// The encoder's buffer goes back to the pool: the caller gets a copy of
	// exactly the document's size.
	return bytes.Clone(e.b), nil
}

var (
	requestRootDecls  = []nsDecl{{"sr", NamespaceSR}, {"ds", NamespaceDS}, {"xsi", NamespaceXSI}}
	responseRootDecls = []nsDecl{{"sr", NamespaceSR}, {"ns3", NamespaceDS}, {"ra", NamespaceRA}}
)

// encoders keeps encoders with their buffers between Encode calls (the
// buffer used to grow from nothing, a dozen allocations per response).
var encoders = sync.Pool{New: func() any { return &encoder{b: make([]byte, 0, 2048), scope: make([]scopeEntry, 0, 16)} }}

// maxPooledEncoder bounds the buffer kept in the pool, so that one large
// document does not stay in memory.
const maxPooledEncoder = 64 << 10

// release empties e and returns it to the pool.
func (e *encoder) release() {
	if cap(e.b) > maxPooledEncoder {
		return
	}
	*e = encoder{b: e.b[:0], scope: e.scope[:0], defaultNS: e.defaultNS[:0]}
	encoders.Put(e)
}

type nsDecl struct{ prefix, uri string }

type scopeEntry struct {
	prefix, uri string
	depth       int
}

// encoder writes compact XML.
type encoder struct {
	b         []byte
	pending   bool // a start tag is open (">" not yet written)
	depth     int
	scope     []scopeEntry
	rootDecls []nsDecl
	defaultNS []string // default namespace per depth, for AnyElement
	err       error
}

// prefixOf returns the prefix the encoder writes for namespace ns (a
// switch: the map it replaces hashed the URI for every tag).
func prefixOf(ns string) (string, bool) {
	switch ns {
	case NamespaceSR:
		return "sr", true
	case NamespaceRA:
		return "ra", true
	case NamespaceDS:
		return "ds", true
	case NamespaceXSI:
		return "xsi", true
	}
	return "", false
}

func (e *encoder) inScope(prefix, uri string) bool {
	for i := len(e.scope) - 1; i >= 0; i-- {
		if e.scope[i].prefix == prefix {
			return e.scope[i].uri == uri
		}
	}
	return false
}

func (e *encoder) flush() {
	if e.pending {
		e.b = append(e.b, '>')
		e.pending = false
	}
}

// open writes a start tag (left open for attributes).
func (e *encoder) open(ns, local string) {
	e.flush()
	prefix, known := prefixOf(ns)
	e.b = append(e.b, '<')
	if known {
		e.b = append(e.b, prefix...)
		e.b = append(e.b, ':')
	}
	e.b = append(e.b, local...)
	if e.depth == 0 {
		for _, d := range e.rootDecls {
			e.b = append(e.b, " xmlns:"...)
			e.b = append(e.b, d.prefix...)
			e.b = append(e.b, `="`...)
			e.b = appendEscaped(e.b, d.uri, true)
			e.b = append(e.b, '"')
			e.scope = append(e.scope, scopeEntry{d.prefix, d.uri, 0})
		}
	}
	if known {
		if !e.inScope(prefix, ns) {
			e.b = append(e.b, " xmlns:"...)
			e.b = append(e.b, prefix...)
			e.b = append(e.b, `="`...)
			e.b = appendEscaped(e.b, ns, true)
			e.b = append(e.b, '"')
			e.scope = append(e.scope, scopeEntry{prefix, ns, e.depth})
		}
	} else if cur := e.curDefault(); cur != ns {
		// Elements of other namespaces (only under wildcards) use a
		// default namespace declaration.
		e.b = append(e.b, ` xmlns="`...)
		e.b = appendEscaped(e.b, ns, true)
		e.b = append(e.b, '"')
		e.setDefault(ns)
	}
	e.pending = true
	e.depth++
}

func (e *encoder) curDefault() string {
	for i := len(e.defaultNS) - 1; i >= 0; i-- {
		if i < e.depth && e.defaultNS[i] != "\x00" {
			return e.defaultNS[i]
		}
	}
	return ""
}

func (e *encoder) setDefault(ns string) {
	for len(e.defaultNS) <= e.depth {
		e.defaultNS = append(e.defaultNS, "\x00")
	}
	e.defaultNS[e.depth] = ns
}

// attr writes an attribute of the open start tag.
func (e *encoder) attr(ns, local, value string) {
	if !e.pending {
		e.fail(fmt.Errorf("duis: attribute %s written outside a start tag", local))
		return
	}
	e.b = append(e.b, ' ')
	if ns != "" {
		prefix, ok := prefixOf(ns)
		if !ok {
			e.fail(fmt.Errorf("duis: attribute %s in namespace %s has no prefix", local, ns))
			return
		}
		if !e.inScope(prefix, ns) {
			e.b = append(e.b, "xmlns:"...)
			e.b = append(e.b, prefix...)
			e.b = append(e.b, `="`...)
			e.b = appendEscaped(e.b, ns, true)
			e.b = append(e.b, `" `...)
			e.scope = append(e.scope, scopeEntry{prefix, ns, e.depth - 1})
		}
		e.b = append(e.b, prefix...)
		e.b = append(e.b, ':')
	}
	e.b = append(e.b, local...)
	e.b = append(e.b, `="`...)
	e.checkChars(value)
	e.b = appendEscaped(e.b, value, true)
	e.b = append(e.b, '"')
}

// text writes character data (nothing for "").
func (e *encoder) text(s string) {
	if s == "" {
		return
	}
	e.flush()
	e.checkChars(s)
	e.b = appendEscaped(e.b, s, false)
}

// close ends the element opened last.
func (e *encoder) close(ns, local string) {
	e.depth--
	for len(e.scope) > 0 && e.scope[len(e.scope)-1].depth >= e.depth && e.depth > 0 {
		e.scope = e.scope[:len(e.scope)-1]
	}
	if len(e.defaultNS) > e.depth {
		e.defaultNS = e.defaultNS[:e.depth]
	}
	if e.pending {
		e.b = append(e.b, "/>"...)
		e.pending = false
		return
	}
	e.b = append(e.b, "</"...)
	if prefix, ok := prefixOf(ns); ok {
		e.b = append(e.b, prefix...)
		e.b = append(e.b, ':')
	}
	e.b = append(e.b, local...)
	e.b = append(e.b, '>')
}

// leaf writes an element of simple type.
func (e *encoder) leaf(ns, local, value string) {
	e.open(ns, local)
	e.text(value)
	e.close(ns, local)
}

func (a *AnyElement) encode(e *encoder) { a.encodeXML(e, a.Space, a.Local) }

func (a *AnyElement) encodeXML(e *encoder, ns, local string) {
	e.open(ns, local)
	for _, at := range a.Attrs {
		e.attr(at.Space, at.Local, at.Value)
	}
	e.text(a.Text)
	for i := range a.Children {
		a.Children[i].encode(e)
	}
	e.close(ns, local)
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// checkChars refuses text that XML 1.0 cannot carry.
func (e *encoder) checkChars(s string) {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				e.fail(fmt.Errorf("duis: invalid UTF-8 in %q", s))
				return
			}
		}
		if !(r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			e.fail(fmt.Errorf("duis: character %U cannot be written in XML", r))
			return
		}
	}
}

// appendEscaped escapes &, <, > and CR (which a parser would otherwise
// normalise away), plus " and tab/LF in attribute values.
func appendEscaped(b []byte, s string, attr bool) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#13;"
		case '"':
			if attr {
				esc = "&quot;"
			}
		case '\t':
			if attr {
				esc = "&#9;"
			}
		case '\n':
			if attr {
				esc = "&#10;"
			}
		}
		if esc != "" {
			b = append(b, s[last:i]...)
			b = append(b, esc...)
			last = i + 1
		}
	}
	return append(b, s[last:]...)
}

// Compact returns data without comments and without the whitespace-only
// text the schema makes ignorable (between elements of element-only
// content, and outside the document element); every other byte is copied
// unchanged. This is the form DCC Boxed signs and digests (it parses with
// "ignoring element content whitespace"), so a signer compacts first and
// signs exactly the result. Compact runs the input gate (xmlsafe.Check)
// first but does not validate.
func Compact(data []byte) ([]byte, error) {
	if err := xmlsafe.Check(data, 0); err != nil {
		return nil, &ValidationError{Path: "/", Reason: err.Error(), Err: err}
	}
	out, err := validator.Compact(data)
	if err != nil {
		return nil, &ValidationError{Path: "/", Reason: err.Error()}
	}
	return out, nil
}
