package xmldsig

import (
	"crypto/sha256"
	"slices"
	"strings"
	"sync"

	"github.com/beevik/etree"
)

// The two canonicalisations of the profile, written straight from the etree
// tree into a reused buffer:
//
//   - inclusive Canonical XML 1.0 without comments, of the whole document
//     with the Signature subtree left out (Reference URI="" + the
//     enveloped-signature transform);
//   - exclusive XML Canonicalization 1.0 without comments and with an empty
//     InclusiveNamespaces list, of SignedInfo in the namespace context of
//     its ancestors.
//
// goxmldsig's canonicalizers give the same bytes (the tests compare both,
// and compare with xmllint --c14n / --exc-c14n, on every template and
// sample), but they deep-copy the subtree at every level, which made
// canonicalisation ~40% of Verify on large documents; they also sort
// prefixed attributes by prefix where C14N sorts by namespace URI.

// c14nScratch is what a canonicalisation grows: the output and the
// namespace and attribute stacks. Kept between uses in scratchPool (the
// stacks used to grow from nothing, several allocations per digest).
type c14nScratch struct {
	out             []byte
	scope, rendered []nsBinding
	attrs           []sortAttr
}

var scratchPool = sync.Pool{New: func() any {
	return &c14nScratch{out: make([]byte, 0, 8<<10), scope: make([]nsBinding, 0, 16), rendered: make([]nsBinding, 0, 16), attrs: make([]sortAttr, 0, 16)}
}}

func pooledCanonicalizer() (*c14nScratch, canonicalizer) {
	sc := scratchPool.Get().(*c14nScratch)
	return sc, canonicalizer{out: sc.out[:0], scope: sc.scope[:0], rendered: sc.rendered[:0], attrs: sc.attrs[:0]}
}

// release returns c's buffers to the pool, without references into the
// tree it read.
func (sc *c14nScratch) release(c *canonicalizer) {
	sc.out = c.out[:0]
	clear(c.scope[:cap(c.scope)])
	sc.scope = c.scope[:0]
	clear(c.rendered[:cap(c.rendered)])
	sc.rendered = c.rendered[:0]
	clear(c.attrs[:cap(c.attrs)])
	sc.attrs = c.attrs[:0]
	scratchPool.Put(sc)
}

// referenceDigest is SHA-256 over the inclusive C14N of document d without
// the skip element (the Signature, or nil).
func referenceDigest(d *etree.Document, root, skip *etree.Element) []byte {
	sc, c := pooledCanonicalizer()
	c.skip = skip
	c.document(d, root)
	sum := sha256.Sum256(c.out)
	sc.release(&c)
	return sum[:]
}

// signedInfoDigest is SHA-256 over the exclusive C14N of si.
func signedInfoDigest(si *etree.Element) [32]byte {
	sc, c := pooledCanonicalizer()
	c.exclusive = true
	c.inheritScope(si)
	c.element(si)
	sum := sha256.Sum256(c.out)
	sc.release(&c)
	return sum
}

// canonicalInclusive and canonicalExclusive return the canonical bytes
// (for tests and debugging).
func canonicalInclusive(d *etree.Document, root, skip *etree.Element) []byte {
	c := canonicalizer{skip: skip}
	c.document(d, root)
	return c.out
}

func canonicalExclusive(el *etree.Element) []byte {
	c := canonicalizer{exclusive: true}
	c.inheritScope(el)
	c.element(el)
	return c.out
}

type canonicalizer struct {
	out       []byte
	exclusive bool
	skip      *etree.Element
	scope     []nsBinding // declarations in scope in the source, innermost last
	rendered  []nsBinding // declarations rendered on output ancestors, innermost last
	attrs     []sortAttr  // scratch
}

type sortAttr struct {
	uri string
	a   *etree.Attr
}

// document writes the root element and the processing instructions around
// it; the XML declaration and comments are not part of the canonical form.
func (c *canonicalizer) document(d *etree.Document, root *etree.Element) {
	before := true
	for _, t := range d.Child {
		switch t := t.(type) {
		case *etree.Element:
			if t == root {
				c.element(root)
				before = false
			}
		case *etree.ProcInst:
			if t.Target == "xml" {
				continue
			}
			if !before {
				c.out = append(c.out, '\n')
			}
			c.procInst(t)
			if before {
				c.out = append(c.out, '\n')
			}
		}
	}
}

// inheritScope loads the namespace declarations of el's ancestors.
func (c *canonicalizer) inheritScope(el *etree.Element) {
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		c.pushDecls(chain[i])
	}
}

func (c *canonicalizer) pushDecls(el *etree.Element) {
	for i := range el.Attr {
		a := &el.Attr[i]
		switch {
		case a.Space == "xmlns":
			c.scope = append(c.scope, nsBinding{a.Key, a.Value})
		case a.Space == "" && a.Key == "xmlns":
			c.scope = append(c.scope, nsBinding{"", a.Value})
		}
	}
}

func lookupNS(stack []nsBinding, prefix string) (string, bool) {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].prefix == prefix {
			return stack[i].uri, true
		}
	}
	return "", false
}

func (c *canonicalizer) scopeURI(prefix string) string {
	if prefix == "xml" {
		return xmlNamespace
	}
	u, _ := lookupNS(c.scope, prefix)
	return u
}

// needsRender reports whether declaring prefix=uri on the current element
// adds something to what the output ancestors already declare.
func (c *canonicalizer) needsRender(prefix, uri string) bool {
	if prefix == "xml" {
		return false
	}
	cur, ok := lookupNS(c.rendered, prefix)
	if prefix == "" && uri == "" {
		return ok && cur != "" // xmlns="" only to undo a rendered default
	}
	return !ok || cur != uri
}

func (c *canonicalizer) element(el *etree.Element) {
	scopeMark, renderedMark := len(c.scope), len(c.rendered)
	c.pushDecls(el)

	// Namespace declarations to render, then sorted by prefix ("" first).
	var nsArr [8]nsBinding
	ns := nsArr[:0]
	if c.exclusive {
		add := func(prefix string) {
			for _, b := range ns {
				if b.prefix == prefix {
					return
				}
			}
			if uri := c.scopeURI(prefix); c.needsRender(prefix, uri) {
				ns = append(ns, nsBinding{prefix, uri})
			}
		}
		add(el.Space)
		for i := range el.Attr {
			if sp := el.Attr[i].Space; sp != "" && sp != "xmlns" {
				add(sp)
			}
		}
	} else {
		for i := range el.Attr {
			a := &el.Attr[i]
			var b nsBinding
			switch {
			case a.Space == "xmlns":
				b = nsBinding{a.Key, a.Value}
			case a.Space == "" && a.Key == "xmlns":
				b = nsBinding{"", a.Value}
			default:
				continue
			}
			// the innermost declaration of a prefix on this element wins
			if uri, _ := lookupNS(c.scope[scopeMark:], b.prefix); uri != b.uri {
				continue
			}
			if c.needsRender(b.prefix, b.uri) && !slices.ContainsFunc(ns, func(x nsBinding) bool { return x.prefix == b.prefix }) {
				ns = append(ns, b)
			}
		}
	}
	slices.SortFunc(ns, func(a, b nsBinding) int { return strings.Compare(a.prefix, b.prefix) })
	c.rendered = append(c.rendered, ns...)

	// Attributes sorted by namespace URI, then local name.
	attrMark := len(c.attrs)
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
			continue
		}
		uri := ""
		if a.Space != "" {
			uri = c.scopeURI(a.Space)
		}
		c.attrs = append(c.attrs, sortAttr{uri, a})
	}
	attrs := c.attrs[attrMark:]
	slices.SortFunc(attrs, func(x, y sortAttr) int {
		if x.uri != y.uri {
			return strings.Compare(x.uri, y.uri)
		}
		return strings.Compare(x.a.Key, y.a.Key)
	})

	c.out = append(c.out, '<')
	c.qname(el.Space, el.Tag)
	for _, b := range ns {
		if b.prefix == "" {
			c.out = append(c.out, " xmlns=\""...)
		} else {
			c.out = append(c.out, " xmlns:"...)
			c.out = append(c.out, b.prefix...)
			c.out = append(c.out, '=', '"')
		}
		c.attrValue(b.uri)
		c.out = append(c.out, '"')
	}
	for _, sa := range attrs {
		c.out = append(c.out, ' ')
		c.qname(sa.a.Space, sa.a.Key)
		c.out = append(c.out, '=', '"')
		c.attrValue(sa.a.Value)
		c.out = append(c.out, '"')
	}
	c.attrs = c.attrs[:attrMark]
	c.out = append(c.out, '>')

	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if t != c.skip {
				c.element(t)
			}
		case *etree.CharData:
			c.text(t.Data)
		case *etree.ProcInst:
			c.procInst(t)
		}
	}
	c.out = append(c.out, '<', '/')
	c.qname(el.Space, el.Tag)
	c.out = append(c.out, '>')

	c.scope = c.scope[:scopeMark]
	c.rendered = c.rendered[:renderedMark]
}

func (c *canonicalizer) qname(space, local string) {
	if space != "" {
		c.out = append(c.out, space...)
		c.out = append(c.out, ':')
	}
	c.out = append(c.out, local...)
}

func (c *canonicalizer) procInst(p *etree.ProcInst) {
	c.out = append(c.out, "<?"...)
	c.out = append(c.out, p.Target...)
	if p.Inst != "" {
		c.out = append(c.out, ' ')
		c.out = append(c.out, p.Inst...)
	}
	c.out = append(c.out, "?>"...)
}

// text escapes character data: & < > and CR.
func (c *canonicalizer) text(s string) {
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
			esc = "&#xD;"
		default:
			continue
		}
		c.out = append(c.out, s[last:i]...)
		c.out = append(c.out, esc...)
		last = i + 1
	}
	c.out = append(c.out, s[last:]...)
}

// attrValue escapes an attribute value: & < " TAB LF CR.
func (c *canonicalizer) attrValue(s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '"':
			esc = "&quot;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		c.out = append(c.out, s[last:i]...)
		c.out = append(c.out, esc...)
		last = i + 1
	}
	c.out = append(c.out, s[last:]...)
}
