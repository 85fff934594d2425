package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/wan"
	"github.com/opendcc/opendcc/xmldsig"
)

// receiver is a User's Receive Response Service: it verifies and keeps
// every signed DUIS message POSTed to it.
type receiver struct {
	t    *testing.T
	keys *smki.Store
	got  chan string
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if err := duis.Validate(b); err != nil {
		rv.t.Errorf("async response not schema-valid: %v\n%s", err, b)
		w.WriteHeader(400)
		return
	}
	if _, err := xmldsig.Verify(b, xmldsig.VerifyOptions{Certificates: rv.keys, ExpectedSigner: &smki.DCCEUI}); err != nil {
		rv.t.Errorf("async response signature: %v", err)
		w.WriteHeader(400)
		return
	}
	w.WriteHeader(204)
	rv.got <- string(b)
}

func (rv *receiver) wait(requestID string, d time.Duration) string {
	rv.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-rv.got:
			if strings.Contains(m, "<sr:RequestID>"+requestID+"<") {
				return m
			}
		case <-deadline:
			rv.t.Fatalf("no asynchronous response for %s within %s", requestID, d)
		}
	}
}

var payloadRE = regexp.MustCompile(`<sr:GBCSPayload>([^<]*)<`)

// TestPipelineEndToEnd sends device requests through the whole embedded
// system: a non-critical read (I99, then a signed I0 whose GBCS response
// verifies with the device's key), the critical two-step (CV 4 Pre-Command,
// signed by the User, CV 5), a tampered Signed Pre-Command (refused), and
// an unreachable comms hub (E20); with the device responses finished as
// they arrive (the default) and through the bus (--queue-device-responses,
// also the path of a response that finds the direct workers busy).
func TestPipelineEndToEnd(t *testing.T) {
	for _, queued := range []bool{false, true} {
		t.Run(fmt.Sprintf("queued=%v", queued), func(t *testing.T) { testPipelineEndToEnd(t, queued) })
	}
}

func testPipelineEndToEnd(t *testing.T, queued bool) {
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	rv := &receiver{t: t, keys: keys, got: make(chan string, 16)}
	hs := httptest.NewServer(rv)
	defer hs.Close()
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	s, err := Start(context.Background(), Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", ResponseURL: hs.URL, WANLinks: fast, DeviceDeadline: 3 * time.Second, QueueDeviceResponses: queued})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sup := eui.MustParse("90-B3-D5-1F-30-01-00-00")
	key, cert, err := keys.XMLSigningKey(sup)
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, counter uint64, target string, cv int, sr, srv, body string) string {
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
		return string(out)
	}
	code := func(doc string) string {
		m := regexp.MustCompile(`<sr:ResponseCode>([^<]*)<`).FindStringSubmatch(doc)
		if m == nil {
			return ""
		}
		return m[1]
	}
	sec := gbcs.NewSecurity(s.Fleet.KeyStore(), 0)
	counter := uint64(time.Now().UnixMilli())
	const esme = "00-DB-12-34-56-78-90-A0"

	// Non-critical: 4.1.1 read instantaneous import registers.
	ack := post("/api/v1/serviceS", counter, esme, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>")
	if code(ack) != "I99" {
		t.Fatalf("4.1.1 ack: %s", ack)
	}
	final := rv.wait(fmt.Sprintf("90-B3-D5-1F-30-01-00-00:%s:%d", esme, counter), 10*time.Second)
	if code(final) != "I0" {
		t.Fatalf("4.1.1 final: %s", final)
	}
	raw, _ := base64.StdEncoding.DecodeString(payloadRE.FindStringSubmatch(final)[1])
	m, err := gbcs.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != gbcs.KindResponse || m.OriginatorCounter != counter || m.Originator != eui.MustParse(esme) {
		t.Errorf("device response header: kind %v counter %d originator %s", m.Kind(), m.OriginatorCounter, m.Originator)
	}
	if err := sec.VerifyMAC(m); err != nil {
		t.Errorf("device response MAC: %v", err)
	}

	// Critical: 7.2 Disable Supply is transformed (CV 4), signed, sent (CV 5).
	counter++
	pre := post("/api/v1/serviceT", counter, esme, 4, "7.2", "7.2", "<sr:DisableSupply/>")
	if code(pre) != "I0" {
		t.Fatalf("CV 4: %s", pre)
	}
	pc := regexp.MustCompile(`<sr:GBCSPayload>([^<]*)<`).FindStringSubmatch(pre)
	preRaw, _ := base64.StdEncoding.DecodeString(pc[1])
	pm, err := gbcs.Parse(preRaw)
	if err != nil || pm.Kind() != gbcs.KindPreCommand {
		t.Fatalf("Pre-Command: %v kind %v", err, pm.Kind())
	}
	// The User signs the Pre-Command with its GBCS digital-signing key.
	ring := gbcs.NewKeyring()
	if err := ring.AddStore(keys); err != nil {
		t.Fatal(err)
	}
	userSec := gbcs.NewSecurity(ring, 0)
	pm.SignatureField, pm.Raw = true, nil
	if err := userSec.Sign(pm, nil); err != nil {
		t.Fatal(err)
	}
	signed, _ := pm.Marshal()
	// A tampered Signed Pre-Command is refused and reaches no device.
	bad := append([]byte(nil), signed...)
	bad[len(bad)-70] ^= 1
	spc := func(b []byte) string {
		return "<sr:SignedPreCommand><sr:GBCSPayload>" + base64.StdEncoding.EncodeToString(b) + "</sr:GBCSPayload></sr:SignedPreCommand>"
	}
	if c := code(post("/api/v1/serviceS", counter, esme, 5, "7.2", "7.2", spc(bad))); c != "E1004" && c != "E1006" {
		t.Errorf("tampered Signed Pre-Command: %s", c)
	}
	// A Signed Pre-Command whose signature does not verify is refused.
	forged := append([]byte(nil), signed...)
	forged[len(forged)-1] ^= 1
	if c := code(post("/api/v1/serviceS", counter, esme, 5, "7.2", "7.2", spc(forged))); c != "E1006" {
		t.Errorf("forged signature: %s", c)
	}
	ack = post("/api/v1/serviceS", counter, esme, 5, "7.2", "7.2", spc(signed))
	if code(ack) != "I99" {
		t.Fatalf("CV 5 ack: %s", ack)
	}
	final = rv.wait(fmt.Sprintf("90-B3-D5-1F-30-01-00-00:%s:%d", esme, counter), 10*time.Second)
	if code(final) != "I0" {
		t.Fatalf("7.2 final: %s", final)
	}
	raw, _ = base64.StdEncoding.DecodeString(payloadRE.FindStringSubmatch(final)[1])
	if m, err = gbcs.Parse(raw); err != nil {
		t.Fatal(err)
	}
	if err := sec.VerifySignature(m); err != nil {
		t.Errorf("critical response signature: %v", err)
	}

	// The comms hub unreachable: E20.
	counter++
	s.WAN.SetReachable(eui.MustParse("00-DB-12-34-56-78-90-A2"), false)
	post("/api/v1/serviceS", counter, esme, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>")
	if c := code(rv.wait(fmt.Sprintf("90-B3-D5-1F-30-01-00-00:%s:%d", esme, counter), 10*time.Second)); c != "E20" {
		t.Errorf("unreachable hub: %s", c)
	}

	// Operations: readiness and the Prometheus metrics of what happened.
	for path, want := range map[string][]string{
		"/readyz": {"ready"},
		"/metrics": {`opendcc_requests_total{code="I99",srv="4.1.1"} 2`, `opendcc_requests_total{code="E1006",srv="7.2"} 1`,
			`opendcc_device_final_total{code="I0"} 2`, `opendcc_device_final_total{code="E20"} 1`,
			`opendcc_delivery_attempts_total{result="delivered"}`, `opendcc_bus_pending{consumer="send"} 0`,
			`opendcc_requests_in_state{state="sent"} 0`, "opendcc_device_roundtrip_seconds_count 2"},
	} {
		resp, err := http.Get(s.DUISURL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: HTTP %d", path, resp.StatusCode)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", path, w)
			}
		}
	}
}
