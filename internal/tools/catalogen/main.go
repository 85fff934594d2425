// Command catalogen generates the DUIS catalogues in package duis from data:
// the Service Reference Variant table (../shared/data/tables/duis-srv-list.tsv)
// and the ResponseCode enumeration of the DUIS 5.4 XSD, merged with the
// meanings kept in duis/catalogdata/response-code-meanings.tsv.
//
// Run by `go generate ./duis`; the output is committed, and a test in duis
// fails when it is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opendcc/opendcc/internal/tools/catalogen/gen"
)

func main() {
	refdata := flag.String("refdata", "", "reference data folder (default ../shared/data from the repository root, or $OPENDCC_REFDATA)")
	meanings := flag.String("meanings", "catalogdata/response-code-meanings.tsv", "response code meanings TSV")
	out := flag.String("out", ".", "output folder (package duis)")
	flag.Parse()
	dir := *refdata
	if dir == "" {
		dir = os.Getenv("OPENDCC_REFDATA")
	}
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	files, err := gen.Generate(dir, *meanings)
	if err != nil {
		fmt.Fprintln(os.Stderr, "catalogen:", err)
		os.Exit(1)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(*out, name), src, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "catalogen:", err)
			os.Exit(1)
		}
	}
}
