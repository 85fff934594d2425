// Package xsd reads W3C XML Schema 1.0 documents into a model, compiles the
// model into flat validation tables (content models as deterministic
// automata, simple types as facet records) and validates instance documents
// against those tables.
//
// It supports the subset of XSD that the DUIS 5.4 schema set (DUIS, MMC and
// xmldsig-core) uses, and refuses anything else with an error rather than
// ignoring it: global and local elements, element refs, named and anonymous
// complex and simple types, complexContent and simpleContent extension and
// restriction, sequence/choice nesting with minOccurs/maxOccurs on every
// particle, wildcards (xs:any, xs:anyAttribute), attributes, mixed content,
// abstract types, xsi:type, default/fixed values, and the facets
// enumeration, pattern, length, minLength, maxLength, min/maxInclusive,
// min/maxExclusive, totalDigits, fractionDigits and whiteSpace on all the
// XSD 1.0 built-in atomic types. Not supported (an error when present):
// xs:group, xs:attributeGroup, xs:all, xs:list, xs:union, xs:include,
// xs:redefine, identity constraints and substitution groups.
//
// The package is used in three places: internal/tools/duisgen turns the
// compiled Tables into Go literals (duis/schema_gen.go), the duis package
// validates with a Validator built on those literals, and the tests here
// compile the schema directly to check that both paths agree.
package xsd

import "strconv"

// Namespace URIs with a fixed meaning.
const (
	NSXSD = "http://www.w3.org/2001/XMLSchema"
	NSXSI = "http://www.w3.org/2001/XMLSchema-instance"
	NSXML = "http://www.w3.org/XML/1998/namespace"
)

// Unbounded is the Max of a particle with maxOccurs="unbounded".
const Unbounded = -1

// QName is an expanded name.
type QName struct {
	Space, Local string
}

func (q QName) String() string {
	if q.Space == "" {
		return q.Local
	}
	return "{" + q.Space + "}" + q.Local
}

// Schema is a set of schema documents loaded together (the main file and
// everything it imports), with every reference resolved.
type Schema struct {
	// Elements, ComplexTypes and SimpleTypes hold the global (top-level)
	// components by name.
	Elements     map[QName]*Element
	ComplexTypes map[QName]*ComplexType
	SimpleTypes  map[QName]*SimpleType

	// The same components, plus every anonymous type, in document order of
	// the files as loaded, for deterministic iteration.
	ElementList []*Element // global elements only
	ComplexList []*ComplexType
	SimpleList  []*SimpleType // user-defined (not built-in)

	// Prefixes maps a namespace URI to the prefix its own schema document
	// binds it to (sr, ra, ds for DUIS); used for messages and generated names.
	Prefixes map[string]string

	// Files lists the loaded schema documents, main file first.
	Files []string

	// AnyType is xs:anyType (the ur-type), present even when unused.
	AnyType *ComplexType

	builtins map[string]*SimpleType
}

// Type is a *SimpleType or a *ComplexType.
type Type interface {
	TypeName() QName
	isType()
}

// Facets are the constraining facets declared on one restriction step.
type Facets struct {
	Enumeration    []string
	Pattern        []string // alternatives from one step (ORed)
	Length         *int
	MinLength      *int
	MaxLength      *int
	MinInclusive   *string
	MaxInclusive   *string
	MinExclusive   *string
	MaxExclusive   *string
	TotalDigits    *int
	FractionDigits *int
	WhiteSpace     string // "", "preserve", "replace" or "collapse"
}

func (f *Facets) empty() bool {
	return len(f.Enumeration) == 0 && len(f.Pattern) == 0 && f.Length == nil && f.MinLength == nil &&
		f.MaxLength == nil && f.MinInclusive == nil && f.MaxInclusive == nil && f.MinExclusive == nil &&
		f.MaxExclusive == nil && f.TotalDigits == nil && f.FractionDigits == nil && f.WhiteSpace == ""
}

// SimpleType is an atomic simple type: a built-in, or a restriction of
// another simple type.
type SimpleType struct {
	Name    QName // zero for an anonymous type
	Builtin bool
	Base    *SimpleType // nil only for xs:anySimpleType
	Facets  Facets
	// Primitive is the local name of the XSD built-in this type is derived
	// from by restriction, e.g. "string", "decimal", "dateTime"; for the
	// built-in derived types (integer, token, ...) it is the primitive too.
	Primitive string

	// Context describes where an anonymous type was declared (for names
	// and messages), e.g. "sr:Request/@schemaVersion".
	Context string
	Loc     Loc

	baseRef QName
}

func (t *SimpleType) TypeName() QName { return t.Name }
func (*SimpleType) isType()           {}

// BuiltinName returns the name of the nearest built-in ancestor (or the
// type itself), e.g. "positiveInteger" for range_1_3.
func (t *SimpleType) BuiltinName() string {
	for s := t; s != nil; s = s.Base {
		if s.Builtin {
			return s.Name.Local
		}
	}
	return "anySimpleType"
}

// DerivesFrom reports whether t is base or derived from it by restriction.
func (t *SimpleType) DerivesFrom(base *SimpleType) bool {
	for s := t; s != nil; s = s.Base {
		if s == base {
			return true
		}
	}
	return false
}

// Derivation is how a complex type is derived from its base.
type Derivation uint8

const (
	DerivNone Derivation = iota // derived from xs:anyType by restriction, implicitly
	DerivExtension
	DerivRestriction
)

// ContentKind is the content type of a complex type.
type ContentKind uint8

const (
	ContentEmpty ContentKind = iota
	ContentSimple
	ContentElement
	ContentMixed
)

func (k ContentKind) String() string {
	switch k {
	case ContentEmpty:
		return "empty"
	case ContentSimple:
		return "simple"
	case ContentElement:
		return "element-only"
	default:
		return "mixed"
	}
}

// ComplexType is a complex type definition. The declared parts (Particle,
// Attributes, ...) are as written; the Effective* fields and Content are
// filled in by resolution and already include what is inherited.
type ComplexType struct {
	Name       QName // zero for an anonymous type
	Abstract   bool
	Mixed      bool
	Derivation Derivation
	// SimpleContent is true for <xs:simpleContent>.
	SimpleContent bool
	// Base is the base type: a *ComplexType, or a *SimpleType for a
	// simpleContent extension of a simple type. Nil means xs:anyType.
	Base Type

	Particle     *Particle // declared content (nil when none)
	Attributes   []*Attribute
	AnyAttribute *Wildcard
	// Restriction holds the facets of a simpleContent restriction.
	Restriction *SimpleType

	// Resolved.
	Content             ContentKind
	EffectiveParticle   *Particle // for element-only and mixed content; may be nil (empty)
	EffectiveAttributes []*Attribute
	EffectiveAnyAttr    *Wildcard
	ValueType           *SimpleType // for simple content

	Context string
	Loc     Loc

	baseRef  QName
	resolved int8 // 0 no, 1 in progress, 2 done
}

func (t *ComplexType) TypeName() QName { return t.Name }
func (*ComplexType) isType()           {}

// DerivesFrom reports whether t is base or derived from it (by any chain of
// extensions and restrictions).
func (t *ComplexType) DerivesFrom(base *ComplexType) bool {
	for c := t; c != nil; {
		if c == base {
			return true
		}
		b, ok := c.Base.(*ComplexType)
		if !ok {
			return false
		}
		c = b
	}
	return false
}

// ParticleKind distinguishes particles.
type ParticleKind uint8

const (
	ParticleElement ParticleKind = iota
	ParticleSequence
	ParticleChoice
	ParticleAny
)

func (k ParticleKind) String() string {
	return [...]string{"element", "sequence", "choice", "any"}[k]
}

// Particle is a term with occurrence bounds: an element, a wildcard, or a
// sequence or choice model group.
type Particle struct {
	Kind     ParticleKind
	Min, Max int // Max is Unbounded for maxOccurs="unbounded"
	Element  *Element
	Ref      bool // Element is a global element used by ref=
	Wildcard *Wildcard
	Children []*Particle
	Loc      Loc
}

// Occurs formats the bounds as "min..max".
func (p *Particle) Occurs() string {
	m := "unbounded"
	if p.Max != Unbounded {
		m = strconv.Itoa(p.Max)
	}
	return strconv.Itoa(p.Min) + ".." + m
}

// Element is an element declaration, global or local.
type Element struct {
	Name     QName
	Global   bool
	Type     Type // never nil after resolution (xs:anyType when unspecified)
	Default  *string
	Fixed    *string
	Nillable bool
	Abstract bool
	Loc      Loc

	typeRef QName
}

// Wildcard is an xs:any or xs:anyAttribute.
type Wildcard struct {
	// Namespace is the namespace constraint as written: "##any", "##other",
	// or a list of URIs and ##targetNamespace / ##local.
	Namespace string
	// Process is "strict", "lax" or "skip".
	Process string
	// TargetNS is the targetNamespace of the schema document it is in.
	TargetNS string
}

// Allows reports whether an element or attribute in namespace ns matches.
func (w *Wildcard) Allows(ns string) bool {
	switch w.Namespace {
	case "##any", "":
		return true
	case "##other":
		return ns != w.TargetNS && ns != ""
	}
	for _, f := range splitSpace(w.Namespace) {
		switch f {
		case "##targetNamespace":
			if ns == w.TargetNS {
				return true
			}
		case "##local":
			if ns == "" {
				return true
			}
		default:
			if ns == f {
				return true
			}
		}
	}
	return false
}

// Attribute is an attribute use (declaration plus use="...").
type Attribute struct {
	Name     QName
	Type     *SimpleType
	Required bool
	// Prohibited is set by use="prohibited" in a restriction.
	Prohibited bool
	Default    *string
	Fixed      *string
	Loc        Loc

	typeRef QName
}

// Loc is a position in a schema document.
type Loc struct {
	File string
	Line int
}

func (l Loc) String() string { return l.File + ":" + strconv.Itoa(l.Line) }

func splitSpace(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
}
