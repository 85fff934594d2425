package xsd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/opendcc/opendcc/internal/interop"
	"github.com/opendcc/opendcc/internal/refdata"
)

// TestCorpusAgainstXMLLint validates every template and sample with tables
// compiled straight from the reference schema and compares each verdict
// with xmllint's (on the fixed schema copy, duis.md §4).
func TestCorpusAgainstXMLLint(t *testing.T) {
	s := loadDUIS(t)
	tb, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewValidator(tb)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, dir := range []string{"templates", "samples"} {
		d := refdata.Path(t, "duis", dir)
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			files = append(files, filepath.Join(d, e.Name()))
		}
	}
	verdicts := interop.XMLLintValidate(t, files)
	valid := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := v.Validate(data)
		want := verdicts[f]
		if want.Valid {
			valid++
		}
		if (got == nil) != want.Valid {
			t.Errorf("%s: xmllint valid=%v (%s), ours: %v", filepath.Base(f), want.Valid, want.Message, got)
		}
	}
	t.Logf("%d documents, %d valid per xmllint", len(files), valid)
}
