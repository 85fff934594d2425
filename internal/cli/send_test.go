package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/wan"
)

func sendRequest(t *testing.T, target string, counter uint64, cv int, sr, srv, body string) string {
	t.Helper()
	doc := fmt.Sprintf(`<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header>`+
		`<sr:RequestID>90-B3-D5-1F-30-01-00-00:%s:%d</sr:RequestID><sr:CommandVariant>%d</sr:CommandVariant>`+
		`<sr:ServiceReference>%s</sr:ServiceReference><sr:ServiceReferenceVariant>%s</sr:ServiceReferenceVariant>`+
		`</sr:Header><sr:Body>%s</sr:Body></sr:Request>`, target, counter, cv, sr, srv, body)
	p := filepath.Join(t.TempDir(), "req.xml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func sendServer(t *testing.T, responseURL string) *server.Server {
	t.Helper()
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", ResponseURL: responseURL, WANLinks: fast, DeviceDeadline: 5 * time.Second,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestSendCommand(t *testing.T) {
	addr := freeAddr(t)
	s := sendServer(t, "http://"+addr+"/duis/response")
	inv := sendRequest(t, "90-B3-D5-1F-30-00-00-02", 0, 8, "8.2", "8.2",
		"<sr:ReadInventory><sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID></sr:ReadInventory>")
	code, out, errs := run(t, nil, "send", "--server", s.DUISURL, "--json", inv)
	if code != 0 {
		t.Fatalf("8.2: exit %d: %s %s", code, out, errs)
	}
	var j map[string]any
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if j["ack"] != "I0" || j["final"] != nil || j["srv"] != "8.2" || j["commandVariant"] != 8.0 || !strings.HasPrefix(j["requestId"].(string), "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:") {
		t.Errorf("8.2 JSON: %s", out)
	}

	// A device request: I99, then the final response the server's
	// pipeline delivers to the listener (the users' ResponseURL).
	counter := uint64(time.Now().UnixMilli())
	dev := sendRequest(t, "00-DB-12-34-56-78-90-A0", counter, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>")
	code, out, errs = run(t, nil, "send", "--server", s.DUISURL, "--smki", s.SMKIURL, "--listen", addr, "--timeout", "10s", dev)
	if code != 0 || !strings.Contains(out, "4.1.1") || !strings.Contains(out, "I99") || !strings.Contains(out, "final I0") ||
		!strings.Contains(out, "CRA response") || !strings.Contains(errs, "waiting up to 10s") ||
		!strings.Contains(out, "MAC valid, signature absent, decrypted true") {
		t.Errorf("4.1.1: exit %d:\n%s\n%s", code, out, errs)
	}
	// In JSON: the device's MAC checked and the registers decrypted with
	// the ESME's certificate from the SMKI repository; without it, unknown.
	for _, tc := range []struct {
		smki, mac string
		decrypted bool
	}{{s.SMKIURL, "valid", true}, {"", "unknown", false}} {
		code, out, errs = run(t, nil, "send", "--server", s.DUISURL, "--smki", tc.smki, "--listen", addr, "--timeout", "10s", "--json",
			sendRequest(t, "00-DB-12-34-56-78-90-A0", 0, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>"))
		j = nil
		if err := json.Unmarshal([]byte(out), &j); err != nil || code != 0 {
			t.Fatalf("4.1.1 --smki %q: exit %d %v: %s %s", tc.smki, code, err, out, errs)
		}
		g, _ := j["gbcs"].(map[string]any)
		if j["final"] != "I0" || g == nil || g["mac"] != tc.mac || g["decrypted"] != tc.decrypted || g["signature"] != "absent" {
			t.Errorf("4.1.1 --smki %q JSON: %s", tc.smki, out)
		}
	}

	// The critical two-step, in JSON.
	code, out, errs = run(t, nil, "send", "--server", s.DUISURL, "--smki", s.SMKIURL, "--listen", addr, "--timeout", "10s", "--json",
		sendRequest(t, "00-DB-12-34-56-78-90-A0", 0, 4, "7.2", "7.2", "<sr:DisableSupply/>"))
	j = nil
	if err := json.Unmarshal([]byte(out), &j); err != nil || code != 0 {
		t.Fatalf("7.2: exit %d %v: %s %s", code, err, out, errs)
	}
	if j["commandVariant"] != 5.0 || j["ack"] != "I99" || j["final"] != "I0" || j["finalSignatureValid"] != true || j["gbcs"] == nil || j["elapsedMs"] == nil {
		t.Errorf("7.2 JSON: %s", out)
	}
	if g, _ := j["gbcs"].(map[string]any); g == nil || g["signature"] != "valid" || g["mac"] != "absent" || g["ok"] != true {
		t.Errorf("7.2 GBCS (the device's signature, checked with its certificate from SMKI): %s", out)
	}

	// Timeout (the server delivers to addr, nobody listens there): exit 9,
	// the I99 printed.
	dev = sendRequest(t, "00-DB-12-34-56-78-90-A0", 0, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>")
	code, out, errs = run(t, nil, "send", "--server", s.DUISURL, "--listen", "127.0.0.1:0", "--timeout", "200ms", "--json", dev)
	if code != 9 || !strings.Contains(out, `"ack":"I99"`) || !strings.Contains(out, `"final":null`) {
		t.Errorf("timeout: exit %d: %s %s", code, out, errs)
	}

	// Replayed counter: E-code, exit 7.
	code, out, _ = run(t, nil, "send", "--server", s.DUISURL, "--no-wait", sendRequest(t, "00-DB-12-34-56-78-90-A0", counter, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>"))
	if code != 7 {
		t.Errorf("replay: exit %d: %s", code, out)
	}
	// Not a request: 2; no server: 8; missing file: 1.
	bad := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(bad, []byte("<a/>"), 0o600)
	if code, _, _ := run(t, nil, "send", "--server", s.DUISURL, "--no-wait", bad); code != 2 {
		t.Errorf("not DUIS: exit %d", code)
	}
	if code, _, errs := run(t, nil, "send", "--server", "http://"+freeAddr(t), "--no-wait", inv); code != 8 {
		t.Errorf("no server: exit %d %s", code, errs)
	}
	if code, _, _ := run(t, nil, "send", "--no-wait", filepath.Join(t.TempDir(), "missing.xml")); code != 1 {
		t.Errorf("missing file: exit %d", code)
	}
}

// TestParseSMKI: `duis parse` and `gbcs parse` with --smki check a device
// response's MAC and decrypt it with the device's certificate from the
// repository of `serve --profile dccboxed`.
func TestParseSMKI(t *testing.T) {
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	cl := &client.Client{Keystore: keys, Allowance: dccBoxedAllowance, Timeout: 10 * time.Second}
	ln := &client.Listener{Verify: cl.VerifyOptions}
	if err := ln.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cl.Listener = ln
	s := sendServer(t, ln.URL())
	cl.Server = s.DUISURL
	doc, err := os.ReadFile(sendRequest(t, "00-DB-12-34-56-78-90-A0", 0, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Send(context.Background(), doc)
	if err != nil || res.Final == nil {
		t.Fatalf("4.1.1: %v", err)
	}
	resp := filepath.Join(t.TempDir(), "resp.xml")
	if err := os.WriteFile(resp, res.Final.Raw, 0o600); err != nil {
		t.Fatal(err)
	}
	found, err := gbcsPayloads(res.Final.Raw)
	if err != nil || len(found) != 1 {
		t.Fatalf("GBCSPayload: %v %v", err, found)
	}
	for _, tc := range []struct {
		args      []string
		mac       string
		decrypted bool
	}{
		{[]string{"duis", "parse", "--keys", "dccboxed", "--smki", s.SMKIURL, "--json", resp}, "valid", true},
		{[]string{"duis", "parse", "--keys", "dccboxed", "--json", resp}, "unknown", false},
		{[]string{"gbcs", "parse", "--keys", "dccboxed", "--smki", s.SMKIURL, "--json", strings.Join(strings.Fields(found[0].text), "")}, "valid", true},
	} {
		code, out, errs := run(t, nil, tc.args...)
		var first map[string]any
		if err := json.NewDecoder(strings.NewReader(out)).Decode(&first); err != nil || code != 0 {
			t.Fatalf("%v: exit %d %v: %s %s", tc.args, code, err, out, errs)
		}
		if first["mac"] != tc.mac || first["decrypted"] != tc.decrypted {
			t.Errorf("%v: %s", tc.args, out)
		}
	}
}
