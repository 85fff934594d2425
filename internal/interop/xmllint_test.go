package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/internal/refdata"
)

// TestXMLLintTemplates is the acceptance check of duis.md §4: with the two
// schema fixes every RTDS template validates, and the invalid sample does not.
func TestXMLLintTemplates(t *testing.T) {
	templates := glob(t, "duis/templates", "*")
	if len(templates) != 235 {
		t.Errorf("found %d templates, want 235", len(templates))
	}
	invalid := sample(t, "readfw-response-invalid.xml")
	start := time.Now()
	got := XMLLintValidate(t, append(templates, invalid))
	t.Logf("xmllint: %d files in %v", len(got), time.Since(start))
	if len(got) != len(templates)+1 {
		t.Errorf("got %d verdicts, want %d", len(got), len(templates)+1)
	}
	for _, f := range templates {
		if v := got[f]; !v.Valid {
			t.Errorf("%s: invalid: %s", filepath.Base(f), v.Message)
		}
	}
	v := got[invalid]
	if v.Valid || !strings.Contains(v.Message, "ServiceReference") {
		t.Errorf("readfw-response-invalid.xml: got %+v, want invalid on ServiceReference", v)
	}
}

// TestXMLLintSamples pins the verdict for every sample and checks that the
// batch wrapper agrees with a separate single-file xmllint run, so chunking
// and stderr attribution cannot shift a verdict onto the wrong file.
func TestXMLLintSamples(t *testing.T) {
	xmllint := refdata.Tool(t, "xmllint")
	schema := XMLLintSchema(t)
	invalid := map[string]string{ // sample -> substring of the first message
		"ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-invalid.XML": "RequestID",
		"readfw-response-invalid.xml":                          "ServiceReference",
		// libxml2 refuses to validate a tree with entity references.
		"duis-xxe.xml": "entity reference",
	}
	files := glob(t, "duis/samples", "*")
	// Add a file that is not well-formed and one that is missing: neither
	// gets a verdict line from xmllint.
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.xml")
	if err := os.WriteFile(broken, []byte("<a"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.xml")
	got := XMLLintValidate(t, append([]string{broken, missing}, files...))

	for _, f := range []string{broken, missing} {
		if got[f].Valid || got[f].Message == "" {
			t.Errorf("%s: got %+v, want invalid with a message", filepath.Base(f), got[f])
		}
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			v := got[f]
			want, isInvalid := invalid[name]
			if v.Valid == isInvalid {
				t.Fatalf("valid=%v, want %v (message %q)", v.Valid, !isInvalid, v.Message)
			}
			if isInvalid && !strings.Contains(v.Message, want) {
				t.Errorf("message %q does not mention %q", v.Message, want)
			}
			out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", schema, f).CombinedOutput()
			if cli := err == nil; cli != v.Valid {
				t.Errorf("single-file xmllint valid=%v, batch valid=%v\n%s", cli, v.Valid, out)
			}
		})
	}
}

// TestParseXMLLint covers the stderr shapes of libxml2 2.9 without running
// it: verdict lines, diagnostics with continuation lines, a parse error with
// no verdict, and a load warning that names a later file.
func TestParseXMLLint(t *testing.T) {
	files := []string{"a.xml", "b c.xml", "d.xml", "e.xml", "f.xml"}
	out := strings.Join([]string{
		"a.xml validates",
		"b c.xml:2: parser error : Couldn't find end of Start Tag a line 1",
		"",
		"^",
		`warning: failed to load external entity "d.xml"`,
		"e.xml:4: element X: Schemas validity error : first",
		"e.xml:5: element Y: Schemas validity error : second",
		"e.xml fails to validate",
		"f.xml validation generated an internal error",
	}, "\n")
	got := parseXMLLint([]byte(out), files)
	tests := []struct {
		file  string
		valid bool
		msg   string
	}{
		{"a.xml", true, ""},
		{"b c.xml", false, "b c.xml:2: parser error : Couldn't find end of Start Tag a line 1"},
		{"d.xml", false, `warning: failed to load external entity "d.xml"`},
		{"e.xml", false, "e.xml:4: element X: Schemas validity error : first"},
		{"f.xml", false, "f.xml validation generated an internal error"},
	}
	for _, tt := range tests {
		if v := got[tt.file]; v.Valid != tt.valid || v.Message != tt.msg {
			t.Errorf("%s: got %+v, want {Valid:%v Message:%q}", tt.file, v, tt.valid, tt.msg)
		}
	}
}
