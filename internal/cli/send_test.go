package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/dcc"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
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

func sendServer(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	s := sendServer(t)
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

	// A device request: I99, then the final response delivered to the
	// listener (posted here as the DCC would, until the server does).
	addr := freeAddr(t)
	counter := uint64(time.Now().UnixMilli())
	rid := fmt.Sprintf("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:%d", counter)
	dev := sendRequest(t, "00-DB-12-34-56-78-90-A0", counter, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>")
	st := smki.NewStore()
	if err := st.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	key, cert, err := st.XMLSigningKey(smki.DCCEUI)
	if err != nil {
		t.Fatal(err)
	}
	final, err := (&dcc.Signer{Key: key, Cert: cert}).Response(dcc.ResponseParts{RequestID: rid, Code: "I0", SR: "4.1", SRV: "4.1.1", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		// Deliver until send has registered for it (earlier deliveries are
		// acknowledged and ignored).
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if r, err := http.Post("http://"+addr+"/duis/response", "application/xml", strings.NewReader(string(final))); err == nil {
				r.Body.Close()
			}
		}
	}()
	code, out, errs = run(t, nil, "send", "--server", s.DUISURL, "--listen", addr, "--timeout", "5s", dev)
	close(done)
	if code != 0 || !strings.Contains(out, "4.1.1") || !strings.Contains(out, "I99") || !strings.Contains(out, "final I0") {
		t.Errorf("4.1.1: exit %d:\n%s\n%s", code, out, errs)
	}

	// Timeout: exit 9, the I99 printed.
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
