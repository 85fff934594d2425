package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/internal/dccboxed"
)

// Exit statuses of `opendcc send` beyond the shared ones (docs/cli.md).
const (
	exitSendNoKey      = 3 // no XML-signing key of the originator, or no GBCS key for the Pre-Command
	exitSendBadAnswer  = 5 // an answer fails signature or schema checks, or is not for this request
	exitSendErrorCode  = 7 // the DCC answered an E-code (synchronously or finally)
	exitSendTransport  = 8 // server unreachable, HTTP status other than 200, not application/xml
	exitSendTimeout    = 9 // no asynchronous response within --timeout
	defaultDUISServer  = "http://127.0.0.1:8079"
	dccBoxedAllowance  = 5 * 365 * 24 * time.Hour
	sendProgressPrefix = "opendcc send: "
)

// sendJSON is the --json object.
type sendJSON struct {
	RequestID           string       `json:"requestId"`
	SRV                 string       `json:"srv"`
	CommandVariant      int          `json:"commandVariant"`
	Ack                 *string      `json:"ack"`
	Final               *string      `json:"final"`
	FinalSignatureValid *bool        `json:"finalSignatureValid"`
	GBCS                *gbcsOutcome `json:"gbcs"`
	ElapsedMs           int64        `json:"elapsedMs"`
	Error               string       `json:"error,omitempty"`
}

type gbcsOutcome = client.GBCSMessage

func newSendCmd() *cobra.Command {
	var server, keystore, listen, smkiURL string
	var timeout, allowance time.Duration
	var asJSON, noWait, fresh, noValidity bool
	c := &cobra.Command{
		Use:   "send [--server URL] [--keystore KS] [--listen ADDR] [--smki URL] [--timeout D] [--json] FILE|-",
		Short: "Send a DUIS request to a DCC (OpenDCC or DCC Boxed) and wait for its response",
		Long: `Signs the request if it is not signed by its originator (the counter is kept unless it is 0,
then it becomes the Unix time in milliseconds, as DCC Boxed does), posts it to the web service its
command variant needs, runs the critical two-step (CV 4 → Pre-Command signed with the User's GBCS
key → CV 5) for a critical service sent with CV 1 or 4, verifies the signed answer and, after an
I99, waits on a local Receive Response Service (--listen, path /duis/response) for the final
response, whose GBCS payload it decodes: the devices' certificates are looked up in the SMKI
repository (--smki, DCC Boxed's port 8083; --smki "" not to) so that the device's MAC and
signature are checked and sensitive data decrypted. Exit codes in docs/cli.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readInput(cmd, args[0])
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			store, err := loadStore(keystore)
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			cl := &client.Client{Server: server, Keystore: store, Timeout: timeout, FreshCounter: fresh, NoValidity: noValidity, Allowance: allowance, SMKI: smkiURL}
			if !cmd.Flags().Changed("expiry-allowance") && keystore == dccboxed.KeystoreName {
				cl.Allowance = dccBoxedAllowance
			}
			stderr := cmd.ErrOrStderr()
			cl.SMKILog = func(format string, a ...any) { fmt.Fprintf(stderr, sendProgressPrefix+format+"\n", a...) }
			if !asJSON {
				cl.Progress = func(format string, a ...any) { fmt.Fprintf(stderr, sendProgressPrefix+format+"\n", a...) }
			}
			if !noWait {
				ln := &client.Listener{Verify: cl.VerifyOptions, Security: cl.Security()}
				cl.Listener = ln
				if !asJSON {
					ln.Unmatched = func(r *client.Response) {
						fmt.Fprintf(stderr, "%sreceived %s for %s (%s): not ours, ignored\n", sendProgressPrefix, r.Code, orNone(r.RequestID), r.Kind)
					}
					ln.Rejected = func(reason string) {
						fmt.Fprintf(stderr, "%srefused a delivery (HTTP 400): %s\n", sendProgressPrefix, reason)
					}
				}
				if err := ln.Start(listen); err != nil {
					return exitf(exitUsage, "%v", err)
				}
				defer ln.Close()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			res, err := cl.Send(ctx, data)
			code := sendExit(res, err)
			out := cmd.OutOrStdout()
			if asJSON {
				if res.RequestID == "" && err != nil {
					return exitf(code, "%v", err)
				}
				if jerr := writeSendJSON(out, res, err); jerr != nil {
					return jerr
				}
				if code != exitOK {
					return silentExit(code)
				}
				return nil
			}
			if res.RequestID != "" {
				printSendText(out, res)
			}
			if err != nil {
				return exitf(code, "%v", err)
			}
			if code != exitOK {
				return silentExit(code)
			}
			return nil
		},
	}
	c.Flags().StringVar(&server, "server", defaultDUISServer, "base URL of the DUIS web services")
	c.Flags().StringVar(&keystore, "keystore", dccboxed.KeystoreName, `keystore: DCC Boxed keystore JSON, a folder, or "dccboxed"`)
	c.Flags().StringVar(&listen, "listen", client.DefaultListen, "address of the local Receive Response Service (path "+client.DefaultPath+")")
	c.Flags().StringVar(&smkiURL, "smki", client.DefaultSMKI, `SMKI repository to look device certificates up in, for the GBCS checks ("" none)`)
	c.Flags().DurationVar(&timeout, "timeout", client.DefaultTimeout, "how long to wait for the asynchronous response")
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	c.Flags().BoolVar(&noWait, "no-wait", false, "stop after the synchronous answer (no listener)")
	c.Flags().BoolVar(&fresh, "fresh-counter", false, "always set the RequestID counter to the Unix milliseconds (re-signing)")
	c.Flags().DurationVar(&allowance, "expiry-allowance", 0, "accept DCC certificates this long past their validity (default 5 years with --keystore dccboxed)")
	c.Flags().BoolVar(&noValidity, "no-validity", false, "do not check certificate validity dates")
	return c
}

// sendExit maps Send's outcome onto the exit status.
func sendExit(res *client.Result, err error) int {
	switch {
	case err == nil:
	case errors.Is(err, client.ErrInvalidRequest):
		return exitSchemaInvalid
	case errors.Is(err, client.ErrNoKey):
		return exitSendNoKey
	case errors.Is(err, client.ErrBadResponse):
		return exitSendBadAnswer
	case errors.Is(err, client.ErrTransport):
		return exitSendTransport
	case errors.Is(err, client.ErrTimeout), errors.Is(err, context.Canceled):
		return exitSendTimeout
	default:
		return exitUsage
	}
	if o := res.Outcome(); o != nil && strings.HasPrefix(o.Code, "E") {
		return exitSendErrorCode
	}
	return exitOK
}

func writeSendJSON(w io.Writer, res *client.Result, err error) error {
	j := sendJSON{RequestID: res.RequestID, SRV: res.SRV, CommandVariant: res.CommandVariant, ElapsedMs: res.Elapsed.Milliseconds()}
	if res.Ack != nil {
		j.Ack = &res.Ack.Code
	}
	if res.Final != nil {
		j.Final = &res.Final.Code
		v := res.Final.SignatureValid
		j.FinalSignatureValid = &v
	}
	if o := res.Outcome(); o != nil && len(o.GBCS) > 0 && o.PreCommand == nil {
		g := o.GBCS[0]
		j.GBCS = &g
	}
	if err != nil {
		j.Error = err.Error()
	}
	return json.NewEncoder(w).Encode(j)
}

func printSendText(w io.Writer, res *client.Result) {
	fmt.Fprintf(w, "request %s SRV %s CV %d", res.RequestID, res.SRV, res.CommandVariant)
	if res.Signed {
		fmt.Fprint(w, " (signed here)")
	}
	fmt.Fprintln(w)
	for _, s := range res.Steps {
		if s.Response == nil {
			fmt.Fprintf(w, "  CV %d %s: no usable answer\n", s.CommandVariant, s.URL)
			continue
		}
		fmt.Fprintf(w, "  CV %d %s: %s%s, signature %s\n", s.CommandVariant, s.URL, s.Response.Code, codeText(s.Response.Code), signatureText(s.Response))
	}
	if res.PreCommand != nil {
		fmt.Fprintf(w, "  Pre-Command signed (%d bytes)\n", len(res.PreCommand))
	}
	if f := res.Final; f != nil {
		fmt.Fprintf(w, "  final %s%s (%s), signature %s, after %s\n", f.Code, codeText(f.Code), f.Kind, signatureText(f), res.Elapsed.Round(time.Millisecond))
	}
	o := res.Outcome()
	if o == nil {
		return
	}
	if o.Content != "" && len(o.GBCS) == 0 {
		fmt.Fprintf(w, "  payload %s\n", o.Content)
	}
	for _, g := range o.GBCS {
		if o.PreCommand != nil {
			break
		}
		fmt.Fprintf(w, "  GBCS %s\n", g.Path)
		if g.CRA != "" {
			fmt.Fprintf(w, "    CRA %s, counter %d, %s -> %s\n", g.CRA, g.Counter, g.Originator, g.Recipient)
			fmt.Fprintf(w, "    message code %s %s\n", g.MessageCode, g.UseCase)
			fmt.Fprintf(w, "    MAC %s, signature %s, decrypted %v\n", g.MAC, g.Signature, g.Decrypted)
		}
		if g.Error != "" {
			fmt.Fprintf(w, "    error: %s\n", g.Error)
		}
		for _, l := range strings.Split(strings.TrimRight(g.Tree, "\n"), "\n") {
			if l != "" {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
}

func signatureText(r *client.Response) string {
	switch {
	case r.SignatureValid:
		return "valid (" + r.Signer + ")"
	case !r.Signed:
		return "absent"
	}
	return "INVALID: " + r.SignatureError
}

func codeText(code string) string {
	if code == "I99" {
		return " (accepted)"
	}
	if code == "I0" {
		return " (success)"
	}
	if info, ok := duis.LookupResponseCode(code); ok && info.Published {
		return " (" + info.Meaning + ")"
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "no RequestID"
	}
	return s
}
