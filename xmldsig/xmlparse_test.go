package xmldsig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/opendcc/opendcc/internal/refdata"
)

func TestParseXMLRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":                   ``,
		"no root":                 `<?xml version="1.0"?><!-- c -->`,
		"two roots":               `<a/><b/>`,
		"text after root":         `<a/>x`,
		"unclosed":                `<a><b></a>`,
		"mismatched":              `<a></b>`,
		"doctype":                 `<!DOCTYPE a><a/>`,
		"entity":                  `<a>&ent;</a>`,
		"bad char ref":            `<a>&#0;</a>`,
		"surrogate ref":           `<a>&#xD800;</a>`,
		"huge ref":                `<a>&#x110000;</a>`,
		"control char":            "<a>\x01</a>",
		"lt in attribute":         `<a b="<"/>`,
		"unquoted attribute":      `<a b=c/>`,
		"duplicate attribute":     `<a b="1" b="2"/>`,
		"no space between attrs":  `<a b="1"c="2"/>`,
		"two colons":              `<a:b:c/>`,
		"leading colon":           `<:a/>`,
		"trailing colon":          `<a:/>`,
		"cdata end in text":       `<a>]]></a>`,
		"double dash in comment":  `<a><!-- a -- b --></a>`,
		"comment ends with --->":  `<a><!-- a ---></a>`,
		"misplaced declaration":   ` <?xml version="1.0"?><a/>`,
		"xml pi inside":           `<a><?xml version="1.0"?></a>`,
		"pi target with colon":    `<a><?a:b c?></a>`,
		"version 1.1":             `<?xml version="1.1"?><a/>`,
		"declaration w/o version": `<?xml encoding="UTF-8"?><a/>`,
		"too deep":                strings.Repeat("<a>", maxXMLDepth+1) + strings.Repeat("</a>", maxXMLDepth+1),
		"unterminated cdata":      `<a><![CDATA[x</a>`,
		"unterminated comment":    `<a><!-- x</a>`,
		"bad utf8":                "<a>\xff</a>",
		"name start digit":        `<1a/>`,
	} {
		if _, err := parseXML([]byte(in), false); !errors.Is(err, errSyntax) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestParseXMLValues(t *testing.T) {
	d, err := parseXML([]byte("<?xml version=\"1.0\"?>\r\n<r a=\"1\t2\n3\r\n4&#10;5&lt;&amp;&quot;&apos;&gt;\"><![CDATA[<x>\r\n]]>t\r\nu&#13;v<!--c--><?p d?></r>"), false)
	if err != nil {
		t.Fatal(err)
	}
	r := d.Root()
	if got := r.SelectAttrValue("a", ""); got != "1 2 3 4\n5<&\"'>" {
		t.Errorf("attribute %q", got)
	}
	if got := textOf(r); got != "<x>\nt\nu\rv" {
		t.Errorf("text %q", got)
	}
}

// FuzzXMLParse checks the parser against encoding/xml (through etree's
// reader): it must not panic, and whatever it accepts (ASCII input),
// encoding/xml must accept with the same canonical form, up to the
// attribute-value normalisation that encoding/xml does not do.
func FuzzXMLParse(f *testing.F) {
	for _, s := range []string{
		`<a/>`, `<?xml version="1.0" encoding="UTF-8"?><a b="c" xmlns:p="u" p:d='e'>t&amp;<b/><![CDATA[x]]><!--c--><?p i?></a>`,
		"<a b=\"x\ty\">\r\n</a>", `<a>&#65;&#x42;</a>`,
	} {
		f.Add([]byte(s))
	}
	if d, ok := refdata.Find(); ok {
		fs, _ := filepath.Glob(filepath.Join(d, "duis", "samples", "*.xml"))
		for _, fn := range fs {
			if b, err := os.ReadFile(fn); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseXML(b, false)
		if err != nil {
			return
		}
		root := d.Root()
		ours := canonicalInclusive(d, root, nil)
		if _, err := parseXML(b, true); err != nil {
			t.Fatalf("compact parse fails where full parse succeeds: %v", err)
		}
		for _, c := range b {
			if c >= 0x80 {
				return // name tables differ between XML editions
			}
		}
		ed := etree.NewDocument()
		ed.ReadSettings.PreserveDuplicateAttrs = true
		if err := ed.ReadFromBytes(b); err != nil {
			t.Fatalf("we accept what encoding/xml refuses (%v):\n%q", err, b)
		}
		eroot := ed.Root()
		if eroot == nil {
			t.Fatalf("encoding/xml found no root in %q", b)
		}
		theirs := canonicalInclusive(ed, eroot, nil)
		if bytes.Equal(ours, theirs) || bytes.IndexByte(b, '\r') >= 0 || bytes.Contains(b, []byte("&#")) {
			return
		}
		var norm func(*etree.Element)
		norm = func(e *etree.Element) {
			for i := range e.Attr {
				e.Attr[i].Value = strings.Map(func(r rune) rune {
					if r == '\t' || r == '\n' {
						return ' '
					}
					return r
				}, e.Attr[i].Value)
			}
			for _, c := range e.ChildElements() {
				norm(c)
			}
		}
		norm(eroot)
		if theirs = canonicalInclusive(ed, eroot, nil); !bytes.Equal(ours, theirs) {
			t.Fatalf("canonical forms differ for %q:\n ours   %q\n theirs %q", b, ours, theirs)
		}
	})
}

// TestParseXMLSlabs: the parser takes elements, texts, child lists and
// attribute lists from shared slabs. Every token knows its parent and
// index, and a list grown afterwards (Sign adds the Signature, compact
// removes text) does not write into a neighbour's.
func TestParseXMLSlabs(t *testing.T) {
	d, err := parseXML([]byte(`<?xml version="1.0"?><!--c--><r a="1" b="2"><x p="1">t<y/>u</x><z q="2" r="3"><w>v</w></z></r>`), false)
	if err != nil {
		t.Fatal(err)
	}
	var check func(e *etree.Element)
	check = func(e *etree.Element) {
		for i, c := range e.Child {
			if c.Parent() != e || c.Index() != i {
				t.Fatalf("child %d of <%s>: parent %v, index %d", i, e.Tag, c.Parent(), c.Index())
			}
			if ce, ok := c.(*etree.Element); ok {
				for _, a := range ce.Attr {
					if a.Element() != ce {
						t.Fatalf("attribute %s of <%s> points elsewhere", a.Key, ce.Tag)
					}
				}
				check(ce)
			}
		}
	}
	check(&d.Element)
	r := d.Root()
	x, z := r.SelectElement("x"), r.SelectElement("z")
	x.CreateElement("added")
	x.CreateAttr("n", "4")
	if got := len(z.Child); got != 1 || z.Child[0].(*etree.Element).Tag != "w" {
		t.Fatalf("<z> children changed: %d", got)
	}
	if len(z.Attr) != 2 || z.Attr[0].Key != "q" || z.Attr[1].Key != "r" {
		t.Fatalf("<z> attributes changed: %v", z.Attr)
	}
	var b bytes.Buffer
	d.WriteTo(&b)
	if want := `<?xml version="1.0"?><!--c--><r a="1" b="2"><x p="1" n="4">t<y/>u<added/></x><z q="2" r="3"><w>v</w></z></r>`; b.String() != want {
		t.Fatalf("got  %s\nwant %s", b.String(), want)
	}
}
