package cli

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/internal/xmlsafe"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/smki/ca"
	"github.com/opendcc/opendcc/xmldsig"
)

// Exit statuses of `opendcc duis verify` (docs/cli.md). 3 matches the DCC
// Boxed tool's "missing key or certificate".
const (
	exitOK             = 0
	exitUsage          = 1 // I/O or usage problem
	exitSchemaInvalid  = 2 // not well-formed, refused by the input gate, or schema-invalid
	exitUnknownCert    = 3 // signer certificate not in the trust store
	exitUnsigned       = 4 // no signature
	exitBadSignature   = 5 // digest or signature mismatch, malformed or non-profile signature
	exitSignerRejected = 6 // certificate not acceptable: wrong EUI, key usage, validity
)

// dccEUI is the DCC Access Control Broker / DSP identity that signs
// responses and alerts, and the target of non-device requests.
var dccEUI = eui.MustParse("90-B3-D5-1F-30-00-00-02")

func newDUISCmd() *cobra.Command {
	c := &cobra.Command{Use: "duis", Short: "DUIS 5.4 service requests and responses: validate, sign, verify", Args: noSubcommand, RunE: showHelp}
	c.AddCommand(newDUISValidateCmd(), newDUISSignCmd(), newDUISVerifyCmd(), newDUISParseCmd())
	return c
}

func newDUISValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate DUIS documents against the DUIS 5.4 schema",
		Long:  "Prints `ok FILE` or `invalid FILE: <where>: <why>` per file; exits 0 only if all are valid.",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			bad := false
			for _, f := range args {
				data, err := readInput(cmd, f)
				if err != nil {
					fmt.Fprintf(out, "invalid %s: %v\n", f, err)
					bad = true
					continue
				}
				if err := duis.Validate(data); err != nil {
					fmt.Fprintf(out, "invalid %s: %s\n", f, validationText(err))
					bad = true
					continue
				}
				fmt.Fprintf(out, "ok %s\n", f)
			}
			if bad {
				return silentExit(exitSchemaInvalid)
			}
			return nil
		},
	}
}

// validationText renders "<where>: <why>".
func validationText(err error) string {
	var ve *duis.ValidationError
	if errors.As(err, &ve) {
		where := ve.Path
		if ve.Line > 0 {
			where = fmt.Sprintf("%s (line %d)", ve.Path, ve.Line)
		}
		return where + ": " + ve.Reason
	}
	return "document: " + err.Error()
}

func newDUISSignCmd() *cobra.Command {
	var keyPath, certPath, keystore, signer string
	var preserve bool
	c := &cobra.Command{
		Use:   "sign (--key K --cert C | --keystore KS) [--preserve-counter] [FILE|-]",
		Short: "Sign a DUIS document with the DUIS XML signature profile",
		Long: `Writes the signed compact XML to stdout. Like the DCC Boxed signing tool, the RequestID
counter is replaced with the current Unix time in milliseconds unless --preserve-counter.
With --keystore (a DCC Boxed keystore JSON, a folder of PEM certificates and keys, or "dccboxed"
for the built-in ZAZ1 test identities) the XML-signing key is chosen by the originator EUI: the
RequestID originator of a request, the DCC (90-B3-D5-1F-30-00-00-02) for a response, or --signer.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := "-"
			if len(args) == 1 {
				in = args[0]
			}
			if keystore == "" && (keyPath == "" || certPath == "") {
				return exitf(exitUsage, "need --keystore, or --key and --cert")
			}
			data, err := readInput(cmd, in)
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			if err := xmlsafe.Check(data, 0); err != nil {
				return exitf(exitSchemaInvalid, "%s: %v", in, err)
			}
			if !preserve {
				data, err = replaceCounter(data, uint64(time.Now().UnixMilli()))
				if err != nil {
					return exitf(exitSchemaInvalid, "%s: %v", in, err)
				}
			}
			var key *ecdsa.PrivateKey
			var cert *smki.Certificate
			switch {
			case keystore != "" && (keyPath != "" || certPath != ""):
				return exitf(exitUsage, "give either --keystore or --key and --cert, not both")
			case keystore != "":
				store, err := loadStore(keystore)
				if err != nil {
					return exitf(exitUsage, "%v", err)
				}
				who, err := signerEUI(data, signer)
				if err != nil {
					return exitf(exitSchemaInvalid, "%s: %v", in, err)
				}
				key, cert, err = store.XMLSigningKey(who)
				if err != nil {
					return exitf(exitUnknownCert, "no XML-signing key for %s in %s: %v", who, keystore, err)
				}
			case keyPath != "" && certPath != "":
				kb, err := os.ReadFile(keyPath)
				if err != nil {
					return exitf(exitUsage, "%v", err)
				}
				if key, err = smki.ParsePrivateKey(kb); err != nil {
					return exitf(exitUsage, "%s: %v", keyPath, err)
				}
				if cert, err = smki.LoadCertificateFile(certPath); err != nil {
					return exitf(exitUsage, "%s: %v", certPath, err)
				}
			default:
				return exitf(exitUsage, "need --keystore, or --key and --cert")
			}
			signed, err := xmldsig.Sign(data, key, cert)
			if err != nil {
				return exitf(exitSchemaInvalid, "%s: %v", in, err)
			}
			_, err = cmd.OutOrStdout().Write(signed)
			return err
		},
	}
	c.Flags().StringVar(&keyPath, "key", "", "private key (PEM, or DER PKCS#8)")
	c.Flags().StringVar(&certPath, "cert", "", "the key's SMKI certificate (PEM or DER)")
	c.Flags().StringVar(&keystore, "keystore", "", `keystore: DCC Boxed keystore JSON, a folder, or "dccboxed"`)
	c.Flags().StringVar(&signer, "signer", "", "EUI-64 whose key signs (default: the originator)")
	c.Flags().BoolVar(&preserve, "preserve-counter", false, "keep the RequestID counter as it is")
	return c
}

func newDUISVerifyCmd() *cobra.Command {
	var trust, signer, smkiDir string
	var compat, noValidity bool
	var allowance time.Duration
	c := &cobra.Command{
		Use:   "verify --trust DIR|KEYSTORE.json|dccboxed [--compat] [FILE|-]",
		Short: "Verify the schema and XML signature of a DUIS document",
		Long: `Exits 0 and prints the signer (EUI, role, serial) when the document is schema-valid and signed
by a trusted certificate of its originator (the RequestID originator of a request, the DCC for a
response). Exit codes: 2 schema-invalid or refused input, 3 unknown certificate, 4 unsigned,
5 bad signature, 6 signer not acceptable (EUI, key usage, validity), 1 usage or I/O error.
Certificate validity is checked against the current time with --expiry-allowance of slack; with
--trust dccboxed the allowance defaults to 5 years, because the ZAZ1 role certificates DCC Boxed
still uses expired in 2025-26.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := "-"
			if len(args) == 1 {
				in = args[0]
			}
			if trust == "" {
				return exitf(exitUsage, "--trust is required")
			}
			data, err := readInput(cmd, in)
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			store, err := loadStore(trust)
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			if err := duis.Validate(data); err != nil {
				// A duplicated or misplaced signature also breaks the schema;
				// report the more specific diagnosis.
				if _, serr := xmldsig.Verify(data, xmldsig.VerifyOptions{Certificates: store}); errors.Is(serr, xmldsig.ErrMultipleSignatures) || errors.Is(serr, xmldsig.ErrSignatureNotLast) {
					return exitf(exitBadSignature, "%s: %v", in, serr)
				}
				return exitf(exitSchemaInvalid, "%s: schema-invalid: %s", in, validationText(err))
			}
			who, err := signerEUI(data, signer)
			if err != nil {
				return exitf(exitSchemaInvalid, "%s: %v", in, err)
			}
			opts := xmldsig.VerifyOptions{Certificates: store, Compat: compat, ExpectedSigner: &who}
			if !noValidity {
				opts.Now = time.Now()
				opts.Allowance = allowance
				if !cmd.Flags().Changed("expiry-allowance") && trust == dccboxed.KeystoreName {
					opts.Allowance = 5 * 365 * 24 * time.Hour
				}
			}
			if smkiDir != "" {
				// Revocation: the OpenDCC CA's published lists; its issued
				// certificates join the trust store.
				authority, err := ca.Open(smkiDir)
				if err != nil {
					return exitf(exitUsage, "--smki-dir: %v", err)
				}
				crls, err := authority.CRLSet(time.Time{})
				if err != nil {
					return exitf(exitUsage, "--smki-dir: %v", err)
				}
				opts.Revocation = crls
				entries, err := authority.Index()
				if err != nil {
					return exitf(exitUsage, "--smki-dir: %v", err)
				}
				for _, e := range entries {
					serial, ok := new(big.Int).SetString(e.Serial, 16)
					if !ok {
						continue
					}
					if c, err := authority.Certificate(serial); err == nil {
						if err := store.Add(c, nil); err != nil {
							return exitf(exitUsage, "--smki-dir: %v", err)
						}
					}
				}
			}
			res, err := xmldsig.Verify(data, opts)
			if err != nil {
				return exitf(verifyExit(err), "%s: %v", in, err)
			}
			c := res.Certificate
			note := ""
			if res.Compat {
				note = " (compat: digest over the document without inter-element whitespace)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "valid %s: signer %s role %d serial %s%s\n", in, c.EUI, c.Role, c.SerialNumber.String(), note)
			return nil
		},
	}
	c.Flags().StringVar(&trust, "trust", "", `trust store: DCC Boxed keystore JSON, a folder of certificates, or "dccboxed"`)
	c.Flags().StringVar(&signer, "signer", "", "EUI-64 the signature must come from (default: the originator)")
	c.Flags().BoolVar(&compat, "compat", false, "also accept what the DCC Boxed Java tool accepts (whitespace-insensitive digest)")
	c.Flags().DurationVar(&allowance, "expiry-allowance", 0, "accept certificates this long past (or before) their validity period")
	c.Flags().BoolVar(&noValidity, "no-validity", false, "do not check certificate validity dates")
	c.Flags().StringVar(&smkiDir, "smki-dir", "", "an OpenDCC CA folder: trust its issued certificates and refuse those its lists revoke")
	return c
}

func verifyExit(err error) int {
	switch {
	case errors.Is(err, xmldsig.ErrUnsigned):
		return exitUnsigned
	case errors.Is(err, xmldsig.ErrUnknownCertificate):
		return exitUnknownCert
	case errors.Is(err, xmldsig.ErrWrongSigner), errors.Is(err, xmldsig.ErrKeyUsage),
		errors.Is(err, xmldsig.ErrCertificateExpired), errors.Is(err, xmldsig.ErrCertificateNotYetValid),
		errors.Is(err, xmldsig.ErrCertificateRevoked):
		return exitSignerRejected
	case errors.Is(err, xmlsafe.ErrDoctype), errors.Is(err, xmlsafe.ErrNotUTF8), errors.Is(err, xmlsafe.ErrTooLarge), errors.Is(err, xmlsafe.ErrEmpty):
		return exitSchemaInvalid
	}
	return exitBadSignature
}

func readInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(cmd.InOrStdin(), xmlsafe.DefaultMaxSize+1))
	}
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if st.Size() > xmlsafe.DefaultMaxSize {
		return nil, fmt.Errorf("%s: %w: %d bytes", name, xmlsafe.ErrTooLarge, st.Size())
	}
	return os.ReadFile(name)
}

// loadStore opens a trust store / keystore named on the command line.
func loadStore(name string) (*smki.Store, error) {
	s := smki.NewStore()
	if name == dccboxed.KeystoreName {
		if err := s.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
			return nil, fmt.Errorf("built-in DCC Boxed keystore: %w", err)
		}
		return s, nil
	}
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		if err := s.LoadDir(name); err != nil {
			return nil, err
		}
		return s, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if err := s.LoadKeystoreJSON(b); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// signerEUI decides whose signature a document must carry: --signer if
// given, the RequestID originator for a request, the DCC for anything else.
func signerEUI(data []byte, override string) (eui.EUI64, error) {
	if override != "" {
		return eui.Parse(override)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return eui.EUI64{}, fmt.Errorf("not well-formed XML: %w", err)
	}
	root := doc.Root()
	if root == nil {
		return eui.EUI64{}, errors.New("no root element")
	}
	if root.Tag != "Request" {
		return dccEUI, nil
	}
	rid := findRequestID(root)
	if rid == nil {
		return eui.EUI64{}, errors.New("request without Header/RequestID")
	}
	id, err := duis.ParseRequestID(strings.TrimSpace(rid.Text()))
	if err != nil {
		return eui.EUI64{}, err
	}
	return id.Originator, nil
}

func findRequestID(root *etree.Element) *etree.Element {
	for _, h := range root.ChildElements() {
		if h.Tag != "Header" {
			continue
		}
		for _, e := range h.ChildElements() {
			if e.Tag == "RequestID" {
				return e
			}
		}
	}
	return nil
}

// replaceCounter sets the RequestID counter, as the DCC Boxed signing tool
// does, keeping everything else byte for byte (only the counter text changes).
func replaceCounter(data []byte, counter uint64) ([]byte, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveCData = true
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, fmt.Errorf("not well-formed XML: %w", err)
	}
	root := doc.Root()
	if root == nil {
		return nil, errors.New("no root element")
	}
	rid := findRequestID(root)
	if rid == nil {
		return data, nil // nothing to replace (e.g. an alert)
	}
	id, err := duis.ParseRequestID(strings.TrimSpace(rid.Text()))
	if err != nil {
		return nil, err
	}
	rid.SetText(id.WithCounter(counter).String())
	return doc.WriteToBytes()
}
