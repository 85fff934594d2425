package repository

import (
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/smki/repository/repotest"
)

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDirSourceScan(t *testing.T) {
	ca := repotest.NewCA(t, "Dir Test CA")
	e1 := eui.MustParse("00-DB-12-34-56-78-91-01")
	e2 := eui.MustParse("00-DB-12-34-56-78-91-02")
	ds, _ := ca.Device(t, e1, smki.KeyUsageDigitalSignature, time.Time{})
	ka, _ := ca.Device(t, e1, smki.KeyUsageKeyAgreement, time.Time{})
	later, _ := ca.Device(t, e2, smki.KeyUsageKeyAgreement, time.Time{})
	kaCert := mustParse(t, ka)

	dir := t.TempDir()
	write(t, filepath.Join(dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.DER}))
	write(t, filepath.Join(dir, "devices", "a", "ds.der"), ds)
	write(t, filepath.Join(dir, "devices", "a", "ka.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ka}))
	write(t, filepath.Join(dir, "devices", "a", "ka.key"), []byte("not read"))
	write(t, filepath.Join(dir, "devices", "a", "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}))
	write(t, filepath.Join(dir, "revoked.crl"), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: ca.CRL(t, kaCert.SerialNumber)}))
	write(t, filepath.Join(dir, "junk.der"), []byte("junk"))
	write(t, filepath.Join(dir, ".hidden", "x.der"), later)

	m := NewMemory(Options{})
	src := &DirSource{Dir: dir, Source: Source{Name: "ca-dir"}}
	rep, err := src.Scan(m)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Certificates != 3 || rep.CRLs != 1 || len(rep.Unverified) != 0 || len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], "junk.der") {
		t.Fatalf("first scan: %+v", rep)
	}
	if got := m.Search(Query{EUI: e1, Device: true, Status: StatusRevoked}); len(got) != 1 || got[0].Certificate.SerialHex() != kaCert.SerialHex() || got[0].Source != "ca-dir" {
		t.Errorf("revoked search: %+v", got)
	}
	if got := m.Search(Query{EUI: e2, Device: true}); len(got) != 0 {
		t.Errorf("hidden folder read: %+v", got)
	}

	// A rescan reads only new or changed files.
	write(t, filepath.Join(dir, "devices", "b", "ka.der"), later)
	rep, err = src.Scan(m)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 1 || rep.Certificates != 1 {
		t.Errorf("rescan: %+v", rep)
	}
	if got := m.Search(Query{EUI: e2, Device: true, Usage: UsageKeyAgreement}); len(got) != 1 {
		t.Errorf("after rescan: %+v", got)
	}

	if _, err := (&DirSource{Dir: filepath.Join(dir, "absent")}).Scan(m); err == nil {
		t.Error("absent folder accepted")
	}
}

func TestCRL(t *testing.T) {
	ca := repotest.NewCA(t, "CRL Test CA")
	other := repotest.NewCA(t, "CRL Test CA") // same name, other key
	dev, _ := ca.Device(t, deviceEUI, smki.KeyUsageDigitalSignature, time.Time{})
	c := mustParse(t, dev)
	der := ca.CRL(t, c.SerialNumber)
	l, err := smki.ParseCRL(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Revoked) != 1 || l.Revoked[0].SerialNumber.Cmp(c.SerialNumber) != 0 || l.NextUpdate.IsZero() || l.ThisUpdate.IsZero() {
		t.Fatalf("parsed %+v", l)
	}
	if err := l.CheckSignatureFrom(mustParse(t, ca.DER)); err != nil {
		t.Errorf("own CA: %v", err)
	}
	if err := l.CheckSignatureFrom(mustParse(t, other.DER)); !errors.Is(err, smki.ErrCRLSignature) {
		t.Errorf("other CA: %v", err)
	}
	if err := l.CheckSignatureFrom(c); !errors.Is(err, smki.ErrCRLSignature) {
		t.Errorf("device as CA: %v", err)
	}

	// Unverified when the issuer is unknown; refused when the issuer in
	// the index did not sign it.
	m := NewMemory(Options{})
	m.Add(c, Source{})
	if ok, err := m.AddCRL(l); ok || err != nil {
		t.Errorf("unknown issuer: %v %v", ok, err)
	}
	if r, _ := m.BySerial(c.SerialNumber); r.Status != StatusRevoked {
		t.Errorf("status %s", r.Status)
	}
	m2 := NewMemory(Options{})
	m2.Add(mustParse(t, other.DER), Source{})
	if _, err := m2.AddCRL(l); !errors.Is(err, smki.ErrCRLSignature) {
		t.Errorf("wrong issuer: %v", err)
	}

	for _, bad := range [][]byte{nil, {0x30}, {0x30, 0x00}, der[:len(der)-1], append(append([]byte{}, der...), 0), []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")} {
		if _, err := smki.ParseCRL(bad); !errors.Is(err, smki.ErrMalformedCRL) {
			t.Errorf("ParseCRL(%x): %v", bad, err)
		}
	}
}

// TestRTDSKeystore indexes the RTDS key store (device and organisation
// certificates, private keys alongside) as `smki serve --import` does.
func TestRTDSKeystore(t *testing.T) {
	dir := refdata.Path(t, "gbcs", "rtds", "keystore")
	m := NewMemory(Options{})
	rep, err := (&DirSource{Dir: dir, Source: Source{Name: "rtds"}}).Scan(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != 0 || rep.Certificates < 400 {
		t.Fatalf("%+v", rep)
	}
	got := m.Search(Query{EUI: eui.MustParse("00-DB-12-34-56-78-90-01"), Device: true, Usage: UsageKeyAgreement, Status: StatusInUse})
	if len(got) != 1 || got[0].Certificate.SerialHex() != "413B126A6DF31823A31B4FF0D1145DD9" {
		t.Errorf("RTDS device KA: %+v", got)
	}
}
