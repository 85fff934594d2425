package xsd

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// xnode is one element of a schema document, with its in-scope namespaces.
type xnode struct {
	name  xml.Name
	attrs map[string]string // unqualified attributes only (XSD uses no qualified ones we need)
	scope *nsScope
	kids  []*xnode
	line  int
}

type nsScope struct {
	prefix, uri string
	parent      *nsScope
}

func (s *nsScope) lookup(prefix string) (string, bool) {
	for ; s != nil; s = s.parent {
		if s.prefix == prefix {
			return s.uri, true
		}
	}
	if prefix == "xml" {
		return NSXML, true
	}
	return "", prefix == ""
}

// readTree parses a schema document into xnodes. Schema documents are
// trusted input (they ship with the program), but the DTD of
// xmldsig-core-schema.xsd is only skipped, never interpreted.
func readTree(data []byte) (*xnode, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := d.InputPos()
			n := &xnode{attrs: map[string]string{}, line: line}
			var parent *xnode
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
				n.scope = parent.scope
			}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					n.scope = &nsScope{a.Name.Local, a.Value, n.scope}
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					n.scope = &nsScope{"", a.Value, n.scope}
				case a.Name.Space == "":
					n.attrs[a.Name.Local] = a.Value
				}
			}
			uri, ok := n.scope.lookup(t.Name.Space)
			if !ok {
				return nil, fmt.Errorf("line %d: unbound prefix %q", line, t.Name.Space)
			}
			n.name = xml.Name{Space: uri, Local: t.Name.Local}
			if parent != nil {
				parent.kids = append(parent.kids, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	return root, nil
}

// loader holds the state of one Load.
type loader struct {
	fsys     fs.FS
	s        *Schema
	builtins map[string]*SimpleType
	loaded   map[string]bool // by file name
	nsLoaded map[string]string
	// unresolved element refs, in order
	refs []*Particle
	// every local or global element and attribute with a type reference
	elems []*Element
	attrs []*Attribute
}

type docCtx struct {
	file        string
	tns         string
	qualifiedEl bool
	qualifiedAt bool
}

// Load reads the schema document name from fsys, and every document it
// imports (schemaLocation is resolved relative to the importing document),
// and resolves all references.
func Load(fsys fs.FS, name string) (*Schema, error) {
	l := &loader{
		fsys:     fsys,
		builtins: builtinTypes(),
		loaded:   map[string]bool{},
		nsLoaded: map[string]string{},
		s: &Schema{
			Elements:     map[QName]*Element{},
			ComplexTypes: map[QName]*ComplexType{},
			SimpleTypes:  map[QName]*SimpleType{},
			Prefixes:     map[string]string{},
		},
	}
	l.s.AnyType = &ComplexType{
		Name:  QName{NSXSD, "anyType"},
		Mixed: true,
		Particle: &Particle{Kind: ParticleSequence, Min: 1, Max: 1, Children: []*Particle{
			{Kind: ParticleAny, Min: 0, Max: Unbounded, Wildcard: &Wildcard{Namespace: "##any", Process: "lax"}},
		}},
		AnyAttribute: &Wildcard{Namespace: "##any", Process: "lax"},
	}
	l.s.builtins = l.builtins
	if err := l.loadFile(name); err != nil {
		return nil, err
	}
	if err := l.resolve(); err != nil {
		return nil, err
	}
	return l.s, nil
}

func (l *loader) loadFile(name string) error {
	name = path.Clean(name)
	if l.loaded[name] {
		return nil
	}
	l.loaded[name] = true
	data, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		return err
	}
	root, err := readTree(data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if root.name != (xml.Name{Space: NSXSD, Local: "schema"}) {
		return fmt.Errorf("%s: root element is not xs:schema", name)
	}
	l.s.Files = append(l.s.Files, name)
	c := &docCtx{
		file:        name,
		tns:         root.attrs["targetNamespace"],
		qualifiedEl: root.attrs["elementFormDefault"] == "qualified",
		qualifiedAt: root.attrs["attributeFormDefault"] == "qualified",
	}
	if prev, ok := l.nsLoaded[c.tns]; ok {
		return fmt.Errorf("%s: namespace %q already loaded from %s (xs:include is not supported)", name, c.tns, prev)
	}
	l.nsLoaded[c.tns] = name
	for s := root.scope; s != nil; s = s.parent {
		if s.uri == c.tns && s.prefix != "" {
			if _, ok := l.s.Prefixes[c.tns]; !ok {
				l.s.Prefixes[c.tns] = s.prefix
			}
		}
	}
	for _, k := range root.kids {
		if k.name.Space != NSXSD {
			return l.errf(c, k, "unexpected element %s in xs:schema", k.name.Local)
		}
		switch k.name.Local {
		case "annotation":
		case "import":
			loc := k.attrs["schemaLocation"]
			if loc == "" {
				return l.errf(c, k, "xs:import without schemaLocation")
			}
			if err := l.loadFile(path.Join(path.Dir(name), loc)); err != nil {
				return err
			}
		case "element":
			e, _, err := l.element(c, k, true, "")
			if err != nil {
				return err
			}
			if _, dup := l.s.Elements[e.Name]; dup {
				return l.errf(c, k, "duplicate global element %s", e.Name)
			}
			l.s.Elements[e.Name] = e
			l.s.ElementList = append(l.s.ElementList, e)
		case "complexType":
			t, err := l.complexType(c, k, "")
			if err != nil {
				return err
			}
			if _, dup := l.s.ComplexTypes[t.Name]; dup {
				return l.errf(c, k, "duplicate complex type %s", t.Name)
			}
			if _, dup := l.s.SimpleTypes[t.Name]; dup {
				return l.errf(c, k, "type %s defined twice", t.Name)
			}
			l.s.ComplexTypes[t.Name] = t
		case "simpleType":
			t, err := l.simpleType(c, k, "")
			if err != nil {
				return err
			}
			if _, dup := l.s.SimpleTypes[t.Name]; dup {
				return l.errf(c, k, "duplicate simple type %s", t.Name)
			}
			if _, dup := l.s.ComplexTypes[t.Name]; dup {
				return l.errf(c, k, "type %s defined twice", t.Name)
			}
			l.s.SimpleTypes[t.Name] = t
		default:
			return l.errf(c, k, "unsupported top-level xs:%s", k.name.Local)
		}
	}
	return nil
}

func (l *loader) errf(c *docCtx, n *xnode, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", c.file, n.line, fmt.Sprintf(format, args...))
}

func (l *loader) loc(c *docCtx, n *xnode) Loc { return Loc{File: c.file, Line: n.line} }

// qname resolves a QName-valued attribute in the scope of n.
func (l *loader) qname(c *docCtx, n *xnode, v string) (QName, error) {
	v = strings.TrimSpace(v)
	prefix, local := "", v
	if i := strings.IndexByte(v, ':'); i >= 0 {
		prefix, local = v[:i], v[i+1:]
	}
	uri, ok := n.scope.lookup(prefix)
	if !ok {
		return QName{}, l.errf(c, n, "unbound prefix in %q", v)
	}
	return QName{uri, local}, nil
}

func occurs(c *docCtx, l *loader, n *xnode) (int, int, error) {
	minO, maxO := 1, 1
	if v, ok := n.attrs["minOccurs"]; ok {
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 {
			return 0, 0, l.errf(c, n, "bad minOccurs %q", v)
		}
		minO = i
	}
	if v, ok := n.attrs["maxOccurs"]; ok {
		v = strings.TrimSpace(v)
		if v == "unbounded" {
			maxO = Unbounded
		} else {
			i, err := strconv.Atoi(v)
			if err != nil || i < 0 {
				return 0, 0, l.errf(c, n, "bad maxOccurs %q", v)
			}
			maxO = i
		}
	}
	if maxO != Unbounded && maxO < minO {
		return 0, 0, l.errf(c, n, "maxOccurs %d < minOccurs %d", maxO, minO)
	}
	return minO, maxO, nil
}

func boolAttr(n *xnode, name string) bool {
	v := strings.TrimSpace(n.attrs[name])
	return v == "true" || v == "1"
}

func optString(n *xnode, name string) *string {
	if v, ok := n.attrs[name]; ok {
		return &v
	}
	return nil
}

// element parses an xs:element, global or local. For a local element it
// also returns the particle (with its occurrence bounds).
func (l *loader) element(c *docCtx, n *xnode, global bool, ctx string) (*Element, *Particle, error) {
	for _, a := range []string{"substitutionGroup", "block", "final"} {
		if _, ok := n.attrs[a]; ok {
			return nil, nil, l.errf(c, n, "unsupported attribute %s on xs:element", a)
		}
	}
	p := &Particle{Kind: ParticleElement, Min: 1, Max: 1, Loc: l.loc(c, n)}
	if !global {
		var err error
		if p.Min, p.Max, err = occurs(c, l, n); err != nil {
			return nil, nil, err
		}
	}
	if ref, ok := n.attrs["ref"]; ok {
		if global {
			return nil, nil, l.errf(c, n, "ref on a global element")
		}
		q, err := l.qname(c, n, ref)
		if err != nil {
			return nil, nil, err
		}
		p.Ref = true
		p.Element = &Element{Name: q} // placeholder, resolved later
		l.refs = append(l.refs, p)
		return p.Element, p, nil
	}
	name := n.attrs["name"]
	if name == "" {
		return nil, nil, l.errf(c, n, "xs:element without name or ref")
	}
	e := &Element{
		Global:   global,
		Default:  optString(n, "default"),
		Fixed:    optString(n, "fixed"),
		Nillable: boolAttr(n, "nillable"),
		Abstract: boolAttr(n, "abstract"),
		Loc:      l.loc(c, n),
	}
	qualified := global || c.qualifiedEl
	if f, ok := n.attrs["form"]; ok {
		qualified = f == "qualified"
	}
	if qualified {
		e.Name = QName{c.tns, name}
	} else {
		e.Name = QName{"", name}
	}
	ectx := ctx + "/" + name
	if global {
		ectx = l.prefixed(c.tns, name)
	}
	if t, ok := n.attrs["type"]; ok {
		q, err := l.qname(c, n, t)
		if err != nil {
			return nil, nil, err
		}
		e.typeRef = q
	}
	for _, k := range n.kids {
		if k.name.Space != NSXSD {
			return nil, nil, l.errf(c, k, "unexpected %s in xs:element", k.name.Local)
		}
		switch k.name.Local {
		case "annotation":
		case "complexType":
			if e.Type != nil || e.typeRef != (QName{}) {
				return nil, nil, l.errf(c, k, "element %s has two types", name)
			}
			t, err := l.complexType(c, k, ectx)
			if err != nil {
				return nil, nil, err
			}
			e.Type = t
		case "simpleType":
			if e.Type != nil || e.typeRef != (QName{}) {
				return nil, nil, l.errf(c, k, "element %s has two types", name)
			}
			t, err := l.simpleType(c, k, ectx)
			if err != nil {
				return nil, nil, err
			}
			e.Type = t
		default:
			return nil, nil, l.errf(c, k, "unsupported xs:%s in xs:element", k.name.Local)
		}
	}
	l.elems = append(l.elems, e)
	p.Element = e
	return e, p, nil
}

func (l *loader) prefixed(ns, local string) string {
	if p := l.s.Prefixes[ns]; p != "" {
		return p + ":" + local
	}
	return local
}

func (l *loader) complexType(c *docCtx, n *xnode, ctx string) (*ComplexType, error) {
	t := &ComplexType{
		Abstract: boolAttr(n, "abstract"),
		Mixed:    boolAttr(n, "mixed"),
		Context:  ctx,
		Loc:      l.loc(c, n),
	}
	if name, ok := n.attrs["name"]; ok {
		if ctx != "" {
			return nil, l.errf(c, n, "named local complex type")
		}
		t.Name = QName{c.tns, name}
		t.Context = l.prefixed(c.tns, name)
	} else if ctx == "" {
		return nil, l.errf(c, n, "top-level complex type without a name")
	}
	for _, a := range []string{"block", "final"} {
		if _, ok := n.attrs[a]; ok {
			return nil, l.errf(c, n, "unsupported attribute %s on xs:complexType", a)
		}
	}
	l.s.ComplexList = append(l.s.ComplexList, t)
	body := n.kids
	for _, k := range body {
		if k.name.Space == NSXSD && (k.name.Local == "simpleContent" || k.name.Local == "complexContent") {
			if len(nonAnnotation(body)) != 1 {
				return nil, l.errf(c, k, "xs:%s must be the only content of xs:complexType", k.name.Local)
			}
			return t, l.derivedContent(c, t, k)
		}
	}
	return t, l.contentBody(c, t, n, body)
}

func nonAnnotation(ns []*xnode) []*xnode {
	var out []*xnode
	for _, k := range ns {
		if !(k.name.Space == NSXSD && k.name.Local == "annotation") {
			out = append(out, k)
		}
	}
	return out
}

// derivedContent parses xs:simpleContent or xs:complexContent.
func (l *loader) derivedContent(c *docCtx, t *ComplexType, n *xnode) error {
	t.SimpleContent = n.name.Local == "simpleContent"
	if !t.SimpleContent && boolAttr(n, "mixed") {
		t.Mixed = true
	}
	kids := nonAnnotation(n.kids)
	if len(kids) != 1 || kids[0].name.Space != NSXSD {
		return l.errf(c, n, "xs:%s needs exactly one xs:extension or xs:restriction", n.name.Local)
	}
	d := kids[0]
	switch d.name.Local {
	case "extension":
		t.Derivation = DerivExtension
	case "restriction":
		t.Derivation = DerivRestriction
	default:
		return l.errf(c, d, "unexpected xs:%s in xs:%s", d.name.Local, n.name.Local)
	}
	base, ok := d.attrs["base"]
	if !ok {
		return l.errf(c, d, "xs:%s without base", d.name.Local)
	}
	q, err := l.qname(c, d, base)
	if err != nil {
		return err
	}
	t.baseRef = q
	if t.SimpleContent {
		var attrs []*xnode
		var inline *SimpleType
		facets := Facets{}
		for _, k := range d.kids {
			if k.name.Space != NSXSD {
				return l.errf(c, k, "unexpected %s", k.name.Local)
			}
			switch k.name.Local {
			case "annotation":
			case "attribute", "anyAttribute":
				attrs = append(attrs, k)
			case "simpleType":
				if t.Derivation != DerivRestriction {
					return l.errf(c, k, "xs:simpleType in a simpleContent extension")
				}
				st, err := l.simpleType(c, k, t.Context)
				if err != nil {
					return err
				}
				inline = st
			default:
				if t.Derivation != DerivRestriction {
					return l.errf(c, k, "unexpected xs:%s in simpleContent extension", k.name.Local)
				}
				if err := l.facet(c, k, &facets); err != nil {
					return err
				}
			}
		}
		if t.Derivation == DerivRestriction {
			st := &SimpleType{Facets: facets, Context: t.Context + " (simple content)", Loc: l.loc(c, d), Base: inline}
			l.s.SimpleList = append(l.s.SimpleList, st)
			t.Restriction = st
		}
		return l.attributes(c, t, attrs)
	}
	return l.contentBody(c, t, d, d.kids)
}

// contentBody parses the particle and attribute declarations of a complex
// type or of a complexContent derivation.
func (l *loader) contentBody(c *docCtx, t *ComplexType, n *xnode, kids []*xnode) error {
	var attrs []*xnode
	for _, k := range kids {
		if k.name.Space != NSXSD {
			return l.errf(c, k, "unexpected %s", k.name.Local)
		}
		switch k.name.Local {
		case "annotation":
		case "sequence", "choice":
			if t.Particle != nil {
				return l.errf(c, k, "two content models")
			}
			if len(attrs) > 0 {
				return l.errf(c, k, "content model after attributes")
			}
			p, err := l.group(c, k, t.Context)
			if err != nil {
				return err
			}
			t.Particle = p
		case "attribute", "anyAttribute":
			attrs = append(attrs, k)
		default:
			return l.errf(c, k, "unsupported xs:%s in a complex type", k.name.Local)
		}
	}
	return l.attributes(c, t, attrs)
}

func (l *loader) group(c *docCtx, n *xnode, ctx string) (*Particle, error) {
	p := &Particle{Loc: l.loc(c, n)}
	switch n.name.Local {
	case "sequence":
		p.Kind = ParticleSequence
	case "choice":
		p.Kind = ParticleChoice
	default:
		return nil, l.errf(c, n, "unsupported xs:%s", n.name.Local)
	}
	var err error
	if p.Min, p.Max, err = occurs(c, l, n); err != nil {
		return nil, err
	}
	for _, k := range n.kids {
		if k.name.Space != NSXSD {
			return nil, l.errf(c, k, "unexpected %s", k.name.Local)
		}
		switch k.name.Local {
		case "annotation":
		case "element":
			_, ep, err := l.element(c, k, false, ctx)
			if err != nil {
				return nil, err
			}
			p.Children = append(p.Children, ep)
		case "sequence", "choice":
			g, err := l.group(c, k, ctx)
			if err != nil {
				return nil, err
			}
			p.Children = append(p.Children, g)
		case "any":
			a := &Particle{Kind: ParticleAny, Loc: l.loc(c, k)}
			if a.Min, a.Max, err = occurs(c, l, k); err != nil {
				return nil, err
			}
			a.Wildcard = l.wildcard(c, k)
			p.Children = append(p.Children, a)
		default:
			return nil, l.errf(c, k, "unsupported xs:%s in a model group", k.name.Local)
		}
	}
	return p, nil
}

func (l *loader) wildcard(c *docCtx, n *xnode) *Wildcard {
	w := &Wildcard{Namespace: "##any", Process: "strict", TargetNS: c.tns}
	if v, ok := n.attrs["namespace"]; ok {
		w.Namespace = strings.Join(splitSpace(v), " ")
	}
	if v, ok := n.attrs["processContents"]; ok {
		w.Process = strings.TrimSpace(v)
	}
	return w
}

func (l *loader) attributes(c *docCtx, t *ComplexType, ns []*xnode) error {
	for _, k := range ns {
		if k.name.Local == "anyAttribute" {
			if t.AnyAttribute != nil {
				return l.errf(c, k, "two xs:anyAttribute")
			}
			t.AnyAttribute = l.wildcard(c, k)
			continue
		}
		if t.AnyAttribute != nil {
			return l.errf(c, k, "xs:attribute after xs:anyAttribute")
		}
		if _, ok := k.attrs["ref"]; ok {
			return l.errf(c, k, "attribute ref= is not supported")
		}
		name := k.attrs["name"]
		if name == "" {
			return l.errf(c, k, "xs:attribute without name")
		}
		a := &Attribute{Default: optString(k, "default"), Fixed: optString(k, "fixed"), Loc: l.loc(c, k)}
		qualified := c.qualifiedAt
		if f, ok := k.attrs["form"]; ok {
			qualified = f == "qualified"
		}
		if qualified {
			a.Name = QName{c.tns, name}
		} else {
			a.Name = QName{"", name}
		}
		switch strings.TrimSpace(k.attrs["use"]) {
		case "", "optional":
		case "required":
			a.Required = true
		case "prohibited":
			a.Prohibited = true
		default:
			return l.errf(c, k, "bad use=%q", k.attrs["use"])
		}
		if v, ok := k.attrs["type"]; ok {
			q, err := l.qname(c, k, v)
			if err != nil {
				return err
			}
			a.typeRef = q
		}
		for _, kk := range k.kids {
			if kk.name.Space == NSXSD && kk.name.Local == "simpleType" {
				st, err := l.simpleType(c, kk, t.Context+"/@"+name)
				if err != nil {
					return err
				}
				a.Type = st
			} else if !(kk.name.Space == NSXSD && kk.name.Local == "annotation") {
				return l.errf(c, kk, "unexpected %s in xs:attribute", kk.name.Local)
			}
		}
		for _, prev := range t.Attributes {
			if prev.Name == a.Name {
				return l.errf(c, k, "duplicate attribute %s", a.Name)
			}
		}
		t.Attributes = append(t.Attributes, a)
		l.attrs = append(l.attrs, a)
	}
	return nil
}

func (l *loader) simpleType(c *docCtx, n *xnode, ctx string) (*SimpleType, error) {
	t := &SimpleType{Context: ctx, Loc: l.loc(c, n)}
	if name, ok := n.attrs["name"]; ok {
		if ctx != "" {
			return nil, l.errf(c, n, "named local simple type")
		}
		t.Name = QName{c.tns, name}
		t.Context = l.prefixed(c.tns, name)
	} else if ctx == "" {
		return nil, l.errf(c, n, "top-level simple type without a name")
	}
	kids := nonAnnotation(n.kids)
	if len(kids) != 1 || kids[0].name.Space != NSXSD {
		return nil, l.errf(c, n, "xs:simpleType needs one xs:restriction")
	}
	r := kids[0]
	if r.name.Local != "restriction" {
		return nil, l.errf(c, r, "unsupported xs:%s (only xs:restriction)", r.name.Local)
	}
	l.s.SimpleList = append(l.s.SimpleList, t)
	if b, ok := r.attrs["base"]; ok {
		q, err := l.qname(c, r, b)
		if err != nil {
			return nil, err
		}
		t.baseRef = q
	}
	for _, k := range r.kids {
		if k.name.Space != NSXSD {
			return nil, l.errf(c, k, "unexpected %s", k.name.Local)
		}
		switch k.name.Local {
		case "annotation":
		case "simpleType":
			if t.baseRef != (QName{}) || t.Base != nil {
				return nil, l.errf(c, k, "restriction with both base= and xs:simpleType")
			}
			b, err := l.simpleType(c, k, ctx+" (base)")
			if err != nil {
				return nil, err
			}
			t.Base = b
		default:
			if err := l.facet(c, k, &t.Facets); err != nil {
				return nil, err
			}
		}
	}
	if t.baseRef == (QName{}) && t.Base == nil {
		return nil, l.errf(c, r, "xs:restriction without a base")
	}
	return t, nil
}

func (l *loader) facet(c *docCtx, n *xnode, f *Facets) error {
	v, ok := n.attrs["value"]
	if !ok {
		return l.errf(c, n, "facet xs:%s without value", n.name.Local)
	}
	num := func(dst **int) error {
		if *dst != nil {
			return l.errf(c, n, "facet xs:%s given twice", n.name.Local)
		}
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 {
			return l.errf(c, n, "bad xs:%s value %q", n.name.Local, v)
		}
		*dst = &i
		return nil
	}
	str := func(dst **string) error {
		if *dst != nil {
			return l.errf(c, n, "facet xs:%s given twice", n.name.Local)
		}
		s := strings.TrimSpace(v)
		*dst = &s
		return nil
	}
	switch n.name.Local {
	case "enumeration":
		f.Enumeration = append(f.Enumeration, v)
	case "pattern":
		f.Pattern = append(f.Pattern, v)
	case "length":
		return num(&f.Length)
	case "minLength":
		return num(&f.MinLength)
	case "maxLength":
		return num(&f.MaxLength)
	case "totalDigits":
		return num(&f.TotalDigits)
	case "fractionDigits":
		return num(&f.FractionDigits)
	case "minInclusive":
		return str(&f.MinInclusive)
	case "maxInclusive":
		return str(&f.MaxInclusive)
	case "minExclusive":
		return str(&f.MinExclusive)
	case "maxExclusive":
		return str(&f.MaxExclusive)
	case "whiteSpace":
		switch v = strings.TrimSpace(v); v {
		case "preserve", "replace", "collapse":
			f.WhiteSpace = v
		default:
			return l.errf(c, n, "bad whiteSpace %q", v)
		}
	default:
		return l.errf(c, n, "unsupported facet xs:%s", n.name.Local)
	}
	return nil
}
