// Command opendcc is the OpenDCC binary: the DCC system and its protocol
// tools, as cobra subcommands. main only wires the command tree; the work is
// in internal/cli and the domain packages.
package main

import (
	"os"

	"github.com/opendcc/opendcc/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
