package dcc

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/opendcc/opendcc/internal/interop"
)

// TestResponsesPassOracles: the DCC's signed responses (I99, an E-code, and
// an I0 carrying a Pre-Command) pass the DCC Boxed Java tool's Validate and
// xmlsec1 (issue 6, acceptance 3, for the synchronous responses).
func TestResponsesPassOracles(t *testing.T) {
	_, dcc := signer(t, acb)
	java := interop.NewJavaTool(t)
	certPEM := filepath.Join(t.TempDir(), "dcc.pem")
	if err := os.WriteFile(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: dcc.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	rid := "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1795873375389"
	for name, p := range map[string]ResponseParts{
		"I99":         {RequestID: rid, Code: "I99", SR: "4.1", SRV: "4.1.1", Time: t0},
		"E4":          {RequestID: rid, Code: "E4", SR: "4.1", SRV: "4.1.1", Time: t0},
		"I0 payload":  {RequestID: rid, ResponseID: "00-DB-12-34-56-78-90-A0:90-B3-D5-1F-30-01-00-00:1795873375389", Code: "I0", SR: "4.1", SRV: "4.1.1", Time: t0, GBCSPayload: []byte{0xDD, 0, 0, 0, 0, 0, 0}},
		"pre-command": {RequestID: rid, Code: "I0", SR: "1.1", SRV: "1.1.1", Time: t0, PreCommand: []byte{0xDF, 0x09, 0x01}},
	} {
		doc, err := dcc.Response(p)
		if err != nil {
			t.Fatal(err)
		}
		if r := java.Validate(doc); r.RC != 0 {
			t.Errorf("%s: Java Validate rc %d: %s", name, r.RC, r.Message)
		}
		if err := interop.XMLSec1Verify(t, certPEM, doc); err != nil {
			t.Errorf("%s: xmlsec1: %v", name, err)
		}
	}
}
