package xsd

// The types in this file are the compiled form of a schema: flat slices
// indexed by int32, with no pointers between entries, so that
// internal/tools/duisgen can print them as Go composite literals and the
// duis package can validate without loading any schema at run time.

// Tables is a compiled schema.
type Tables struct {
	Simple   []SimpleTable
	Complex  []ComplexTable
	Elems    []ElemDecl
	Wild     []WildTable
	Patterns []string // RE2 syntax, anchored ^(?:...)$
	// Globals lists the global element declarations (indices into Elems),
	// sorted by (Local, NS).
	Globals []int32
	// Types lists the named global types (for xsi:type), sorted by
	// (Local, NS).
	Types []TypeRef
	// Prefixes are the schema's preferred prefixes, for messages.
	Prefixes []NSPrefix
	// AnyType is the index of xs:anyType in Complex.
	AnyType int32
}

// NSPrefix binds a namespace URI to its conventional prefix.
type NSPrefix struct {
	NS, Prefix string
}

// TypeRef names a global type. Exactly one of Complex and Simple is >= 0.
type TypeRef struct {
	Local, NS string
	Complex   int32
	Simple    int32
}

// Prim is the primitive built-in type a simple type is derived from.
type Prim uint8

const (
	PrimString Prim = iota
	PrimBoolean
	PrimDecimal
	PrimFloat
	PrimDouble
	PrimDuration
	PrimDateTime
	PrimTime
	PrimDate
	PrimGYearMonth
	PrimGYear
	PrimGMonthDay
	PrimGDay
	PrimGMonth
	PrimHexBinary
	PrimBase64Binary
	PrimAnyURI
	PrimQName
	PrimNOTATION
	PrimAnySimple
)

var primNames = [...]string{
	"string", "boolean", "decimal", "float", "double", "duration", "dateTime", "time", "date",
	"gYearMonth", "gYear", "gMonthDay", "gDay", "gMonth", "hexBinary", "base64Binary", "anyURI",
	"QName", "NOTATION", "anySimpleType",
}

func (p Prim) String() string { return primNames[p] }

func primByName(n string) (Prim, bool) {
	for i, s := range primNames {
		if s == n {
			return Prim(i), true
		}
	}
	return 0, false
}

// Lex is an extra lexical rule of a built-in derived type.
type Lex uint8

const (
	LexNone Lex = iota
	LexInteger
	LexName
	LexNCName
	LexNMTOKEN
	LexLanguage
)

// WhiteSpace values.
const (
	WSPreserve uint8 = iota
	WSReplace
	WSCollapse
)

// Facet presence flags of SimpleTable.Has.
const (
	HasLength uint16 = 1 << iota
	HasMinLength
	HasMaxLength
	HasMinInclusive
	HasMaxInclusive
	HasMinExclusive
	HasMaxExclusive
	HasTotalDigits
	HasFractionDigits
	HasEnum
	IsID
)

// SimpleTable is a simple type with all facets of its derivation chain
// folded in.
type SimpleTable struct {
	Name string // "sr:RequestIDType", "xs:string", or "" when anonymous
	Prim Prim
	Lex  Lex
	WS   uint8
	Has  uint16
	Base int32 // base simple type, -1 for anySimpleType

	Length, MinLength, MaxLength int32
	TotalDigits, FractionDigits  int32
	// Range bounds in canonical decimal form.
	MinInclusive, MaxInclusive, MinExclusive, MaxExclusive string
	// Enum holds the enumeration in canonical form (see Canonical).
	Enum []string
	// Patterns are indices into Tables.Patterns; a value must match all
	// of them (one per derivation step that declares patterns).
	Patterns []int32
}

// Content kinds of ComplexTable.Content.
const (
	CEmpty   = uint8(ContentEmpty)
	CSimple  = uint8(ContentSimple)
	CElement = uint8(ContentElement)
	CMixed   = uint8(ContentMixed)
)

// ComplexTable is a complex type: attributes and a content model compiled
// to a deterministic automaton with occurrence counters (state 0 is the
// start state; every other state is one position of the content model).
type ComplexTable struct {
	Name     string
	Base     int32 // base complex type, -1 if none
	Abstract bool
	Content  uint8
	Value    int32 // simple type of simple content, else -1
	Attrs    []AttrDecl
	AnyAttr  int32 // wildcard index, -1 if none
	States   []State
}

// State is one position of a content model automaton. Arriving at it
// consumes one child element; the counter then counts repetitions of that
// position, allowed between Min and Max (-1 = unbounded).
type State struct {
	Elem     int32 // element declaration matched here, or -1
	Wild     int32 // wildcard matched here, or -1
	Min, Max int32
	Final    bool
	Trans    []Trans // explicit successors, sorted by (Local, NS)
	WildTo   []int32 // successor states that are wildcards
}

// Trans is a transition on an element name.
type Trans struct {
	Local, NS string
	To        int32
}

// AttrDecl is an attribute use.
type AttrDecl struct {
	Local, NS string
	Type      int32
	Required  bool
	HasFixed  bool
	Fixed     string
}

// ElemDecl is an element declaration.
type ElemDecl struct {
	Local, NS string
	// Type is a complex type index when >= 0; otherwise Simple is the
	// simple type index.
	Type     int32
	Simple   int32
	Nillable bool
	// HasDefault/HasFixed with Value give the value constraint.
	HasDefault bool
	HasFixed   bool
	Value      string
}

// Processing modes of WildTable.Process.
const (
	ProcessStrict uint8 = iota
	ProcessLax
	ProcessSkip
)

// Namespace constraint kinds of WildTable.Mode.
const (
	WildAny uint8 = iota
	WildOther
	WildList
)

// WildTable is a wildcard. For WildOther, NS[0] is the target namespace
// to exclude; for WildList, NS lists the allowed namespaces ("" = absent).
type WildTable struct {
	Mode    uint8
	Process uint8
	NS      []string
}

// Allows reports whether the wildcard accepts namespace ns.
func (w *WildTable) Allows(ns string) bool {
	switch w.Mode {
	case WildAny:
		return true
	case WildOther:
		return ns != "" && ns != w.NS[0]
	}
	for _, n := range w.NS {
		if n == ns {
			return true
		}
	}
	return false
}
