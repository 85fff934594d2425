package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/dcc"
	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/wan"
	"github.com/opendcc/opendcc/xmldsig"
)

const (
	supplier = "90-B3-D5-1F-30-01-00-00"
	dccID    = "90-B3-D5-1F-30-00-00-02"
	esme     = "00-DB-12-34-56-78-90-A0"
	chf      = "00-DB-12-34-56-78-90-A2"
)

func keystore(t testing.TB) *smki.Store {
	t.Helper()
	s := smki.NewStore()
	if err := s.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	return s
}

// requestXML is an unsigned DUIS request as templates have them.
func requestXML(target string, counter uint64, cv int, sr, srv, body string) []byte {
	return []byte(fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>%s:%s:%d</sr:RequestID>
    <sr:CommandVariant>%d</sr:CommandVariant>
    <sr:ServiceReference>%s</sr:ServiceReference>
    <sr:ServiceReferenceVariant>%s</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body>%s</sr:Body>
</sr:Request>
`, supplier, target, counter, cv, sr, srv, body))
}

func startServer(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.Start(context.Background(), server.Config{
		DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0", Profile: "dccboxed",
		// The pipeline's deliveries go nowhere: these tests deliver themselves.
		ResponseURL: "http://127.0.0.1:1/duis/response",
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newClient(t *testing.T, url string) *Client {
	return &Client{Server: url, Keystore: keystore(t), Allowance: 5 * 365 * 24 * time.Hour, Timeout: 2 * time.Second}
}

// dccSigner signs responses as the DCC does (dcc.Signer with the DSP key).
func dccSigner(t testing.TB) *dcc.Signer {
	key, cert, err := keystore(t).XMLSigningKey(smki.DCCEUI)
	if err != nil {
		t.Fatal(err)
	}
	return &dcc.Signer{Key: key, Cert: cert}
}

// TestSendReadInventory: a non-device request from an unsigned template
// with counter 0 is signed (counter = Unix ms), posted to serviceD and
// answered by a signed I0 with the inventory.
func TestSendReadInventory(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s.DUISURL)
	before := uint64(time.Now().UnixMilli())
	res, err := c.Send(context.Background(), requestXML(dccID, 0, 8, "8.2", "8.2",
		"<sr:ReadInventory><sr:DeviceID>"+chf+"</sr:DeviceID></sr:ReadInventory>"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Ack == nil || res.Ack.Code != "I0" || res.Ack.Content != "DSPInventory" || !res.Ack.SignatureValid {
		t.Fatalf("ack: %+v", res.Ack)
	}
	if !strings.Contains(string(res.Ack.Raw), chf) {
		t.Errorf("inventory lacks %s: %s", chf, res.Ack.Raw)
	}
	id, err := duis.ParseRequestID(res.RequestID)
	if err != nil || id.Counter < before || !res.Signed {
		t.Errorf("RequestID %s (counter before %d), signed %v", res.RequestID, before, res.Signed)
	}
	if res.Final != nil || len(res.Steps) != 1 || !strings.HasSuffix(res.Steps[0].URL, "/api/v1/serviceD") {
		t.Errorf("steps %+v final %+v", res.Steps, res.Final)
	}
	// A non-zero counter is kept; a replayed one gets an E-code, signed.
	doc := requestXML(dccID, id.Counter, 8, "8.2", "8.2", "<sr:ReadInventory><sr:DeviceID>"+chf+"</sr:DeviceID></sr:ReadInventory>")
	res, err = c.Send(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if res.RequestID != fmt.Sprintf("%s:%s:%d", supplier, dccID, id.Counter) || !strings.HasPrefix(res.Ack.Code, "E") || !res.Ack.SignatureValid {
		t.Errorf("replay: %s got %s", res.RequestID, res.Ack.Code)
	}
}

// TestSendDeviceRequest: a device request gets I99 from serviceS; the
// client waits on its listener, and the final response, POSTed there
// signed by the DCC, is matched by RequestID and its GBCS decoded.
func TestSendDeviceRequest(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s.DUISURL)
	ln, err := Listen("127.0.0.1:0", c.VerifyOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var unmatched []string
	var mu sync.Mutex
	ln.Unmatched = func(r *Response) { mu.Lock(); unmatched = append(unmatched, r.RequestID); mu.Unlock() }
	c.Listener = ln
	counter := uint64(time.Now().UnixMilli())
	rid := fmt.Sprintf("%s:%s:%d", supplier, esme, counter)
	payload, real := sampleGBCS(t)
	delivered := make(chan error, 1)
	c.Progress = func(format string, a ...any) {
		if !strings.HasPrefix(format, "waiting") {
			return
		}
		// Deliver as the DCC would, first a response to another request
		// (ignored), then ours.
		go func() {
			signer := dccSigner(t)
			other, _ := signer.Response(dcc.ResponseParts{RequestID: fmt.Sprintf("%s:%s:%d", supplier, esme, counter-1),
				Code: "I0", SR: "4.1", SRV: "4.1.1", Time: time.Now()})
			if code := postTo(ln.URL(), other); code != http.StatusNoContent {
				delivered <- fmt.Errorf("other response: HTTP %d", code)
				return
			}
			final, err := signer.Response(dcc.ResponseParts{RequestID: rid, ResponseID: esme + ":" + supplier + ":" + fmt.Sprint(counter),
				Code: "I0", SR: "4.1", SRV: "4.1.1", GBCSPayload: payload, Time: time.Now()})
			if err != nil {
				delivered <- err
				return
			}
			if code := postTo(ln.URL(), final); code != http.StatusNoContent {
				delivered <- fmt.Errorf("final: HTTP %d", code)
				return
			}
			delivered <- nil
		}()
	}
	res, err := c.Send(context.Background(), requestXML(esme, counter, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>"))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-delivered; err != nil {
		t.Fatal(err)
	}
	if res.Ack.Code != "I99" || !res.Ack.SignatureValid || !strings.HasSuffix(res.Steps[0].URL, "/api/v1/serviceS") {
		t.Fatalf("ack %+v", res.Ack)
	}
	if res.RequestID != rid || res.Final == nil || res.Final.Code != "I0" || !res.Final.SignatureValid {
		t.Fatalf("final %+v", res.Final)
	}
	if len(res.Final.GBCS) != 1 || res.Final.GBCS[0].CRA != "response" || (real && res.Final.GBCS[0].Payload == nil) {
		t.Errorf("GBCS %+v", res.Final.GBCS)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(unmatched) != 1 {
		t.Errorf("unmatched %v", unmatched)
	}
}

// TestSendTimeout: no final response within Timeout gives ErrTimeout with
// the acknowledgement in the result.
func TestSendTimeout(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s.DUISURL)
	c.Listen = "127.0.0.1:0"
	c.Timeout = 200 * time.Millisecond
	res, err := c.Send(context.Background(), requestXML(esme, 0, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>"))
	if !errors.Is(err, ErrTimeout) || res.Ack == nil || res.Ack.Code != "I99" {
		t.Fatalf("err %v ack %+v", err, res.Ack)
	}
}

// TestListenerRejects: 400 for bad signature, unsigned, schema-invalid
// and non-DUIS deliveries; 204 for a good one.
func TestListenerRejects(t *testing.T) {
	c := newClient(t, "http://unused")
	ln, err := Listen("127.0.0.1:0", c.VerifyOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	signer := dccSigner(t)
	rid := supplier + ":" + esme + ":42"
	good, err := signer.Response(dcc.ResponseParts{RequestID: rid, Code: "I0", SR: "4.1", SRV: "4.1.1", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	tampered := []byte(strings.Replace(string(good), ">I0<", ">E20<", 1))
	unsigned, _ := duis.Encode(&duis.Message{Response: &duis.Response{SchemaVersion: "5.4",
		Header: duis.ResponseHeader{RequestID: &rid, ResponseCode: "I0", ResponseDateTime: "2026-01-01T00:00:00.000Z"},
		Body:   duis.ResponseBody{ResponseMessage: &duis.ResponseMessage{ServiceReference: "4.1", ServiceReferenceVariant: "4.1.1"}}}})
	// Signed by a user, not the DCC.
	ukey, ucert, err := keystore(t).XMLSigningKey(eui.MustParse(supplier))
	if err != nil {
		t.Fatal(err)
	}
	userSigned, err := xmldsig.Sign(unsigned, ukey, ucert)
	if err != nil {
		t.Fatal(err)
	}
	invalid, err := xmldsig.Sign([]byte(strings.Replace(string(unsigned), ">I0<", ">X0<", 1)), signer.Key, signer.Cert)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		want int
	}{
		{"tampered", tampered, 400},
		{"unsigned", unsigned, 400},
		{"user-signed", userSigned, 400},
		{"schema-invalid", invalid, 400},
		{"not DUIS", []byte("<a/>"), 400},
		{"good", good, 204},
	} {
		if got := postTo(ln.URL(), tc.doc); got != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, got, tc.want)
		}
	}
	if r, _ := http.Get(ln.URL()); r == nil || r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v", r)
	}
}

// TestSendCriticalTwoStep runs the critical flow against a stand-in DCC
// (until the server implements CV 4): a template's CV 1 for a critical SRV
// becomes CV 4 to serviceT; the Pre-Command in the I0 is signed with the
// supplier's GBCS key and sent back as CV 5 with the same RequestID.
func TestSendCriticalTwoStep(t *testing.T) {
	ks := keystore(t)
	signer := dccSigner(t)
	sec := gbcs.NewSecurity(mustKeyring(t, ks), 0)
	pre := &gbcs.Message{CRA: gbcs.CRACommand, Originator: eui.MustParse(supplier), Recipient: eui.MustParse(esme),
		MessageCode: 0x0013, Content: []byte{0xD9, 0x01, 0x00}}
	var mu sync.Mutex
	var seen []string
	var counter uint64
	dccSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		msg, err := duis.Decode(data)
		if err != nil || msg.Request == nil {
			http.Error(w, "bad", 400)
			return
		}
		if _, err := xmldsig.Verify(data, xmldsig.VerifyOptions{Certificates: ks}); err != nil {
			http.Error(w, "unsigned: "+err.Error(), 400)
			return
		}
		h := msg.Request.Header
		mu.Lock()
		seen = append(seen, r.URL.Path+" CV"+h.CommandVariant)
		mu.Unlock()
		parts := dcc.ResponseParts{RequestID: h.RequestID, SR: h.ServiceReference, SRV: h.ServiceReferenceVariant, Time: time.Now()}
		id, _ := duis.ParseRequestID(h.RequestID)
		switch {
		case r.URL.Path == "/api/v1/serviceT" && h.CommandVariant == "4":
			counter = id.Counter
			p := *pre
			p.OriginatorCounter = id.Counter
			parts.Code = "I0"
			parts.PreCommand, _ = p.Marshal()
		case r.URL.Path == "/api/v1/serviceS" && h.CommandVariant == "5" && msg.Request.Body.SignedPreCommand != nil && id.Counter == counter:
			b, _ := base64.StdEncoding.DecodeString(msg.Request.Body.SignedPreCommand.GBCSPayload)
			m, err := gbcs.Parse(b)
			if err != nil || sec.VerifySignature(m) != nil || m.OriginatorCounter != counter {
				parts.Code = "E51"
				break
			}
			parts.Code = "I99"
		default:
			parts.Code = "E13"
		}
		out, _ := signer.Response(parts)
		w.Header().Set("Content-Type", "application/xml")
		w.Write(out)
	}))
	defer dccSrv.Close()
	c := newClient(t, dccSrv.URL)
	// 7.2 Disable Supply is critical (ECS43_7.2 template, there with CV 4).
	srv, ok := duis.LookupSRV("7.2")
	if !ok || !srv.Critical {
		t.Fatalf("7.2: %+v", srv)
	}
	doc := requestXML(esme, 0, 1, "7.2", "7.2", "<sr:DisableSupply/>")
	res, err := c.Send(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if res.CommandVariant != 5 || res.Ack.Code != "I99" || len(res.Steps) != 2 || res.Steps[0].Response.Code != "I0" {
		t.Fatalf("result %+v, seen %v", res, seen)
	}
	m, err := gbcs.Parse(res.PreCommand)
	if err != nil || !m.Signed() || sec.VerifySignature(m) != nil {
		t.Errorf("signed Pre-Command: %v", err)
	}
	if strings.Join(seen, ",") != "/api/v1/serviceT CV4,/api/v1/serviceS CV5" {
		t.Errorf("posts %v", seen)
	}
}

func mustKeyring(t testing.TB, st *smki.Store) *gbcs.Keyring {
	k := gbcs.NewKeyring()
	if err := k.AddStore(st); err != nil {
		t.Fatal(err)
	}
	return k
}

func postTo(url string, doc []byte) int {
	r, err := http.Post(url, "application/xml", strings.NewReader(string(doc)))
	if err != nil {
		return 0
	}
	r.Body.Close()
	return r.StatusCode
}

// sampleGBCS is a device response: the RTDS/DCC Boxed 11.2 firmware
// version response when the reference data is present, else a built one.
func sampleGBCS(t *testing.T) ([]byte, bool) {
	if dir, ok := refdata.Find(); ok {
		if b, err := os.ReadFile(filepath.Join(dir, "duis", "samples", "readfw-response.xml")); err == nil {
			s := string(b)
			if i := strings.Index(s, "GBCSPayload>"); i >= 0 {
				s = s[i+len("GBCSPayload>"):]
				if p, err := base64.StdEncoding.DecodeString(s[:strings.Index(s, "<")]); err == nil {
					return p, true
				}
			}
		}
	}
	m := &gbcs.Message{MACHeader: true, SecurityControl: 0x11, MAC: make([]byte, gbcs.MACSize),
		CRA: gbcs.CRAResponse, OriginatorCounter: 1, Originator: eui.MustParse(esme), Recipient: eui.MustParse(supplier),
		MessageCode: 0x0018, Content: []byte{0x00}, SignatureField: true}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b, false
}

// TestSendEndToEnd runs against the server's device pipeline, which
// delivers the final responses to the listener (the users' ResponseURL):
// a read (4.1.1, I99 then I0 with the device's GBCS response) and the
// critical two-step of a template (7.2 Disable Supply, CV 4 → Pre-Command
// → signed CV 5 → I99 → I0).
func TestSendEndToEnd(t *testing.T) {
	ks := keystore(t)
	c := &Client{Keystore: ks, Allowance: 5 * 365 * 24 * time.Hour, Timeout: 10 * time.Second}
	ln, err := Listen("127.0.0.1:0", c.VerifyOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ln.Security = c.Security()
	c.Listener = ln
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	s, err := server.Start(context.Background(), server.Config{
		DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0", Profile: "dccboxed",
		ResponseURL: ln.URL(), WANLinks: fast, DeviceDeadline: 5 * time.Second,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.Server = s.DUISURL

	res, err := c.Send(context.Background(), requestXML(esme, 0, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>"))
	if err != nil {
		t.Fatalf("4.1.1: %v (ack %+v)", err, res.Ack)
	}
	if res.Ack.Code != "I99" || res.Final == nil || res.Final.Code != "I0" || !res.Final.SignatureValid ||
		len(res.Final.GBCS) != 1 || !res.Final.GBCS[0].OK || res.Final.GBCS[0].CRA != "response" || res.Final.GBCS[0].Originator != esme {
		t.Fatalf("4.1.1: ack %+v final %+v", res.Ack, res.Final)
	}

	tmpl := requestXML(esme, 0, 4, "7.2", "7.2", "<sr:DisableSupply/>")
	if dir, ok := refdata.Find(); ok {
		if b, err := os.ReadFile(filepath.Join(dir, "duis", "templates", "ECS43_7.2_SUCCESS_REQUEST_DUIS.XML")); err == nil {
			tmpl = b // placeholder signature, counter 1000: re-signed with a fresh counter
			c.FreshCounter = true
		}
	}
	res, err = c.Send(context.Background(), tmpl)
	if err != nil {
		t.Fatalf("7.2: %v (steps %+v)", err, res.Steps)
	}
	if res.CommandVariant != 5 || len(res.Steps) != 2 || res.Steps[0].Response.Code != "I0" || res.Steps[0].Response.Content != "PreCommand" ||
		res.Ack.Code != "I99" || res.Final == nil || res.Final.Code != "I0" || !res.Final.SignatureValid {
		t.Fatalf("7.2: steps %+v final %+v", res.Steps, res.Final)
	}
	if g := res.Final.GBCS; len(g) != 1 || !g[0].OK || g[0].MessageCode != "0x0050" {
		t.Errorf("7.2 GBCS %+v", g)
	}
}
