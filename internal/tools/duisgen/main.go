// Command duisgen generates package duis's schema code from the DUIS 5.4
// XSDs (DUIS, MMC and xmldsig-core): types_gen.go, Go types for every
// complex type with compact XML decoders and encoders, and schema_gen.go,
// the validation tables that duis.Validate runs on.
//
// Run by `go generate ./duis`. The output is committed; a test in duis
// (TestGeneratedUpToDate) fails when it is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/internal/tools/duisgen/gen"
)

func main() {
	schema := flag.String("schema", "", "folder holding \""+gen.MainSchema+"\" and its imports (default: duis/schema in the reference data, ../shared/data or $"+refdata.EnvVar+")")
	out := flag.String("out", ".", "output folder (package duis)")
	flag.Parse()
	dir := *schema
	if dir == "" {
		d, ok := refdata.Find()
		if !ok {
			fmt.Fprintf(os.Stderr, "duisgen: reference data not found at %s; set $%s or pass -schema\n", d, refdata.EnvVar)
			os.Exit(1)
		}
		dir = filepath.Join(d, "duis", "schema")
	}
	files, err := gen.Generate(os.DirFS(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "duisgen:", err)
		os.Exit(1)
	}
	for _, name := range []string{gen.SchemaFile, gen.TypesFile} {
		if err := os.WriteFile(filepath.Join(*out, name), files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "duisgen:", err)
			os.Exit(1)
		}
	}
}
