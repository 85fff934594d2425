package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/xmldsig"
)

const reqTmpl = `<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>90-B3-D5-1F-30-01-00-00:%s:%d</sr:RequestID><sr:CommandVariant>%d</sr:CommandVariant><sr:ServiceReference>%s</sr:ServiceReference><sr:ServiceReferenceVariant>%s</sr:ServiceReferenceVariant></sr:Header><sr:Body>%s</sr:Body></sr:Request>`

// TestServeDCCBoxedProfile starts the embedded server as `opendcc serve
// --profile dccboxed` does and posts signed requests as a DCC Boxed client
// would: 8.2 gets a signed I0 with the inventory, 4.1.1 a signed I99, the
// replay E1003; the SMKI repository answers on its own port; a restart keeps
// the state (the replayed counter is still refused).
func TestServeDCCBoxedProfile(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := func() *Server {
		s, err := Start(ctx, Config{DataDir: dir, DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0", Profile: "dccboxed"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := start()
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	sup := eui.MustParse("90-B3-D5-1F-30-01-00-00")
	key, cert, err := keys.XMLSigningKey(sup)
	if err != nil {
		t.Fatal(err)
	}
	post := func(s *Server, path string, counter uint64, target string, cv int, sr, srv, body string) string {
		t.Helper()
		doc, err := xmldsig.Sign([]byte(fmt.Sprintf(reqTmpl, target, counter, cv, sr, srv, body)), key, cert)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(s.DUISURL+path, "application/xml", bytes.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: HTTP %d %s", path, resp.StatusCode, out)
		}
		if err := duis.Validate(out); err != nil {
			t.Fatalf("response not schema-valid: %v\n%s", err, out)
		}
		if _, err := xmldsig.Verify(out, xmldsig.VerifyOptions{Certificates: keys, ExpectedSigner: &smki.DCCEUI}); err != nil {
			t.Fatalf("response signature: %v", err)
		}
		return string(out)
	}
	counter := uint64(time.Now().UnixMilli())
	inv := post(s, "/api/v1/serviceD", counter, "90-B3-D5-1F-30-00-00-02", 8, "8.2", "8.2", "<sr:ReadInventory><sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID></sr:ReadInventory>")
	if !strings.Contains(inv, "<sr:ResponseCode>I0<") || !strings.Contains(inv, "00-DB-12-34-56-78-90-A0") {
		t.Errorf("8.2: %s", inv)
	}
	ack := post(s, "/api/v1/serviceS", counter+1, "00-DB-12-34-56-78-90-A0", 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>")
	if !strings.Contains(ack, "<sr:ResponseCode>I99<") {
		t.Errorf("4.1.1: %s", ack)
	}
	if r := post(s, "/api/v1/serviceS", counter+1, "00-DB-12-34-56-78-90-A0", 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>"); !strings.Contains(r, "<sr:ResponseCode>E1003<") {
		t.Errorf("replay: %s", r)
	}
	resp, err := http.Post(s.SMKIURL+"/services/certificatesearch", "application/xml", strings.NewReader(`<CertificateSearchRequest><CertificateSubjectName>90B3D51F30010000</CertificateSubjectName></CertificateSearchRequest>`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "CertificateSerial") {
		t.Errorf("SMKI search: %d %s", resp.StatusCode, body)
	}
	// The simulated devices' certificates are in the repository too, as
	// DCC Boxed clients expect before decrypting a device's response.
	resp, err = http.Post(s.SMKIURL+"/services/certificatesearch", "application/xml", strings.NewReader(`<CertificateSearchRequest><CertificateSubjectAltName>00DB1234567890A0</CertificateSubjectAltName></CertificateSearchRequest>`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Count(string(body), "<CertificateSerial>") != 2 || !strings.Contains(string(body), "KA") || !strings.Contains(string(body), "DS") {
		t.Errorf("SMKI device search: %d %s", resp.StatusCode, body)
	}
	s.Close()
	s = start() // restart on the same data: seeding is idempotent, state is kept
	defer s.Close()
	if r := post(s, "/api/v1/serviceS", counter+1, "00-DB-12-34-56-78-90-A0", 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>"); !strings.Contains(r, "<sr:ResponseCode>E1003<") {
		t.Errorf("replay after restart: %s", r)
	}
}
