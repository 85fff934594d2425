package smki

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/refdata"
)

func TestCSR(t *testing.T) {
	k := newKey(t, elliptic.P256())
	e := eui.MustParse("90B3D51F30010000")
	subj, err := OrganisationSubject(e, RoleXMLSign, "")
	if err != nil {
		t.Fatal(err)
	}
	der, err := CreateCSR(nil, k, subj)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckSignature(); err != nil {
		t.Fatal(err)
	}
	if !r.HasEUI || r.EUI != e || !r.HasRole || r.Role != RoleXMLSign || !r.PublicKey.Equal(&k.PublicKey) ||
		r.Subject != "2.5.4.45=#03090090b3d51f30010000,OU=87" {
		t.Errorf("parsed %+v", r)
	}
	// PEM input; crypto/x509 agrees on the signature.
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	if r2, err := ParseCSR(p); err != nil || r2.Subject != r.Subject {
		t.Errorf("PEM: %v", err)
	}
	if xr, err := x509.ParseCertificateRequest(der); err != nil || xr.CheckSignature() != nil {
		t.Errorf("crypto/x509 on our CSR: %v", err)
	}
	// Device CSR: empty subject.
	dd, err := CreateCSR(nil, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ParseCSR(dd); err != nil || r.HasEUI || r.Subject != "" || r.CheckSignature() != nil {
		t.Errorf("device CSR: %+v %v", r, err)
	}
	// A CSR by crypto/x509 with an extension request.
	xder, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"},
		DNSNames: []string{"example.org"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ParseCSR(xder); err != nil || r.CheckSignature() != nil || len(r.RequestedExtensions) != 1 ||
		!r.RequestedExtensions[0].ID.Equal(OIDExtSubjectAltName) {
		t.Errorf("x509 CSR: %+v %v", r, err)
	}

	// Bad signature: one bit of the signed info changed.
	bad := append([]byte(nil), der...)
	i := strings.Index(string(bad), "87")
	bad[i] = '8'
	bad[i+1] = '8'
	r, err = ParseCSR(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckSignature(); !errors.Is(err, ErrCSRSignature) {
		t.Errorf("tampered CSR: %v", err)
	}
	// RSA and P-384 requests.
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	rder, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, rk)
	if _, err := ParseCSR(rder); !errors.Is(err, ErrUnsupportedKey) || !errors.Is(err, ErrMalformedCSR) {
		t.Errorf("RSA CSR: %v", err)
	}
	p384 := newKey(t, elliptic.P384())
	pder, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, p384)
	if _, err := ParseCSR(pder); !errors.Is(err, ErrUnsupportedKey) || !strings.Contains(err.Error(), "P-384") {
		t.Errorf("P-384 CSR: %v", err)
	}
	if _, err := CreateCSR(nil, p384, nil); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("CreateCSR P-384: %v", err)
	}
	// Malformed.
	for n := 0; n < len(der); n += 5 {
		if _, err := ParseCSR(der[:n]); !errors.Is(err, ErrMalformedCSR) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	if _, err := ParseCSR([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n")); !errors.Is(err, ErrMalformedCSR) {
		t.Errorf("certificate PEM as CSR: %v", err)
	}
}

// TestOpenSSLCSR: a request made by openssl parses and verifies, and
// openssl accepts ours.
func TestOpenSSLCSR(t *testing.T) {
	openssl := refdata.Tool(t, "openssl")
	dir := t.TempDir()
	key := filepath.Join(dir, "k.pem")
	csr := filepath.Join(dir, "r.csr")
	if out, err := exec.Command(openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-subj", "/OU=02", "-out", csr).CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(csr)
	r, err := ParseCSR(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CheckSignature(); err != nil || !r.HasRole || r.Role != RoleSupplier {
		t.Errorf("openssl CSR: %v %+v", err, r)
	}
	k := newKey(t, elliptic.P256())
	subj, _ := OrganisationSubject(eui.MustParse("90B3D51F30010000"), RoleSupplier, "GITTESTSUPPLIER")
	der, err := CreateCSR(nil, k, subj)
	if err != nil {
		t.Fatal(err)
	}
	ours := filepath.Join(dir, "ours.csr")
	os.WriteFile(ours, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o600)
	out, err := exec.Command(openssl, "req", "-in", ours, "-noout", "-verify").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verify OK") {
		t.Errorf("openssl req -verify: %v\n%s", err, out)
	}
}

func TestCRL(t *testing.T) {
	h := newHierarchy(t)
	s1, s2 := mustSerial(t), mustSerial(t)
	tmpl := &CRLTemplate{Number: big.NewInt(5), ThisUpdate: h.now, NextUpdate: h.now.AddDate(0, 0, 7), Revoked: []RevokedCertificate{
		{SerialNumber: s1, RevocationTime: h.now.Add(-time.Hour), Reason: ReasonKeyCompromise},
		{SerialNumber: s2, RevocationTime: h.now.Add(-2 * time.Hour)},
	}}
	crl, err := CreateCRL(nil, tmpl, h.org, h.orgKey)
	if err != nil {
		t.Fatal(err)
	}
	if crl.Version != 2 || crl.Number.Int64() != 5 || crl.Issuer != "CN=TZ1,OU=07" || len(crl.Revoked) != 2 ||
		string(crl.AuthorityKeyID) != string(h.org.SubjectKeyID) || !crl.ThisUpdate.Equal(h.now) {
		t.Errorf("CRL: %+v", crl)
	}
	if e, ok := crl.Lookup(s1); !ok || e.Reason != ReasonKeyCompromise || !e.RevocationTime.Equal(h.now.Add(-time.Hour)) {
		t.Errorf("lookup s1: %+v %v", e, ok)
	}
	if e, ok := crl.Lookup(s2); !ok || e.Reason != ReasonUnspecified {
		t.Errorf("lookup s2: %+v %v", e, ok)
	}
	if _, ok := crl.Lookup(big.NewInt(1)); ok {
		t.Error("unlisted serial found")
	}
	// crypto/x509 reads the same list and verifies it.
	xl, err := x509.ParseRevocationList(crl.Raw)
	if err != nil {
		t.Fatal(err)
	}
	xca, _ := x509.ParseCertificate(h.org.Raw)
	if err := xl.CheckSignatureFrom(xca); err != nil || len(xl.RevokedCertificateEntries) != 2 || xl.Number.Int64() != 5 {
		t.Errorf("x509 view: %v %d", err, len(xl.RevokedCertificateEntries))
	}
	for _, e := range xl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(s1) == 0 && e.ReasonCode != ReasonKeyCompromise {
			t.Errorf("x509 reason %d", e.ReasonCode)
		}
	}
	// Signature checks.
	if err := crl.CheckSignatureFrom(h.dev); !errors.Is(err, ErrCRLSignature) {
		t.Errorf("wrong issuer: %v", err)
	}
	// Tampering: the last octet of s1 in the entry changes (a different
	// serial would be listed): the signature no longer verifies.
	bad := append([]byte(nil), crl.Raw...)
	i := strings.Index(string(bad), string(s1.Bytes()))
	if i < 0 {
		t.Fatal("serial not found in the CRL")
	}
	bad[i+len(s1.Bytes())-1] ^= 1
	bc, err := ParseCRL(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bc.Lookup(s1); ok {
		t.Fatal("tamper missed the serial")
	}
	if err := bc.CheckSignatureFrom(h.org); !errors.Is(err, ErrCRLSignature) {
		t.Errorf("tampered: %v", err)
	}
	// CRLSet: currency and numbering.
	set := NewCRLSet()
	if err := set.Add(crl, h.org, h.now.AddDate(0, 0, 8)); !errors.Is(err, ErrCRLExpired) {
		t.Errorf("stale CRL: %v", err)
	}
	if err := set.Add(crl, h.org, h.now.Add(-time.Minute)); !errors.Is(err, ErrCRLExpired) {
		t.Errorf("future CRL: %v", err)
	}
	if err := set.Add(crl, h.org, h.now); err != nil {
		t.Fatal(err)
	}
	older := *tmpl
	older.Number = big.NewInt(4)
	oc, _ := CreateCRL(nil, &older, h.org, h.orgKey)
	if err := set.Add(oc, h.org, h.now); err == nil {
		t.Error("older CRL replaced a newer one")
	}
	// Refusals.
	if _, err := CreateCRL(nil, &CRLTemplate{Number: big.NewInt(1), ThisUpdate: h.now, NextUpdate: h.now}, h.org, h.orgKey); !errors.Is(err, ErrTemplate) {
		t.Errorf("empty window: %v", err)
	}
	if _, err := CreateCRL(nil, tmpl, h.org, h.devKey); !errors.Is(err, ErrTemplate) {
		t.Errorf("wrong key: %v", err)
	}
	dup := *tmpl
	dup.Revoked = append(dup.Revoked, RevokedCertificate{SerialNumber: s1, RevocationTime: h.now})
	if _, err := CreateCRL(nil, &dup, h.org, h.orgKey); !errors.Is(err, ErrTemplate) {
		t.Errorf("duplicate entry: %v", err)
	}
	for n := 0; n < len(crl.Raw); n += 9 {
		if _, err := ParseCRL(crl.Raw[:n]); !errors.Is(err, ErrMalformedCRL) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
}

// TestCRLByX509: a CRL made by crypto/x509 parses, and one with a critical
// extension we do not implement is refused.
func TestCRLByX509(t *testing.T) {
	h := newHierarchy(t)
	xca, _ := x509.ParseCertificate(h.org.Raw)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(9), ThisUpdate: h.now, NextUpdate: h.now.Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(42), RevocationTime: h.now, ReasonCode: ReasonSuperseded}}}, xca, h.orgKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCRL(der)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := c.Lookup(big.NewInt(42)); !ok || e.Reason != ReasonSuperseded || c.CheckSignatureFrom(h.org) != nil || c.Number.Int64() != 9 {
		t.Errorf("x509 CRL: %+v %v", e, ok)
	}
	der, err = x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(10), ThisUpdate: h.now, NextUpdate: h.now.Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: OIDExtDeltaCRLIndicator, Critical: true, Value: []byte{2, 1, 9}}}}, xca, h.orgKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCRL(der); !errors.Is(err, ErrMalformedCRL) || !strings.Contains(err.Error(), "unsupported critical") {
		t.Errorf("delta CRL: %v", err)
	}
}

func TestOpenSSLCRL(t *testing.T) {
	openssl := refdata.Tool(t, "openssl")
	h := newHierarchy(t)
	k := newKey(t, elliptic.P256())
	tm := h.orgTemplate(&k.PublicKey, eui.MustParse("90B3D51F30010000"), RoleSupplier, "", KeyUsageDigitalSignature)
	tm.SerialNumber = mustSerial(t)
	leaf, err := CreateCertificate(nil, tm, h.org, h.orgKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mk := func(revoked ...*big.Int) (*CRL, *CRL) {
		var es []RevokedCertificate
		for _, s := range revoked {
			es = append(es, RevokedCertificate{SerialNumber: s, RevocationTime: now.Add(-time.Minute), Reason: ReasonKeyCompromise})
		}
		crl, err := CreateCRL(nil, &CRLTemplate{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour), Revoked: es}, h.org, h.orgKey)
		if err != nil {
			t.Fatal(err)
		}
		arl, err := CreateCRL(nil, &CRLTemplate{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour)}, h.root, h.rootKey)
		if err != nil {
			t.Fatal(err)
		}
		return crl, arl
	}
	dir := t.TempDir()
	w := func(name, typ string, der ...[]byte) string {
		var b []byte
		for _, d := range der {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	root := w("root.pem", "CERTIFICATE", h.root.Raw)
	inter := w("inter.pem", "CERTIFICATE", h.org.Raw)
	lf := w("leaf.pem", "CERTIFICATE", leaf.Raw)
	run := func(crl, arl *CRL) string {
		c := w("crl.pem", "X509 CRL", crl.Raw)
		a := w("arl.pem", "X509 CRL", arl.Raw)
		out, _ := exec.Command(openssl, "verify", "-crl_check_all", "-CAfile", root, "-untrusted", inter, "-CRLfile", c, "-CRLfile", a, lf).CombinedOutput()
		return string(out)
	}
	if out := run(mk()); !strings.Contains(out, ": OK") {
		t.Errorf("openssl with empty CRL and ARL: %s", out)
	}
	if out := run(mk(leaf.SerialNumber)); !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl with the leaf revoked: %s", out)
	}
	crl, _ := mk()
	out, err := exec.Command(openssl, "crl", "-in", w("c.pem", "X509 CRL", crl.Raw), "-CAfile", w("ca.pem", "CERTIFICATE", h.org.Raw), "-noout").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verify OK") {
		t.Errorf("openssl crl verify: %v %s", err, out)
	}
}

func FuzzParseCSR(f *testing.F) {
	k := newKey(f, elliptic.P256())
	subj, _ := OrganisationSubject(eui.MustParse("90B3D51F30010000"), RoleSupplier, "GITTESTSUPPLIER")
	for _, s := range [][]byte{subj, nil} {
		der, err := CreateCSR(nil, k, s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	xder, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"a"}}, k)
	f.Add(xder)
	f.Fuzz(func(t *testing.T, der []byte) {
		r, err := ParseCSR(der)
		if err != nil {
			if r != nil {
				t.Fatal("non-nil CSR with an error")
			}
			return
		}
		if r.PublicKey == nil {
			t.Fatal("accepted CSR without a key")
		}
		_ = r.CheckSignature()
		if _, err := NormalizeName(r.Subject); err != nil {
			t.Fatalf("own subject rendering %q does not normalise: %v", r.Subject, err)
		}
	})
}

func FuzzParseCRL(f *testing.F) {
	h := newHierarchy(f)
	for _, n := range []int{0, 1, 3} {
		var es []RevokedCertificate
		for i := 0; i < n; i++ {
			es = append(es, RevokedCertificate{SerialNumber: big.NewInt(int64(i + 1)), RevocationTime: h.now, Reason: i})
		}
		crl, err := CreateCRL(nil, &CRLTemplate{Number: big.NewInt(int64(n)), ThisUpdate: h.now, NextUpdate: h.now.Add(time.Hour), Revoked: es}, h.org, h.orgKey)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(crl.Raw)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := ParseCRL(der)
		if err != nil {
			if c != nil {
				t.Fatal("non-nil CRL with an error")
			}
			return
		}
		for _, e := range c.Revoked {
			if got, ok := c.Lookup(e.SerialNumber); !ok || got.SerialNumber.Cmp(e.SerialNumber) != 0 {
				t.Fatal("entry not found by its serial")
			}
		}
		_ = c.CheckSignatureFrom(h.org)
		_ = c.CurrentAt(h.now)
	})
}
