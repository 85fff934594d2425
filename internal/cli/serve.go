package cli

import (
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/server"
)

// newServeCmd is `opendcc serve`: the embedded server (SQLite store) on DCC
// Boxed's ports.
func newServeCmd() *cobra.Command {
	var cfg server.Config
	c := &cobra.Command{
		Use:   "serve [--data DIR] [--duis ADDR] [--smki ADDR] [--profile dccboxed]",
		Short: "Run OpenDCC: the DUIS endpoints (/api/v1/serviceS|T|D) and the SMKI repository",
		Long: `Serves the DCC User Interface on --duis (DCC Boxed: port 8079) and the SMKI repository on
--smki (8083), with its state in an embedded database under --data. --profile dccboxed seeds the
ZAZ1 test users and the RTDS device set so DCC Boxed tooling works unchanged.
Requests are checked (schema, signature, user, role, command variant, device, eligibility,
anti-replay) and answered synchronously (signed I0/I99/E-codes). Accepted device requests are
sent over a simulated smart-metering WAN to simulated SMETS2 devices (created from the
inventory); their responses, E20/E21 outcomes and device alerts are POSTed, signed, to each
User's Receive Response Service URL (the dccboxed profile's users: --response-url, where
` + "`opendcc send`" + ` listens by default), retried with backoff and kept two days.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			s, err := server.Start(ctx, cfg)
			if err != nil {
				return exitf(1, "%v", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "OpenDCC: DUIS %s/api/v1/serviceS|T|D, SMKI %s (Ctrl-C stops)\n", s.DUISURL, s.SMKIURL)
			<-ctx.Done()
			return s.Close()
		},
	}
	c.Flags().StringVar(&cfg.DataDir, "data", "opendcc-data", "folder for the embedded database")
	c.Flags().StringVar(&cfg.DUISAddr, "duis", "127.0.0.1:8079", "listen address of the DUIS endpoints")
	c.Flags().StringVar(&cfg.SMKIAddr, "smki", "127.0.0.1:8083", "listen address of the SMKI repository")
	c.Flags().StringVar(&cfg.Profile, "profile", "", `seed data: "dccboxed" (ZAZ1 users, RTDS devices)`)
	c.Flags().StringVar(&cfg.ResponseURL, "response-url", server.DefaultResponseURL, "Receive Response Service URL of the profile's users (set when they are first seeded)")
	c.Flags().DurationVar(&cfg.DeviceDeadline, "device-deadline", 30*time.Second, "a device request unanswered this long gets E21")
	return c
}
