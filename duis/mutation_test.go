package duis

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/opendcc/opendcc/internal/interop"
	"github.com/opendcc/opendcc/internal/xsd"
)

// The mutation corpus: every valid template and sample is mutated in a
// dozen ways, some meant to break the schema (a required element dropped,
// an unknown element, siblings swapped, an enumeration value, a pattern, a
// number out of range, a string over its maxLength, two Body children,
// bad lexical forms, attribute damage, text in element-only content) and
// some meant to stay valid (another enumeration member, a range bound
// exactly, maxLength exactly, whitespace around a collapsed value). All
// mutants are judged by xmllint in one batch and by Validate; the verdicts
// must agree. The RNG is seeded, so the corpus is the same on every run.

type leafInfo struct {
	el *etree.Element
	st int32 // simple type of the text, or -1
}

// annotate lists the elements of a valid document in document order with
// the simple type of each, by running the validator over the tree.
func annotate(doc *etree.Document) ([]leafInfo, error) {
	s := validator.NewStream()
	defer s.Release()
	var out []leafInfo
	var walk func(el *etree.Element) error
	walk = func(el *etree.Element) error {
		var attrs []xml.Attr
		for _, a := range el.Attr {
			attrs = append(attrs, xml.Attr{Name: xml.Name{Space: a.Space, Local: a.Key}, Value: a.Value})
		}
		if err := s.Start(el.Space, el.Tag, attrs, 0); err != nil {
			return err
		}
		out = append(out, leafInfo{el: el, st: s.ValueType()})
		for _, tok := range el.Child {
			switch t := tok.(type) {
			case *etree.Element:
				if err := walk(t); err != nil {
					return err
				}
			case *etree.CharData:
				if err := s.Text([]byte(t.Data), 0); err != nil {
					return err
				}
			}
		}
		return s.End(el.Space, el.Tag, 0)
	}
	if err := walk(doc.Root()); err != nil {
		return nil, err
	}
	return out, s.Finish(0)
}

// preorder returns the elements under (and including) root.
func preorder(root *etree.Element) []*etree.Element {
	out := []*etree.Element{root}
	for _, c := range root.ChildElements() {
		out = append(out, preorder(c)...)
	}
	return out
}

type mutation struct {
	op  string
	doc *etree.Document
	// wsCollapsed marks a value padded with whitespace whose type
	// collapses whitespace: valid by XSD 1.0 (and for Xerces, the DCC Boxed
	// Java tool), which libxml2 2.9 sometimes gets wrong (see
	// docs/xsd-validation.md).
	wsCollapsed bool
}

// mutate derives the mutants of one document.
func mutate(doc *etree.Document, info []leafInfo, rng *rand.Rand) []mutation {
	tables := validator.Tables()
	var out []mutation
	// withCopy applies f to element i of a copy of doc.
	withCopy := func(op string, i int, f func(c *etree.Document, el *etree.Element) bool) {
		c := doc.Copy()
		el := preorder(c.Root())[i]
		if f(c, el) {
			out = append(out, mutation{op: op, doc: c})
		}
	}
	pick := func(ok func(i int, l leafInfo) bool) int {
		var cands []int
		for i, l := range info {
			if ok(i, l) {
				cands = append(cands, i)
			}
		}
		if len(cands) == 0 {
			return -1
		}
		return cands[rng.IntN(len(cands))]
	}
	isSerial := func(l leafInfo) bool { return l.el.Tag == "X509SerialNumber" }
	leafWith := func(f func(st *xsd.SimpleTable) bool) int {
		return pick(func(i int, l leafInfo) bool {
			return l.st >= 0 && !isSerial(l) && f(&tables.Simple[l.st])
		})
	}
	setText := func(el *etree.Element, s string) bool {
		el.SetText(s)
		return true
	}
	nonRoot := func(i int, _ leafInfo) bool { return i > 0 }
	container := func(_ int, l leafInfo) bool { return len(l.el.ChildElements()) > 0 }

	// Structure.
	if i := pick(nonRoot); i >= 0 {
		withCopy("drop-element", i, func(_ *etree.Document, el *etree.Element) bool {
			el.Parent().RemoveChild(el)
			return true
		})
	}
	if i := pick(func(i int, l leafInfo) bool {
		if i == 0 {
			return false
		}
		// Elements that occur once among their siblings: usually required.
		n := 0
		for _, s := range l.el.Parent().ChildElements() {
			if s.Tag == l.el.Tag && s.Space == l.el.Space {
				n++
			}
		}
		return n == 1
	}); i >= 0 {
		withCopy("drop-single", i, func(_ *etree.Document, el *etree.Element) bool {
			el.Parent().RemoveChild(el)
			return true
		})
	}
	if i := pick(container); i >= 0 {
		withCopy("unknown-element", i, func(_ *etree.Document, el *etree.Element) bool {
			kids := el.ChildElements()
			u := etree.NewElement("UnknownElement")
			u.Space = kids[0].Space
			el.InsertChildAt(kids[rng.IntN(len(kids))].Index(), u)
			return true
		})
	}
	if i := pick(func(i int, l leafInfo) bool {
		if i == 0 {
			return false
		}
		sib := l.el.Parent().ChildElements()
		for k, s := range sib {
			if s == l.el && k+1 < len(sib) && sib[k+1].Tag != l.el.Tag {
				return true
			}
		}
		return false
	}); i >= 0 {
		withCopy("swap-siblings", i, func(_ *etree.Document, el *etree.Element) bool {
			p := el.Parent()
			idx := el.Index()
			p.RemoveChildAt(idx)
			var next *etree.Element
			for _, s := range p.ChildElements() {
				if s.Index() >= idx {
					next = s
					break
				}
			}
			p.InsertChildAt(next.Index()+1, el)
			return true
		})
	}
	if i := pick(nonRoot); i >= 0 {
		withCopy("duplicate-element", i, func(_ *etree.Document, el *etree.Element) bool {
			el.Parent().InsertChildAt(el.Index()+1, el.Copy())
			return true
		})
	}
	if i := pick(func(_ int, l leafInfo) bool { return l.el.Tag == "Body" && len(l.el.ChildElements()) > 0 }); i >= 0 {
		withCopy("two-body-children", i, func(_ *etree.Document, el *etree.Element) bool {
			el.AddChild(el.ChildElements()[0].Copy())
			return true
		})
	}
	if i := pick(container); i >= 0 {
		withCopy("text-in-element-content", i, func(_ *etree.Document, el *etree.Element) bool {
			el.InsertChildAt(0, etree.NewText("stray text"))
			return true
		})
	}
	// Attributes.
	if i := pick(func(_ int, l leafInfo) bool {
		for _, a := range l.el.Attr {
			if a.Space != "xmlns" && a.Key != "xmlns" {
				return true
			}
		}
		return false
	}); i >= 0 {
		withCopy("drop-attribute", i, func(_ *etree.Document, el *etree.Element) bool {
			for _, a := range el.Attr {
				if a.Space != "xmlns" && a.Key != "xmlns" {
					el.RemoveAttr(a.FullKey())
					return true
				}
			}
			return false
		})
		withCopy("attribute-value", i, func(_ *etree.Document, el *etree.Element) bool {
			for _, a := range el.Attr {
				if a.Space != "xmlns" && a.Key != "xmlns" {
					el.CreateAttr(a.FullKey(), []string{"0", "x", "", "1.5", "99"}[rng.IntN(5)])
					return true
				}
			}
			return false
		})
	}
	if i := pick(func(int, leafInfo) bool { return true }); i >= 0 {
		withCopy("unknown-attribute", i, func(_ *etree.Document, el *etree.Element) bool {
			el.CreateAttr("bogus", "1")
			return true
		})
	}
	// Values.
	if i := leafWith(func(st *xsd.SimpleTable) bool { return st.Has&xsd.HasEnum != 0 }); i >= 0 {
		withCopy("enum-bad", i, func(_ *etree.Document, el *etree.Element) bool { return setText(el, "Z"+el.Text()) })
		withCopy("enum-other", i, func(_ *etree.Document, el *etree.Element) bool {
			e := tables.Simple[info[i].st].Enum
			return setText(el, e[rng.IntN(len(e))])
		})
	}
	if i := leafWith(func(st *xsd.SimpleTable) bool { return len(st.Patterns) > 0 }); i >= 0 {
		withCopy("pattern-bad", i, func(_ *etree.Document, el *etree.Element) bool {
			t := el.Text()
			if t == "" {
				return setText(el, "#")
			}
			k := rng.IntN(len(t))
			return setText(el, t[:k]+"#"+t[k+1:])
		})
	}
	if i := leafWith(func(st *xsd.SimpleTable) bool {
		return st.MaxInclusive != "" && st.Has&xsd.HasEnum == 0
	}); i >= 0 {
		max := tables.Simple[info[i].st].MaxInclusive
		withCopy("range-above-max", i, func(_ *etree.Document, el *etree.Element) bool { return setText(el, decAdd(max, 1)) })
		withCopy("range-at-max", i, func(_ *etree.Document, el *etree.Element) bool { return setText(el, max) })
	}
	if i := leafWith(func(st *xsd.SimpleTable) bool {
		return st.MinInclusive != "" && st.Has&xsd.HasEnum == 0
	}); i >= 0 {
		min := tables.Simple[info[i].st].MinInclusive
		withCopy("range-below-min", i, func(_ *etree.Document, el *etree.Element) bool { return setText(el, decAdd(min, -1)) })
		withCopy("range-at-min", i, func(_ *etree.Document, el *etree.Element) bool { return setText(el, min) })
	}
	if i := leafWith(func(st *xsd.SimpleTable) bool {
		return st.Has&xsd.HasMaxLength != 0 && st.Has&xsd.HasEnum == 0 && len(st.Patterns) == 0
	}); i >= 0 {
		st := tables.Simple[info[i].st]
		long := func(n int) string {
			switch st.Prim {
			case xsd.PrimHexBinary:
				return strings.Repeat("AB", n)
			case xsd.PrimBase64Binary:
				return base64.StdEncoding.EncodeToString(make([]byte, n))
			}
			return strings.Repeat("A", n)
		}
		withCopy("over-maxlength", i, func(_ *etree.Document, el *etree.Element) bool { return setText(el, long(int(st.MaxLength)+1)) })
		withCopy("at-maxlength", i, func(_ *etree.Document, el *etree.Element) bool { return setText(el, long(int(st.MaxLength))) })
	}
	if i := leafWith(func(st *xsd.SimpleTable) bool { return st.Prim != xsd.PrimString }); i >= 0 {
		withCopy("lexical-bad", i, func(_ *etree.Document, el *etree.Element) bool {
			bad := map[xsd.Prim][]string{
				xsd.PrimBoolean:      {"yes", "TRUE", "2"},
				xsd.PrimDecimal:      {"1.2.3", "12a", "", "--1", "1e3"},
				xsd.PrimDateTime:     {"2023-02-30T00:00:00Z", "2023-01-01", "2023-01-01T25:00:00", "2023-01-01T00:00:00+15:00"},
				xsd.PrimDate:         {"2023-13-01", "2023-1-01", "2023-02-29"},
				xsd.PrimTime:         {"24:01:00", "1:00:00", "12:60:00"},
				xsd.PrimHexBinary:    {"ABC", "GG", "0x12"},
				xsd.PrimBase64Binary: {"abc", "a===", "ab=c"},
			}[tables.Simple[info[i].st].Prim]
			if len(bad) == 0 {
				return false
			}
			return setText(el, bad[rng.IntN(len(bad))])
		})
	}
	if i := leafWith(func(st *xsd.SimpleTable) bool { return st.Prim == xsd.PrimDecimal && st.Has&xsd.HasTotalDigits != 0 }); i >= 0 {
		td := int(tables.Simple[info[i].st].TotalDigits)
		withCopy("total-digits", i, func(_ *etree.Document, el *etree.Element) bool { return setText(el, "1"+strings.Repeat("0", td)) })
	}
	if i := leafWith(func(st *xsd.SimpleTable) bool { return st.Prim == xsd.PrimDecimal && st.Lex != xsd.LexInteger }); i >= 0 {
		withCopy("fraction", i, func(_ *etree.Document, el *etree.Element) bool { return setText(el, "1.123456789") })
	}
	if i := leafWith(func(st *xsd.SimpleTable) bool { return true }); i >= 0 {
		withCopy("surrounding-space", i, func(_ *etree.Document, el *etree.Element) bool { return setText(el, " "+el.Text()+"\n") })
		if len(out) > 0 && out[len(out)-1].op == "surrounding-space" {
			out[len(out)-1].wsCollapsed = tables.Simple[info[i].st].WS == xsd.WSCollapse
		}
	}
	return out
}

// decAdd adds d (±1) to an integer-valued canonical decimal string.
func decAdd(s string, d int) string {
	var v big
	v.set(s)
	v.add(d)
	return v.String()
}

// big is a tiny arbitrary-precision signed integer for decAdd (the bounds
// include 20-digit unsignedLong values).
type big struct {
	neg    bool
	digits []byte // most significant first
}

func (b *big) set(s string) {
	if strings.HasPrefix(s, "-") {
		b.neg, s = true, s[1:]
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	b.digits = []byte(s)
}

func (b *big) add(d int) {
	if b.neg {
		b.neg = false
		b.add(-d)
		if !(len(b.digits) == 1 && b.digits[0] == '0') {
			b.neg = !b.neg
		}
		return
	}
	if d > 0 {
		i := len(b.digits) - 1
		for i >= 0 && b.digits[i] == '9' {
			b.digits[i] = '0'
			i--
		}
		if i < 0 {
			b.digits = append([]byte{'1'}, b.digits...)
		} else {
			b.digits[i]++
		}
		return
	}
	if string(b.digits) == "0" {
		b.neg, b.digits = true, []byte{'1'}
		return
	}
	i := len(b.digits) - 1
	for b.digits[i] == '0' {
		b.digits[i] = '9'
		i--
	}
	b.digits[i]--
	for len(b.digits) > 1 && b.digits[0] == '0' {
		b.digits = b.digits[1:]
	}
}

func (b *big) String() string {
	if b.neg {
		return "-" + string(b.digits)
	}
	return string(b.digits)
}

func TestDecAdd(t *testing.T) {
	for _, c := range []struct {
		in   string
		d    int
		want string
	}{{"0", 1, "1"}, {"0", -1, "-1"}, {"-1", 1, "0"}, {"-128", -1, "-129"}, {"18446744073709551615", 1, "18446744073709551616"}, {"100", -1, "99"}, {"-9", -1, "-10"}} {
		if got := decAdd(c.in, c.d); got != c.want {
			t.Errorf("decAdd(%s, %d) = %s, want %s", c.in, c.d, got, c.want)
		}
	}
}

func TestMutantsAgainstXMLLint(t *testing.T) {
	start := time.Now()
	files := corpus(t)
	source := interop.XMLLintValidate(t, files)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(2026, 11))
	var paths []string
	ops := map[string]string{} // path → op
	wsCollapsed := map[string]bool{}
	for _, f := range files {
		if !source[f].Valid {
			continue
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromFile(f); err != nil {
			t.Fatal(err)
		}
		info, err := annotate(doc)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, m := range mutate(doc, info, rng) {
			b, err := m.doc.WriteToBytes()
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, fmt.Sprintf("%s.%02d.%s.xml", strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)), k, m.op))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
			ops[p] = m.op
			wsCollapsed[p] = m.wsCollapsed
		}
	}
	genDone := time.Now()
	verdicts := interop.XMLLintValidate(t, paths)
	lintDone := time.Now()
	defer func() {
		t.Logf("timing: generate+write %v, xmllint %v, Validate %v", genDone.Sub(start), lintDone.Sub(genDone), time.Since(lintDone))
	}()
	type tally struct{ n, valid, agree, libxml2 int }
	byOp := map[string]*tally{}
	var total tally
	var disagreements, deviations []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got := Validate(data)
		want := verdicts[p]
		op := byOp[ops[p]]
		if op == nil {
			op = &tally{}
			byOp[ops[p]] = op
		}
		for _, c := range []*tally{op, &total} {
			c.n++
			if want.Valid {
				c.valid++
			}
			switch {
			case (got == nil) == want.Valid:
				c.agree++
			case got == nil && wsCollapsed[p]:
				c.libxml2++
			}
		}
		switch {
		case (got == nil) == want.Valid:
		case got == nil && wsCollapsed[p]:
			deviations = append(deviations, fmt.Sprintf("%s: %s", filepath.Base(p), want.Message))
		default:
			disagreements = append(disagreements, fmt.Sprintf("%s: xmllint valid=%v %q; Validate: %v", filepath.Base(p), want.Valid, want.Message, got))
		}
	}
	var opNames []string
	for k := range byOp {
		opNames = append(opNames, k)
	}
	sort.Strings(opNames)
	for _, k := range opNames {
		c := byOp[k]
		t.Logf("%-24s %4d mutants, %4d valid, %4d invalid, %4d agree, %3d libxml2 whitespace deviations", k, c.n, c.valid, c.n-c.valid, c.agree, c.libxml2)
	}
	t.Logf("TOTAL (verdicts of xmllint): %d documents, %d valid, %d invalid; %d agreements, %d known libxml2 whitespace deviations, %d disagreements",
		total.n, total.valid, total.n-total.valid, total.agree, total.libxml2, len(disagreements))
	for _, d := range deviations {
		t.Logf("libxml2 deviation (valid per XSD 1.0 whiteSpace=collapse and Xerces): %s", d)
	}
	for i, d := range disagreements {
		if i == 30 {
			t.Errorf("... and %d more", len(disagreements)-30)
			break
		}
		t.Error(d)
	}
}
