package xsd

import "fmt"

func (l *loader) lookupType(q QName) (Type, bool) {
	if q.Space == NSXSD {
		if q.Local == "anyType" {
			return l.s.AnyType, true
		}
		if b, ok := l.builtins[q.Local]; ok {
			return b, true
		}
		return nil, false
	}
	if t, ok := l.s.ComplexTypes[q]; ok {
		return t, true
	}
	if t, ok := l.s.SimpleTypes[q]; ok {
		return t, true
	}
	return nil, false
}

// Builtin returns the built-in simple type with the given local name
// (e.g. "string", "positiveInteger"), or nil.
func (s *Schema) Builtin(local string) *SimpleType { return s.builtins[local] }

func (l *loader) resolve() error {
	// Simple type bases.
	for _, t := range l.s.SimpleList {
		if t.baseRef == (QName{}) {
			continue
		}
		bt, ok := l.lookupType(t.baseRef)
		if !ok {
			return fmt.Errorf("%s: unknown base type %s", t.Loc, t.baseRef)
		}
		b, ok := bt.(*SimpleType)
		if !ok {
			return fmt.Errorf("%s: base type %s of a simple type is complex", t.Loc, t.baseRef)
		}
		t.Base = b
	}
	// Element types.
	for _, e := range l.elems {
		if e.Type != nil {
			continue
		}
		if e.typeRef == (QName{}) {
			e.Type = l.s.AnyType
			continue
		}
		t, ok := l.lookupType(e.typeRef)
		if !ok {
			return fmt.Errorf("%s: element %s: unknown type %s", e.Loc, e.Name.Local, e.typeRef)
		}
		e.Type = t
	}
	// Attribute types.
	for _, a := range l.attrs {
		if a.Type != nil {
			continue
		}
		if a.typeRef == (QName{}) {
			a.Type = l.builtins["anySimpleType"]
			continue
		}
		t, ok := l.lookupType(a.typeRef)
		if !ok {
			return fmt.Errorf("%s: attribute %s: unknown type %s", a.Loc, a.Name.Local, a.typeRef)
		}
		st, ok := t.(*SimpleType)
		if !ok {
			return fmt.Errorf("%s: attribute %s: type %s is complex", a.Loc, a.Name.Local, a.typeRef)
		}
		a.Type = st
	}
	// Element refs.
	for _, p := range l.refs {
		g, ok := l.s.Elements[p.Element.Name]
		if !ok {
			return fmt.Errorf("%s: unknown element ref %s", p.Loc, p.Element.Name)
		}
		p.Element = g
	}
	// Complex types.
	for _, t := range l.s.ComplexList {
		if err := l.resolveComplex(t); err != nil {
			return err
		}
	}
	if err := l.resolveComplex(l.s.AnyType); err != nil {
		return err
	}
	// Primitives (after complex types, which create simple content types).
	for _, t := range l.s.SimpleList {
		if err := l.resolvePrimitive(t, 0); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) resolvePrimitive(t *SimpleType, depth int) error {
	if t.Primitive != "" {
		return nil
	}
	if depth > 100 || t.Base == nil {
		return fmt.Errorf("%s: simple type %s: circular or missing base", t.Loc, t.Context)
	}
	if err := l.resolvePrimitive(t.Base, depth+1); err != nil {
		return err
	}
	if t.Base.Name == (QName{NSXSD, "anySimpleType"}) {
		return fmt.Errorf("%s: simple type %s restricts xs:anySimpleType", t.Loc, t.Context)
	}
	t.Primitive = t.Base.Primitive
	return nil
}

func (l *loader) resolveComplex(t *ComplexType) error {
	switch t.resolved {
	case 2:
		return nil
	case 1:
		return fmt.Errorf("%s: circular derivation of complex type %s", t.Loc, t.Context)
	}
	t.resolved = 1
	defer func() { t.resolved = 2 }()

	if t.baseRef != (QName{}) {
		bt, ok := l.lookupType(t.baseRef)
		if !ok {
			return fmt.Errorf("%s: unknown base type %s", t.Loc, t.baseRef)
		}
		if bt == Type(l.s.AnyType) {
			if t.SimpleContent {
				return fmt.Errorf("%s: simpleContent derived from xs:anyType", t.Loc)
			}
			// Deriving from the ur-type: same as no derivation for
			// restriction; an extension of anyType is not used.
			if t.Derivation == DerivExtension {
				return fmt.Errorf("%s: extension of xs:anyType is not supported", t.Loc)
			}
			t.Derivation = DerivNone
		} else {
			t.Base = bt
		}
	}
	var base *ComplexType
	if b, ok := t.Base.(*ComplexType); ok {
		if err := l.resolveComplex(b); err != nil {
			return err
		}
		base = b
	}

	if t.SimpleContent {
		switch {
		case t.Base == nil:
			return fmt.Errorf("%s: simpleContent without base", t.Loc)
		case base == nil: // simple type base
			st := t.Base.(*SimpleType)
			if t.Derivation != DerivExtension {
				return fmt.Errorf("%s: simpleContent restriction of a simple type", t.Loc)
			}
			t.ValueType = st
		case base.Content != ContentSimple:
			return fmt.Errorf("%s: simpleContent derived from %s, which has %s content", t.Loc, base.Context, base.Content)
		case t.Derivation == DerivExtension:
			t.ValueType = base.ValueType
		default:
			r := t.Restriction
			if r.Base == nil {
				r.Base = base.ValueType
			} else if !r.Base.DerivesFrom(base.ValueType) {
				// An inline simpleType must itself restrict the base value
				// type; the facets apply on top of it.
				if err := l.resolvePrimitive(r.Base, 0); err != nil {
					return err
				}
			}
			if r.Facets.empty() {
				t.ValueType = r.Base
			} else {
				t.ValueType = r
			}
		}
		t.Content = ContentSimple
	} else {
		if base != nil && base.Content == ContentSimple {
			return fmt.Errorf("%s: complexContent derived from simple-content type %s", t.Loc, base.Context)
		}
		own := normalize(t.Particle)
		switch {
		case base != nil && t.Derivation == DerivExtension:
			bp := base.EffectiveParticle
			switch {
			case bp == nil:
				t.EffectiveParticle = own
			case own == nil:
				t.EffectiveParticle = bp
			default:
				t.EffectiveParticle = &Particle{Kind: ParticleSequence, Min: 1, Max: 1, Children: []*Particle{bp, own}, Loc: t.Loc}
			}
			if base.Content == ContentMixed {
				t.Mixed = true
			}
		default:
			t.EffectiveParticle = own
		}
		switch {
		case t.Mixed:
			t.Content = ContentMixed
		case t.EffectiveParticle == nil:
			t.Content = ContentEmpty
		default:
			t.Content = ContentElement
		}
	}

	// Attributes: inherited first, then own (replacing same names).
	var attrs []*Attribute
	if base != nil {
		attrs = append(attrs, base.EffectiveAttributes...)
	}
	for _, a := range t.Attributes {
		replaced := false
		for i, b := range attrs {
			if b.Name == a.Name {
				if t.Derivation == DerivExtension {
					return fmt.Errorf("%s: extension redeclares attribute %s", a.Loc, a.Name)
				}
				attrs[i] = a
				replaced = true
			}
		}
		if !replaced {
			attrs = append(attrs, a)
		}
	}
	out := attrs[:0:0]
	for _, a := range attrs {
		if !a.Prohibited {
			out = append(out, a)
		}
	}
	t.EffectiveAttributes = out
	t.EffectiveAnyAttr = t.AnyAttribute
	if t.EffectiveAnyAttr == nil && base != nil && t.Derivation == DerivExtension {
		t.EffectiveAnyAttr = base.EffectiveAnyAttr
	}
	return nil
}

// normalize removes particles that can never occur (maxOccurs 0) and
// model groups without content, returning nil for an empty particle.
func normalize(p *Particle) *Particle {
	if p == nil || p.Max == 0 {
		return nil
	}
	switch p.Kind {
	case ParticleSequence, ParticleChoice:
		var kids []*Particle
		for _, k := range p.Children {
			if n := normalize(k); n != nil {
				kids = append(kids, n)
			}
		}
		if len(kids) == 0 {
			if p.Kind == ParticleChoice && p.Min > 0 {
				// An empty choice with minOccurs>0 matches nothing at all;
				// keep it so that validation fails as XSD requires.
				q := *p
				q.Children = nil
				return &q
			}
			return nil
		}
		q := *p
		q.Children = kids
		return &q
	}
	return p
}
