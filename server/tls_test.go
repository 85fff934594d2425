package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
)

// testPKI is an ordinary X.509 CA with a server certificate for 127.0.0.1
// and a client certificate, written as PEM files.
type testPKI struct {
	dir                       string
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
	client                    tls.Certificate
	otherClient               tls.Certificate // from another CA
	caCert                    *x509.Certificate
	caKey                     *ecdsa.PrivateKey
	serial                    int64
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	p.caKey, p.caCert = p.ca(t, "test CA")
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", p.caCert.Raw)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.caCert)
	sk, sder := p.leaf(t, p.caCert, p.caKey, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	p.certFile = p.write(t, "server.pem", "CERTIFICATE", sder)
	kder, _ := x509.MarshalECPrivateKey(sk)
	p.keyFile = p.write(t, "server.key", "EC PRIVATE KEY", kder)
	ck, cder := p.leaf(t, p.caCert, p.caKey, "client", x509.ExtKeyUsageClientAuth)
	p.client = tls.Certificate{Certificate: [][]byte{cder}, PrivateKey: ck}
	ok, oc := p.ca(t, "other CA")
	k2, d2 := p.leaf(t, oc, ok, "intruder", x509.ExtKeyUsageClientAuth)
	p.otherClient = tls.Certificate{Certificate: [][]byte{d2}, PrivateKey: k2}
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *testPKI) ca(t *testing.T, cn string) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return k, c
}

func (p *testPKI) leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, usage x509.ExtKeyUsage) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, der
}

// httpClient trusts the test CA and presents certs[0], if given, whatever
// CAs the server names (the crypto/tls default would withhold a certificate
// of another CA).
func (p *testPKI) httpClient(certs ...tls.Certificate) *http.Client {
	tc := &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}
	if len(certs) > 0 {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
}

// TestDUISOverTLS: with client certificates required, a client with a
// certificate of the configured CA gets through (a signed request is
// answered), one without a certificate or with another CA's is refused in
// the handshake, and plain HTTP is not served.
func TestDUISOverTLS(t *testing.T) {
	p := newTestPKI(t)
	s, err := Start(context.Background(), Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0", Profile: "dccboxed", Log: quietLog,
		TLS: &TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile, RequireClientCert: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.DUISURL, "https://127.0.0.1:") {
		t.Fatalf("DUISURL %s", s.DUISURL)
	}
	good := p.httpClient(p.client)
	resp, err := good.Get(s.DUISURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("healthz over TLS: %d %+v", resp.StatusCode, resp.TLS)
	}
	keys := zaz1Keys(t)
	sup := eui.MustParse("90-B3-D5-1F-30-01-00-00")
	key, cert, err := keys.XMLSigningKey(sup)
	if err != nil {
		t.Fatal(err)
	}
	if code := readInventory(t, good, s.DUISURL, sup, key, cert); code != "I0" {
		t.Errorf("8.2 over TLS: %s", code)
	}
	for name, c := range map[string]*http.Client{"no client certificate": p.httpClient(), "another CA's certificate": p.httpClient(p.otherClient)} {
		if resp, err := c.Get(s.DUISURL + "/healthz"); err == nil {
			resp.Body.Close()
			t.Errorf("%s: HTTP %d, want a refused handshake", name, resp.StatusCode)
		}
	}
	if resp, err := http.Get("http" + strings.TrimPrefix(s.DUISURL, "https") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP served on the TLS port")
		}
	}
}

// TestDUISTLSOptionalClientCert: without RequireClientCert a client may
// connect without a certificate, but a certificate of an unknown CA is
// still refused.
func TestDUISTLSOptionalClientCert(t *testing.T) {
	p := newTestPKI(t)
	s, err := Start(context.Background(), Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0", Log: quietLog,
		TLS: &TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.caFile}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []*http.Client{p.httpClient(), p.httpClient(p.client)} {
		resp, err := c.Get(s.DUISURL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if resp, err := p.httpClient(p.otherClient).Get(s.DUISURL + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("another CA's client certificate accepted")
	}
}

// TestTLSConfigErrors: misconfiguration stops Start with a clear message.
func TestTLSConfigErrors(t *testing.T) {
	p := newTestPKI(t)
	for _, tc := range []struct {
		cfg  TLSConfig
		want string
	}{
		{TLSConfig{CertFile: p.certFile}, "a certificate file and a key file are both required"},
		{TLSConfig{CertFile: p.certFile, KeyFile: p.caFile}, "server certificate"},
		{TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, RequireClientCert: true}, "needs a client CA file"},
		{TLSConfig{CertFile: p.certFile, KeyFile: p.keyFile, ClientCAFile: p.keyFile}, "no X.509 PEM certificate"},
	} {
		s, err := Start(context.Background(), Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0", Log: quietLog, TLS: &tc.cfg})
		if err == nil {
			s.Close()
			t.Errorf("%+v: Start succeeded", tc.cfg)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
