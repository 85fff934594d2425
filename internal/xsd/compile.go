package xsd

import (
	"fmt"
	"sort"
	"strings"
)

// MaxStates bounds the automaton of one complex type. Group occurrence
// bounds are unrolled (a sequence with maxOccurs="5" becomes five copies),
// so a pathological schema could otherwise blow up.
const MaxStates = 50000

type compiler struct {
	s          *Schema
	t          *Tables
	simpleIdx  map[*SimpleType]int32
	complexIdx map[*ComplexType]int32
	elemIdx    map[*Element]int32
	wildIdx    map[*Wildcard]int32
	patIdx     map[string]int32
	elemQueue  []*Element
}

// Compile turns a loaded schema into validation tables. The result depends
// only on the schema documents, so generated code built from it is
// reproducible.
func Compile(s *Schema) (*Tables, error) {
	c := &compiler{
		s:          s,
		t:          &Tables{},
		simpleIdx:  map[*SimpleType]int32{},
		complexIdx: map[*ComplexType]int32{},
		elemIdx:    map[*Element]int32{},
		wildIdx:    map[*Wildcard]int32{},
		patIdx:     map[string]int32{},
	}
	// Index assignment in a fixed order: built-ins, user simple types in
	// document order; complex types in document order, then xs:anyType.
	var simples []*SimpleType
	for _, d := range builtinDefs {
		simples = append(simples, s.builtins[d.name])
	}
	simples = append(simples, s.SimpleList...)
	for _, st := range simples {
		c.simpleIdx[st] = int32(len(c.simpleIdx))
	}
	c.t.Simple = make([]SimpleTable, len(simples))
	complexes := append(append([]*ComplexType(nil), s.ComplexList...), s.AnyType)
	for _, ct := range complexes {
		c.complexIdx[ct] = int32(len(c.complexIdx))
	}
	c.t.Complex = make([]ComplexTable, len(complexes))
	c.t.AnyType = c.complexIdx[s.AnyType]
	for _, e := range s.ElementList {
		c.elem(e)
	}

	for i, st := range simples {
		if err := c.simple(int32(i), st); err != nil {
			return nil, err
		}
	}
	for i, ct := range complexes {
		if err := c.complex(int32(i), ct); err != nil {
			return nil, err
		}
	}
	for i := 0; i < len(c.elemQueue); i++ {
		if err := c.fillElem(c.elemQueue[i]); err != nil {
			return nil, err
		}
	}

	for _, e := range s.ElementList {
		c.t.Globals = append(c.t.Globals, c.elemIdx[e])
	}
	sort.Slice(c.t.Globals, func(i, j int) bool {
		a, b := c.t.Elems[c.t.Globals[i]], c.t.Elems[c.t.Globals[j]]
		return a.Local < b.Local || a.Local == b.Local && a.NS < b.NS
	})
	for _, ct := range complexes {
		if ct.Name != (QName{}) {
			c.t.Types = append(c.t.Types, TypeRef{Local: ct.Name.Local, NS: ct.Name.Space, Complex: c.complexIdx[ct], Simple: -1})
		}
	}
	for _, st := range simples {
		if st.Name != (QName{}) {
			c.t.Types = append(c.t.Types, TypeRef{Local: st.Name.Local, NS: st.Name.Space, Complex: -1, Simple: c.simpleIdx[st]})
		}
	}
	sort.Slice(c.t.Types, func(i, j int) bool {
		a, b := c.t.Types[i], c.t.Types[j]
		return a.Local < b.Local || a.Local == b.Local && a.NS < b.NS
	})
	for ns, p := range s.Prefixes {
		c.t.Prefixes = append(c.t.Prefixes, NSPrefix{NS: ns, Prefix: p})
	}
	c.t.Prefixes = append(c.t.Prefixes, NSPrefix{NS: NSXSD, Prefix: "xs"})
	sort.Slice(c.t.Prefixes, func(i, j int) bool { return c.t.Prefixes[i].NS < c.t.Prefixes[j].NS })
	return c.t, nil
}

func (c *compiler) qname(q QName) string {
	if q.Space == NSXSD {
		return "xs:" + q.Local
	}
	if p := c.s.Prefixes[q.Space]; p != "" {
		return p + ":" + q.Local
	}
	return q.Local
}

// elem returns the index of an element declaration, queueing it to be
// filled in.
func (c *compiler) elem(e *Element) int32 {
	if i, ok := c.elemIdx[e]; ok {
		return i
	}
	i := int32(len(c.t.Elems))
	c.elemIdx[e] = i
	c.t.Elems = append(c.t.Elems, ElemDecl{Local: e.Name.Local, NS: e.Name.Space, Type: -1, Simple: -1})
	c.elemQueue = append(c.elemQueue, e)
	return i
}

func (c *compiler) fillElem(e *Element) error {
	d := &c.t.Elems[c.elemIdx[e]]
	if e.Abstract {
		return fmt.Errorf("%s: abstract element %s is not supported (no substitution groups)", e.Loc, e.Name)
	}
	switch t := e.Type.(type) {
	case *ComplexType:
		d.Type = c.complexIdx[t]
	case *SimpleType:
		d.Simple = c.simpleIdx[t]
	default:
		return fmt.Errorf("%s: element %s has no type", e.Loc, e.Name)
	}
	d.Nillable = e.Nillable
	if e.Default != nil && e.Fixed != nil {
		return fmt.Errorf("%s: element %s has both default and fixed", e.Loc, e.Name)
	}
	if e.Default != nil {
		d.HasDefault, d.Value = true, *e.Default
	}
	if e.Fixed != nil {
		d.HasFixed, d.Value = true, *e.Fixed
	}
	return nil
}

func (c *compiler) wild(w *Wildcard) int32 {
	if i, ok := c.wildIdx[w]; ok {
		return i
	}
	wt := WildTable{}
	switch w.Process {
	case "lax":
		wt.Process = ProcessLax
	case "skip":
		wt.Process = ProcessSkip
	default:
		wt.Process = ProcessStrict
	}
	switch w.Namespace {
	case "##any", "":
		wt.Mode = WildAny
	case "##other":
		wt.Mode = WildOther
		wt.NS = []string{w.TargetNS}
	default:
		wt.Mode = WildList
		for _, f := range splitSpace(w.Namespace) {
			switch f {
			case "##targetNamespace":
				wt.NS = append(wt.NS, w.TargetNS)
			case "##local":
				wt.NS = append(wt.NS, "")
			default:
				wt.NS = append(wt.NS, f)
			}
		}
	}
	i := int32(len(c.t.Wild))
	c.t.Wild = append(c.t.Wild, wt)
	c.wildIdx[w] = i
	return i
}

// pattern registers the alternatives of one derivation step as a single
// RE2 expression.
func (c *compiler) pattern(alts []string) (int32, error) {
	var parts []string
	for _, a := range alts {
		re, err := TranslatePattern(a)
		if err != nil {
			return 0, err
		}
		parts = append(parts, re[len("^(?:"):len(re)-len(")$")])
	}
	var re string
	if len(parts) == 1 {
		re = "^(?:" + parts[0] + ")$"
	} else {
		re = "^(?:(?:" + strings.Join(parts, ")|(?:") + "))$"
	}
	if i, ok := c.patIdx[re]; ok {
		return i, nil
	}
	i := int32(len(c.t.Patterns))
	c.t.Patterns = append(c.t.Patterns, re)
	c.patIdx[re] = i
	return i, nil
}

func (c *compiler) simple(i int32, st *SimpleType) error {
	out := &c.t.Simple[i]
	out.Base = -1
	if st.Base != nil {
		out.Base = c.simpleIdx[st.Base]
	}
	if st.Name != (QName{}) {
		out.Name = c.qname(st.Name)
	}
	prim, ok := primByName(st.Primitive)
	if !ok {
		return fmt.Errorf("%s: simple type %s: unknown primitive %q", st.Loc, st.Context, st.Primitive)
	}
	out.Prim = prim
	// Lexical rules and ID-ness from the built-in ancestors.
	for s := st; s != nil; s = s.Base {
		if !s.Builtin {
			continue
		}
		switch s.Name.Local {
		case "integer":
			if out.Lex == LexNone {
				out.Lex = LexInteger
			}
		case "Name":
			if out.Lex == LexNone {
				out.Lex = LexName
			}
		case "NCName":
			if out.Lex == LexNone {
				out.Lex = LexNCName
			}
		case "NMTOKEN":
			if out.Lex == LexNone {
				out.Lex = LexNMTOKEN
			}
		case "language":
			if out.Lex == LexNone {
				out.Lex = LexLanguage
			}
		case "ID":
			out.Has |= IsID
		}
	}
	// whiteSpace: the most derived declaration.
	out.WS = WSPreserve
	for s := st; s != nil; s = s.Base {
		if ws := s.Facets.WhiteSpace; ws != "" {
			if ws == "replace" {
				out.WS = WSReplace
			} else if ws == "collapse" {
				out.WS = WSCollapse
			}
			break
		}
	}
	if prim != PrimString && prim != PrimAnySimple {
		out.WS = WSCollapse
	}
	// Facets, most derived first; each kind keeps its tightest value.
	tightInt := func(has uint16, dst *int32, v *int, smaller bool) {
		if v == nil {
			return
		}
		if out.Has&has == 0 || (smaller && int32(*v) < *dst) || (!smaller && int32(*v) > *dst) {
			*dst = int32(*v)
		}
		out.Has |= has
	}
	var minInc, maxInc, minExc, maxExc *decimal
	tightDec := func(loc Loc, has uint16, cur **decimal, v *string, wantMax bool) error {
		if v == nil {
			return nil
		}
		if prim != PrimDecimal {
			return fmt.Errorf("%s: simple type %s: range facets on %s are not supported", loc, st.Context, prim)
		}
		d, ok := parseDecimal(*v, false)
		if !ok {
			return fmt.Errorf("%s: simple type %s: bad range value %q", loc, st.Context, *v)
		}
		if *cur == nil || (wantMax && cmpDecimal(d, **cur) > 0) || (!wantMax && cmpDecimal(d, **cur) < 0) {
			*cur = &d
		}
		out.Has |= has
		return nil
	}
	var patterns []int32
	for s := st; s != nil; s = s.Base {
		f := &s.Facets
		if f.Length != nil && out.Has&HasLength == 0 {
			out.Length = int32(*f.Length)
			out.Has |= HasLength
		}
		tightInt(HasMinLength, &out.MinLength, f.MinLength, false)
		tightInt(HasMaxLength, &out.MaxLength, f.MaxLength, true)
		tightInt(HasTotalDigits, &out.TotalDigits, f.TotalDigits, true)
		tightInt(HasFractionDigits, &out.FractionDigits, f.FractionDigits, true)
		if err := tightDec(s.Loc, HasMinInclusive, &minInc, f.MinInclusive, true); err != nil {
			return err
		}
		if err := tightDec(s.Loc, HasMaxInclusive, &maxInc, f.MaxInclusive, false); err != nil {
			return err
		}
		if err := tightDec(s.Loc, HasMinExclusive, &minExc, f.MinExclusive, true); err != nil {
			return err
		}
		if err := tightDec(s.Loc, HasMaxExclusive, &maxExc, f.MaxExclusive, false); err != nil {
			return err
		}
		if len(f.Pattern) > 0 {
			p, err := c.pattern(f.Pattern)
			if err != nil {
				return fmt.Errorf("%s: simple type %s: %w", s.Loc, st.Context, err)
			}
			patterns = append(patterns, p)
		}
		if len(f.Enumeration) > 0 && out.Has&HasEnum == 0 {
			out.Has |= HasEnum
			for _, e := range f.Enumeration {
				v, ok := Canonical(prim, normalizeWS(e, out.WS))
				if !ok {
					return fmt.Errorf("%s: simple type %s: enumeration value %q is not a %s", s.Loc, st.Context, e, prim)
				}
				out.Enum = append(out.Enum, v)
			}
		}
	}
	// Patterns of the base apply first: reverse to base-first order.
	for l, r := 0, len(patterns)-1; l < r; l, r = l+1, r-1 {
		patterns[l], patterns[r] = patterns[r], patterns[l]
	}
	out.Patterns = patterns
	if minInc != nil {
		out.MinInclusive = minInc.canonical()
	}
	if maxInc != nil {
		out.MaxInclusive = maxInc.canonical()
	}
	if minExc != nil {
		out.MinExclusive = minExc.canonical()
	}
	if maxExc != nil {
		out.MaxExclusive = maxExc.canonical()
	}
	return nil
}

func (c *compiler) complex(i int32, ct *ComplexType) error {
	out := &c.t.Complex[i]
	out.Base = -1
	out.Value = -1
	out.AnyAttr = -1
	if ct.Name != (QName{}) {
		out.Name = c.qname(ct.Name)
	}
	if b, ok := ct.Base.(*ComplexType); ok {
		out.Base = c.complexIdx[b]
	}
	out.Abstract = ct.Abstract
	out.Content = uint8(ct.Content)
	if ct.Content == ContentSimple {
		out.Value = c.simpleIdx[ct.ValueType]
	}
	for _, a := range ct.EffectiveAttributes {
		d := AttrDecl{Local: a.Name.Local, NS: a.Name.Space, Type: c.simpleIdx[a.Type], Required: a.Required}
		if a.Fixed != nil {
			d.HasFixed, d.Fixed = true, *a.Fixed
		}
		out.Attrs = append(out.Attrs, d)
	}
	sort.Slice(out.Attrs, func(i, j int) bool {
		a, b := out.Attrs[i], out.Attrs[j]
		return a.Local < b.Local || a.Local == b.Local && a.NS < b.NS
	})
	if ct.EffectiveAnyAttr != nil {
		out.AnyAttr = c.wild(ct.EffectiveAnyAttr)
	}
	if ct.Content == ContentElement || ct.Content == ContentMixed {
		states, err := c.automaton(ct)
		if err != nil {
			return err
		}
		out.States = states
	} else {
		out.States = []State{{Elem: -1, Wild: -1, Final: true}}
	}
	return nil
}

// Glushkov construction with occurrence counters on single positions.

type gpos struct {
	elem, wild int32
	min, max   int32
	follow     []int
}

type gres struct {
	nullable    bool
	first, last []int
}

type automatonBuilder struct {
	c    *compiler
	ct   *ComplexType
	pos  []gpos
	fail error
}

func (c *compiler) automaton(ct *ComplexType) ([]State, error) {
	b := &automatonBuilder{c: c, ct: ct}
	root := gres{nullable: true}
	if p := normalize(ct.EffectiveParticle); p != nil {
		root = b.particle(simplify(p))
	}
	if b.fail != nil {
		return nil, b.fail
	}
	states := make([]State, len(b.pos)+1)
	states[0] = State{Elem: -1, Wild: -1, Final: root.nullable}
	if err := b.transitions(&states[0], root.first, "start"); err != nil {
		return nil, err
	}
	last := map[int]bool{}
	for _, p := range root.last {
		last[p] = true
	}
	for i, p := range b.pos {
		st := &states[i+1]
		st.Elem, st.Wild, st.Min, st.Max = p.elem, p.wild, p.min, p.max
		st.Final = last[i]
		if err := b.transitions(st, p.follow, fmt.Sprintf("after position %d", i+1)); err != nil {
			return nil, err
		}
	}
	return states, nil
}

func (b *automatonBuilder) transitions(st *State, targets []int, where string) error {
	seen := map[int]bool{}
	byName := map[[2]string]int32{}
	for _, q := range targets {
		if seen[q] {
			continue
		}
		seen[q] = true
		p := b.pos[q]
		if p.wild >= 0 {
			st.WildTo = append(st.WildTo, int32(q+1))
			continue
		}
		e := b.c.t.Elems[p.elem]
		k := [2]string{e.Local, e.NS}
		if prev, ok := byName[k]; ok && prev != int32(q+1) {
			return fmt.Errorf("%s: content model of %s is not deterministic (Unique Particle Attribution) for element %s %s",
				b.ct.Loc, b.ct.Context, b.c.qname(QName{e.NS, e.Local}), where)
		}
		byName[k] = int32(q + 1)
		st.Trans = append(st.Trans, Trans{Local: e.Local, NS: e.NS, To: int32(q + 1)})
	}
	sort.Slice(st.Trans, func(i, j int) bool {
		a, c := st.Trans[i], st.Trans[j]
		return a.Local < c.Local || a.Local == c.Local && a.NS < c.NS
	})
	sort.Slice(st.WildTo, func(i, j int) bool { return st.WildTo[i] < st.WildTo[j] })
	for _, w := range st.WildTo {
		wt := b.c.t.Wild[b.pos[w-1].wild]
		for _, tr := range st.Trans {
			if wt.Allows(tr.NS) {
				return fmt.Errorf("%s: content model of %s: wildcard overlaps element %s %s (Unique Particle Attribution)",
					b.ct.Loc, b.ct.Context, b.c.qname(QName{tr.NS, tr.Local}), where)
			}
		}
	}
	return nil
}

// simplify merges single-child groups into their child where the
// occurrence bounds multiply exactly, and splices nested (1,1) groups of
// the same kind. The language is unchanged.
func simplify(p *Particle) *Particle {
	if p.Kind != ParticleSequence && p.Kind != ParticleChoice {
		return p
	}
	var kids []*Particle
	for _, k := range p.Children {
		k = simplify(k)
		if k.Kind == p.Kind && k.Min == 1 && k.Max == 1 {
			kids = append(kids, k.Children...)
			continue
		}
		kids = append(kids, k)
	}
	q := *p
	q.Children = kids
	if len(kids) == 1 {
		k := kids[0]
		switch {
		case q.Min == 1 && q.Max == 1:
			return k
		case k.Min == 1 && k.Max == 1:
			m := *k
			m.Min, m.Max = q.Min, q.Max
			return &m
		}
	}
	return &q
}

func (b *automatonBuilder) newPos(p gpos) int {
	b.pos = append(b.pos, p)
	if len(b.pos) > MaxStates && b.fail == nil {
		b.fail = fmt.Errorf("%s: content model of %s needs more than %d states", b.ct.Loc, b.ct.Context, MaxStates)
	}
	return len(b.pos) - 1
}

func (b *automatonBuilder) seq(a, c gres) gres {
	for _, p := range a.last {
		b.pos[p].follow = append(b.pos[p].follow, c.first...)
	}
	r := gres{nullable: a.nullable && c.nullable}
	r.first = append(r.first, a.first...)
	if a.nullable {
		r.first = append(r.first, c.first...)
	}
	r.last = append(r.last, c.last...)
	if c.nullable {
		r.last = append(r.last, a.last...)
	}
	return r
}

func (b *automatonBuilder) star(g gres) gres {
	for _, p := range g.last {
		b.pos[p].follow = append(b.pos[p].follow, g.first...)
	}
	g.nullable = true
	return g
}

func (b *automatonBuilder) particle(p *Particle) gres {
	if b.fail != nil {
		return gres{nullable: true}
	}
	switch p.Kind {
	case ParticleElement, ParticleAny:
		gp := gpos{elem: -1, wild: -1, min: int32(p.Min), max: int32(p.Max)}
		if gp.min < 1 {
			gp.min = 1
		}
		if p.Kind == ParticleElement {
			gp.elem = b.c.elem(p.Element)
		} else {
			gp.wild = b.c.wild(p.Wildcard)
		}
		i := b.newPos(gp)
		return gres{nullable: p.Min == 0, first: []int{i}, last: []int{i}}
	}
	if p.Min == 1 && p.Max == 1 {
		return b.body(p)
	}
	res := gres{nullable: true}
	for i := 0; i < p.Min; i++ {
		res = b.seq(res, b.body(p))
	}
	switch {
	case p.Max == Unbounded:
		res = b.seq(res, b.star(b.body(p)))
	case p.Max > p.Min:
		copies := make([]gres, p.Max-p.Min)
		for i := range copies {
			copies[i] = b.body(p)
		}
		tail := gres{nullable: true}
		for i := len(copies) - 1; i >= 0; i-- {
			tail = b.seq(copies[i], tail)
			tail.nullable = true
		}
		res = b.seq(res, tail)
	}
	return res
}

// body builds one occurrence of a model group.
func (b *automatonBuilder) body(p *Particle) gres {
	switch p.Kind {
	case ParticleSequence:
		res := gres{nullable: true}
		for _, k := range p.Children {
			res = b.seq(res, b.particle(k))
		}
		return res
	case ParticleChoice:
		res := gres{nullable: false}
		for _, k := range p.Children {
			g := b.particle(k)
			res.nullable = res.nullable || g.nullable
			res.first = append(res.first, g.first...)
			res.last = append(res.last, g.last...)
		}
		return res
	}
	return b.particle(p)
}

// SimplifyParticle returns the content model p in the normalised form the
// compiler works on: particles that cannot occur are dropped, empty groups
// removed, single-child groups merged into their child where occurrence
// bounds multiply exactly, and nested (1,1) groups of the same kind
// spliced. The language is unchanged; nil means empty content.
func SimplifyParticle(p *Particle) *Particle {
	if p = normalize(p); p == nil {
		return nil
	}
	return simplify(p)
}
