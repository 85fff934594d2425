package sim

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/sim/internal/annexgen"
)

var updateAnnex = flag.Bool("update", false, "rewrite annex_types_gen.go from the GBCS annex")

// TestAnnexTypesGenerated regenerates the DLMS type table from the annex
// and fails when the committed one is stale.
func TestAnnexTypesGenerated(t *testing.T) {
	src, err := os.ReadFile(refdata.Path(t, "gbcs", "spec", "gbcs-use-cases-annex.html"))
	if err != nil {
		t.Fatal(err)
	}
	out, st, err := annexgen.Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows, %d attributes, %d conflicting rows, %d skipped", st.Rows, st.Attributes, st.Conflicts, st.Skipped)
	if *updateAnnex {
		if err := os.WriteFile("annex_types_gen.go", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, _ := os.ReadFile("annex_types_gen.go")
	if !bytes.Equal(old, out) {
		t.Fatal("annex_types_gen.go is stale: go test ./sim -run TestAnnexTypesGenerated -update")
	}
}

// TestZCLAnnexTypesGenerated regenerates the ZCL attribute type table from
// the annex and fails when the committed one is stale.
func TestZCLAnnexTypesGenerated(t *testing.T) {
	src, err := os.ReadFile(refdata.Path(t, "gbcs", "spec", "gbcs-use-cases-annex.html"))
	if err != nil {
		t.Fatal(err)
	}
	out, st, err := annexgen.GenerateZCL(src)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows, %d attributes, %d conflicting rows", st.Rows, st.Attributes, st.Conflicts)
	if *updateAnnex {
		if err := os.WriteFile("zcl_types_gen.go", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, _ := os.ReadFile("zcl_types_gen.go")
	if !bytes.Equal(old, out) {
		t.Fatal("zcl_types_gen.go is stale: go test ./sim -run TestZCLAnnexTypesGenerated -update")
	}
}
