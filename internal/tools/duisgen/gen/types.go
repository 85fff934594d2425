package gen

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/opendcc/opendcc/internal/xsd"
)

// reserved are identifiers of package duis that generated types must not
// take: the hand-written API (this generator's runtime in codec.go and
// validate.go) and the other files of the package.
var reserved = map[string]bool{
	// codec.go / validate.go
	"Message": true, "Decode": true, "Encode": true, "Compact": true, "Validate": true,
	"ValidateDocument": true, "ValidationError": true, "AnyElement": true, "AnyAttr": true,
	"NamespaceSR": true, "NamespaceRA": true, "NamespaceDS": true, "NamespaceXSI": true,
	// requestid.go, catalog*.go, srv_gen.go, responsecodes*
	"RequestID": true, "CommandVariant": true, "FutureDatedPattern": true, "ResponseCodeInfo": true,
	"Role": true, "SRV": true, "ErrRequestID": true, "LookupResponseCode": true, "LookupSRV": true,
	"LookupSRVByBody": true, "NewRequestID": true, "ParseRequestID": true, "ResponseCodes": true,
	"SRVs": true, "ResponseCode": true, "ServiceReference": true, "ServiceReferenceVariant": true,
}

// nsTypePrefix keeps the Go names of the three schemas apart: the MMC
// schema re-declares many DUIS type names in its own namespace.
var nsTypePrefix = map[string]string{
	"http://www.dccinterface.co.uk/ServiceUserGateway": "",
	"http://www.dccinterface.co.uk/ResponseAndAlert":   "RA",
	"http://www.w3.org/2000/09/xmldsig#":               "DS",
}

const (
	cardOne = iota
	cardOpt
	cardMany
)

const (
	fElem = iota
	fGroup
	fAny
)

const (
	shSeq = iota
	shChoice
	shField
)

type goField struct {
	name     string
	kind     int
	card     int
	elem     *xsd.Element
	simple   bool   // the element's value is a string
	typeName string // struct type for complex elements and groups
	xsdType  string // for the comment
	first    string // first-set var (groups)
	wild     string // wildcard var (any)
	occurs   string
	inChoice bool
}

type goAttr struct {
	name     string
	attr     *xsd.Attribute
	xsdType  string
	required bool
}

type shape struct {
	kind  int
	f     *goField
	kids  []*shape
	first string // first-set var, for a nested choice used as an alternative
}

type goType struct {
	name    string
	doc     []string
	ct      *xsd.ComplexType // nil for a group struct
	group   bool
	attrs   []*goAttr
	value   string // field holding simple content
	text    string // field holding mixed text
	fields  []*goField
	content *shape
	used    map[string]bool
}

type firstSet struct {
	names [][2]string // local, ns
	wilds []string
}

type typeGen struct {
	s      *xsd.Schema
	names  map[string]bool
	ctName map[*xsd.ComplexType]string
	types  []*goType
	firsts map[string]string // key → var name
	fvars  []string          // var declarations
	wilds  map[*xsd.Wildcard]string
	wvars  []string
}

func exportName(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if out == "" || unicode.IsDigit(rune(out[0])) {
		out = "X" + out
	}
	return out
}

func (g *typeGen) unique(base string) string {
	name := base
	if reserved[name] {
		name = base + "Type"
	}
	for i := 2; g.names[name]; i++ {
		name = fmt.Sprintf("%s%d", base, i)
	}
	g.names[name] = true
	return name
}

func (g *typeGen) qname(q xsd.QName) string {
	if q.Space == xsd.NSXSD {
		return "xs:" + q.Local
	}
	if p := g.s.Prefixes[q.Space]; p != "" {
		return p + ":" + q.Local
	}
	return q.Local
}

// nameTypes gives every complex type a Go name: named types first, so that
// anonymous ones (named after where they are declared) yield on collision.
func (g *typeGen) nameTypes() {
	g.ctName[g.s.AnyType] = "AnyElement"
	for _, ct := range g.s.ComplexList {
		if ct.Name != (xsd.QName{}) {
			g.ctName[ct] = g.unique(nsTypePrefix[ct.Name.Space] + exportName(ct.Name.Local))
		}
	}
	for _, ct := range g.s.ComplexList {
		if ct.Name != (xsd.QName{}) {
			continue
		}
		// Context is "prefix:Owner/Elem/Elem...".
		parts := strings.Split(ct.Context, "/")
		first := parts[0]
		ns := ""
		if i := strings.IndexByte(first, ':'); i >= 0 {
			for u, p := range g.s.Prefixes {
				if p == first[:i] {
					ns = u
				}
			}
			first = first[i+1:]
		}
		name := nsTypePrefix[ns] + exportName(first)
		for _, p := range parts[1:] {
			name += exportName(p)
		}
		g.ctName[ct] = g.unique(name)
	}
}

func (g *typeGen) typeString(t xsd.Type) string {
	switch t := t.(type) {
	case *xsd.SimpleType:
		if t.Name != (xsd.QName{}) {
			return g.qname(t.Name)
		}
		return "restricted " + g.qname(xsd.QName{Space: xsd.NSXSD, Local: t.BuiltinName()})
	case *xsd.ComplexType:
		if t.Name != (xsd.QName{}) {
			return g.qname(t.Name)
		}
		return "anonymous"
	}
	return ""
}

func (g *typeGen) build() {
	for _, ct := range g.s.ComplexList {
		gt := &goType{name: g.ctName[ct], ct: ct, used: map[string]bool{}}
		gt.doc = append(gt.doc, g.typeDoc(ct)...)
		g.types = append(g.types, gt)
		var groups []*goType
		if ct.Content == xsd.ContentElement || ct.Content == xsd.ContentMixed {
			if p := xsd.SimplifyParticle(ct.EffectiveParticle); p != nil {
				gt.content = g.shapeOf(gt, p, false, &groups)
			}
		}
		// Attribute, value and text names after the element fields, so
		// that element fields keep the plain names.
		switch ct.Content {
		case xsd.ContentSimple:
			gt.value = gt.fieldName("Value")
		case xsd.ContentMixed:
			gt.text = gt.fieldName("Text")
		}
		for _, a := range ct.EffectiveAttributes {
			n := exportName(a.Name.Local)
			if gt.used[n] {
				n += "Attr"
			}
			gt.attrs = append(gt.attrs, &goAttr{name: gt.fieldName(n), attr: a, xsdType: g.typeString(a.Type), required: a.Required})
		}
		g.types = append(g.types, groups...)
	}
}

func (g *typeGen) typeDoc(ct *xsd.ComplexType) []string {
	var doc []string
	if ct.Name != (xsd.QName{}) {
		doc = append(doc, fmt.Sprintf("%s is the XSD complex type %s.", g.ctName[ct], g.qname(ct.Name)))
	} else {
		doc = append(doc, fmt.Sprintf("%s is the anonymous complex type of element %s.", g.ctName[ct], ct.Context))
	}
	switch {
	case ct.Derivation == xsd.DerivExtension && ct.Base != nil:
		doc = append(doc, fmt.Sprintf("It extends %s (inherited fields come first).", g.typeString(ct.Base)))
	case ct.Derivation == xsd.DerivRestriction && ct.Base != nil:
		doc = append(doc, fmt.Sprintf("It restricts %s.", g.typeString(ct.Base)))
	}
	if ct.Abstract {
		doc = append(doc, "The type is abstract: documents use a type derived from it.")
	}
	return doc
}

func (t *goType) fieldName(base string) string {
	name := base
	for i := 2; t.used[name]; i++ {
		name = fmt.Sprintf("%s%d", base, i)
	}
	t.used[name] = true
	return name
}

func occurs(p *xsd.Particle) string { return p.Occurs() }

// shapeOf maps a (simplified) particle to fields of owner. Sequences of
// (1,1) are flattened, so are choices of at most one occurrence (their
// alternatives become optional fields); other groups become group structs.
func (g *typeGen) shapeOf(owner *goType, p *xsd.Particle, inChoice bool, groups *[]*goType) *shape {
	switch p.Kind {
	case xsd.ParticleElement:
		f := &goField{kind: fElem, elem: p.Element, occurs: occurs(p), inChoice: inChoice}
		f.card = cardOne
		switch {
		case p.Max == xsd.Unbounded || p.Max > 1:
			f.card = cardMany
		case p.Min == 0 || inChoice:
			f.card = cardOpt
		}
		switch t := p.Element.Type.(type) {
		case *xsd.SimpleType:
			f.simple = true
		case *xsd.ComplexType:
			f.typeName = g.ctName[t]
		}
		f.xsdType = g.typeString(p.Element.Type)
		f.name = owner.fieldName(exportName(p.Element.Name.Local))
		owner.fields = append(owner.fields, f)
		return &shape{kind: shField, f: f}
	case xsd.ParticleAny:
		f := &goField{kind: fAny, card: cardMany, wild: g.wildVar(p.Wildcard), occurs: occurs(p)}
		f.name = owner.fieldName("Any")
		owner.fields = append(owner.fields, f)
		return &shape{kind: shField, f: f}
	}
	if p.Min == 1 && p.Max == 1 && (p.Kind == xsd.ParticleChoice || !inChoice) {
		sh := &shape{kind: shSeq}
		if p.Kind == xsd.ParticleChoice {
			sh.kind = shChoice
		}
		for _, k := range p.Children {
			sh.kids = append(sh.kids, g.shapeOf(owner, k, sh.kind == shChoice, groups))
		}
		return sh
	}
	if p.Kind == xsd.ParticleChoice && p.Max == 1 {
		sh := &shape{kind: shChoice}
		for _, k := range p.Children {
			sh.kids = append(sh.kids, g.shapeOf(owner, k, true, groups))
		}
		return sh
	}
	// A group struct.
	fname := groupFieldName(p)
	f := &goField{kind: fGroup, occurs: occurs(p), inChoice: inChoice}
	f.name = owner.fieldName(fname)
	f.card = cardOpt
	if p.Max == xsd.Unbounded || p.Max > 1 {
		f.card = cardMany
	}
	gt := &goType{name: g.unique(owner.name + f.name), group: true, used: map[string]bool{}}
	kind := "sequence"
	if p.Kind == xsd.ParticleChoice {
		kind = "choice"
	}
	gt.doc = []string{fmt.Sprintf("%s is one occurrence of a repeated or optional %s in %s (field %s, occurs %s).",
		gt.name, kind, owner.name, f.name, p.Occurs())}
	inner := *p
	inner.Min, inner.Max = 1, 1
	var sub []*goType
	gt.content = g.shapeOf(gt, &inner, false, &sub)
	f.typeName = gt.name
	f.first = g.firstVar(p)
	owner.fields = append(owner.fields, f)
	*groups = append(*groups, gt)
	*groups = append(*groups, sub...)
	return &shape{kind: shField, f: f}
}

func groupFieldName(p *xsd.Particle) string {
	var firstElem func(p *xsd.Particle) string
	firstElem = func(p *xsd.Particle) string {
		switch p.Kind {
		case xsd.ParticleElement:
			return exportName(p.Element.Name.Local)
		case xsd.ParticleAny:
			return "Any"
		}
		if len(p.Children) == 0 {
			return "Empty"
		}
		return firstElem(p.Children[0])
	}
	if p.Kind == xsd.ParticleChoice {
		return firstElem(p) + "Choice"
	}
	return firstElem(p) + "Group"
}

func nullable(p *xsd.Particle) bool {
	if p.Min == 0 {
		return true
	}
	switch p.Kind {
	case xsd.ParticleSequence:
		for _, k := range p.Children {
			if !nullable(k) {
				return false
			}
		}
		return true
	case xsd.ParticleChoice:
		for _, k := range p.Children {
			if nullable(k) {
				return true
			}
		}
		return len(p.Children) == 0
	}
	return false
}

func (g *typeGen) first(p *xsd.Particle, fs *firstSet) {
	switch p.Kind {
	case xsd.ParticleElement:
		fs.names = append(fs.names, [2]string{p.Element.Name.Local, p.Element.Name.Space})
	case xsd.ParticleAny:
		fs.wilds = append(fs.wilds, g.wildVar(p.Wildcard))
	case xsd.ParticleSequence:
		for _, k := range p.Children {
			g.first(k, fs)
			if !nullable(k) {
				return
			}
		}
	case xsd.ParticleChoice:
		for _, k := range p.Children {
			g.first(k, fs)
		}
	}
}

// firstVar declares (once) the set of element names that can start p.
func (g *typeGen) firstVar(p *xsd.Particle) string {
	var fs firstSet
	g.first(p, &fs)
	sort.Slice(fs.names, func(i, j int) bool {
		return fs.names[i][0] < fs.names[j][0] || fs.names[i][0] == fs.names[j][0] && fs.names[i][1] < fs.names[j][1]
	})
	var b strings.Builder
	b.WriteString("first{names: []qname{")
	prev := [2]string{}
	for i, n := range fs.names {
		if i > 0 && n == prev {
			continue
		}
		prev = n
		fmt.Fprintf(&b, "{%s, %s}, ", nsLit(n[1]), q(n[0]))
	}
	b.WriteString("}")
	if len(fs.wilds) > 0 {
		b.WriteString(", wilds: []*xsd.WildTable{")
		for _, w := range fs.wilds {
			fmt.Fprintf(&b, "&%s, ", w)
		}
		b.WriteString("}")
	}
	b.WriteString("}")
	key := b.String()
	if v, ok := g.firsts[key]; ok {
		return v
	}
	v := fmt.Sprintf("first%d", len(g.firsts))
	g.firsts[key] = v
	g.fvars = append(g.fvars, fmt.Sprintf("%s = %s", v, key))
	return v
}

func (g *typeGen) wildVar(w *xsd.Wildcard) string {
	if v, ok := g.wilds[w]; ok {
		return v
	}
	v := fmt.Sprintf("wild%d", len(g.wilds))
	g.wilds[w] = v
	var b strings.Builder
	b.WriteString("xsd.WildTable{")
	switch w.Namespace {
	case "##any", "":
		b.WriteString("Mode: xsd.WildAny")
	case "##other":
		fmt.Fprintf(&b, "Mode: xsd.WildOther, NS: []string{%s}", nsLit(w.TargetNS))
	default:
		b.WriteString("Mode: xsd.WildList, NS: []string{")
		for _, f := range strings.Fields(w.Namespace) {
			switch f {
			case "##targetNamespace":
				f = w.TargetNS
			case "##local":
				f = ""
			}
			fmt.Fprintf(&b, "%s, ", nsLit(f))
		}
		b.WriteString("}")
	}
	b.WriteString("}")
	g.wvars = append(g.wvars, fmt.Sprintf("%s = %s // %s, processContents=%s", v, b.String(), w.Namespace, w.Process))
	return v
}

// emit writes types_gen.go.
func (g *typeGen) emit(w *bytes.Buffer, header string) {
	w.WriteString(header)
	w.WriteString("package duis\n\nimport \"github.com/opendcc/opendcc/internal/xsd\"\n\n")
	w.WriteString("// Element names that may start a repeated or optional group, and the\n// wildcards of the schema, for the decoders below.\nvar (\n")
	for _, v := range g.wvars {
		w.WriteString(v + "\n")
	}
	for _, v := range g.fvars {
		w.WriteString(v + "\n")
	}
	w.WriteString(")\n\n")
	g.emitRoots(w)
	for _, t := range g.types {
		g.emitType(w, t)
	}
}

// emitRoots writes the dispatch on the global elements.
func (g *typeGen) emitRoots(w *bytes.Buffer) {
	w.WriteString("// decodeRoot decodes the document element into the matching field of m.\n")
	w.WriteString("func decodeRoot(d *decoder, n *node, m *Message) {\n\tswitch {\n")
	var fields []string
	for _, e := range g.s.ElementList {
		if e.Name.Space != "http://www.dccinterface.co.uk/ServiceUserGateway" {
			continue
		}
		ct, ok := e.Type.(*xsd.ComplexType)
		if !ok {
			continue
		}
		fn := exportName(e.Name.Local)
		fields = append(fields, fn)
		fmt.Fprintf(w, "\tcase n.is(%s, %s):\n\t\tm.%s = new(%s)\n\t\tm.%s.decodeXML(d, n)\n", nsLit(e.Name.Space), q(e.Name.Local), fn, g.ctName[ct], fn)
	}
	w.WriteString("\tdefault:\n\t\td.failf(n, \"%s is not a DUIS document element\", n.qname())\n\t}\n}\n\n")
	w.WriteString("// encodeRoot encodes the one non-nil document element of m.\n")
	w.WriteString("func encodeRoot(e *encoder, m *Message) {\n\tswitch {\n")
	for _, e := range g.s.ElementList {
		if e.Name.Space != "http://www.dccinterface.co.uk/ServiceUserGateway" {
			continue
		}
		if _, ok := e.Type.(*xsd.ComplexType); !ok {
			continue
		}
		fn := exportName(e.Name.Local)
		fmt.Fprintf(w, "\tcase m.%s != nil:\n\t\tm.%s.encodeXML(e, %s, %s)\n", fn, fn, nsLit(e.Name.Space), q(e.Name.Local))
	}
	w.WriteString("\t}\n}\n\n")
	w.WriteString("// rootCount counts the non-nil document elements of m.\nfunc rootCount(m *Message) int {\n\tn := 0\n")
	for _, f := range fields {
		fmt.Fprintf(w, "\tif m.%s != nil {\n\t\tn++\n\t}\n", f)
	}
	w.WriteString("\treturn n\n}\n\n")
}

func (f *goField) goType() string {
	var base string
	switch f.kind {
	case fAny:
		return "[]AnyElement"
	case fElem:
		if f.simple {
			base = "string"
		} else {
			base = f.typeName
		}
	case fGroup:
		base = f.typeName
	}
	switch f.card {
	case cardOpt:
		return "*" + base
	case cardMany:
		return "[]" + base
	}
	return base
}

func (g *typeGen) emitType(w *bytes.Buffer, t *goType) {
	for _, d := range t.doc {
		w.WriteString("// " + d + "\n")
	}
	fmt.Fprintf(w, "type %s struct {\n", t.name)
	for _, a := range t.attrs {
		typ := "*string"
		use := "optional"
		if a.required {
			typ, use = "string", "required"
		}
		fmt.Fprintf(w, "\t%s %s // attribute %s (%s, %s)\n", a.name, typ, g.qname(a.attr.Name), a.xsdType, use)
	}
	if t.value != "" {
		fmt.Fprintf(w, "\t%s string // simple content (%s)\n", t.value, g.typeString(t.ct.ValueType))
	}
	if t.text != "" {
		fmt.Fprintf(w, "\t%s string // character data of the mixed content\n", t.text)
	}
	for _, f := range t.fields {
		occ := f.occurs
		if f.inChoice {
			occ += ", choice"
		}
		switch f.kind {
		case fElem:
			fmt.Fprintf(w, "\t%s %s // %s (%s, %s)\n", f.name, f.goType(), g.qname(f.elem.Name), f.xsdType, occ)
		case fGroup:
			fmt.Fprintf(w, "\t%s %s // group, %s\n", f.name, f.goType(), occ)
		case fAny:
			fmt.Fprintf(w, "\t%s %s // wildcard, %s\n", f.name, f.goType(), f.occurs)
		}
	}
	w.WriteString("}\n\n")

	if t.group {
		fmt.Fprintf(w, "func (v *%s) decodeGroup(d *decoder, c *cursor) {\n", t.name)
		g.emitDecodeShape(w, t.content, "\t")
		w.WriteString("}\n\n")
		fmt.Fprintf(w, "func (v *%s) encodeGroup(e *encoder) {\n", t.name)
		g.emitEncodeShape(w, t.content, "\t")
		w.WriteString("}\n\n")
		return
	}

	fmt.Fprintf(w, "func (v *%s) decodeXML(d *decoder, n *node) {\n", t.name)
	if len(t.attrs) == 0 {
		w.WriteString("\td.noAttrs(n)\n")
	} else {
		w.WriteString("\tfor i := range n.attrs {\n\t\ta := &n.attrs[i]\n\t\tswitch {\n")
		for _, a := range t.attrs {
			fmt.Fprintf(w, "\t\tcase a.is(%s, %s):\n", nsLit(a.attr.Name.Space), q(a.attr.Name.Local))
			if a.required {
				fmt.Fprintf(w, "\t\t\tv.%s = a.value\n", a.name)
			} else {
				fmt.Fprintf(w, "\t\t\tv.%s = ptr(a.value)\n", a.name)
			}
		}
		w.WriteString("\t\tdefault:\n\t\t\td.badAttr(n, a)\n\t\t}\n\t}\n")
	}
	switch t.ct.Content {
	case xsd.ContentSimple:
		fmt.Fprintf(w, "\tv.%s = d.text(n)\n", t.value)
	case xsd.ContentEmpty:
		w.WriteString("\td.empty(n)\n")
	case xsd.ContentMixed, xsd.ContentElement:
		if t.text != "" {
			fmt.Fprintf(w, "\tv.%s = d.mixedText(n)\n", t.text)
			w.WriteString("\tc := d.mixedCursor(n)\n")
		} else {
			w.WriteString("\tc := d.cursor(n)\n")
		}
		if t.content != nil {
			g.emitDecodeShape(w, t.content, "\t")
		}
		w.WriteString("\td.done(c)\n")
	}
	w.WriteString("}\n\n")

	fmt.Fprintf(w, "func (v *%s) encodeXML(e *encoder, ns, local string) {\n\te.open(ns, local)\n", t.name)
	for _, a := range t.attrs {
		if a.required {
			fmt.Fprintf(w, "\te.attr(%s, %s, v.%s)\n", nsLit(a.attr.Name.Space), q(a.attr.Name.Local), a.name)
		} else {
			fmt.Fprintf(w, "\tif v.%s != nil {\n\t\te.attr(%s, %s, *v.%s)\n\t}\n", a.name, nsLit(a.attr.Name.Space), q(a.attr.Name.Local), a.name)
		}
	}
	if t.value != "" {
		fmt.Fprintf(w, "\te.text(v.%s)\n", t.value)
	}
	if t.text != "" {
		fmt.Fprintf(w, "\te.text(v.%s)\n", t.text)
	}
	if t.content != nil {
		g.emitEncodeShape(w, t.content, "\t")
	}
	w.WriteString("\te.close(ns, local)\n}\n\n")
}

func (g *typeGen) cond(s *shape) string {
	if s.kind == shField {
		f := s.f
		switch f.kind {
		case fElem:
			return fmt.Sprintf("c.at(%s, %s)", nsLit(f.elem.Name.Space), q(f.elem.Name.Local))
		case fAny:
			return fmt.Sprintf("c.wild(&%s)", f.wild)
		case fGroup:
			return fmt.Sprintf("c.in(&%s)", f.first)
		}
	}
	return fmt.Sprintf("c.in(&%s)", g.shapeFirst(s))
}

// shapeFirst declares the first set of a flattened shape (used when a
// nested choice is an alternative of a choice).
func (g *typeGen) shapeFirst(s *shape) string {
	var names [][2]string
	var wilds []string
	var walk func(s *shape) bool // returns nullable
	walk = func(s *shape) bool {
		switch s.kind {
		case shField:
			f := s.f
			switch f.kind {
			case fElem:
				names = append(names, [2]string{f.elem.Name.Local, f.elem.Name.Space})
			case fAny:
				wilds = append(wilds, f.wild)
			case fGroup:
				names = append(names, [2]string{"\x00" + f.first, ""})
			}
			return f.card != cardOne
		case shSeq:
			for _, k := range s.kids {
				if !walk(k) {
					return false
				}
			}
			return true
		default:
			n := false
			for _, k := range s.kids {
				n = walk(k) || n
			}
			return n
		}
	}
	walk(s)
	// Expand group first sets referenced by name.
	var b strings.Builder
	b.WriteString("first{names: []qname{")
	var groupRefs []string
	for _, n := range names {
		if strings.HasPrefix(n[0], "\x00") {
			groupRefs = append(groupRefs, n[0][1:])
			continue
		}
		fmt.Fprintf(&b, "{%s, %s}, ", nsLit(n[1]), q(n[0]))
	}
	b.WriteString("}")
	if len(wilds) > 0 {
		b.WriteString(", wilds: []*xsd.WildTable{")
		for _, w := range wilds {
			fmt.Fprintf(&b, "&%s, ", w)
		}
		b.WriteString("}")
	}
	if len(groupRefs) > 0 {
		b.WriteString(", sub: []*first{")
		for _, r := range groupRefs {
			fmt.Fprintf(&b, "&%s, ", r)
		}
		b.WriteString("}")
	}
	b.WriteString("}")
	key := b.String()
	if v, ok := g.firsts[key]; ok {
		return v
	}
	v := fmt.Sprintf("first%d", len(g.firsts))
	g.firsts[key] = v
	g.fvars = append(g.fvars, fmt.Sprintf("%s = %s", v, key))
	return v
}

func (g *typeGen) emitDecodeShape(w *bytes.Buffer, s *shape, ind string) {
	switch s.kind {
	case shSeq:
		for _, k := range s.kids {
			g.emitDecodeShape(w, k, ind)
		}
	case shChoice:
		w.WriteString(ind + "switch {\n")
		for _, k := range s.kids {
			fmt.Fprintf(w, "%scase %s:\n", ind, g.cond(k))
			g.emitDecodeShape(w, k, ind+"\t")
		}
		w.WriteString(ind + "}\n")
	case shField:
		g.emitDecodeField(w, s.f, ind)
	}
}

func (g *typeGen) emitDecodeField(w *bytes.Buffer, f *goField, ind string) {
	switch f.kind {
	case fAny:
		fmt.Fprintf(w, "%sfor c.wild(&%s) {\n%s\tv.%s = append(v.%s, d.any(c.next()))\n%s}\n", ind, f.wild, ind, f.name, f.name, ind)
		return
	case fGroup:
		if f.card == cardOpt {
			fmt.Fprintf(w, "%sif c.in(&%s) {\n%s\tv.%s = new(%s)\n%s\tv.%s.decodeGroup(d, c)\n%s}\n", ind, f.first, ind, f.name, f.typeName, ind, f.name, ind)
		} else {
			fmt.Fprintf(w, "%sfor c.in(&%s) {\n%s\tat := c.i\n%s\tvar x %s\n%s\tx.decodeGroup(d, c)\n%s\tif c.i == at {\n%s\t\tbreak\n%s\t}\n%s\tv.%s = append(v.%s, x)\n%s}\n",
				ind, f.first, ind, ind, f.typeName, ind, ind, ind, ind, ind, f.name, f.name, ind)
		}
		return
	}
	at := fmt.Sprintf("c.at(%s, %s)", nsLit(f.elem.Name.Space), q(f.elem.Name.Local))
	if f.simple {
		switch f.card {
		case cardOne:
			fmt.Fprintf(w, "%sif %s {\n%s\tv.%s = d.text(c.next())\n%s}\n", ind, at, ind, f.name, ind)
		case cardOpt:
			fmt.Fprintf(w, "%sif %s {\n%s\tv.%s = ptr(d.text(c.next()))\n%s}\n", ind, at, ind, f.name, ind)
		default:
			fmt.Fprintf(w, "%sfor %s {\n%s\tv.%s = append(v.%s, d.text(c.next()))\n%s}\n", ind, at, ind, f.name, f.name, ind)
		}
		return
	}
	switch f.card {
	case cardOne:
		fmt.Fprintf(w, "%sif %s {\n%s\tv.%s.decodeXML(d, c.next())\n%s}\n", ind, at, ind, f.name, ind)
	case cardOpt:
		fmt.Fprintf(w, "%sif %s {\n%s\tv.%s = new(%s)\n%s\tv.%s.decodeXML(d, c.next())\n%s}\n", ind, at, ind, f.name, f.typeName, ind, f.name, ind)
	default:
		fmt.Fprintf(w, "%sfor %s {\n%s\tv.%s = append(v.%s, %s{})\n%s\tv.%s[len(v.%s)-1].decodeXML(d, c.next())\n%s}\n",
			ind, at, ind, f.name, f.name, f.typeName, ind, f.name, f.name, ind)
	}
}

func (g *typeGen) emitEncodeShape(w *bytes.Buffer, s *shape, ind string) {
	if s.kind != shField {
		for _, k := range s.kids {
			g.emitEncodeShape(w, k, ind)
		}
		return
	}
	f := s.f
	switch f.kind {
	case fAny:
		fmt.Fprintf(w, "%sfor i := range v.%s {\n%s\tv.%s[i].encode(e)\n%s}\n", ind, f.name, ind, f.name, ind)
		return
	case fGroup:
		if f.card == cardOpt {
			fmt.Fprintf(w, "%sif v.%s != nil {\n%s\tv.%s.encodeGroup(e)\n%s}\n", ind, f.name, ind, f.name, ind)
		} else {
			fmt.Fprintf(w, "%sfor i := range v.%s {\n%s\tv.%s[i].encodeGroup(e)\n%s}\n", ind, f.name, ind, f.name, ind)
		}
		return
	}
	ns, local := nsLit(f.elem.Name.Space), q(f.elem.Name.Local)
	if f.simple {
		switch f.card {
		case cardOne:
			fmt.Fprintf(w, "%se.leaf(%s, %s, v.%s)\n", ind, ns, local, f.name)
		case cardOpt:
			fmt.Fprintf(w, "%sif v.%s != nil {\n%s\te.leaf(%s, %s, *v.%s)\n%s}\n", ind, f.name, ind, ns, local, f.name, ind)
		default:
			fmt.Fprintf(w, "%sfor _, x := range v.%s {\n%s\te.leaf(%s, %s, x)\n%s}\n", ind, f.name, ind, ns, local, ind)
		}
		return
	}
	switch f.card {
	case cardOne:
		fmt.Fprintf(w, "%sv.%s.encodeXML(e, %s, %s)\n", ind, f.name, ns, local)
	case cardOpt:
		fmt.Fprintf(w, "%sif v.%s != nil {\n%s\tv.%s.encodeXML(e, %s, %s)\n%s}\n", ind, f.name, ind, f.name, ns, local, ind)
	default:
		fmt.Fprintf(w, "%sfor i := range v.%s {\n%s\tv.%s[i].encodeXML(e, %s, %s)\n%s}\n", ind, f.name, ind, f.name, ns, local, ind)
	}
}
