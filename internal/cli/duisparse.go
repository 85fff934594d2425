package cli

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/internal/xmlsafe"
)

// newDUISParseCmd is the "Parse" of SEC H11: decode the GBCS payload carried
// in a DUIS response, alert or signed pre-command.
func newDUISParseCmd() *cobra.Command {
	var keys []string
	var smkiURL string
	var asJSON bool
	c := &cobra.Command{
		Use:   "parse [--keys DIR|KEYSTORE.json|dccboxed]... [--smki URL] [--json] FILE...",
		Short: "Decode the GBCS payloads inside DUIS responses, alerts and signed pre-commands",
		Long: `Finds every GBCSPayload element (ResponseMessage, DeviceAlertMessage, FutureDatedDeviceAlertMessage,
PreCommand, SignedPreCommand, ...) and decodes it as "opendcc gbcs parse" does, with the same
--keys, --smki and --json. Exit status 1 when a payload fails to parse or a check is invalid, 2 when the
file is not a usable DUIS document.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sec, err := gbcsSecurity(keys, smkiURL, cmd.ErrOrStderr())
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			var inputs []gbcsInput
			for _, f := range args {
				data, err := readInput(cmd, f)
				if err != nil {
					return exitf(exitUsage, "%v", err)
				}
				found, err := gbcsPayloads(data)
				if err != nil {
					return exitf(exitSchemaInvalid, "%s: %v", f, err)
				}
				if len(found) == 0 {
					return exitf(exitSchemaInvalid, "%s: no GBCSPayload in this DUIS document", f)
				}
				for _, p := range found {
					in := gbcsInput{name: f + "#" + p.path}
					in.data, in.err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(p.text), ""))
					if in.err != nil {
						in.err = fmt.Errorf("GBCSPayload is not base64: %v", in.err)
					}
					inputs = append(inputs, in)
				}
			}
			return reportGBCS(cmd.OutOrStdout(), inputs, sec, asJSON)
		},
	}
	c.Flags().StringSliceVar(&keys, "keys", nil, `keys: RTDS key folder, DCC Boxed keystore JSON, or "dccboxed" (repeatable)`)
	c.Flags().StringVar(&smkiURL, "smki", "", smkiFlagUsage)
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per payload, then a summary object")
	return c
}

type foundPayload struct{ path, text string }

// gbcsPayloads returns the text of every GBCSPayload element with its path.
func gbcsPayloads(data []byte) ([]foundPayload, error) {
	if err := xmlsafe.Check(data, 0); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("not well-formed XML: %w", err)
	}
	root := doc.Root()
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	var out []foundPayload
	var walk func(e *etree.Element, path string)
	walk = func(e *etree.Element, path string) {
		path += "/" + e.Tag
		if e.Tag == "GBCSPayload" {
			out = append(out, foundPayload{path: path, text: e.Text()})
			return
		}
		for _, c := range e.ChildElements() {
			walk(c, path)
		}
	}
	walk(root, "")
	return out, nil
}
