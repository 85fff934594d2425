package cli

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/dccboxed"
)

// maxGBCSInput bounds one GBCS input. GBCS messages are at most a few KiB;
// a GBT-reassembled one at most 255 × 1200 bytes.
const maxGBCSInput = 1 << 20

func newGBCSCmd() *cobra.Command {
	c := &cobra.Command{Use: "gbcs", Short: "GBCS device messages: parse, verify and decrypt; UTRN; correlate", Args: noSubcommand, RunE: showHelp}
	c.AddCommand(newGBCSParseCmd(), newGBCSUTRNCmd(), newGBCSCorrelateCmd())
	return c
}

// gbcsInput is one message to parse, named for the report.
type gbcsInput struct {
	name string
	data []byte
	err  error
}

// gbcsResult is the --json object printed per message.
type gbcsResult struct {
	File        string          `json:"file"`
	OK          bool            `json:"ok"`
	Error       string          `json:"error,omitempty"`
	CRA         string          `json:"cra,omitempty"`
	Counter     *uint64         `json:"counter,omitempty"`
	Originator  string          `json:"originator,omitempty"`
	Recipient   string          `json:"recipient,omitempty"`
	MessageCode string          `json:"messageCode,omitempty"`
	UseCase     string          `json:"useCase,omitempty"`
	MAC         string          `json:"mac,omitempty"`
	Signature   string          `json:"signature,omitempty"`
	Decrypted   bool            `json:"decrypted"`
	Payload     json.RawMessage `json:"payload,omitempty"`

	tree string // readable payload tree for the text output
}

// gbcsSummary is the closing --json object.
type gbcsSummary struct {
	Summary   bool           `json:"summary"`
	Messages  int            `json:"messages"`
	OK        int            `json:"ok"`
	Failed    int            `json:"failed"`
	MAC       map[string]int `json:"mac"`
	Signature map[string]int `json:"signature"`
	Decrypted int            `json:"decrypted"`
}

func newGBCSParseCmd() *cobra.Command {
	var keys []string
	var smkiURL string
	var asJSON bool
	c := &cobra.Command{
		Use:   "parse [--keys DIR|KEYSTORE.json|dccboxed]... [--smki URL] [--json] INPUT...",
		Short: "Decode GBCS messages; with keys, verify MACs and signatures and decrypt",
		Long: `INPUT is a hex or base64 string, a file (hex, base64 or binary), or a folder (searched
recursively for *.HEX). With --keys (an RTDS-style key folder <eui16>[-pp]-<ka|ds>.<pem|key>, a DCC
Boxed keystore JSON, or "dccboxed"; repeatable) MACs and signatures are checked and encrypted
content decrypted. With --smki (an SMKI repository, e.g. http://127.0.0.1:8083 of DCC Boxed or
"opendcc serve") the devices' certificates are looked up there as needed. A check whose key is
missing is "unknown", not invalid. Exit status 1 when a message fails to parse or a check is
invalid.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sec, err := gbcsSecurity(keys, smkiURL, cmd.ErrOrStderr())
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			var inputs []gbcsInput
			for _, a := range args {
				inputs = append(inputs, collectGBCSInputs(a)...)
			}
			return reportGBCS(cmd.OutOrStdout(), inputs, sec, asJSON)
		},
	}
	c.Flags().StringSliceVar(&keys, "keys", nil, `keys: RTDS key folder, DCC Boxed keystore JSON, or "dccboxed" (repeatable)`)
	c.Flags().StringVar(&smkiURL, "smki", "", smkiFlagUsage)
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per message, then a summary object")
	return c
}

const smkiFlagUsage = `SMKI repository URL to look device certificates up in (DCC Boxed: ` + client.DefaultSMKI + `)`

// gbcsSecurity is the GBCS security context of --keys and --smki (nil when
// neither is given). Failed SMKI lookups are reported on stderr.
func gbcsSecurity(keys []string, smkiURL string, stderr io.Writer) (*gbcs.Security, error) {
	var stores gbcs.MultiKeyStore
	if len(keys) > 0 {
		ks, err := loadKeyring(keys)
		if err != nil {
			return nil, err
		}
		stores = append(stores, ks)
	}
	if smkiURL != "" {
		stores = append(stores, client.NewSMKIKeyStore(smkiURL, func(format string, a ...any) {
			fmt.Fprintf(stderr, "opendcc: "+format+"\n", a...)
		}))
	}
	switch len(stores) {
	case 0:
		return nil, nil
	case 1:
		return gbcs.NewSecurity(stores[0], 0), nil
	}
	return gbcs.NewSecurity(stores, 0), nil
}

// reportGBCS parses each input and prints the results; shared by
// `gbcs parse` and `duis parse`.
func reportGBCS(out io.Writer, inputs []gbcsInput, sec *gbcs.Security, asJSON bool) error {
	sum := gbcsSummary{Summary: true, MAC: map[string]int{}, Signature: map[string]int{}}
	enc := json.NewEncoder(out)
	bad := false
	for _, in := range inputs {
		r := parseOne(in, sec)
		sum.Messages++
		if r.OK {
			sum.OK++
		} else {
			sum.Failed++
			bad = true
		}
		if r.MAC != "" {
			sum.MAC[r.MAC]++
		}
		if r.Signature != "" {
			sum.Signature[r.Signature]++
		}
		if r.Decrypted {
			sum.Decrypted++
		}
		if asJSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		printGBCSText(out, r)
	}
	if asJSON {
		if err := enc.Encode(sum); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "%d messages: %d ok, %d failed; MAC %s; signature %s; %d decrypted\n",
			sum.Messages, sum.OK, sum.Failed, countText(sum.MAC), countText(sum.Signature), sum.Decrypted)
	}
	if bad {
		return silentExit(1)
	}
	return nil
}

func countText(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return strings.Join(parts, ", ")
}

func printGBCSText(out io.Writer, r gbcsResult) {
	if !r.OK && r.CRA == "" {
		fmt.Fprintf(out, "%s: error: %s\n\n", r.File, r.Error)
		return
	}
	fmt.Fprintf(out, "%s\n", r.File)
	fmt.Fprintf(out, "  CRA %s, counter %d, %s -> %s\n", r.CRA, *r.Counter, r.Originator, r.Recipient)
	fmt.Fprintf(out, "  message code %s %s\n", r.MessageCode, r.UseCase)
	fmt.Fprintf(out, "  MAC %s, signature %s, decrypted %v\n", r.MAC, r.Signature, r.Decrypted)
	if r.Error != "" {
		fmt.Fprintf(out, "  error: %s\n", r.Error)
	}
	if r.tree != "" {
		for _, l := range strings.Split(strings.TrimRight(r.tree, "\n"), "\n") {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	fmt.Fprintln(out)
}

// parseOne decodes one message and runs the checks the keys allow (the
// decoding `opendcc send` and `duis parse` use: client.DecodeGBCS).
func parseOne(in gbcsInput, sec *gbcs.Security) gbcsResult {
	r := gbcsResult{File: in.name}
	if in.err != nil {
		r.Error = in.err.Error()
		return r
	}
	g := client.DecodeGBCS(in.data, sec)
	r.OK, r.Error, r.CRA = g.OK, g.Error, g.CRA
	r.Originator, r.Recipient, r.MessageCode, r.UseCase = g.Originator, g.Recipient, g.MessageCode, g.UseCase
	r.MAC, r.Signature, r.Decrypted, r.Payload, r.tree = g.MAC, g.Signature, g.Decrypted, g.Payload, g.Tree
	if g.CRA != "" {
		c := g.Counter
		r.Counter = &c
	}
	return r
}

// loadKeyring merges the key sources named by --keys.
func loadKeyring(names []string) (*gbcs.Keyring, error) {
	k := gbcs.NewKeyring()
	for _, n := range names {
		if n == dccboxed.KeystoreName {
			if err := k.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
				return nil, fmt.Errorf("built-in DCC Boxed keystore: %w", err)
			}
			continue
		}
		st, err := os.Stat(n)
		if err != nil {
			return nil, fmt.Errorf("--keys %s: %w", n, err)
		}
		if st.IsDir() {
			if _, err := k.LoadRTDSDir(n); err != nil {
				return nil, fmt.Errorf("--keys %s: %w", n, err)
			}
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		if err := k.LoadKeystoreJSON(b); err != nil {
			return nil, fmt.Errorf("--keys %s: %w", n, err)
		}
	}
	return k, nil
}

// collectGBCSInputs expands one argument: a folder (recursively, *.HEX), a
// file, or else a literal hex or base64 string.
func collectGBCSInputs(arg string) []gbcsInput {
	st, err := os.Stat(arg)
	if err != nil {
		if b, derr := decodeText(arg); derr == nil {
			return []gbcsInput{{name: "<arg>", data: b}}
		}
		return []gbcsInput{{name: arg, err: fmt.Errorf("neither a file nor a hex or base64 message")}}
	}
	if !st.IsDir() {
		return []gbcsInput{readGBCSFile(arg)}
	}
	var out []gbcsInput
	err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			out = append(out, gbcsInput{name: p, err: err})
			return nil
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".hex") {
			out = append(out, readGBCSFile(p))
		}
		return nil
	})
	if err != nil {
		out = append(out, gbcsInput{name: arg, err: err})
	}
	return out
}

func readGBCSFile(p string) gbcsInput {
	st, err := os.Stat(p)
	if err != nil {
		return gbcsInput{name: p, err: err}
	}
	if st.Size() > 2*maxGBCSInput+16 {
		return gbcsInput{name: p, err: fmt.Errorf("file too large (%d bytes)", st.Size())}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return gbcsInput{name: p, err: err}
	}
	if d, err := decodeText(string(b)); err == nil {
		return gbcsInput{name: p, data: d}
	}
	return gbcsInput{name: p, data: b} // binary
}

// decodeText reads a message written as hex (spaces allowed) or base64.
func decodeText(s string) ([]byte, error) {
	t := strings.Join(strings.Fields(s), "")
	if t == "" {
		return nil, errors.New("empty")
	}
	if b, err := hex.DecodeString(t); err == nil {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(t); err == nil && len(b) > 0 {
		return b, nil
	}
	return nil, errors.New("not hex or base64")
}
