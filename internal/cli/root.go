// Package cli builds the opendcc command tree. Commands parse flags, read
// files and print; they call the domain packages for everything else, and
// report failures as exit codes (documented in docs/cli.md), never panics.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitf(code int, format string, a ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, a...)}
}

// silentExit ends with a status and no further message (the command has
// already printed its per-file results).
func silentExit(code int) error { return &exitError{code: code} }

// Main runs the command line and returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "opendcc:", ee.err)
		}
		return ee.code
	}
	// Flag and argument errors from cobra.
	fmt.Fprintln(stderr, "opendcc:", err)
	return 64
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "opendcc",
		Short:         "OpenDCC: an open implementation of the GB smart-metering DCC",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	smki := newSMKICmd()
	smki.AddCommand(newSMKIServeCmd())
	root.AddCommand(newServeCmd(), newDUISCmd(), newGBCSCmd(), smki, newSimCmd())
	root.AddCommand(newSendCmd())
	root.AddCommand(newBenchCmd())
	root.AddCommand(newDemoCmd())
	return root
}

// noSubcommand rejects an unknown subcommand of a command group (cobra only
// does this for the root command).
func noSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// showHelp makes a command group runnable so that noSubcommand is applied.
func showHelp(cmd *cobra.Command, _ []string) error { return cmd.Help() }
