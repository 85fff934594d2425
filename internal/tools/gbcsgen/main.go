// Command gbcsgen generates the GBCS use-case and alert-code catalogue of
// package gbcs (catalog_gen.go) from data: the message-code table
// ../shared/data/tables/gbcs-usecases.tsv and the alert-code list kept in
// gbcs/catalogdata/alert-codes.tsv.
//
// Run by `go generate ./gbcs`; the output is committed, and a test in gbcs
// fails when it is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opendcc/opendcc/internal/tools/gbcsgen/gen"
)

func main() {
	refdata := flag.String("refdata", "", "reference data folder (default ../shared/data from the repository root, or $OPENDCC_REFDATA)")
	alerts := flag.String("alerts", "catalogdata/alert-codes.tsv", "alert code list TSV")
	out := flag.String("out", "catalog_gen.go", "output file")
	flag.Parse()
	dir := *refdata
	if dir == "" {
		dir = os.Getenv("OPENDCC_REFDATA")
	}
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	src, err := gen.Generate(filepath.Join(dir, "tables", "gbcs-usecases.tsv"), *alerts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gbcsgen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gbcsgen:", err)
		os.Exit(1)
	}
}
