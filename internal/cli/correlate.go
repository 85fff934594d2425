package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/gbcs/correlate"
)

// newGBCSCorrelateCmd is the "Correlate" of SEC H11: before signing a
// Pre-Command, a User checks it carries what the request asked for.
func newGBCSCorrelateCmd() *cobra.Command {
	var request, precommand string
	var asJSON bool
	c := &cobra.Command{
		Use:   "correlate --request DUIS.xml --precommand FILE [--json]",
		Short: "Check that a GBCS Pre-Command carries what its critical DUIS request asked for",
		Long: `--precommand is the Pre-Command as binary, hex or base64, or the DUIS CV 4 response carrying it.
Prints every field compared, those not compared and why, and the differences. Exit status 0 when
the two correspond, 1 when they differ, 2 when the inputs cannot be correlated.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if request == "" || precommand == "" {
				return exitf(exitUsage, "need --request and --precommand")
			}
			req, err := os.ReadFile(request)
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			pc, err := os.ReadFile(precommand)
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			raw, err := correlate.DecodePreCommand(pc)
			if err != nil {
				return exitf(exitSchemaInvalid, "%s: %v", precommand, err)
			}
			rep, err := correlate.Check(req, raw)
			if err != nil {
				return exitf(exitSchemaInvalid, "%v", err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s\n", b)
			} else {
				fmt.Fprint(out, rep.String())
			}
			if !rep.OK() {
				return silentExit(1)
			}
			return nil
		},
	}
	c.Flags().StringVar(&request, "request", "", "the critical DUIS service request (XML)")
	c.Flags().StringVar(&precommand, "precommand", "", "the GBCS Pre-Command (binary, hex, base64, or the DUIS response carrying it)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return c
}
