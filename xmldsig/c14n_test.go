package xmldsig

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/beevik/etree"
	"github.com/opendcc/opendcc/internal/refdata"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// corpus is every template and every parseable sample.
func corpus(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, tp := range templates(t) {
		out[tp.name] = tp.doc
	}
	fs, _ := filepath.Glob(filepath.Join(refdata.Path(t, "duis", "samples"), "*"))
	for _, f := range fs {
		if filepath.Base(f) == "duis-xxe.xml" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// goxmldsig's canonicalizers are the reference our streaming one must match.
func refInclusive(t *testing.T, root *etree.Element) []byte {
	b, err := dsig.MakeC14N10RecCanonicalizer().Canonicalize(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func refExclusive(t *testing.T, el *etree.Element) []byte {
	var chain []*etree.Element
	for p := el.Parent(); p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	ctx := etreeutils.NewDefaultNSContext()
	for i := len(chain) - 1; i >= 0; i-- {
		var err error
		if ctx, err = ctx.SubContext(chain[i]); err != nil {
			t.Fatal(err)
		}
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		t.Fatal(err)
	}
	b, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(det)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestC14NMatchesGoxmldsig(t *testing.T) {
	n := 0
	for name, doc := range corpus(t) {
		d, root, sigs, err := parse(doc, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := canonicalInclusive(d, root, nil), refInclusive(t, root); !bytes.Equal(got, want) {
			t.Errorf("%s: inclusive C14N differs:\n got %.300s\nwant %.300s", name, got, want)
		}
		if got, want := canonicalExclusive(root), refExclusive(t, root); !bytes.Equal(got, want) {
			t.Errorf("%s: exclusive C14N differs:\n got %.300s\nwant %.300s", name, got, want)
		}
		for _, s := range sigs {
			si := s.SelectElement("SignedInfo")
			if si == nil {
				continue
			}
			if got, want := canonicalExclusive(si), refExclusive(t, si); !bytes.Equal(got, want) {
				t.Errorf("%s: exclusive C14N of SignedInfo differs:\n got %s\nwant %s", name, got, want)
			}
			// enveloped: the document without the signature
			if s.Parent() == root {
				got := canonicalInclusive(d, root, s)
				i := s.Index()
				root.RemoveChildAt(i)
				want := refInclusive(t, root)
				root.InsertChildAt(i, s)
				if !bytes.Equal(got, want) {
					t.Errorf("%s: enveloped inclusive C14N differs", name)
				}
			}
		}
		n++
	}
	t.Logf("%d documents: inclusive, exclusive and SignedInfo C14N identical to goxmldsig", n)
}

var commentRe = regexp.MustCompile(`(?s)<!--.*?-->`)

func xmllintC14N(t *testing.T, xmllint string, doc []byte, exclusive bool) []byte {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.xml")
	if err := os.WriteFile(f, commentRe.ReplaceAll(doc, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	flag := "--c14n"
	if exclusive {
		flag = "--exc-c14n"
	}
	out, err := exec.Command(xmllint, "--nonet", flag, f).Output()
	if err != nil {
		t.Fatalf("xmllint %s: %v", flag, err)
	}
	return out
}

// TestC14NMatchesXMLLint compares with libxml2 on the corpus and on cases
// built to hit the corners (namespace redeclaration and undeclaration,
// attribute order by namespace URI, escapes, processing instructions).
func TestC14NMatchesXMLLint(t *testing.T) {
	xmllint := refdata.Tool(t, "xmllint")
	docs := map[string][]byte{
		"ns-corners": []byte(`<?pi-before x?><r xmlns="urn:d" xmlns:b="urn:b" xmlns:a="urn:z" a:z="1" b:y="2" x="3" b:a="4"><c xmlns=""><d xmlns="urn:d" xmlns:a="urn:z"/></c><a:e xmlns:a="urn:other" a:k="v"/><?pi inside?></r><?pi-after?>`),
		"escapes":    []byte("<r a=\"t&#9;n&#10;r&#13;q&quot;lt&lt;gt>amp&amp;\">text &amp; &lt; &gt; \" ' &#13; end<![CDATA[<cdata&>]]></r>"),
		"unused-ns":  []byte(`<r xmlns:u="urn:unused" xmlns:p="urn:p"><p:x p:a="1"><y xmlns:q="urn:q" q:b="2"/></p:x></r>`),
		"xml-attr":   []byte(`<r xml:lang="en" xmlns:xml="http://www.w3.org/XML/1998/namespace"><s xml:space="preserve"> </s></r>`),
		"normalise":  []byte("<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\r\n<r a=\"x\ty\nz\r\nw\" b='&#9;&#10;&#13;&#x20;'>l1\r\nl2\rl3<![CDATA[c1\r\nc2]]>&#x10FFFF;&#233;\u00e9\u4e2d</r >\r\n"),
		"names":      []byte("<\u00e9l\u00e9ment xmlns=\"urn:x\" xmlns:\u00e9=\"urn:e\" \u00e9:a-b.c_d=\"1\"><\u00e9:x\u00b7y/></\u00e9l\u00e9ment>"),
	}
	for name, doc := range corpus(t) {
		docs[name] = doc
	}
	n := 0
	for name, doc := range docs {
		d, root, _, err := parse(doc, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := canonicalInclusive(d, root, nil), xmllintC14N(t, xmllint, doc, false); !bytes.Equal(got, want) {
			t.Errorf("%s: inclusive C14N differs from xmllint:\n got %s\nwant %s", name, got, want)
		}
		exc := canonicalizer{exclusive: true}
		exc.document(d, root)
		if got, want := exc.out, xmllintC14N(t, xmllint, doc, true); !bytes.Equal(got, want) {
			t.Errorf("%s: exclusive C14N differs from xmllint:\n got %s\nwant %s", name, got, want)
		}
		n++
	}
	t.Logf("%d documents: inclusive and exclusive C14N byte-identical to xmllint", n)
}

// TestC14NScratchPool: the canonicalisations share pooled buffers; digests
// computed concurrently are the ones computed one at a time, and the
// canonical bytes a test helper returns are not reused by later digests.
func TestC14NScratchPool(t *testing.T) {
	type item struct {
		d        *etree.Document
		root, si *etree.Element
		sigs     []*etree.Element
		ref      []byte
		si32     [32]byte
	}
	var items []item
	for _, tp := range templates(t) {
		d, root, sigs, err := parse(tp.doc, 0)
		if err != nil {
			continue
		}
		it := item{d: d, root: root, sigs: sigs}
		var skip *etree.Element
		if len(sigs) == 1 {
			skip = sigs[0]
			it.si = sigs[0].SelectElement("SignedInfo")
		}
		it.ref = referenceDigest(d, root, skip)
		if it.si == nil {
			it.si = root
		}
		it.si32 = signedInfoDigest(it.si)
		items = append(items, it)
		if len(items) == 100 {
			break
		}
	}
	if len(items) < 10 {
		t.Fatalf("only %d templates parse", len(items))
	}
	held := canonicalInclusive(items[0].d, items[0].root, nil)
	heldCopy := bytes.Clone(held)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				for i := range items {
					it := items[(i*5+g+r)%len(items)]
					var skip *etree.Element
					if len(it.sigs) == 1 {
						skip = it.sigs[0]
					}
					if got := referenceDigest(it.d, it.root, skip); !bytes.Equal(got, it.ref) {
						t.Error("reference digest differs when computed concurrently")
						return
					}
					if got := signedInfoDigest(it.si); got != it.si32 {
						t.Error("SignedInfo digest differs when computed concurrently")
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	if !bytes.Equal(held, heldCopy) {
		t.Fatal("canonical bytes returned earlier were overwritten")
	}
}
