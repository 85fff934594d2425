package cli

import (
	"fmt"
	"os"
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
` + "`opendcc send`" + ` listens by default), retried with backoff and kept two days.

DCC Users: --users FILE (JSON) inserts or replaces the users it lists at every start and trusts
their XML-signing certificates. The admin API (GET/PUT/DELETE /admin/v1/users/{eui}, POST
/admin/v1/users/{eui}/status) listens on --admin (127.0.0.1:8090; "" disables it), never on the
DUIS port; with --admin-token (or $OPENDCC_ADMIN_TOKEN) every call needs
"Authorization: Bearer TOKEN". Changes apply to the next request.
TLS: --tls-cert and --tls-key serve the DUIS endpoints over HTTPS (TLS 1.2+); --tls-client-ca
verifies client certificates against that CA bundle, required with --tls-require-client-cert.
These are ordinary X.509 certificates, not SMKI ones (docs/admin.md).
Scale-out: --postgres DSN keeps the state in PostgreSQL instead of the embedded SQLite file
(--postgres-schema picks a schema), --nats URL runs the pipeline on an external NATS JetStream
server or cluster instead of the embedded one (docs/storage.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tuneGC()
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
	c.Flags().BoolVar(&cfg.QueueDeviceResponses, "queue-device-responses", false, "put every device response on the bus before finishing it (survives a crash; default: finished as it arrives, E21 if the DCC crashes meanwhile)")
	c.Flags().StringVar(&cfg.Admin.UsersFile, "users", "", "JSON file of DCC Users to load at start (docs/admin.md)")
	c.Flags().StringVar(&cfg.Admin.Addr, "admin", "127.0.0.1:8090", `listen address of the admin API ("" disables it)`)
	c.Flags().StringVar(&cfg.Admin.Token, "admin-token", "", "bearer token the admin API requires (default $OPENDCC_ADMIN_TOKEN)")
	var tlsCfg server.TLSConfig
	c.Flags().StringVar(&tlsCfg.CertFile, "tls-cert", "", "PEM X.509 certificate: serve DUIS over HTTPS")
	c.Flags().StringVar(&tlsCfg.KeyFile, "tls-key", "", "PEM private key of --tls-cert")
	c.Flags().StringVar(&tlsCfg.ClientCAFile, "tls-client-ca", "", "PEM CA bundle that verifies DUIS client certificates")
	c.Flags().BoolVar(&tlsCfg.RequireClientCert, "tls-require-client-cert", false, "refuse DUIS clients without a valid certificate (needs --tls-client-ca)")
	c.Flags().StringVar(&cfg.PostgresDSN, "postgres", "", `PostgreSQL DSN (e.g. "postgres://opendcc@127.0.0.1/opendcc"): state there instead of the embedded SQLite`)
	c.Flags().StringVar(&cfg.PostgresSchema, "postgres-schema", "", "PostgreSQL schema to use (created if missing; default the DSN's search path)")
	c.Flags().StringVar(&cfg.NATSURL, "nats", "", `NATS URL of a JetStream server or cluster (e.g. "nats://127.0.0.1:4222"): instead of the embedded one`)
	c.PreRunE = func(*cobra.Command, []string) error {
		if cfg.Admin.Token == "" {
			cfg.Admin.Token = os.Getenv("OPENDCC_ADMIN_TOKEN")
		}
		if cfg.PostgresSchema != "" && cfg.PostgresDSN == "" {
			return exitf(2, "--postgres-schema needs --postgres")
		}
		if tlsCfg != (server.TLSConfig{}) {
			if tlsCfg.CertFile == "" || tlsCfg.KeyFile == "" {
				return exitf(2, "--tls-cert and --tls-key go together (and the other --tls flags need them)")
			}
			cfg.TLS = &tlsCfg
		}
		return nil
	}
	return c
}
