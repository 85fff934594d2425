package interop

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// XMLSec1Verify verifies the enveloped signature of doc with xmlsec1 and the
// public key of the certificate in certPEMPath, ignoring the document's
// KeyInfo. xmlsec1 is a second XML-DSig implementation, independent of both
// opendcc and the Java tool, so agreement with it is evidence of conformance
// rather than of shared bugs. It returns nil when xmlsec1 says OK, otherwise
// an error carrying xmlsec1's output. It does not validate against the
// schema; use XMLLintValidate for that.
func XMLSec1Verify(tb testing.TB, certPEMPath string, doc []byte) error {
	tb.Helper()
	xmlsec1 := refdata.Tool(tb, "xmlsec1")
	dir, err := os.MkdirTemp("", "interop-xmlsec1-*")
	if err != nil {
		tb.Fatalf("interop: %v", err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "doc.xml")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		tb.Fatalf("interop: %v", err)
	}
	out, err := exec.Command(xmlsec1, "--verify", "--pubkey-cert-pem", certPEMPath, in).CombinedOutput()
	return xmlsec1Result("verify", out, err)
}

// XMLSec1Sign signs template with xmlsec1. The template must already carry
// the ds:Signature skeleton to fill in (SignedInfo with empty DigestValue,
// empty SignatureValue, and `<ds:X509Data><ds:X509IssuerSerial/></ds:X509Data>`
// for the issuer/serial KeyInfo of the DUIS profile). keyPath may be the DER
// PKCS#8 .key of the ZAZ1 material or a PEM key; DER keys are rewrapped as PEM
// in a temp file because xmlsec1 only reads PEM. xmlsec1 signs the bytes as
// they are, whitespace included, which is what makes it a useful check on the
// whitespace behaviour described in duis.md §3.4.
func XMLSec1Sign(tb testing.TB, keyPath, certPEMPath string, template []byte) ([]byte, error) {
	tb.Helper()
	xmlsec1 := refdata.Tool(tb, "xmlsec1")
	dir, err := os.MkdirTemp("", "interop-xmlsec1-*")
	if err != nil {
		tb.Fatalf("interop: %v", err)
	}
	defer os.RemoveAll(dir)

	key, err := os.ReadFile(keyPath)
	if err != nil {
		tb.Fatalf("interop: %v", err)
	}
	keyPEM := keyPath
	if !bytes.Contains(key, []byte("-----BEGIN")) {
		keyPEM = filepath.Join(dir, "key.pem")
		b := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})
		if err := os.WriteFile(keyPEM, b, 0o600); err != nil {
			tb.Fatalf("interop: %v", err)
		}
	}
	in := filepath.Join(dir, "template.xml")
	outFile := filepath.Join(dir, "signed.xml")
	if err := os.WriteFile(in, template, 0o600); err != nil {
		tb.Fatalf("interop: %v", err)
	}
	out, err := exec.Command(xmlsec1, "--sign", "--privkey-pem", keyPEM+","+certPEMPath, "--output", outFile, in).CombinedOutput()
	if err := xmlsec1Result("sign", out, err); err != nil {
		return nil, err
	}
	signed, err := os.ReadFile(outFile)
	if err != nil {
		return nil, fmt.Errorf("xmlsec1 sign: %w", err)
	}
	return signed, nil
}

// xmlsec1Result maps xmlsec1's exit status to an error. A non-zero exit is a
// verdict (the signature is bad, or signing failed); failing to start the
// program at all is reported the same way but with the exec error.
func xmlsec1Result(op string, out []byte, err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("xmlsec1 %s: exit %d: %s", op, ee.ExitCode(), strings.TrimSpace(string(out)))
	}
	return fmt.Errorf("xmlsec1 %s: %w", op, err)
}
