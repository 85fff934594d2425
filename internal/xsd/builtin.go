package xsd

// builtinDef describes one XSD 1.0 built-in atomic simple type.
type builtinDef struct {
	name, base string
	ws         string // whiteSpace facet it fixes ("" = inherited)
	minInc     string
	maxInc     string
	fracDigits bool // fractionDigits 0 (integer and below)
}

// builtinDefs lists the built-in atomic types in derivation order (every
// base before the types derived from it). The list types (NMTOKENS, IDREFS,
// ENTITIES) are not included: the schema subset has no list types.
var builtinDefs = []builtinDef{
	{name: "anySimpleType"},
	// Primitives.
	{name: "string", base: "anySimpleType", ws: "preserve"},
	{name: "boolean", base: "anySimpleType", ws: "collapse"},
	{name: "decimal", base: "anySimpleType", ws: "collapse"},
	{name: "float", base: "anySimpleType", ws: "collapse"},
	{name: "double", base: "anySimpleType", ws: "collapse"},
	{name: "duration", base: "anySimpleType", ws: "collapse"},
	{name: "dateTime", base: "anySimpleType", ws: "collapse"},
	{name: "time", base: "anySimpleType", ws: "collapse"},
	{name: "date", base: "anySimpleType", ws: "collapse"},
	{name: "gYearMonth", base: "anySimpleType", ws: "collapse"},
	{name: "gYear", base: "anySimpleType", ws: "collapse"},
	{name: "gMonthDay", base: "anySimpleType", ws: "collapse"},
	{name: "gDay", base: "anySimpleType", ws: "collapse"},
	{name: "gMonth", base: "anySimpleType", ws: "collapse"},
	{name: "hexBinary", base: "anySimpleType", ws: "collapse"},
	{name: "base64Binary", base: "anySimpleType", ws: "collapse"},
	{name: "anyURI", base: "anySimpleType", ws: "collapse"},
	{name: "QName", base: "anySimpleType", ws: "collapse"},
	{name: "NOTATION", base: "anySimpleType", ws: "collapse"},
	// Derived from string.
	{name: "normalizedString", base: "string", ws: "replace"},
	{name: "token", base: "normalizedString", ws: "collapse"},
	{name: "language", base: "token"},
	{name: "NMTOKEN", base: "token"},
	{name: "Name", base: "token"},
	{name: "NCName", base: "Name"},
	{name: "ID", base: "NCName"},
	{name: "IDREF", base: "NCName"},
	{name: "ENTITY", base: "NCName"},
	// Derived from decimal.
	{name: "integer", base: "decimal", fracDigits: true},
	{name: "nonPositiveInteger", base: "integer", maxInc: "0"},
	{name: "negativeInteger", base: "nonPositiveInteger", maxInc: "-1"},
	{name: "long", base: "integer", minInc: "-9223372036854775808", maxInc: "9223372036854775807"},
	{name: "int", base: "long", minInc: "-2147483648", maxInc: "2147483647"},
	{name: "short", base: "int", minInc: "-32768", maxInc: "32767"},
	{name: "byte", base: "short", minInc: "-128", maxInc: "127"},
	{name: "nonNegativeInteger", base: "integer", minInc: "0"},
	{name: "unsignedLong", base: "nonNegativeInteger", maxInc: "18446744073709551615"},
	{name: "unsignedInt", base: "unsignedLong", maxInc: "4294967295"},
	{name: "unsignedShort", base: "unsignedInt", maxInc: "65535"},
	{name: "unsignedByte", base: "unsignedShort", maxInc: "255"},
	{name: "positiveInteger", base: "nonNegativeInteger", minInc: "1"},
}

// builtinTypes returns a fresh map of the built-in simple types.
func builtinTypes() map[string]*SimpleType {
	m := make(map[string]*SimpleType, len(builtinDefs))
	for _, d := range builtinDefs {
		t := &SimpleType{Name: QName{NSXSD, d.name}, Builtin: true}
		if d.base != "" {
			t.Base = m[d.base]
			if t.Base.Name.Local == "anySimpleType" {
				t.Primitive = d.name
			} else {
				t.Primitive = t.Base.Primitive
			}
		} else {
			t.Primitive = "anySimpleType"
		}
		t.Facets.WhiteSpace = d.ws
		if d.minInc != "" {
			v := d.minInc
			t.Facets.MinInclusive = &v
		}
		if d.maxInc != "" {
			v := d.maxInc
			t.Facets.MaxInclusive = &v
		}
		if d.fracDigits {
			z := 0
			t.Facets.FractionDigits = &z
		}
		m[d.name] = t
	}
	return m
}
