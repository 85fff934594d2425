package xmldsig

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// A small XML 1.0 parser that builds an etree tree directly from the bytes.
//
// etree's own reader sits on encoding/xml, which took about two thirds of
// Sign and Verify on large DUIS documents. This parser is several times
// faster, and closer to the XML specification where it matters for
// signatures: attribute values are normalised (a literal TAB, LF or CR
// becomes a space, as Java and libxml2 do and encoding/xml does not), line
// ends are normalised to LF, names and characters are checked against XML
// 1.0 (fifth edition) and Namespaces in XML (at most one colon).
//
// It accepts only what a DUIS document needs: UTF-8, an optional XML
// declaration, one root element, comments, processing instructions and
// CDATA sections; only the five predefined entities and character
// references. A DOCTYPE is refused (xmlsafe refuses it earlier as well), so
// no entity expansion is possible. Comments, processing instructions and
// the XML declaration are kept in the tree; whitespace outside the root is
// not. CDATA sections become ordinary text.

const maxXMLDepth = 256

var errSyntax = errors.New("XML syntax error")

type xmlParser struct {
	b       []byte
	i       int
	scratch []byte
	// compact drops comments, and whitespace-only text that follows an
	// element child, while parsing (what compact() would remove anyway).
	compact bool

	// The tree's elements, texts, child lists and attribute lists are
	// taken from a few slabs instead of being allocated one by one (and
	// grown one append at a time). An element's children are collected on
	// pending and attached when its end tag is reached, to a child list of
	// exactly their number; its attributes likewise on pendingAttrs.
	// Slab sizes, from counts of single bytes in the input (bytes.Count
	// of one byte is vectorised): an element has two '<' unless it is
	// empty (a few are), texts are about half the elements, attributes
	// fewer than the '='. A slab that runs out is followed by another.
	estElems, estAttrs int
	elems              []etree.Element
	texts              []etree.CharData
	tokens             []etree.Token
	attrs              []etree.Attr
	pending            []etree.Token
	pendingAttrs       []pendingAttr
}

type pendingAttr struct{ name, value string }

// newElement returns a detached element named tag (as etree's
// CreateElement names it), from the slab.
func (p *xmlParser) newElement(tag string) *etree.Element {
	if len(p.elems) == cap(p.elems) {
		p.elems = make([]etree.Element, 0, max(p.estElems, 8))
	}
	p.elems = p.elems[:len(p.elems)+1]
	el := &p.elems[len(p.elems)-1]
	if colon := strings.IndexByte(tag, ':'); colon >= 0 {
		el.Space, el.Tag = tag[:colon], tag[colon+1:]
	} else {
		el.Tag = tag
	}
	return el
}

// newText returns a detached text token (as etree's CreateText makes it),
// from the slab.
func (p *xmlParser) newText(s string) *etree.CharData {
	if len(p.texts) == cap(p.texts) {
		p.texts = make([]etree.CharData, 0, max(p.estElems/2, 8))
	}
	p.texts = p.texts[:len(p.texts)+1]
	t := &p.texts[len(p.texts)-1]
	t.Data = s
	return t
}

// attach gives el the children pending since base, in order.
func (p *xmlParser) attach(el *etree.Element, base int) {
	kids := p.pending[base:]
	if n := len(kids); n > 0 {
		if cap(p.tokens)-len(p.tokens) < n {
			p.tokens = make([]etree.Token, 0, max(p.estElems*3/2, n, 16))
		}
		l := len(p.tokens)
		p.tokens = p.tokens[:l+n]
		el.Child = p.tokens[l : l : l+n]
		for _, t := range kids {
			el.AddChild(t)
		}
		clear(kids)
		p.pending = p.pending[:base]
	}
}

// attachAttrs gives el the pending attributes, in order.
func (p *xmlParser) attachAttrs(el *etree.Element) {
	n := len(p.pendingAttrs)
	if n == 0 {
		return
	}
	if cap(p.attrs)-len(p.attrs) < n {
		p.attrs = make([]etree.Attr, 0, max(p.estAttrs, n, 8))
	}
	l := len(p.attrs)
	p.attrs = p.attrs[:l+n]
	el.Attr = p.attrs[l : l : l+n]
	for _, a := range p.pendingAttrs {
		el.CreateAttr(a.name, a.value)
	}
	clear(p.pendingAttrs)
	p.pendingAttrs = p.pendingAttrs[:0]
}

func (p *xmlParser) fail(format string, args ...any) error {
	line, col := 1, 1
	for _, c := range p.b[:min(p.i, len(p.b))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%w at line %d, column %d: %s", errSyntax, line, col, fmt.Sprintf(format, args...))
}

// parseXML parses a whole document. With compactForm, comments and most
// whitespace-only text between elements are not put in the tree (Sign
// removes them anyway; compact() still has to run for the rest).
func parseXML(b []byte, compactForm bool) (*etree.Document, error) {
	p := &xmlParser{b: b, compact: compactForm,
		estElems: bytes.Count(b, []byte{'<'})*9/16 + 2,
		estAttrs: bytes.Count(b, []byte{'='})}
	d := etree.NewDocument()
	if hasPrefix(b, "<?xml") && len(b) > 5 && isSpace(b[5]) {
		if err := p.xmlDecl(d); err != nil {
			return nil, err
		}
	}
	var root *etree.Element
	for {
		p.skipSpace()
		if p.i >= len(p.b) {
			break
		}
		if p.b[p.i] != '<' {
			return nil, p.fail("text outside the root element")
		}
		switch {
		case p.has("<!--"):
			c, err := p.comment()
			if err != nil {
				return nil, err
			}
			if !p.compact {
				d.CreateComment(c)
			}
		case p.has("<?"):
			target, inst, err := p.procInst()
			if err != nil {
				return nil, err
			}
			d.CreateProcInst(target, inst)
		case p.has("<!"):
			return nil, p.fail("DOCTYPE and other declarations are not allowed")
		default:
			if root != nil {
				return nil, p.fail("more than one root element")
			}
			var err error
			if root, err = p.element(1); err != nil {
				return nil, err
			}
			d.AddChild(root)
		}
	}
	if root == nil {
		return nil, p.fail("no root element")
	}
	return d, nil
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

func (p *xmlParser) has(s string) bool { return hasPrefix(p.b[p.i:], s) }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *xmlParser) skipSpace() bool {
	start := p.i
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
	return p.i > start
}

// xmlDecl reads <?xml version="1.x" (encoding="…")? (standalone="yes|no")? ?>.
func (p *xmlParser) xmlDecl(d *etree.Document) error {
	start := p.i + 2
	p.i += 5
	for _, want := range []string{"version", "encoding", "standalone"} {
		save := p.i
		if !p.skipSpace() || !p.has(want) {
			p.i = save
			if want == "version" {
				return p.fail("XML declaration without version")
			}
			continue
		}
		p.i += len(want)
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != '=' {
			return p.fail("XML declaration: expected '=' after %s", want)
		}
		p.i++
		p.skipSpace()
		v, err := p.declValue()
		if err != nil {
			return err
		}
		switch want {
		case "version":
			if string(v) != "1.0" {
				return p.fail("XML declaration: version %q, only 1.0 is supported", v)
			}
		case "encoding":
			// xmlsafe has already refused anything but UTF-8.
			if len(v) == 0 {
				return p.fail("XML declaration: empty encoding")
			}
		case "standalone":
			if string(v) != "yes" && string(v) != "no" {
				return p.fail("XML declaration: standalone %q", v)
			}
		}
	}
	p.skipSpace()
	if !p.has("?>") {
		return p.fail("malformed XML declaration")
	}
	d.CreateProcInst("xml", string(p.b[start+4:p.i]))
	p.i += 2
	return nil
}

func (p *xmlParser) declValue() ([]byte, error) {
	if p.i >= len(p.b) || (p.b[p.i] != '"' && p.b[p.i] != '\'') {
		return nil, p.fail("XML declaration: expected a quoted value")
	}
	q := p.b[p.i]
	p.i++
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != q {
		c := p.b[p.i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return nil, p.fail("XML declaration: bad character in value")
		}
		p.i++
	}
	if p.i >= len(p.b) {
		return nil, p.fail("XML declaration: unterminated value")
	}
	v := p.b[start:p.i]
	p.i++
	return v, nil
}

// name reads an XML Name that is also a valid QName (at most one colon,
// not first or last).
func (p *xmlParser) name() (string, error) {
	start := p.i
	colon := -1
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c < utf8.RuneSelf {
			if !asciiNameChar[c] || (p.i == start && !asciiNameStart[c]) {
				break
			}
			if c == ':' {
				if colon >= 0 {
					return "", p.fail("name with more than one ':'")
				}
				colon = p.i
			}
			p.i++
			continue
		}
		r, n := utf8.DecodeRune(p.b[p.i:])
		if r == utf8.RuneError || !isNameRune(r, p.i == start) {
			break
		}
		p.i += n
	}
	if p.i == start {
		return "", p.fail("expected a name")
	}
	if colon == start || colon == p.i-1 {
		return "", p.fail("name %q is not a qualified name", p.b[start:p.i])
	}
	if colon > start {
		// the local part must start with a NameStartChar
		r, _ := utf8.DecodeRune(p.b[colon+1:])
		if !isNameRune(r, true) {
			return "", p.fail("name %q is not a qualified name", p.b[start:p.i])
		}
	}
	return internName(p.b[start:p.i]), nil
}

// Names are interned across parses: the documents one system signs and
// verifies use a few hundred names, and each parse used to allocate every
// element and attribute name twice (start and end tag). The table is
// copied on write, so lookups take no lock; it stops growing at
// maxInterned names of at most maxInternedLen bytes, so hostile input
// cannot make it grow without bound.
var (
	internMu sync.Mutex
	interned atomic.Pointer[map[string]string]
)

const (
	maxInterned    = 2048
	maxInternedLen = 64
)

func internName(b []byte) string {
	if m := interned.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	s := string(b)
	if len(s) > maxInternedLen {
		return s
	}
	internMu.Lock()
	defer internMu.Unlock()
	var old map[string]string
	if m := interned.Load(); m != nil {
		old = *m
	}
	if t, ok := old[s]; ok {
		return t
	}
	if len(old) >= maxInterned {
		return s
	}
	m := make(map[string]string, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[s] = s
	interned.Store(&m)
	return s
}

var asciiNameStart, asciiNameChar [utf8.RuneSelf]bool

func init() {
	for c := 0; c < utf8.RuneSelf; c++ {
		s := c == ':' || c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
		asciiNameStart[c] = s
		asciiNameChar[c] = s || c == '-' || c == '.' || c >= '0' && c <= '9'
	}
}

// continuesName tells whether b starts with a name character.
func continuesName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if b[0] < utf8.RuneSelf {
		return asciiNameChar[b[0]]
	}
	r, _ := utf8.DecodeRune(b)
	return r != utf8.RuneError && isNameRune(r, false)
}

// isNameRune implements NameStartChar / NameChar of XML 1.0 fifth edition.
func isNameRune(r rune, start bool) bool {
	if r < utf8.RuneSelf {
		if start {
			return asciiNameStart[r]
		}
		return asciiNameChar[r]
	}
	switch {
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF,
		r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF, r >= 0x200C && r <= 0x200D,
		r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF,
		r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	}
	if start {
		return false
	}
	return r == 0xB7 || r >= 0x300 && r <= 0x36F || r >= 0x203F && r <= 0x2040
}

// isXMLChar implements Char of XML 1.0.
func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// checkChars validates the characters of b[start:end] (comments, PIs, CDATA).
func (p *xmlParser) checkChars(start, end int) error {
	for i := start; i < end; {
		c := p.b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				p.i = i
				return p.fail("character U+%04X not allowed in XML", c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(p.b[i:end])
		if r == utf8.RuneError && n <= 1 || !isXMLChar(r) {
			p.i = i
			return p.fail("invalid character")
		}
		i += n
	}
	return nil
}

// normalizeEOL returns b[start:end] with CR LF and lone CR turned into LF.
func (p *xmlParser) normalizeEOL(start, end int) string {
	seg := p.b[start:end]
	hasCR := false
	for _, c := range seg {
		if c == '\r' {
			hasCR = true
			break
		}
	}
	if !hasCR {
		return string(seg)
	}
	out := make([]byte, 0, len(seg))
	for i := 0; i < len(seg); i++ {
		if seg[i] == '\r' {
			out = append(out, '\n')
			if i+1 < len(seg) && seg[i+1] == '\n' {
				i++
			}
			continue
		}
		out = append(out, seg[i])
	}
	return string(out)
}

func (p *xmlParser) comment() (string, error) {
	p.i += 4
	start := p.i
	for {
		if p.i+1 >= len(p.b) {
			return "", p.fail("unterminated comment")
		}
		if p.b[p.i] == '-' && p.b[p.i+1] == '-' {
			if p.i+2 >= len(p.b) || p.b[p.i+2] != '>' {
				return "", p.fail("'--' inside a comment")
			}
			break
		}
		p.i++
	}
	end := p.i
	if err := p.checkChars(start, end); err != nil {
		return "", err
	}
	p.i = end + 3
	return p.normalizeEOL(start, end), nil
}

func (p *xmlParser) procInst() (string, string, error) {
	p.i += 2
	target, err := p.name()
	if err != nil {
		return "", "", err
	}
	if len(target) == 3 && (target[0]|0x20) == 'x' && (target[1]|0x20) == 'm' && (target[2]|0x20) == 'l' {
		return "", "", p.fail("processing instruction target %q is reserved (misplaced XML declaration?)", target)
	}
	for i := 0; i < len(target); i++ {
		if target[i] == ':' {
			return "", "", p.fail("processing instruction target %q contains ':'", target)
		}
	}
	if p.has("?>") {
		p.i += 2
		return target, "", nil
	}
	if !p.skipSpace() {
		return "", "", p.fail("expected space after the processing instruction target")
	}
	start := p.i
	for !p.has("?>") {
		if p.i >= len(p.b) {
			return "", "", p.fail("unterminated processing instruction")
		}
		p.i++
	}
	end := p.i
	if err := p.checkChars(start, end); err != nil {
		return "", "", err
	}
	p.i = end + 2
	return target, p.normalizeEOL(start, end), nil
}

// reference decodes an entity or character reference at p.i ('&') into
// p.scratch.
func (p *xmlParser) reference() error {
	start := p.i
	end := start + 1
	for end < len(p.b) && end-start < 32 && p.b[end] != ';' {
		end++
	}
	if end >= len(p.b) || p.b[end] != ';' {
		return p.fail("malformed reference")
	}
	ref := p.b[start+1 : end]
	p.i = end + 1
	switch string(ref) {
	case "lt":
		p.scratch = append(p.scratch, '<')
		return nil
	case "gt":
		p.scratch = append(p.scratch, '>')
		return nil
	case "amp":
		p.scratch = append(p.scratch, '&')
		return nil
	case "apos":
		p.scratch = append(p.scratch, '\'')
		return nil
	case "quot":
		p.scratch = append(p.scratch, '"')
		return nil
	}
	if len(ref) < 2 || ref[0] != '#' {
		p.i = start
		return p.fail("undefined entity &%s; (only the five predefined ones exist without a DTD)", ref)
	}
	var v rune
	digits := ref[1:]
	base := rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		p.i = start
		return p.fail("malformed character reference")
	}
	for _, c := range digits {
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = rune(c-'A') + 10
		default:
			p.i = start
			return p.fail("malformed character reference")
		}
		v = v*base + d
		if v > 0x10FFFF {
			p.i = start
			return p.fail("character reference out of range")
		}
	}
	if !isXMLChar(v) {
		p.i = start
		return p.fail("character reference &#%s; is not an XML character", digits)
	}
	p.scratch = utf8.AppendRune(p.scratch, v)
	return nil
}

// attrValue reads a quoted attribute value, normalised as XML 1.0 §3.3.3
// prescribes for CDATA attributes (no DTD, so every attribute is CDATA).
func (p *xmlParser) attrValue() (string, error) {
	if p.i >= len(p.b) || (p.b[p.i] != '"' && p.b[p.i] != '\'') {
		return "", p.fail("expected a quoted attribute value")
	}
	q := p.b[p.i]
	p.i++
	start := p.i
	// fast path: nothing to decode or normalise
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == q {
			v := string(p.b[start:p.i])
			p.i++
			return v, nil
		}
		if c == '&' || c == '<' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		p.i++
	}
	p.scratch = append(p.scratch[:0], p.b[start:p.i]...)
	for {
		if p.i >= len(p.b) {
			return "", p.fail("unterminated attribute value")
		}
		c := p.b[p.i]
		switch {
		case c == q:
			p.i++
			return string(p.scratch), nil
		case c == '<':
			return "", p.fail("'<' in an attribute value")
		case c == '&':
			if err := p.reference(); err != nil {
				return "", err
			}
		case c == '\r':
			p.scratch = append(p.scratch, ' ')
			p.i++
			if p.i < len(p.b) && p.b[p.i] == '\n' {
				p.i++
			}
		case c == '\t' || c == '\n':
			p.scratch = append(p.scratch, ' ')
			p.i++
		case c < 0x20:
			return "", p.fail("character U+%04X not allowed in XML", c)
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n <= 1 || !isXMLChar(r) {
				return "", p.fail("invalid character")
			}
			p.scratch = append(p.scratch, p.b[p.i:p.i+n]...)
			p.i += n
		default:
			p.scratch = append(p.scratch, c)
			p.i++
		}
	}
}

// element parses an element starting at '<' and returns it, detached.
func (p *xmlParser) element(depth int) (*etree.Element, error) {
	if depth > maxXMLDepth {
		return nil, p.fail("elements nested deeper than %d", maxXMLDepth)
	}
	p.i++ // '<'
	tag, err := p.name()
	if err != nil {
		return nil, err
	}
	el := p.newElement(tag)
	p.pendingAttrs = p.pendingAttrs[:0]
	for {
		sp := p.skipSpace()
		if p.i >= len(p.b) {
			return nil, p.fail("unterminated start tag <%s>", tag)
		}
		if p.b[p.i] == '/' {
			if !p.has("/>") {
				return nil, p.fail("expected '/>'")
			}
			p.i += 2
			p.attachAttrs(el)
			return el, nil
		}
		if p.b[p.i] == '>' {
			p.i++
			p.attachAttrs(el)
			break
		}
		if !sp {
			return nil, p.fail("expected space before an attribute in <%s>", tag)
		}
		an, err := p.name()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != '=' {
			return nil, p.fail("expected '=' after attribute %s", an)
		}
		p.i++
		p.skipSpace()
		v, err := p.attrValue()
		if err != nil {
			return nil, err
		}
		// (an is a QName, so it is the FullKey of the attribute it makes)
		for _, a := range p.pendingAttrs {
			if a.name == an {
				return nil, p.fail("duplicate attribute %s in <%s>", an, tag)
			}
		}
		p.pendingAttrs = append(p.pendingAttrs, pendingAttr{an, v})
	}
	if err := p.content(el, depth); err != nil {
		return nil, err
	}
	// end tag
	p.i += 2 // "</"
	var end string
	if n := len(tag); hasPrefix(p.b[p.i:], tag) && !continuesName(p.b[p.i+n:]) {
		// the usual case, without reading the name again
		p.i += n
		end = tag
	} else if end, err = p.name(); err != nil {
		return nil, err
	}
	if end != tag {
		return nil, p.fail("end tag </%s> does not match <%s>", end, tag)
	}
	p.skipSpace()
	if p.i >= len(p.b) || p.b[p.i] != '>' {
		return nil, p.fail("malformed end tag </%s>", end)
	}
	p.i++
	return el, nil
}

// content parses the children of el up to (not including) its end tag.
func (p *xmlParser) content(el *etree.Element, depth int) error {
	hasChild := false
	base := len(p.pending)
	for {
		// character data up to the next markup
		start := p.i
		simple := true
		for p.i < len(p.b) {
			c := p.b[p.i]
			if c == '<' || c == '&' {
				break
			}
			if c < 0x20 && c != '\t' && c != '\n' || c == '\r' || c >= utf8.RuneSelf || c == '>' {
				simple = false
				break
			}
			p.i++
		}
		if !simple || (p.i < len(p.b) && p.b[p.i] == '&') {
			p.scratch = append(p.scratch[:0], p.b[start:p.i]...)
			if err := p.richText(); err != nil {
				return err
			}
			p.pending = append(p.pending, p.newText(string(p.scratch)))
		} else if p.i > start && !(p.compact && hasChild && isXMLSpaceBytes(p.b[start:p.i])) {
			p.pending = append(p.pending, p.newText(string(p.b[start:p.i])))
		}
		if p.i >= len(p.b) {
			return p.fail("unterminated element <%s>", el.FullTag())
		}
		// markup
		switch {
		case p.has("</"):
			p.attach(el, base)
			return nil
		case p.has("<!--"):
			c, err := p.comment()
			if err != nil {
				return err
			}
			if !p.compact {
				p.pending = append(p.pending, etree.NewComment(c))
			}
		case p.has("<![CDATA["):
			p.i += 9
			s := p.i
			for !p.has("]]>") {
				if p.i >= len(p.b) {
					return p.fail("unterminated CDATA section")
				}
				p.i++
			}
			if err := p.checkChars(s, p.i); err != nil {
				return err
			}
			p.pending = append(p.pending, p.newText(p.normalizeEOL(s, p.i)))
			p.i += 3
		case p.has("<?"):
			target, inst, err := p.procInst()
			if err != nil {
				return err
			}
			p.pending = append(p.pending, etree.NewProcInst(target, inst))
		case p.has("<!"):
			return p.fail("declaration not allowed inside an element")
		default:
			child, err := p.element(depth + 1)
			if err != nil {
				return err
			}
			p.pending = append(p.pending, child)
			hasChild = true
		}
	}
}

func isXMLSpaceBytes(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// richText continues character data into p.scratch from p.i, decoding
// references, normalising line ends and checking characters, until '<'.
func (p *xmlParser) richText() error {
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '<':
			return nil
		case c == '&':
			if err := p.reference(); err != nil {
				return err
			}
		case c == '\r':
			p.scratch = append(p.scratch, '\n')
			p.i++
			if p.i < len(p.b) && p.b[p.i] == '\n' {
				p.i++
			}
		case c == '>':
			if p.i >= 2 && p.b[p.i-1] == ']' && p.b[p.i-2] == ']' {
				return p.fail("']]>' in character data")
			}
			p.scratch = append(p.scratch, c)
			p.i++
		case c < 0x20 && c != '\t' && c != '\n':
			return p.fail("character U+%04X not allowed in XML", c)
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && n <= 1 || !isXMLChar(r) {
				return p.fail("invalid character")
			}
			p.scratch = append(p.scratch, p.b[p.i:p.i+n]...)
			p.i += n
		default:
			p.scratch = append(p.scratch, c)
			p.i++
		}
	}
	return nil
}
