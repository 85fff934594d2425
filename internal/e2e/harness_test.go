package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/wan"
)

// harness is an in-process `serve --profile dccboxed` with a DUIS client
// holding the ZAZ1 keystore and a Receive Response Service that keeps what
// no request awaits (alerts, scheduled runs, E30s).
type harness struct {
	t *testing.T
	s *server.Server
	c *client.Client

	mu        sync.Mutex
	unmatched []*client.Response
}

// fastWAN: 1 ms one way in every region.
var fastWAN = map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}

// newHarness starts it; configure adjusts the server's Config (deadline,
// admin API, ...). The client takes a fresh counter for every request.
func newHarness(t *testing.T, configure func(*server.Config)) *harness {
	t.Helper()
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, c: &client.Client{Keystore: keys, Allowance: 5 * 365 * 24 * time.Hour, FreshCounter: true, Timeout: 10 * time.Second}}
	ln := &client.Listener{Verify: h.c.VerifyOptions, Security: h.c.Security(), Unmatched: func(r *client.Response) {
		h.mu.Lock()
		h.unmatched = append(h.unmatched, r)
		h.mu.Unlock()
	}}
	if err := ln.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h.c.Listener = ln
	cfg := server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", ResponseURL: ln.URL(), WANLinks: fastWAN, DeviceDeadline: 10 * time.Second, Log: quietLog()}
	if configure != nil {
		configure(&cfg)
	}
	s, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h.s, h.c.Server = s, s.DUISURL
	return h
}

// template reads a DCC Boxed request template.
func (h *harness) template(name string) []byte {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(refdata.Path(h.t, "duis", "templates"), name))
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// send posts a request and fails the test when no synchronous answer came.
func (h *harness) send(doc []byte) *client.Result {
	h.t.Helper()
	res, err := h.c.Send(context.Background(), doc)
	if res == nil || res.Ack == nil {
		h.t.Fatalf("send: %v", err)
	}
	return res
}

// waitFor returns the first unmatched delivery that matches within 15 s.
func (h *harness) waitFor(what string, match func(r *client.Response) bool) *client.Response {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if r := h.find(match); r != nil {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("no %s arrived", what)
	return nil
}

// find returns the first unmatched delivery that matches, or nil.
func (h *harness) find(match func(r *client.Response) bool) *client.Response {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.unmatched {
		if match(r) {
			return r
		}
	}
	return nil
}

// count is how many unmatched deliveries match.
func (h *harness) count(match func(r *client.Response) bool) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.unmatched {
		if match(r) {
			n++
		}
	}
	return n
}
