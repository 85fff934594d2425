package payload

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/opendcc/opendcc/gbcs/payload/internal/namegen"
	"github.com/opendcc/opendcc/gbcs/payload/internal/rtdstest"
)

var update = flag.Bool("update", false, "rewrite generated name tables and golden files")

// TestGeneratedNames regenerates the COSEM object and ZCL attribute name
// tables from the GBCS annex and compares them with the committed files.
func TestGeneratedNames(t *testing.T) {
	text := rtdstest.AnnexText(t)
	for _, g := range []struct {
		file string
		gen  func(string) ([]byte, error)
	}{
		{filepath.Join("..", "dlms", "objects_gen.go"), namegen.DLMSObjects},
		{filepath.Join("..", "gbz", "attrs_gen.go"), namegen.ZCLAttributes},
	} {
		want, err := g.gen(text)
		if err != nil {
			t.Fatalf("%s: %v", g.file, err)
		}
		if *update {
			if err := os.WriteFile(g.file, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(g.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go test ./gbcs/payload -run TestGeneratedNames -update", g.file)
		}
	}
}
