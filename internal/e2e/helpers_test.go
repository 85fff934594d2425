package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
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

// Helpers of the oracle and negative tests: a Receive Response Service that
// keeps every document it is sent, a server.Start with fast WAN links, raw
// DUIS posts (so the server sees exactly the bytes a signer produced) and
// request editing.

var (
	anyCodeRE      = regexp.MustCompile(`<(?:\w+:)?ResponseCode>([^<]*)<`)
	anyRequestIDRE = regexp.MustCompile(`<(?:\w+:)?RequestID>([^<]*)<`)
	preCommandRE   = regexp.MustCompile(`(?s)<(?:\w+:)?PreCommand>.*?<(?:\w+:)?GBCSPayload>([^<]*)<`)
)

// receiver is a Receive Response Service recording every document posted
// to it, in order.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	docs [][]byte
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.docs = append(r.docs, b)
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/duis/response" }

// await returns the first document whose RequestID is rid (compared
// canonically), waiting up to d.
func (r *receiver) await(rid string, d time.Duration) []byte {
	want, err := duis.ParseRequestID(rid)
	if err != nil {
		return nil
	}
	deadline := time.Now().Add(d)
	for {
		r.mu.Lock()
		for _, doc := range r.docs {
			if m := anyRequestIDRE.FindSubmatch(doc); m != nil {
				if got, err := duis.ParseRequestID(string(m[1])); err == nil && got.Equal(want) {
					r.mu.Unlock()
					return doc
				}
			}
		}
		r.mu.Unlock()
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// count is the number of documents received for rid.
func (r *receiver) count(rid string) int {
	want, err := duis.ParseRequestID(rid)
	if err != nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, doc := range r.docs {
		if m := anyRequestIDRE.FindSubmatch(doc); m != nil {
			if got, err := duis.ParseRequestID(string(m[1])); err == nil && got.Equal(want) {
				n++
			}
		}
	}
	return n
}

// startDCCBoxed starts OpenDCC in-process with the dccboxed profile, 1 ms
// WAN links and responses delivered to responseURL.
func startDCCBoxed(t testing.TB, responseURL string) *server.Server {
	t.Helper()
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", ResponseURL: responseURL, WANLinks: fast, DeviceDeadline: 5 * time.Second, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// postDUIS posts doc to the web service of command variant cv and returns
// the response code (empty if the answer is not a DUIS response), the
// answer, and the HTTP status.
func postDUIS(t *testing.T, base string, cv int, doc []byte) (code string, answer []byte, status int) {
	t.Helper()
	path, err := client.Endpoint(cv)
	if err != nil {
		t.Fatal(err)
	}
	return postPath(t, base, path, doc)
}

func postPath(t *testing.T, base, path string, doc []byte) (code string, answer []byte, status int) {
	t.Helper()
	resp, err := http.Post(strings.TrimRight(base, "/")+path, "application/xml", bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	answer, _ = io.ReadAll(resp.Body)
	if m := anyCodeRE.FindSubmatch(answer); m != nil {
		code = string(m[1])
	}
	return code, answer, resp.StatusCode
}

// template reads a DUIS template of the reference data.
func template(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(refdata.Path(t, "duis", "templates", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// requestIDOf returns the RequestID text of a DUIS document.
func requestIDOf(doc []byte) string {
	if m := anyRequestIDRE.FindSubmatch(doc); m != nil {
		return string(m[1])
	}
	return ""
}

// setRequestID rewrites the RequestID: originator, target (nil: keep) and
// counter.
func setRequestID(t *testing.T, doc []byte, originator, target *eui.EUI64, counter uint64) []byte {
	t.Helper()
	id, err := duis.ParseRequestID(requestIDOf(doc))
	if err != nil {
		t.Fatal(err)
	}
	if originator != nil {
		id.Originator = *originator
	}
	if target != nil {
		id.Target = *target
	}
	id.Counter = counter
	return replaceElement(doc, "RequestID", id.Canonical())
}

// replaceElement sets the text of the first sr:<local> element.
func replaceElement(doc []byte, local, text string) []byte {
	re := regexp.MustCompile(`(<sr:` + local + `>)[^<]*(</sr:` + local + `>)`)
	done := false
	return re.ReplaceAllFunc(doc, func(m []byte) []byte {
		if done {
			return m
		}
		done = true
		sub := re.FindSubmatch(m)
		return append(append(append([]byte{}, sub[1]...), text...), sub[2]...)
	})
}

// signedPreCommandBody replaces the request's Body with SignedPreCommand
// carrying pre, and sets CommandVariant 5.
func signedPreCommandBody(t *testing.T, doc, pre []byte) []byte {
	t.Helper()
	re := regexp.MustCompile(`(?s)<sr:Body>.*</sr:Body>`)
	if !re.Match(doc) {
		t.Fatal("no sr:Body in the request")
	}
	body := `<sr:Body><sr:SignedPreCommand><sr:GBCSPayload>` + base64.StdEncoding.EncodeToString(pre) + `</sr:GBCSPayload></sr:SignedPreCommand></sr:Body>`
	doc = re.ReplaceAll(doc, []byte(body))
	return replaceElement(doc, "CommandVariant", "5")
}

// preCommandOf returns the Pre-Command of an I0 answer to CV 4.
func preCommandOf(t *testing.T, answer []byte) []byte {
	t.Helper()
	m := preCommandRE.FindSubmatch(answer)
	if m == nil {
		t.Fatalf("no PreCommand in the answer: %.300s", answer)
	}
	b, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keys is the DCC Boxed ZAZ1 key material (XML-signing and GBCS keys).
type keys struct {
	store *smki.Store
	sec   *gbcs.Security
}

func loadKeys(t testing.TB) *keys {
	t.Helper()
	st := smki.NewStore()
	if err := st.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	k := gbcs.NewKeyring()
	if err := k.AddStore(st); err != nil {
		t.Fatal(err)
	}
	return &keys{store: st, sec: gbcs.NewSecurity(k, 0)}
}

// sign signs doc with the XML-signing key of signer (OpenDCC's signer, for
// the negative cases).
func (k *keys) sign(t *testing.T, doc []byte, signer eui.EUI64) []byte {
	t.Helper()
	key, cert, err := k.store.XMLSigningKey(signer)
	if err != nil {
		t.Fatal(err)
	}
	out, err := xmldsig.Sign(doc, key, cert)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// signPreCommand signs a Pre-Command with its originator's GBCS
// digital-signing key; edit, when set, changes the message first.
func (k *keys) signPreCommand(t *testing.T, pre []byte, edit func(*gbcs.Message)) []byte {
	t.Helper()
	m, err := gbcs.Parse(pre)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind() != gbcs.KindPreCommand {
		t.Fatalf("PreCommand payload is a %s", m.Kind())
	}
	if edit != nil {
		edit(m)
	}
	m.Raw = nil
	if err := k.sec.Sign(m, nil); err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// certPEM writes the certificate of e's XML-signing key as PEM and returns
// its path (xmlsec1 takes the public key from it).
func (k *keys) certPEM(t *testing.T, e eui.EUI64) string {
	t.Helper()
	_, cert, err := k.store.XMLSigningKey(e)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("%s.pem", strings.ReplaceAll(e.String(), "-", "")))
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// counterClock gives strictly increasing RequestID counters (Unix ms, as
// the DCC Boxed tool writes them).
type counterClock struct {
	mu   sync.Mutex
	last uint64
}

func (c *counterClock) next() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := uint64(time.Now().UnixMilli())
	if n <= c.last {
		n = c.last + 1
	}
	c.last = n
	return n
}
