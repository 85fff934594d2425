package dcc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/xmldsig"
)

const readInventoryReq = `<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:%d</sr:RequestID><sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>8.2</sr:ServiceReference><sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:ReadInventory>%s</sr:ReadInventory></sr:Body></sr:Request>`

type httpFixture struct {
	srv   *httptest.Server
	store store.Store
	certs *smki.Store
	sup   *Signer
}

func newHTTPFixture(t *testing.T) *httpFixture {
	t.Helper()
	certs, sup := signer(t, supplier)
	_, dccSigner := signer(t, acb)
	s := openStore(t)
	h := &Handler{
		Intake: &Intake{Certificates: certs},
		Access: AccessControl{DCC: acb, Now: func() time.Time { return t0 }},
		Signer: dccSigner,
		Store:  s,
		Now:    func() time.Time { return t0 },
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &httpFixture{srv: srv, store: s, certs: certs, sup: sup}
}

func (f *httpFixture) sign(t *testing.T, doc string) []byte {
	t.Helper()
	b, err := xmldsig.Sign([]byte(doc), f.sup.Key, f.sup.Cert)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *httpFixture) post(t *testing.T, path, contentType string, body []byte) (int, string, []byte) {
	t.Helper()
	resp, err := http.Post(f.srv.URL+path, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// duisResponse posts and checks the answer is a schema-valid DUIS response
// signed by the DCC, returning it decoded.
func (f *httpFixture) duisResponse(t *testing.T, path string, body []byte) *duis.Response {
	t.Helper()
	code, ct, out := f.post(t, path, "application/xml", body)
	if code != http.StatusOK || ct != "application/xml" {
		t.Fatalf("HTTP %d %s: %s", code, ct, out)
	}
	if err := duis.Validate(out); err != nil {
		t.Fatalf("response not schema-valid: %v\n%s", err, out)
	}
	res, err := xmldsig.Verify(out, xmldsig.VerifyOptions{Certificates: f.certs, ExpectedSigner: &acb})
	if err != nil || res.Role != smki.RoleDSPXMLSign {
		t.Fatalf("response signature: %v %+v", err, res)
	}
	m, err := duis.Decode(out)
	if err != nil || m.Response == nil {
		t.Fatalf("decode: %v", err)
	}
	return m.Response
}

func wantCode(t *testing.T, r *duis.Response, code, requestID, srv string) {
	t.Helper()
	if r.Header.ResponseCode != code {
		t.Errorf("ResponseCode %s, want %s", r.Header.ResponseCode, code)
	}
	got := ""
	if r.Header.RequestID != nil {
		got = *r.Header.RequestID
	}
	if got != requestID {
		t.Errorf("RequestID %q, want %q", got, requestID)
	}
	if rm := r.Body.ResponseMessage; rm == nil || rm.ServiceReferenceVariant != srv {
		t.Errorf("ResponseMessage %+v, want SRV %s", rm, srv)
	}
}

func TestHandler(t *testing.T) {
	f := newHTTPFixture(t)
	ctx := context.Background()
	const rid = "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000"
	signed := f.sign(t, fmt.Sprintf(readRegisters, 1000))

	t.Run("I99 and recorded", func(t *testing.T) {
		r := f.duisResponse(t, "/api/v1/serviceS", signed)
		wantCode(t, r, "I99", rid, "4.1.1")
		if r.Header.ResponseDateTime != "2026-11-28T12:00:00.000Z" {
			t.Errorf("ResponseDateTime %s", r.Header.ResponseDateTime)
		}
		rq, err := f.store.Requests().GetRequest(ctx, rid)
		if err != nil {
			t.Fatal(err)
		}
		if rq.State != store.RequestAccepted || rq.SRV != "4.1.1" || rq.CommandVariant != 1 || rq.Role != store.RoleImportSupplier || rq.Counter != 1000 || !rq.AcceptedAt.Equal(t0) {
			t.Errorf("recorded %+v", rq)
		}
	})
	t.Run("replay E1003", func(t *testing.T) {
		wantCode(t, f.duisResponse(t, "/api/v1/serviceS", signed), CodeStaleCounter, rid, "4.1.1")
	})
	t.Run("CV 1 on serviceT E13", func(t *testing.T) {
		doc := f.sign(t, fmt.Sprintf(readRegisters, 1001))
		wantCode(t, f.duisResponse(t, "/api/v1/serviceT", doc), "E13", strings.Replace(rid, ":1000", ":1001", 1), "4.1.1")
		// The refused request burnt no counter and was not recorded.
		if _, err := f.store.Requests().RequestByCounter(ctx, supplier, 1001); err == nil {
			t.Error("E13 request recorded")
		}
		wantCode(t, f.duisResponse(t, "/api/v1/serviceS", doc), "I99", strings.Replace(rid, ":1000", ":1001", 1), "4.1.1")
	})
	t.Run("tampered E1000", func(t *testing.T) {
		doc := f.sign(t, fmt.Sprintf(readRegisters, 1002))
		tampered := bytes.Replace(doc, []byte(":1002<"), []byte(":1003<"), 1)
		wantCode(t, f.duisResponse(t, "/api/v1/serviceS", tampered), CodeBadSignature, strings.Replace(rid, ":1000", ":1003", 1), "4.1.1")
		if _, err := f.store.Requests().RequestByCounter(ctx, supplier, 1003); err == nil {
			t.Error("tampered request recorded")
		}
	})
	t.Run("schema-invalid E100", func(t *testing.T) {
		doc := bytes.Replace(f.sign(t, fmt.Sprintf(readRegisters, 1004)), []byte("<sr:CommandVariant>1<"), []byte("<sr:CommandVariant>12<"), 1)
		wantCode(t, f.duisResponse(t, "/api/v1/serviceS", doc), CodeSchemaInvalid, strings.Replace(rid, ":1000", ":1004", 1), "4.1.1")
	})
	t.Run("E4 not registered", func(t *testing.T) {
		_, nop := signer(t, netop)
		doc, err := xmldsig.Sign([]byte(strings.Replace(fmt.Sprintf(readRegisters, 1), "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0", "90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A1", 1)), nop.Key, nop.Cert)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.duisResponse(t, "/api/v1/serviceS", doc), "E4", "90-B3-D5-1F-30-02-00-00:00-DB-12-34-56-78-90-A1:1", "4.1.1")
	})
	t.Run("8.2 I0 DSPInventory", func(t *testing.T) {
		doc := f.sign(t, fmt.Sprintf(readInventoryReq, 2000, "<sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID>"))
		r := f.duisResponse(t, "/api/v1/serviceD", doc)
		wantCode(t, r, "I0", "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:2000", "8.2")
		inv := r.Body.ResponseMessage.DSPInventory
		if inv == nil || len(inv.Device) != 1 {
			t.Fatalf("DSPInventory %+v", inv)
		}
		d := inv.Device[0]
		if d.DeviceID != "00-DB-12-34-56-78-90-A0" || d.DeviceType != "ESME" || d.DeviceStatus == nil || *d.DeviceStatus != "Commissioned" || d.ImportMPxN == nil || *d.ImportMPxN != esmeMPAN {
			t.Errorf("device %+v", d)
		}
		// By MPxN; and a query matching nothing is an I0 without payload.
		r = f.duisResponse(t, "/api/v1/serviceD", f.sign(t, fmt.Sprintf(readInventoryReq, 2001, "<sr:MPxN>"+gsmeMPRN+"</sr:MPxN>")))
		if inv := r.Body.ResponseMessage.DSPInventory; inv == nil || len(inv.Device) != 1 || inv.Device[0].DeviceID != "00-DB-12-34-56-78-90-A1" {
			t.Errorf("by MPxN: %+v", inv)
		}
		r = f.duisResponse(t, "/api/v1/serviceD", f.sign(t, fmt.Sprintf(readInventoryReq, 2002, "<sr:DeviceID>00-DB-12-34-56-78-99-99</sr:DeviceID>")))
		wantCode(t, r, "I0", "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:2002", "8.2")
		if r.Body.ResponseMessage.DSPInventory != nil {
			t.Errorf("unknown device listed")
		}
		// 8.2 is answered, not recorded; its counter is consumed.
		if _, err := f.store.Requests().RequestByCounter(ctx, supplier, 2000); err == nil {
			t.Error("8.2 recorded as a pending request")
		}
		wantCode(t, f.duisResponse(t, "/api/v1/serviceD", doc), CodeStaleCounter, "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:2000", "8.2")
	})
	t.Run("CV 4 checked, then not yet implemented", func(t *testing.T) {
		tariff := strings.Replace(strings.Replace(strings.Replace(fmt.Sprintf(readRegisters, 4000), "<sr:CommandVariant>1<", "<sr:CommandVariant>4<", 1), "4.1.1", "1.1.1", 1), "<sr:ServiceReference>4.1<", "<sr:ServiceReference>1.1<", 1)
		if code, _, out := f.post(t, "/api/v1/serviceT", "application/xml", f.sign(t, strings.Replace(tariff, "<sr:ReadInstantaneousImportRegisters/>", "<sr:X/>", 1))); code != http.StatusOK || !bytes.Contains(out, []byte(CodeSchemaInvalid)) {
			t.Errorf("invalid CV 4: %d %s", code, out)
		}
		if code, _, out := f.post(t, "/api/v1/serviceS", "application/xml", f.sign(t, strings.Replace(fmt.Sprintf(readRegisters, 4001), "<sr:CommandVariant>1<", "<sr:CommandVariant>4<", 1))); code != http.StatusOK || !bytes.Contains(out, []byte("<sr:ResponseCode>E13<")) {
			t.Errorf("CV 4 on serviceS: %d %s, want a signed E13", code, out)
		}
	})
	t.Run("HTTP errors", func(t *testing.T) {
		resp, err := http.Get(f.srv.URL + "/api/v1/serviceS")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET: %d %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		if code, _, _ := f.post(t, "/api/v1/serviceS", "text/plain", signed); code != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain: %d", code)
		}
		if code, _, _ := f.post(t, "/api/v1/serviceS", "", signed); code != http.StatusUnsupportedMediaType {
			t.Errorf("no content type: %d", code)
		}
		if code, _, _ := f.post(t, "/api/v1/serviceS", "application/xml; charset=utf-8", f.sign(t, fmt.Sprintf(readRegisters, 3000))); code != http.StatusOK {
			t.Errorf("application/xml with charset: %d", code)
		}
		if code, _, _ := f.post(t, "/api/v1/serviceS", "application/xml", bytes.Repeat([]byte(" "), MaxRequestBytes+1)); code != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized: %d", code)
		}
		if code, _, _ := f.post(t, "/api/v1/serviceX", "application/xml", signed); code != http.StatusNotFound {
			t.Errorf("unknown path: %d", code)
		}
	})
}
