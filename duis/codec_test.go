package duis

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/internal/interop"
	"github.com/opendcc/opendcc/internal/refdata"
)

// corpus lists the RTDS templates and the signing tool's samples.
func corpus(tb testing.TB) []string {
	tb.Helper()
	var files []string
	for _, dir := range []string{"templates", "samples"} {
		d := refdata.Path(tb, "duis", dir)
		ents, err := os.ReadDir(d)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				files = append(files, filepath.Join(d, e.Name()))
			}
		}
	}
	sort.Strings(files)
	return files
}

// canonical renders a document as an indented element tree with expanded
// names, sorted attributes and leaf text, ignoring prefixes, namespace
// declarations, xsi:* attributes, comments and whitespace between
// elements: two documents with the same canonical form carry the same
// DUIS content.
func canonical(tb testing.TB, data []byte) string {
	tb.Helper()
	root, err := parseTree(data)
	if err != nil {
		tb.Fatalf("canonical: %v", err)
	}
	var b strings.Builder
	var walk func(n *node, depth int)
	walk = func(n *node, depth int) {
		fmt.Fprintf(&b, "%s{%s}%s", strings.Repeat(" ", depth), n.ns, n.local)
		var attrs []string
		for _, a := range n.attrs {
			attrs = append(attrs, fmt.Sprintf("{%s}%s=%q", a.ns, a.local, a.value))
		}
		sort.Strings(attrs)
		for _, a := range attrs {
			b.WriteString(" " + a)
		}
		if len(n.kids) == 0 || n.hasText {
			fmt.Fprintf(&b, " text=%q", n.text)
		}
		b.WriteByte('\n')
		for _, k := range n.kids {
			walk(k, depth+1)
		}
	}
	walk(root, 0)
	return b.String()
}

func TestRoundTripCorpus(t *testing.T) {
	files := corpus(t)
	verdicts := interop.XMLLintValidate(t, files)
	var n, valid, roundTripped int
	for _, f := range files {
		n++
		if !verdicts[f].Valid {
			continue
		}
		valid++
		name := filepath.Base(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(data); err != nil {
			t.Errorf("%s: Validate: %v", name, err)
			continue
		}
		m, err := Decode(data)
		if err != nil {
			t.Errorf("%s: Decode: %v", name, err)
			continue
		}
		out, err := Encode(m)
		if err != nil {
			t.Errorf("%s: Encode: %v", name, err)
			continue
		}
		if err := Validate(out); err != nil {
			t.Errorf("%s: Validate(Encode(Decode)): %v\n%s", name, err, out)
			continue
		}
		if a, b := canonical(t, data), canonical(t, out); a != b {
			t.Errorf("%s: content changed by the round trip:\n--- input\n%s\n--- output\n%s", name, a, b)
			continue
		}
		m2, err := Decode(out)
		if err != nil {
			t.Errorf("%s: Decode(Encode): %v", name, err)
			continue
		}
		out2, err := Encode(m2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Errorf("%s: Encode is not byte-stable (err %v)\n%s\n%s", name, err, out, out2)
			continue
		}
		roundTripped++
	}
	t.Logf("%d documents, %d valid per xmllint, %d round-tripped (Validate, Decode, Encode, Validate, same content, byte-stable)", n, valid, roundTripped)
	if roundTripped != valid {
		t.Errorf("%d of %d valid documents did not round-trip", valid-roundTripped, valid)
	}
}
