package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// run executes the command line in-process.
func run(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSignVerifyBuiltinKeystore(t *testing.T) {
	example := filepath.Join("..", "..", "docs", "examples", "read-inventory.xml")
	code, signed, errs := run(t, nil, "duis", "sign", "--keystore", "dccboxed", example)
	if code != 0 {
		t.Fatalf("sign exit %d: %s", code, errs)
	}
	if !strings.HasPrefix(signed, `<?xml version="1.0" encoding="UTF-8" standalone="no"?><sr:Request`) || strings.Contains(signed, ">\n") {
		t.Errorf("signed output is not the compact form: %.200s", signed)
	}
	if strings.Contains(signed, ":1000</sr:RequestID>") {
		t.Error("counter was not replaced without --preserve-counter")
	}
	code, out, errs := run(t, []byte(signed), "duis", "verify", "--trust", "dccboxed")
	if code != 0 || !strings.Contains(out, "signer 90-B3-D5-1F-30-01-00-00 role 135") {
		t.Fatalf("verify exit %d: %s %s", code, out, errs)
	}
	code, signed, _ = run(t, nil, "duis", "sign", "--keystore", "dccboxed", "--preserve-counter", example)
	if code != 0 || !strings.Contains(signed, ":1000</sr:RequestID>") {
		t.Errorf("--preserve-counter changed the counter")
	}
	// Tampering after signing: the counter is part of the digest.
	tampered := strings.Replace(signed, ":1000<", ":1001<", 1)
	if code, _, _ := run(t, []byte(tampered), "duis", "verify", "--trust", "dccboxed"); code != exitBadSignature {
		t.Errorf("tampered document: exit %d, want %d", code, exitBadSignature)
	}
	// Signed by the supplier but claimed to come from the network operator.
	other := strings.Replace(signed, "90-B3-D5-1F-30-01-00-00:90", "90-B3-D5-1F-30-02-00-00:90", 1)
	if code, _, _ := run(t, []byte(other), "duis", "verify", "--trust", "dccboxed"); code != exitBadSignature {
		t.Errorf("altered originator: exit %d, want %d (digest covers it)", code, exitBadSignature)
	}
	if code, _, _ := run(t, []byte(signed), "duis", "verify", "--trust", "dccboxed", "--signer", "90-B3-D5-1F-30-02-00-00"); code != exitSignerRejected {
		t.Errorf("wrong expected signer: exit %d, want %d", code, exitSignerRejected)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"duis", "sign"}, exitUsage},
		{[]string{"duis", "sign", "--keystore", "dccboxed", "--key", "k", "x"}, exitUsage},
		{[]string{"duis", "verify", "x"}, exitUsage},
		{[]string{"duis", "verify", "--trust", "/nonexistent", "x"}, exitUsage},
		{[]string{"duis", "validate"}, 64},
		{[]string{"duis", "nosuch"}, 64},
		{[]string{"duis", "validate", "/nonexistent.xml"}, exitSchemaInvalid},
	}
	for _, tt := range tests {
		if code, _, _ := run(t, nil, tt.args...); code != tt.code {
			t.Errorf("%v: exit %d, want %d", tt.args, code, tt.code)
		}
	}
}

// TestVerifySamples checks the verdict and exit status for each DCC Boxed
// sample, the distinct failure cases of acceptance point 2 among them.
func TestVerifySamples(t *testing.T) {
	dir := refdata.Path(t, "duis", "samples")
	zaz1 := refdata.Path(t, "zaz1")
	tests := []struct {
		file string
		args []string
		code int
	}{
		{"readfw-response.xml", nil, exitOK},
		{"readfw-response-resigned.xml", nil, exitOK},
		{"read-inventory-response-4g.xml", nil, exitOK},
		{"read-inventory-response-5.4.xml", nil, exitOK},
		// Signed with Z1-accessControlBroker-ds, which expired in 2025.
		{"message.xml", nil, exitSignerRejected},
		{"message.xml", []string{"--no-validity"}, exitOK},
		{"ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML", []string{"--expiry-allowance", "87600h"}, exitOK},
		{"readfw-response-badsignature.xml", nil, exitBadSignature},
		{"readfw-response-no-serial.xml", nil, exitBadSignature},
		{"readfw-response-nonexist-serial.xml", nil, exitUnknownCert},
		{"readfw-response-no-signature.xml", nil, exitUnsigned},
		{"acknowledgement-error.xml", nil, exitUnsigned},
		{"ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML", nil, exitUnsigned},
		{"readfw-response-invalid.xml", nil, exitSchemaInvalid},
		{"ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-invalid.XML", nil, exitSchemaInvalid},
		{"duis-xxe.xml", nil, exitSchemaInvalid},
	}
	for _, tt := range tests {
		args := append([]string{"duis", "verify", "--trust", zaz1}, tt.args...)
		args = append(args, filepath.Join(dir, tt.file))
		code, out, errs := run(t, nil, args...)
		if code != tt.code {
			t.Errorf("%s %v: exit %d, want %d (%s%s)", tt.file, tt.args, code, tt.code, out, errs)
		}
	}
	// Two signatures: append a copy of the signature before the root end tag.
	b, err := os.ReadFile(filepath.Join(dir, "readfw-response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, "<ds:Signature"), strings.LastIndex(s, "</ds:Signature>")+len("</ds:Signature>")
	if i < 0 || j < i {
		t.Fatal("sample has no ds:Signature")
	}
	two := s[:j] + s[i:j] + s[j:]
	if code, _, errs := run(t, []byte(two), "duis", "verify", "--trust", zaz1, "--no-validity"); code != exitBadSignature || !strings.Contains(errs, "more than one ds:Signature") {
		t.Errorf("two signatures: exit %d (%s)", code, errs)
	}
}

func TestValidateCommand(t *testing.T) {
	dir := refdata.Path(t, "duis")
	good := filepath.Join(dir, "templates", "8.2_READ_INVENTORY_REQUEST_DUIS.XML")
	bad := filepath.Join(dir, "samples", "readfw-response-invalid.xml")
	code, out, _ := run(t, nil, "duis", "validate", good)
	if code != 0 || out != "ok "+good+"\n" {
		t.Errorf("valid template: exit %d %q", code, out)
	}
	code, out, _ = run(t, nil, "duis", "validate", good, bad)
	if code != exitSchemaInvalid || !strings.Contains(out, "invalid "+bad+": /sr:Response/sr:Body/sr:ResponseMessage/sr:ServiceReference") {
		t.Errorf("invalid sample: exit %d %q", code, out)
	}
}

// TestVerifyRevokedBySMKI: a certificate issued by an OpenDCC CA verifies
// with --smki-dir until it is revoked; then exit 6 (issue 4, acceptance 2,
// on the command line).
func TestVerifyRevokedBySMKI(t *testing.T) {
	t.Setenv("OPENDCC_SMKI_PASSPHRASE", "correct-horse-battery-staple")
	dir := t.TempDir()
	caDir, key, cert, signed := filepath.Join(dir, "ca"), filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem"), filepath.Join(dir, "s.xml")
	if code, _, errs := run(t, nil, "smki", "init", "--dir", caDir); code != 0 {
		t.Fatalf("smki init: %d %s", code, errs)
	}
	code, out, errs := run(t, nil, "smki", "issue", "org", "--dir", caDir, "--eui", "90-B3-D5-1F-30-01-00-00", "--role", "135", "--usage", "ds", "--new-key", key, "--out", cert)
	if code != 0 {
		t.Fatalf("smki issue: %d %s", code, errs)
	}
	serial := strings.Fields(out[strings.Index(out, "serial ")+len("serial "):])[0]
	code, doc, errs := run(t, nil, "duis", "sign", "--key", key, "--cert", cert, filepath.Join("..", "..", "docs", "examples", "read-inventory.xml"))
	if code != 0 {
		t.Fatalf("sign: %d %s", code, errs)
	}
	os.WriteFile(signed, []byte(doc), 0o644)
	if code, _, errs := run(t, nil, "duis", "verify", "--trust", "dccboxed", "--smki-dir", caDir, signed); code != 0 {
		t.Fatalf("verify before revocation: exit %d %s", code, errs)
	}
	if code, _, errs := run(t, nil, "duis", "verify", "--trust", "dccboxed", signed); code != exitUnknownCert {
		t.Errorf("without --smki-dir the CA's certificate is unknown: exit %d %s", code, errs)
	}
	if code, _, errs := run(t, nil, "smki", "revoke", "--dir", caDir, "--serial", serial); code != 0 {
		t.Fatalf("revoke: %d %s", code, errs)
	}
	if code, _, errs := run(t, nil, "duis", "verify", "--trust", "dccboxed", "--smki-dir", caDir, signed); code != exitSignerRejected || !strings.Contains(errs, "revoked") {
		t.Errorf("after revocation: exit %d %s", code, errs)
	}
}
