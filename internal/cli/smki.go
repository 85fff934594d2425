package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/smki/ca"
)

// Exit statuses of the smki commands (docs/smki.md), in line with those of
// duis verify: 1 usage, I/O, CA directory or secret problems; 2 malformed
// or unsupported input; 3 issuer unknown; 5 bad signature; 6 not acceptable
// (expired, purpose, profile, stale revocation lists, request refused).
const exitRevoked = 7 // the certificate (or a CA above it) is revoked

// maxSMKIInput bounds a certificate, CSR, key or CRL file read by the
// smki commands.
const maxSMKIInput = 1 << 20

func newSMKICmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "smki",
		Short: "SMKI: a certificate authority for organisation and device certificates; show and verify certificates",
		Long: `A Root CA, an Organisation CA and a Device CA kept in a directory (--dir), issuing certificates of the
SMKI profiles, with revocation lists. The CA private keys are encrypted at rest with a key derived from
$OPENDCC_SMKI_PASSPHRASE (scrypt), or with $OPENDCC_SMKI_KEK (64 hex digits). See docs/smki.md.`,
		Args: noSubcommand,
		RunE: showHelp,
	}
	c.AddCommand(newSMKIInitCmd(), newSMKICACertsCmd(), newSMKIIssueCmd(), newSMKIRevokeCmd(), newSMKICRLCmd(),
		newSMKIShowCmd(), newSMKIVerifyCmd())
	usageErrors(c)
	return c
}

// usageErrors makes flag and argument errors of c and its subcommands exit
// with exitUsage.
func usageErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitf(exitUsage, "%v", err) })
	for _, sub := range c.Commands() {
		usageErrors(sub)
	}
}

// nArgs wraps a cobra argument check so that it fails with exitUsage.
func nArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return exitf(exitUsage, "%v", err)
		}
		return nil
	}
}

func smkiSecret() (ca.Secret, error) {
	s, err := ca.SecretFromEnv(os.Getenv)
	if err != nil {
		return s, exitf(exitUsage, "%v", err)
	}
	if s.IsZero() {
		return s, exitf(exitUsage, "%v", ca.ErrNoSecret)
	}
	return s, nil
}

func openCA(dir string) (*ca.CA, error) {
	if dir == "" {
		return nil, exitf(exitUsage, "--dir is required")
	}
	c, err := ca.Open(dir)
	if err != nil {
		return nil, exitf(exitUsage, "%v", err)
	}
	return c, nil
}

func readSMKIFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSMKIInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSMKIInput {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxSMKIInput)
	}
	return b, nil
}

func newSMKIInitCmd() *cobra.Command {
	var dir string
	var o ca.InitOptions
	c := &cobra.Command{
		Use:   "init --dir D",
		Short: "Create a CA directory: Root CA, Organisation CA and Device CA with encrypted keys",
		Args:  nArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return exitf(exitUsage, "--dir is required")
			}
			sec, err := smkiSecret()
			if err != nil {
				return err
			}
			c, err := ca.Init(dir, o, sec)
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created CA in %s\n", dir)
			for i, x := range c.Certificates() {
				fmt.Fprintf(out, "  %-9s %q serial %s valid %s .. %s\n", []string{ca.NameRoot, ca.NameOrg, ca.NameDevice}[i],
					x.Subject, x.SerialHex(), x.NotBefore.Format(time.RFC3339), x.NotAfter.Format(time.RFC3339))
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "CA directory to create (must not exist, or be empty)")
	c.Flags().StringVar(&o.RootName, "root-name", "", `Root CA common name (default "OR1")`)
	c.Flags().StringVar(&o.OrgName, "org-ca-name", "", `Organisation CA common name (default "OZ1"; subject OU=07, CN=name)`)
	c.Flags().StringVar(&o.DeviceName, "device-ca-name", "", `Device CA common name (default "OE1")`)
	c.Flags().IntVar(&o.OrganisationYears, "org-years", 0, "default validity of organisation certificates in years (default 10)")
	c.Flags().IntVar(&o.CRLHours, "crl-hours", 0, "hours from thisUpdate to nextUpdate of the revocation lists (default 168)")
	return c
}

func newSMKICACertsCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "ca-certs --dir D",
		Short: "Print the Root CA, Organisation CA and Device CA certificates (PEM)",
		Args:  nArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openCA(dir)
			if err != nil {
				return err
			}
			for _, x := range c.Certificates() {
				if err := pem.Encode(cmd.OutOrStdout(), &pem.Block{Type: "CERTIFICATE", Bytes: x.Raw}); err != nil {
					return exitf(exitUsage, "%v", err)
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "CA directory")
	return c
}

func newSMKIIssueCmd() *cobra.Command {
	c := &cobra.Command{Use: "issue", Short: "Issue an organisation or a device certificate", Args: noSubcommand, RunE: showHelp}
	c.AddCommand(newSMKIIssueKindCmd(smki.KindOrganisation), newSMKIIssueKindCmd(smki.KindDevice))
	return c
}

func newSMKIIssueKindCmd(kind smki.Kind) *cobra.Command {
	var dir, euiStr, roleStr, cn, usage, csrPath, pubPath, newKey, out string
	var years int
	name, extra := "org", " --role N [--cn NAME] [--years N]"
	if kind == smki.KindDevice {
		name, extra = "device", ""
	}
	c := &cobra.Command{
		Use:   name + " --dir D --eui EUI" + extra + " --usage ds|ka (--csr FILE | --pubkey FILE | --new-key KEYOUT) --out CERT",
		Short: "Issue a" + map[bool]string{true: "n organisation", false: " device"}[kind == smki.KindOrganisation] + " certificate",
		Long: `The subject key comes from a PKCS#10 CSR (PEM or DER; its signature must verify, and an EUI or role in
its subject must agree with the flags), from a public key (PEM "PUBLIC KEY" or DER SubjectPublicKeyInfo),
or from a new P-256 key written to KEYOUT (PKCS#8 PEM, mode 0600; never overwritten). The certificate is
written to CERT as PEM (replacing it; "-" for stdout) and kept in the CA directory. --role is the remote-party role:
decimal (2, 135), 0x-hex (0x87) or a name (supplier, xmlSign, dspXmlSign, ...).`,
		Args: nArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openCA(dir)
			if err != nil {
				return err
			}
			req := ca.Request{Kind: kind, CommonName: cn}
			if req.EUI, err = eui.Parse(euiStr); err != nil {
				return exitf(exitUsage, "--eui: %v", err)
			}
			switch usage {
			case "ds":
				req.Usage = smki.KeyUsageDigitalSignature
			case "ka":
				req.Usage = smki.KeyUsageKeyAgreement
			default:
				return exitf(exitUsage, "--usage must be ds or ka")
			}
			if kind == smki.KindOrganisation {
				if req.Role, err = parseRoleFlag(roleStr); err != nil {
					return exitf(exitUsage, "--role: %v", err)
				}
				req.Years = years
			}
			if out == "" {
				return exitf(exitUsage, "--out is required")
			}
			n := 0
			for _, s := range []string{csrPath, pubPath, newKey} {
				if s != "" {
					n++
				}
			}
			if n != 1 {
				return exitf(exitUsage, "give exactly one of --csr, --pubkey, --new-key")
			}
			sec, err := smkiSecret()
			if err != nil {
				return err
			}
			var keyFile *os.File
			var key *ecdsa.PrivateKey
			switch {
			case csrPath != "":
				if req.CSR, err = readSMKIFile(csrPath); err != nil {
					return exitf(exitUsage, "%v", err)
				}
			case pubPath != "":
				b, err := readSMKIFile(pubPath)
				if err != nil {
					return exitf(exitUsage, "%v", err)
				}
				if req.PublicKey, err = smki.ParsePublicKey(b); err != nil {
					return exitf(exitSchemaInvalid, "%s: %v", pubPath, err)
				}
			default:
				keyFile, err = os.OpenFile(newKey, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return exitf(exitUsage, "--new-key: %v", err)
				}
				defer func() {
					if keyFile != nil { // not completed: remove the empty file
						keyFile.Close()
						os.Remove(newKey)
					}
				}()
				if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
					return exitf(exitUsage, "%v", err)
				}
				req.PublicKey = &key.PublicKey
			}
			cert, err := c.Issue(req, sec)
			if err != nil {
				return exitf(issueExit(err), "%v", err)
			}
			if key != nil {
				der, err := x509.MarshalPKCS8PrivateKey(key)
				if err == nil {
					err = pem.Encode(keyFile, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
				}
				if err == nil {
					err = keyFile.Close()
				}
				if err != nil {
					return exitf(exitUsage, "%s: %v (the certificate %s was issued)", newKey, err, cert.SerialHex())
				}
				keyFile = nil
			}
			certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
			summary := fmt.Sprintf("issued %s certificate serial %s for %s", cert.Kind, cert.SerialHex(), cert.EUI)
			if kind == smki.KindOrganisation {
				summary += fmt.Sprintf(" role %d (%s)", int(cert.Role), cert.Role)
			}
			summary += " usage " + usage
			if out == "-" {
				cmd.OutOrStdout().Write(certPEM)
				fmt.Fprintln(cmd.ErrOrStderr(), summary)
				return nil
			}
			if err := os.WriteFile(out, certPEM, 0o644); err != nil {
				return exitf(exitUsage, "%v (the certificate is kept as %s in the CA directory)", err, cert.SerialHex())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s\n", summary, out)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&dir, "dir", "", "CA directory")
	f.StringVar(&euiStr, "eui", "", "subject EUI-64 (e.g. 90-B3-D5-1F-30-01-00-00)")
	if kind == smki.KindOrganisation {
		f.StringVar(&roleStr, "role", "", "remote-party role: decimal, 0x-hex or name")
		f.StringVar(&cn, "cn", "", "optional subject common name (e.g. GITTESTSUPPLIER)")
		f.IntVar(&years, "years", 0, "validity in years (default: the CA's organisationYears)")
	}
	f.StringVar(&usage, "usage", "", "key usage: ds (digitalSignature) or ka (keyAgreement)")
	f.StringVar(&csrPath, "csr", "", "PKCS#10 certificate signing request (PEM or DER)")
	f.StringVar(&pubPath, "pubkey", "", "subject public key (PEM PUBLIC KEY or DER SubjectPublicKeyInfo)")
	f.StringVar(&newKey, "new-key", "", "generate a P-256 key and write it here (PKCS#8 PEM, 0600)")
	f.StringVar(&out, "out", "", `certificate output file (PEM), "-" for stdout`)
	return c
}

// issueExit maps an issuance error to an exit status.
func issueExit(err error) int {
	switch {
	case errors.Is(err, ca.ErrNoSecret), errors.Is(err, ca.ErrBadSecret):
		return exitUsage
	case errors.Is(err, smki.ErrCSRSignature):
		return exitBadSignature
	case errors.Is(err, smki.ErrMalformedCSR), errors.Is(err, smki.ErrUnsupportedKey), errors.Is(err, smki.ErrBadPublicKey):
		return exitSchemaInvalid
	case errors.Is(err, ca.ErrRequest), errors.Is(err, ca.ErrDuplicateSerial):
		return exitSignerRejected
	}
	return exitUsage
}

// parseRoleFlag reads a role: decimal, 0x-hex, or a role name.
func parseRoleFlag(s string) (smki.Role, error) {
	if s == "" {
		return 0, errors.New("required")
	}
	var v uint64
	var err error
	if strings.HasPrefix(strings.ToLower(s), "0x") {
		v, err = strconv.ParseUint(s[2:], 16, 8)
	} else if s[0] >= '0' && s[0] <= '9' {
		v, err = strconv.ParseUint(s, 10, 8)
	} else {
		for r := smki.Role(1); r <= 0xFF; r++ {
			if strings.EqualFold(r.String(), s) {
				return r, nil
			}
		}
		return 0, fmt.Errorf("unknown role %q", s)
	}
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%q: want 1..255", s)
	}
	return smki.Role(v), nil
}

// parseSerialFlag reads a serial given as hex (0x prefix, hex letters or
// colons, as openssl prints it) or decimal. An all-digit string is tried
// both ways against the index; it must match exactly one certificate.
func parseSerialFlag(c *ca.CA, s string) (*big.Int, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	hexOnly := strings.HasPrefix(strings.ToLower(t), "0x")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	if t == "" {
		return nil, errors.New("empty serial")
	}
	if strings.ContainsAny(t, "abcdefABCDEF") || strings.Contains(s, ":") {
		hexOnly = true
	}
	hv, hok := new(big.Int).SetString(t, 16)
	if hexOnly {
		if !hok {
			return nil, fmt.Errorf("serial %q: not hex", s)
		}
		return hv, nil
	}
	dv, dok := new(big.Int).SetString(t, 10)
	if !dok {
		return nil, fmt.Errorf("serial %q: not a decimal or hex number", s)
	}
	_, errD := c.Lookup(dv)
	_, errH := c.Lookup(hv)
	switch {
	case errD == nil && errH == nil && dv.Cmp(hv) != 0:
		return nil, fmt.Errorf("serial %q is ambiguous: decimal and hex both name issued certificates; prefix 0x for hex", s)
	case errD == nil:
		return dv, nil
	case errH == nil:
		return hv, nil
	}
	return dv, nil // unknown either way: Revoke reports it
}

func newSMKIRevokeCmd() *cobra.Command {
	var dir, serial, reason string
	c := &cobra.Command{
		Use:   "revoke --dir D --serial S [--reason R]",
		Short: "Revoke a certificate issued here and publish the list that carries it",
		Long: `S is hex (0x prefix, hex letters or openssl's colons) or decimal; an all-digit serial is looked up both
ways and must name exactly one certificate. R is an RFC 5280 reason name (keyCompromise, cACompromise,
affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn) or number.
Organisation certificates go on the Organisation CRL, device certificates on the Device CRL, the
Organisation and Device CA certificates on the ARL.`,
		Args: nArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openCA(dir)
			if err != nil {
				return err
			}
			if serial == "" {
				return exitf(exitUsage, "--serial is required")
			}
			s, err := parseSerialFlag(c, serial)
			if err != nil {
				return exitf(exitUsage, "--serial: %v", err)
			}
			r := smki.ReasonUnspecified
			if reason != "" {
				if r, err = smki.ParseReason(reason); err != nil {
					return exitf(exitUsage, "--reason: %v", err)
				}
			}
			sec, err := smkiSecret()
			if err != nil {
				return err
			}
			e, err := c.Revoke(s, r, time.Now(), sec)
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			list := "crl/org.crl"
			switch e.Issuer {
			case ca.NameDevice:
				list = "crl/device.crl"
			case ca.NameRoot:
				list = "crl/arl.crl"
			}
			who := e.Subject
			if e.EUI != "" {
				who = e.EUI
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (%s %s) reason %s at %s; published %s\n", e.Serial, e.Kind, who,
				smki.ReasonString(e.Revoked.Reason), e.Revoked.At.Format(time.RFC3339), list)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "CA directory")
	c.Flags().StringVar(&serial, "serial", "", "serial number (hex or decimal)")
	c.Flags().StringVar(&reason, "reason", "", "revocation reason (RFC 5280 name or number)")
	return c
}

func newSMKICRLCmd() *cobra.Command {
	var dir string
	var current bool
	c := &cobra.Command{
		Use:   "crl --dir D [--current]",
		Short: "Publish fresh revocation lists (Organisation CRL, Device CRL, ARL) and print them (PEM)",
		Long: `Re-signs the three lists with thisUpdate now and the next cRLNumber, writes them to D/crl/ (DER) and
prints them as PEM, with a summary per list on stderr. --current prints the lists as published, without
re-signing (no secret needed).`,
		Args: nArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openCA(dir)
			if err != nil {
				return err
			}
			var crls []*smki.CRL
			if current {
				crls, err = c.CRLs()
			} else {
				sec, serr := smkiSecret()
				if serr != nil {
					return serr
				}
				crls, err = c.PublishCRLs(time.Now(), sec)
			}
			if err != nil {
				return exitf(exitUsage, "%v", err)
			}
			for i, crl := range crls {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: issuer %q number %s thisUpdate %s nextUpdate %s, %d revoked\n", ca.Lists[i].File,
					crl.Issuer, crl.Number, crl.ThisUpdate.Format(time.RFC3339), crl.NextUpdate.Format(time.RFC3339), len(crl.Revoked))
				if err := pem.Encode(cmd.OutOrStdout(), &pem.Block{Type: "X509 CRL", Bytes: crl.Raw}); err != nil {
					return exitf(exitUsage, "%v", err)
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "CA directory")
	c.Flags().BoolVar(&current, "current", false, "print the published lists without re-signing them")
	return c
}

// certInfo is what smki show prints per certificate (--json: one object
// per line).
type certInfo struct {
	File             string   `json:"file"`
	Type             string   `json:"type"` // certificate, csr, crl
	Kind             string   `json:"kind,omitempty"`
	EUI              string   `json:"eui,omitempty"`
	Role             *int     `json:"role,omitempty"`
	RoleName         string   `json:"roleName,omitempty"`
	Usage            string   `json:"usage,omitempty"` // ds, ka, ca, or the keyUsage bits
	KeyUsage         string   `json:"keyUsage,omitempty"`
	Subject          string   `json:"subject"`
	Issuer           string   `json:"issuer,omitempty"`
	Serial           string   `json:"serial,omitempty"`
	SerialDecimal    string   `json:"serialDecimal,omitempty"`
	NotBefore        string   `json:"notBefore,omitempty"`
	NotAfter         string   `json:"notAfter,omitempty"`
	Policies         []string `json:"policies,omitempty"`
	PoliciesCritical bool     `json:"policiesCritical,omitempty"`
	HardwareType     string   `json:"hardwareType,omitempty"`
	SKI              string   `json:"ski,omitempty"`
	AKI              string   `json:"aki,omitempty"`
	PathLen          *int     `json:"pathLen,omitempty"`
	Profile          []string `json:"profileViolations"`
	// CSR
	SignatureOK *bool `json:"signatureOK,omitempty"`
	// CRL
	ThisUpdate string       `json:"thisUpdate,omitempty"`
	NextUpdate string       `json:"nextUpdate,omitempty"`
	Number     string       `json:"number,omitempty"`
	Revoked    []revokedOut `json:"revoked,omitempty"`
}

type revokedOut struct {
	Serial string `json:"serial"`
	At     string `json:"at"`
	Reason string `json:"reason"`
}

func usageWord(ku smki.KeyUsage) string {
	switch {
	case ku == smki.KeyUsageDigitalSignature:
		return "ds"
	case ku == smki.KeyUsageKeyAgreement:
		return "ka"
	case ku&smki.KeyUsageCertSign != 0:
		return "ca"
	}
	return ku.String()
}

func describeCert(file string, c *smki.Certificate) certInfo {
	in := certInfo{File: file, Type: "certificate", Kind: c.Kind.String(), Usage: usageWord(c.KeyUsage), KeyUsage: c.KeyUsage.String(),
		Subject: c.Subject, Issuer: c.Issuer, Serial: c.SerialHex(), SerialDecimal: c.SerialNumber.String(),
		NotBefore: c.NotBefore.Format(time.RFC3339), NotAfter: c.NotAfter.Format(time.RFC3339), PoliciesCritical: c.PoliciesCritical,
		SKI: strings.ToUpper(hex.EncodeToString(c.SubjectKeyID)), AKI: strings.ToUpper(hex.EncodeToString(c.AuthorityKeyID)),
		Profile: smki.ProfileViolations(c)}
	if in.Profile == nil {
		in.Profile = []string{}
	}
	for _, p := range c.Policies {
		in.Policies = append(in.Policies, p.String())
	}
	switch c.Kind {
	case smki.KindOrganisation:
		r := int(c.Role)
		in.EUI, in.Role, in.RoleName = c.EUI.String(), &r, c.Role.String()
	case smki.KindDevice:
		in.EUI, in.HardwareType = c.EUI.String(), c.HardwareType.String()
	case smki.KindAuthority:
		if c.HasMaxPathLen {
			n := c.MaxPathLen
			in.PathLen = &n
		}
	}
	return in
}

// describeFile reads every certificate of a file (PEM or DER), or a CSR,
// or a CRL.
func describeFile(name string, b []byte) ([]certInfo, error) {
	kind := ""
	if blk, _ := pem.Decode(b); blk != nil {
		kind = blk.Type
	}
	switch kind {
	case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
		return describeCSR(name, b)
	case "X509 CRL":
		return describeCRL(name, b)
	case "":
		if strings.Contains(string(b), "-----BEGIN ") {
			return nil, errors.New("no PEM block recognised")
		}
		// DER: a certificate, else a CRL, else a CSR.
		if c, err := smki.ParseCertificate(b); err == nil {
			return []certInfo{describeCert(name, c)}, nil
		} else if _, err2 := smki.ParseCRL(b); err2 == nil {
			return describeCRL(name, b)
		} else if _, err3 := smki.ParseCSR(b); err3 == nil {
			return describeCSR(name, b)
		} else {
			return nil, err
		}
	case "CERTIFICATE":
		cs, err := smki.ParseCertificates(b)
		if err != nil {
			return nil, err
		}
		var out []certInfo
		for _, c := range cs {
			out = append(out, describeCert(name, c))
		}
		return out, nil
	}
	return nil, fmt.Errorf("a PEM %q block, not a certificate, CSR or CRL", kind)
}

func describeCSR(name string, b []byte) ([]certInfo, error) {
	r, err := smki.ParseCSR(b)
	if err != nil {
		return nil, err
	}
	ok := r.CheckSignature() == nil
	in := certInfo{File: name, Type: "csr", Subject: r.Subject, SignatureOK: &ok, Profile: []string{}}
	if r.HasEUI {
		in.EUI = r.EUI.String()
	}
	if r.HasRole {
		n := int(r.Role)
		in.Role, in.RoleName = &n, r.Role.String()
	}
	return []certInfo{in}, nil
}

func describeCRL(name string, b []byte) ([]certInfo, error) {
	crl, err := smki.ParseCRL(b)
	if err != nil {
		return nil, err
	}
	in := certInfo{File: name, Type: "crl", Issuer: crl.Issuer, ThisUpdate: crl.ThisUpdate.Format(time.RFC3339), Profile: []string{},
		AKI: strings.ToUpper(hex.EncodeToString(crl.AuthorityKeyID))}
	if !crl.NextUpdate.IsZero() {
		in.NextUpdate = crl.NextUpdate.Format(time.RFC3339)
	}
	if crl.Number != nil {
		in.Number = crl.Number.String()
	}
	for _, e := range crl.Revoked {
		in.Revoked = append(in.Revoked, revokedOut{strings.ToUpper(e.SerialNumber.Text(16)), e.RevocationTime.Format(time.RFC3339), smki.ReasonString(e.Reason)})
	}
	return []certInfo{in}, nil
}

func printInfo(w io.Writer, in certInfo) {
	p := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-10s %s\n", k+":", v)
		}
	}
	switch in.Type {
	case "csr":
		fmt.Fprintf(w, "%s: certificate signing request\n", in.File)
		p("subject", fmt.Sprintf("%q", in.Subject))
		p("eui", in.EUI)
		if in.Role != nil {
			p("role", fmt.Sprintf("%d (%s)", *in.Role, in.RoleName))
		}
		p("signature", map[bool]string{true: "ok", false: "DOES NOT VERIFY"}[*in.SignatureOK])
		return
	case "crl":
		fmt.Fprintf(w, "%s: certificate revocation list\n", in.File)
		p("issuer", in.Issuer)
		p("number", in.Number)
		p("validity", in.ThisUpdate+" .. "+in.NextUpdate)
		p("revoked", strconv.Itoa(len(in.Revoked)))
		for _, r := range in.Revoked {
			fmt.Fprintf(w, "    %s at %s (%s)\n", r.Serial, r.At, r.Reason)
		}
		return
	}
	fmt.Fprintf(w, "%s: %s certificate\n", in.File, in.Kind)
	p("eui", in.EUI)
	if in.Role != nil {
		p("role", fmt.Sprintf("%d (%s)", *in.Role, in.RoleName))
	}
	p("usage", fmt.Sprintf("%s (%s)", in.Usage, in.KeyUsage))
	p("subject", fmt.Sprintf("%q", in.Subject))
	p("issuer", fmt.Sprintf("%q", in.Issuer))
	p("serial", fmt.Sprintf("%s (decimal %s)", in.Serial, in.SerialDecimal))
	p("validity", in.NotBefore+" .. "+in.NotAfter)
	crit := ""
	if in.PoliciesCritical {
		crit = " (critical)"
	}
	p("policies", strings.Join(in.Policies, ", ")+crit)
	p("hwType", in.HardwareType)
	if in.PathLen != nil {
		p("pathLen", strconv.Itoa(*in.PathLen))
	}
	p("ski", in.SKI)
	p("aki", in.AKI)
	if len(in.Profile) == 0 {
		p("profile", "SMKI profile ok")
	} else {
		p("profile", strings.Join(in.Profile, "; "))
	}
}

func newSMKIShowCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show [--json] FILE...",
		Short: "Show certificates (kind, EUI, role, usage, validity, policies, serial), CSRs and CRLs",
		Long: `Reads PEM (every CERTIFICATE block) or DER. For each certificate: kind (organisation, device, authority),
EUI, role, key usage, subject, issuer, serial, validity, policies, key identifiers and any departure
from the SMKI profile. --json prints one object per line. Exit status 2 if a file is not readable as a
certificate, CSR or CRL.`,
		Args: nArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			bad := 0
			for _, f := range args {
				b, err := readSMKIFile(f)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "opendcc: %v\n", err)
					bad = max(bad, exitUsage)
					continue
				}
				infos, err := describeFile(f, b)
				if err != nil {
					fmt.Fprintf(out, "invalid %s: %v\n", f, err)
					bad = max(bad, exitSchemaInvalid)
					continue
				}
				for _, in := range infos {
					if asJSON {
						j, _ := json.Marshal(in)
						fmt.Fprintf(out, "%s\n", j)
					} else {
						printInfo(out, in)
					}
				}
			}
			if bad != 0 {
				return silentExit(bad)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "one JSON object per certificate, CSR or CRL")
	return c
}

// smkiVerifyExit maps a verification error to an exit status.
func smkiVerifyExit(err error) int {
	switch {
	case errors.Is(err, smki.ErrRevoked):
		return exitRevoked
	case errors.Is(err, smki.ErrUnknownIssuer), errors.Is(err, smki.ErrNoTrustAnchor):
		return exitUnknownCert
	case errors.Is(err, smki.ErrSignatureCheck):
		return exitBadSignature
	case errors.Is(err, smki.ErrMalformed), errors.Is(err, smki.ErrUnsupportedKey), errors.Is(err, smki.ErrNoCertificate):
		return exitSchemaInvalid
	}
	return exitSignerRejected
}

func newSMKIVerifyCmd() *cobra.Command {
	var dir, purpose, at string
	c := &cobra.Command{
		Use:   "verify --dir D [--purpose any|xml|gbcs|ka|pp] [--at TIME] CERT...",
		Short: "Verify certificates against the CA: chain, validity, profile, purpose and revocation",
		Long: `Checks each certificate up to the root of D (through the Organisation or Device CA): signatures, key
identifiers, basicConstraints and pathLen, the SMKI profile, validity at --at (RFC 3339; default now),
the purpose (xml: DUIS XML signing; gbcs: GBCS signing; ka: key agreement; pp: supplier prepayment
key), and revocation against the published lists, which must be current. Prints "valid FILE: ..."
or "invalid FILE: reason". Exit status: 0 all valid; 2 malformed; 3 issuer unknown; 5 bad signature;
6 not acceptable (expired, purpose, profile, stale lists); 7 revoked (the first failure decides).`,
		Args: nArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := openCA(dir)
			if err != nil {
				return err
			}
			p, err := smki.ParsePurpose(purpose)
			if err != nil {
				return exitf(exitUsage, "--purpose: %v", err)
			}
			now := time.Now()
			if at != "" {
				if now, err = time.Parse(time.RFC3339, at); err != nil {
					return exitf(exitUsage, "--at: %v", err)
				}
			}
			out := cmd.OutOrStdout()
			code := 0
			fail := func(f string, c int, err error) {
				fmt.Fprintf(out, "invalid %s: %v\n", f, err)
				if code == 0 {
					code = c
				}
			}
			for _, f := range args {
				b, err := readSMKIFile(f)
				if err != nil {
					fail(f, exitUsage, err)
					continue
				}
				cert, err := smki.ParsePEM(b)
				if err != nil {
					fail(f, smkiVerifyExit(err), err)
					continue
				}
				chain, err := c.Verify(cert, p, now)
				if err != nil {
					fail(f, smkiVerifyExit(err), err)
					continue
				}
				names := make([]string, len(chain))
				for i, x := range chain {
					names[i] = fmt.Sprintf("%q", x.Subject)
				}
				who := cert.Subject
				if cert.Kind != smki.KindAuthority {
					who = cert.EUI.String()
				}
				fmt.Fprintf(out, "valid %s: %s %s serial %s for %s; chain %s\n", f, cert.Kind, who, cert.SerialHex(), p, strings.Join(names, " <- "))
			}
			if code != 0 {
				return silentExit(code)
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "CA directory")
	c.Flags().StringVar(&purpose, "purpose", "any", "any, xml, gbcs, ka or pp")
	c.Flags().StringVar(&at, "at", "", "verification time (RFC 3339; default now)")
	return c
}
