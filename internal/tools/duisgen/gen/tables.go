package gen

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/opendcc/opendcc/internal/xsd"
)

// nsConst names the Go constants (declared in duis/codec.go) that stand for
// the namespaces the generated code mentions.
var nsConst = map[string]string{
	"http://www.dccinterface.co.uk/ServiceUserGateway": "NamespaceSR",
	"http://www.dccinterface.co.uk/ResponseAndAlert":   "NamespaceRA",
	"http://www.w3.org/2000/09/xmldsig#":               "NamespaceDS",
	xsd.NSXSD:                                          "xsd.NSXSD",
}

func nsLit(ns string) string {
	if c, ok := nsConst[ns]; ok {
		return c
	}
	return strconv.Quote(ns)
}

func q(s string) string { return strconv.Quote(s) }

var primConst = map[xsd.Prim]string{}

func init() {
	names := []string{"String", "Boolean", "Decimal", "Float", "Double", "Duration", "DateTime", "Time", "Date",
		"GYearMonth", "GYear", "GMonthDay", "GDay", "GMonth", "HexBinary", "Base64Binary", "AnyURI", "QName",
		"NOTATION", "AnySimple"}
	for i, n := range names {
		primConst[xsd.Prim(i)] = "xsd.Prim" + n
	}
}

var lexConst = map[xsd.Lex]string{
	xsd.LexInteger:  "xsd.LexInteger",
	xsd.LexName:     "xsd.LexName",
	xsd.LexNCName:   "xsd.LexNCName",
	xsd.LexNMTOKEN:  "xsd.LexNMTOKEN",
	xsd.LexLanguage: "xsd.LexLanguage",
}

var hasNames = []struct {
	bit  uint16
	name string
}{
	{xsd.HasLength, "xsd.HasLength"}, {xsd.HasMinLength, "xsd.HasMinLength"}, {xsd.HasMaxLength, "xsd.HasMaxLength"},
	{xsd.HasMinInclusive, "xsd.HasMinInclusive"}, {xsd.HasMaxInclusive, "xsd.HasMaxInclusive"},
	{xsd.HasMinExclusive, "xsd.HasMinExclusive"}, {xsd.HasMaxExclusive, "xsd.HasMaxExclusive"},
	{xsd.HasTotalDigits, "xsd.HasTotalDigits"}, {xsd.HasFractionDigits, "xsd.HasFractionDigits"},
	{xsd.HasEnum, "xsd.HasEnum"}, {xsd.IsID, "xsd.IsID"},
}

func hasExpr(h uint16) string {
	var b bytes.Buffer
	for _, n := range hasNames {
		if h&n.bit != 0 {
			if b.Len() > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(n.name)
		}
	}
	return b.String()
}

var contentConst = []string{"xsd.CEmpty", "xsd.CSimple", "xsd.CElement", "xsd.CMixed"}

// emitTables prints t as the body of schema_gen.go.
func emitTables(w *bytes.Buffer, t *xsd.Tables, header string) {
	w.WriteString(header)
	w.WriteString("package duis\n\nimport \"github.com/opendcc/opendcc/internal/xsd\"\n\n")
	w.WriteString("// schemaTables is the DUIS 5.4 schema set (DUIS, MMC, xmldsig-core) compiled by\n")
	w.WriteString("// internal/xsd: every simple type with its folded facets, every complex type\n")
	w.WriteString("// with its attributes and its content model as an automaton, and every element\n")
	w.WriteString("// declaration. Indices refer into the slices of the same table.\n")
	w.WriteString("var schemaTables = xsd.Tables{\n")

	fmt.Fprintf(w, "AnyType: %d,\n", t.AnyType)
	w.WriteString("Prefixes: []xsd.NSPrefix{\n")
	for _, p := range t.Prefixes {
		fmt.Fprintf(w, "{NS: %s, Prefix: %s},\n", nsLit(p.NS), q(p.Prefix))
	}
	w.WriteString("},\n")

	w.WriteString("Patterns: []string{\n")
	for i, p := range t.Patterns {
		fmt.Fprintf(w, "%d: %s,\n", i, strconv.Quote(p))
	}
	w.WriteString("},\n")

	w.WriteString("Wild: []xsd.WildTable{\n")
	for i, wt := range t.Wild {
		fmt.Fprintf(w, "%d: {Mode: %d, Process: %d", i, wt.Mode, wt.Process)
		if len(wt.NS) > 0 {
			w.WriteString(", NS: []string{")
			for j, n := range wt.NS {
				if j > 0 {
					w.WriteString(", ")
				}
				w.WriteString(nsLit(n))
			}
			w.WriteString("}")
		}
		w.WriteString("},\n")
	}
	w.WriteString("},\n")

	w.WriteString("Globals: []int32{")
	for i, g := range t.Globals {
		if i > 0 {
			w.WriteString(", ")
		}
		fmt.Fprint(w, g)
	}
	w.WriteString("},\n")

	w.WriteString("Types: []xsd.TypeRef{\n")
	for _, tr := range t.Types {
		fmt.Fprintf(w, "{Local: %s, NS: %s, Complex: %d, Simple: %d},\n", q(tr.Local), nsLit(tr.NS), tr.Complex, tr.Simple)
	}
	w.WriteString("},\n")

	w.WriteString("Simple: []xsd.SimpleTable{\n")
	for i, s := range t.Simple {
		fmt.Fprintf(w, "%d: {", i)
		sep := ""
		f := func(format string, args ...any) {
			w.WriteString(sep)
			fmt.Fprintf(w, format, args...)
			sep = ", "
		}
		if s.Name != "" {
			f("Name: %s", q(s.Name))
		}
		f("Prim: %s", primConst[s.Prim])
		if s.Lex != xsd.LexNone {
			f("Lex: %s", lexConst[s.Lex])
		}
		if s.WS != xsd.WSPreserve {
			f("WS: %d", s.WS)
		}
		if s.Has != 0 {
			f("Has: %s", hasExpr(s.Has))
		}
		f("Base: %d", s.Base)
		if s.Has&xsd.HasLength != 0 {
			f("Length: %d", s.Length)
		}
		if s.Has&xsd.HasMinLength != 0 {
			f("MinLength: %d", s.MinLength)
		}
		if s.Has&xsd.HasMaxLength != 0 {
			f("MaxLength: %d", s.MaxLength)
		}
		if s.Has&xsd.HasTotalDigits != 0 {
			f("TotalDigits: %d", s.TotalDigits)
		}
		if s.Has&xsd.HasFractionDigits != 0 {
			f("FractionDigits: %d", s.FractionDigits)
		}
		if s.MinInclusive != "" {
			f("MinInclusive: %s", q(s.MinInclusive))
		}
		if s.MaxInclusive != "" {
			f("MaxInclusive: %s", q(s.MaxInclusive))
		}
		if s.MinExclusive != "" {
			f("MinExclusive: %s", q(s.MinExclusive))
		}
		if s.MaxExclusive != "" {
			f("MaxExclusive: %s", q(s.MaxExclusive))
		}
		if len(s.Patterns) > 0 {
			f("Patterns: []int32{")
			for j, p := range s.Patterns {
				if j > 0 {
					w.WriteString(", ")
				}
				fmt.Fprint(w, p)
			}
			w.WriteString("}")
		}
		if len(s.Enum) > 0 {
			f("Enum: []string{")
			for j, e := range s.Enum {
				if j > 0 {
					w.WriteString(", ")
				}
				w.WriteString(q(e))
			}
			w.WriteString("}")
		}
		w.WriteString("},\n")
	}
	w.WriteString("},\n")

	w.WriteString("Complex: []xsd.ComplexTable{\n")
	for i, c := range t.Complex {
		fmt.Fprintf(w, "%d: {", i)
		if c.Name != "" {
			fmt.Fprintf(w, "Name: %s, ", q(c.Name))
		}
		fmt.Fprintf(w, "Base: %d, ", c.Base)
		if c.Abstract {
			w.WriteString("Abstract: true, ")
		}
		fmt.Fprintf(w, "Content: %s, Value: %d, AnyAttr: %d", contentConst[c.Content], c.Value, c.AnyAttr)
		if len(c.Attrs) > 0 {
			w.WriteString(",\nAttrs: []xsd.AttrDecl{\n")
			for _, a := range c.Attrs {
				fmt.Fprintf(w, "{Local: %s, NS: %s, Type: %d", q(a.Local), nsLit(a.NS), a.Type)
				if a.Required {
					w.WriteString(", Required: true")
				}
				if a.HasFixed {
					fmt.Fprintf(w, ", HasFixed: true, Fixed: %s", q(a.Fixed))
				}
				w.WriteString("},\n")
			}
			w.WriteString("}")
		}
		w.WriteString(",\nStates: []xsd.State{\n")
		for _, st := range c.States {
			fmt.Fprintf(w, "{Elem: %d, Wild: %d, Min: %d, Max: %d", st.Elem, st.Wild, st.Min, st.Max)
			if st.Final {
				w.WriteString(", Final: true")
			}
			if len(st.Trans) > 0 {
				w.WriteString(", Trans: []xsd.Trans{")
				for j, tr := range st.Trans {
					if j > 0 {
						w.WriteString(", ")
					}
					fmt.Fprintf(w, "{Local: %s, NS: %s, To: %d}", q(tr.Local), nsLit(tr.NS), tr.To)
				}
				w.WriteString("}")
			}
			if len(st.WildTo) > 0 {
				w.WriteString(", WildTo: []int32{")
				for j, x := range st.WildTo {
					if j > 0 {
						w.WriteString(", ")
					}
					fmt.Fprint(w, x)
				}
				w.WriteString("}")
			}
			w.WriteString("},\n")
		}
		w.WriteString("}},\n")
	}
	w.WriteString("},\n")

	w.WriteString("Elems: []xsd.ElemDecl{\n")
	for i, e := range t.Elems {
		fmt.Fprintf(w, "%d: {Local: %s, NS: %s, Type: %d, Simple: %d", i, q(e.Local), nsLit(e.NS), e.Type, e.Simple)
		if e.Nillable {
			w.WriteString(", Nillable: true")
		}
		if e.HasDefault {
			w.WriteString(", HasDefault: true")
		}
		if e.HasFixed {
			w.WriteString(", HasFixed: true")
		}
		if e.HasDefault || e.HasFixed {
			fmt.Fprintf(w, ", Value: %s", q(e.Value))
		}
		w.WriteString("},\n")
	}
	w.WriteString("},\n")
	w.WriteString("}\n")
}
