package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/smki/repository"
	"github.com/opendcc/opendcc/smki/repository/repotest"
	"github.com/opendcc/opendcc/wan"
)

// TestSMKIKeyStore: device certificates by EUI and usage, from a
// repository.Handler; answers cached, failures logged and empty.
func TestSMKIKeyStore(t *testing.T) {
	dev := eui.MustParse("00-DB-12-34-56-78-90-A1")
	ca := repotest.NewCA(t, "OpenDCC Test Device CA")
	dsDER, _ := ca.Device(t, dev, smki.KeyUsageDigitalSignature, time.Time{})
	kaDER, _ := ca.Device(t, dev, smki.KeyUsageKeyAgreement, time.Time{})
	idx := repository.NewMemory(repository.Options{})
	for _, der := range [][]byte{dsDER, kaDER} {
		c, err := smki.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		idx.Add(c, repository.Source{Name: "test"})
	}
	idx.AddStore(keystore(t), repository.Source{Name: "dccboxed"})
	var posts atomic.Int32
	h := &repository.Handler{Index: idx}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	var logs []string
	var mu sync.Mutex
	ks := NewSMKIKeyStore(srv.URL, func(f string, a ...any) { mu.Lock(); logs = append(logs, fmt.Sprintf(f, a...)); mu.Unlock() })
	now := time.Now()
	ks.Now = func() time.Time { return now }

	var wg sync.WaitGroup
	for i := 0; i < 4; i++ { // concurrent lookups of one slot: one search
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c := ks.Certificates(dev, gbcs.UsageKeyAgreement); len(c) != 1 || !bytes.Equal(c[0].Raw, kaDER) {
				t.Errorf("KA: %v", c)
			}
		}()
	}
	wg.Wait()
	if n := posts.Load(); n != 2 { // search + retrieve
		t.Errorf("%d posts for one KA lookup, want 2", n)
	}
	if c := ks.Certificates(dev, gbcs.UsageDigitalSignature); len(c) != 1 || !bytes.Equal(c[0].Raw, dsDER) {
		t.Errorf("DS: %v", c)
	}
	if c := ks.Certificates(dev, gbcs.UsagePrepayment); c != nil || ks.PrivateKeys(dev, gbcs.UsageKeyAgreement) != nil {
		t.Error("prepayment certificates or private keys from a repository")
	}
	// Organisation certificates are not device certificates.
	supp := eui.MustParse(supplier)
	if c := ks.Certificates(supp, gbcs.UsageDigitalSignature); len(c) != 0 {
		t.Errorf("supplier DS from the SMKI store: %d", len(c))
	}
	before := posts.Load()
	ks.Certificates(dev, gbcs.UsageKeyAgreement)
	ks.Certificates(supp, gbcs.UsageDigitalSignature)
	if posts.Load() != before {
		t.Error("cached answers looked up again")
	}
	now = now.Add(DefaultSMKIMissingTTL + time.Second) // the "none" expires, the found not
	ks.Certificates(dev, gbcs.UsageKeyAgreement)
	ks.Certificates(supp, gbcs.UsageDigitalSignature)
	if n := posts.Load() - before; n != 1 {
		t.Errorf("%d posts after the negative TTL, want 1", n)
	}

	// With the user's keys, in a MultiKeyStore.
	user := gbcs.NewKeyring()
	if err := user.AddStore(keystore(t)); err != nil {
		t.Fatal(err)
	}
	ms := gbcs.MultiKeyStore{user, ks}
	if len(ms.Certificates(dev, gbcs.UsageKeyAgreement)) != 1 || len(ms.Certificates(supp, gbcs.UsageKeyAgreement)) == 0 || len(ms.PrivateKeys(supp, gbcs.UsageKeyAgreement)) == 0 {
		t.Error("MultiKeyStore{user, smki}")
	}

	// An unreachable repository: no certificate, logged once per TTL.
	bad := NewSMKIKeyStore("http://127.0.0.1:1", ks.Logf)
	if c := bad.Certificates(dev, gbcs.UsageKeyAgreement); c != nil {
		t.Errorf("unreachable: %v", c)
	}
	bad.Certificates(dev, gbcs.UsageKeyAgreement)
	mu.Lock()
	defer mu.Unlock()
	if len(logs) != 1 || !strings.Contains(logs[0], "KA certificate of 00-DB-12-34-56-78-90-A1") {
		t.Errorf("logs %q", logs)
	}
}

// TestSendSMKI: against `serve --profile dccboxed`, with the device
// certificates from its SMKI repository the final responses' GBCS MACs and
// signatures verify and sensitive payloads are decrypted; without, they are
// unknown.
func TestSendSMKI(t *testing.T) {
	c := newClient(t, "")
	c.SMKI = "set below"
	c.Timeout = 10 * time.Second
	c.FreshCounter = true
	ln := &Listener{Verify: c.VerifyOptions}
	if err := ln.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c.Listener = ln
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", ResponseURL: ln.URL(), WANLinks: fast, DeviceDeadline: 5 * time.Second,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.Server, c.SMKI = s.DUISURL, s.SMKIURL
	c.SMKILog = t.Logf
	ln.Security = c.Security()

	send := func(cv int, sr, srv, body string) GBCSMessage {
		t.Helper()
		res, err := c.Send(context.Background(), requestXML(esme, 0, cv, sr, srv, body))
		if err != nil {
			t.Fatalf("%s: %v", srv, err)
		}
		if res.Final == nil || res.Final.Code != "I0" || len(res.Final.GBCS) != 1 {
			t.Fatalf("%s: final %+v", srv, res.Final)
		}
		return res.Final.GBCS[0]
	}
	g := send(1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>")
	if !g.OK || g.MAC != "valid" || !g.Decrypted || g.Originator != esme || g.Payload == nil {
		t.Errorf("4.1.1 GBCS: %s %s MAC %s decrypted %v: %s", g.Originator, g.MessageCode, g.MAC, g.Decrypted, g.Error)
	}
	g = send(4, "7.2", "7.2", "<sr:DisableSupply/>")
	if !g.OK || g.Signature != "valid" || g.MAC != "absent" { // a critical response is signed, not MACed
		t.Errorf("7.2 GBCS: %s %s MAC %s signature %s", g.Originator, g.MessageCode, g.MAC, g.Signature)
	}

	// Without SMKI: the same response's checks are unknown.
	res, err := (&Client{Server: s.DUISURL, Keystore: c.Keystore, Allowance: c.Allowance, Listener: ln}).Send(context.Background(),
		requestXML(esme, 0, 1, "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>"))
	if err != nil || res.Final == nil {
		t.Fatalf("4.1.1 without SMKI: %v", err)
	}
	// The listener decodes with its own Security (with SMKI); decode again without.
	sec := gbcs.NewSecurity(func() gbcs.KeyStore { k := gbcs.NewKeyring(); k.AddStore(c.Keystore); return k }(), 0)
	r, err := ParseResponse(res.Final.Raw, c.VerifyOptions(), sec)
	if err != nil || len(r.GBCS) != 1 {
		t.Fatalf("reparse: %v", err)
	}
	if g := r.GBCS[0]; g.MAC != "unknown" || g.Decrypted {
		t.Errorf("4.1.1 without SMKI: MAC %s decrypted %v", g.MAC, g.Decrypted)
	}
}
