package ca

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
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
	"github.com/opendcc/opendcc/smki"
)

// testKEK is a fixed key-encryption key for tests (fast; the passphrase
// path is tested separately).
var testKEK = Secret{KEK: bytes.Repeat([]byte{0x5A}, 32)}

func newCA(t testing.TB) *CA {
	t.Helper()
	c, err := Init(filepath.Join(t.TempDir(), "ca"), InitOptions{}, testKEK)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var (
	supplier = eui.MustParse("90-B3-D5-1F-30-01-00-00")
	device   = eui.MustParse("00-DB-12-34-56-78-90-A0")
)

func TestInit(t *testing.T) {
	c := newCA(t)
	for _, f := range []string{"ca.json", "root.pem", "org-ca.pem", "device-ca.pem", "index.json",
		"private/root.key", "private/org-ca.key", "private/device-ca.key", "crl/org.crl", "crl/device.crl", "crl/arl.crl"} {
		if _, err := os.Stat(filepath.Join(c.Dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	st, _ := os.Stat(filepath.Join(c.Dir, "private"))
	if st.Mode().Perm() != 0o700 {
		t.Errorf("private/ mode %v", st.Mode().Perm())
	}
	st, _ = os.Stat(filepath.Join(c.Dir, "private", "org-ca.key"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}
	if c.Root.Subject != "CN=OR1" || c.Org.Subject != "CN=OZ1,OU=07" || c.Device.Subject != "CN=OE1" ||
		c.Org.Issuer != c.Root.Subject || !c.Org.HasMaxPathLen || c.Org.MaxPathLen != 0 || c.Root.HasMaxPathLen {
		t.Errorf("CA names: %q %q %q", c.Root.Subject, c.Org.Subject, c.Device.Subject)
	}
	for _, x := range c.Certificates() {
		if err := smki.CheckProfile(x); err != nil {
			t.Error(err)
		}
		if x.KeyUsage != smki.KeyUsageCertSign|smki.KeyUsageCRLSign {
			t.Errorf("%s keyUsage %s", x, x.KeyUsage)
		}
	}
	// Open reads the same.
	o, err := Open(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(o.Org.Raw, c.Org.Raw) || o.Config.CRLHours != 168 || o.Config.OrganisationPolicy != "1.2.826.0.1.8641679.1.2.1.4" {
		t.Errorf("reopened: %+v", o.Config)
	}
	ix, err := o.Index()
	if err != nil || len(ix) != 3 || ix[1].Kind != "authority" || ix[1].Usage != "ca" || ix[1].Issuer != NameRoot {
		t.Errorf("index: %+v %v", ix, err)
	}
	crls, err := o.CRLs()
	if err != nil || len(crls) != 3 || len(crls[0].Revoked) != 0 || crls[0].Number.Int64() != 1 || crls[2].Issuer != "CN=OR1" {
		t.Errorf("CRLs: %v", err)
	}
	// Refusals.
	if _, err := Init(c.Dir, InitOptions{}, testKEK); !errors.Is(err, ErrExists) {
		t.Errorf("init over a CA: %v", err)
	}
	if _, err := Init(filepath.Join(t.TempDir(), "x"), InitOptions{}, Secret{}); !errors.Is(err, ErrNoSecret) {
		t.Errorf("init without secret: %v", err)
	}
	if _, err := Init(filepath.Join(t.TempDir(), "x"), InitOptions{}, Secret{Passphrase: []byte("short")}); !errors.Is(err, ErrBadSecret) {
		t.Errorf("init with a short passphrase: %v", err)
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotCA) {
		t.Errorf("open empty dir: %v", err)
	}
}

// TestKeysEncryptedAtRest: the key files hold no key material in the
// clear, open only with the right secret, and are bound to their name.
func TestKeysEncryptedAtRest(t *testing.T) {
	c := newCA(t)
	k, err := c.key(NameOrg, testKEK)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(c.Dir, "private", "org-ca.key"))
	d := k.D.Bytes()
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k)
	for _, needle := range []string{string(d), hex.EncodeToString(d), string(pkcs8), "PRIVATE KEY"} {
		if strings.Contains(string(b), needle) || strings.Contains(strings.ToLower(string(b)), strings.ToLower(needle)) {
			t.Fatal("private key material in the clear")
		}
	}
	if _, err := c.key(NameOrg, Secret{KEK: bytes.Repeat([]byte{1}, 32)}); !errors.Is(err, ErrBadSecret) {
		t.Errorf("wrong KEK: %v", err)
	}
	if _, err := c.key(NameOrg, Secret{Passphrase: []byte("a passphrase")}); !errors.Is(err, ErrNoSecret) {
		t.Errorf("passphrase for a KEK file: %v", err)
	}
	// A key file moved to another name does not open as that CA's key.
	os.WriteFile(filepath.Join(c.Dir, "private", "device-ca.key"), b, 0o600)
	if _, err := c.key(NameDevice, testKEK); err == nil || !strings.Contains(err.Error(), "org-ca") {
		t.Errorf("swapped key file: %v", err)
	}
	// Changing the recorded name breaks the authentication tag.
	var f keyFile
	json.Unmarshal(b, &f)
	f.Name = NameDevice
	nb, _ := json.Marshal(f)
	os.WriteFile(filepath.Join(c.Dir, "private", "device-ca.key"), nb, 0o600)
	if _, err := c.key(NameDevice, testKEK); !errors.Is(err, ErrBadSecret) {
		t.Errorf("renamed key file: %v", err)
	}
}

func TestPassphrase(t *testing.T) {
	sec := Secret{Passphrase: []byte("correct horse battery staple")}
	c, err := Init(filepath.Join(t.TempDir(), "ca"), InitOptions{}, sec)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(c.Dir, "private", "root.key"))
	if !strings.Contains(string(b), `"kdf": "scrypt"`) || !strings.Contains(string(b), `"scryptLogN": 15`) {
		t.Errorf("key file: %s", b)
	}
	if _, err := c.Issue(Request{Kind: smki.KindDevice, EUI: device, Usage: smki.KeyUsageKeyAgreement, PublicKey: &newKey(t).PublicKey}, sec); err != nil {
		t.Fatal(err)
	}
	_, err = c.Issue(Request{Kind: smki.KindDevice, EUI: device, Usage: smki.KeyUsageKeyAgreement, PublicKey: &newKey(t).PublicKey},
		Secret{Passphrase: []byte("incorrect horse battery staple")})
	if !errors.Is(err, ErrBadSecret) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := c.Issue(Request{Kind: smki.KindDevice, EUI: device, Usage: smki.KeyUsageKeyAgreement, PublicKey: &newKey(t).PublicKey}, testKEK); !errors.Is(err, ErrNoSecret) {
		t.Errorf("KEK for a passphrase file: %v", err)
	}
}

func TestSecretFromEnv(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if s, err := SecretFromEnv(get); err != nil || !s.IsZero() {
		t.Errorf("empty env: %v %v", s, err)
	}
	env[EnvKEK] = strings.Repeat("ab", 32)
	env[EnvPassphrase] = "pass phrase"
	if s, err := SecretFromEnv(get); err != nil || len(s.KEK) != 32 || string(s.Passphrase) != "pass phrase" {
		t.Errorf("both: %v %v", s, err)
	}
	env[EnvKEK] = "abcd"
	if _, err := SecretFromEnv(get); !errors.Is(err, ErrBadSecret) {
		t.Errorf("short KEK: %v", err)
	}
}

func TestIssue(t *testing.T) {
	c := newCA(t)
	k := newKey(t)
	org, err := c.Issue(Request{Kind: smki.KindOrganisation, EUI: supplier, Role: smki.RoleSupplier, CommonName: "GITTESTSUPPLIER",
		Usage: smki.KeyUsageDigitalSignature, PublicKey: &k.PublicKey}, testKEK)
	if err != nil {
		t.Fatal(err)
	}
	if org.Subject != "2.5.4.45=#03090090b3d51f30010000,OU=02,CN=GITTESTSUPPLIER" || org.Issuer != "CN=OZ1,OU=07" ||
		len(org.SerialNumber.Bytes()) != 16 || org.NotAfter.Sub(org.NotBefore) < 3650*24*time.Hour {
		t.Errorf("org: %s %s %s..%s", org.Subject, org.Issuer, org.NotBefore, org.NotAfter)
	}
	if _, err := c.Verify(org, smki.PurposeXMLSigning, time.Time{}); err != nil {
		t.Errorf("verify org: %v", err)
	}
	// Device from a CSR.
	dk := newKey(t)
	csr, err := smki.CreateCSR(nil, dk, nil)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := c.Issue(Request{Kind: smki.KindDevice, EUI: device, Usage: smki.KeyUsageKeyAgreement, CSR: csr}, testKEK)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Subject != "" || dev.EUI != device || !dev.NotAfter.Equal(smki.DeviceNotAfter) || !dev.PublicKey.Equal(&dk.PublicKey) || dev.Issuer != "CN=OE1" {
		t.Errorf("device: %+v", dev)
	}
	if _, err := c.Verify(dev, smki.PurposeKeyAgreement, time.Time{}); err != nil {
		t.Errorf("verify device: %v", err)
	}
	// Stored and indexed.
	got, err := c.Certificate(dev.SerialNumber)
	if err != nil || !bytes.Equal(got.Raw, dev.Raw) {
		t.Errorf("stored device certificate: %v", err)
	}
	e, err := c.Lookup(dev.SerialNumber)
	if err != nil || e.Kind != "device" || e.EUI != device.String() || e.Usage != "ka" || e.Issuer != NameDevice {
		t.Errorf("index entry: %+v %v", e, err)
	}

	// Refusals.
	orgCSR := func(key *ecdsa.PrivateKey, e eui.EUI64, r smki.Role) []byte {
		subj, _ := smki.OrganisationSubject(e, r, "")
		b, err := smki.CreateCSR(nil, key, subj)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	badSig := orgCSR(newKey(t), supplier, smki.RoleSupplier)
	badSig[len(badSig)-5] ^= 0x40
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaCSR, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, rk)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384CSR, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, p384)
	orgReq := func(m func(*Request)) Request {
		r := Request{Kind: smki.KindOrganisation, EUI: supplier, Role: smki.RoleSupplier, Usage: smki.KeyUsageKeyAgreement, PublicKey: &newKey(t).PublicKey}
		m(&r)
		return r
	}
	cases := []struct {
		name string
		r    Request
		want error
		text string
	}{
		{"CSR bad signature", orgReq(func(r *Request) { r.PublicKey, r.CSR = nil, badSig }), smki.ErrCSRSignature, ""},
		{"CSR other EUI", orgReq(func(r *Request) { r.PublicKey, r.CSR = nil, orgCSR(newKey(t), device, smki.RoleSupplier) }), ErrRequest, "names EUI"},
		{"CSR other role", orgReq(func(r *Request) { r.PublicKey, r.CSR = nil, orgCSR(newKey(t), supplier, smki.RoleNetworkOperator) }), ErrRequest, "role 3"},
		{"CSR RSA", orgReq(func(r *Request) { r.PublicKey, r.CSR = nil, rsaCSR }), smki.ErrUnsupportedKey, "RSA"},
		{"CSR P-384", orgReq(func(r *Request) { r.PublicKey, r.CSR = nil, p384CSR }), smki.ErrUnsupportedKey, "P-384"},
		{"CSR garbage", orgReq(func(r *Request) { r.PublicKey, r.CSR = nil, []byte{0x30, 0x03, 1, 2} }), smki.ErrMalformedCSR, ""},
		{"public key P-384", orgReq(func(r *Request) { r.PublicKey = &p384.PublicKey }), smki.ErrUnsupportedKey, ""},
		{"both sources", orgReq(func(r *Request) { r.CSR = badSig }), ErrRequest, "not both"},
		{"no source", orgReq(func(r *Request) { r.PublicKey = nil }), ErrRequest, "no CSR"},
		{"two usages", orgReq(func(r *Request) { r.Usage = smki.KeyUsageDigitalSignature | smki.KeyUsageKeyAgreement }), ErrRequest, "usage"},
		{"role 0", orgReq(func(r *Request) { r.Role = 0 }), smki.ErrTemplate, "role"},
		{"device with role", orgReq(func(r *Request) { r.Kind = smki.KindDevice }), ErrRequest, "no role"},
		{"authority", orgReq(func(r *Request) { r.Kind = smki.KindAuthority }), ErrRequest, "kind"},
		{"duplicate serial", orgReq(func(r *Request) { r.Serial = org.SerialNumber }), ErrDuplicateSerial, org.SerialHex()},
		{"same key, other usage", orgReq(func(r *Request) { r.PublicKey = &k.PublicKey }), ErrRequest, "already certified for ds"},
		{"outlives the CA", orgReq(func(r *Request) { r.Years = 30 }), ErrRequest, "after the Organisation CA"},
	}
	for _, tc := range cases {
		_, err := c.Issue(tc.r, testKEK)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: err = %v, want %v %q", tc.name, err, tc.want, tc.text)
		}
	}
	// A chosen serial works once.
	s := big.NewInt(0x123456789)
	if _, err := c.Issue(orgReq(func(r *Request) { r.Serial = s }), testKEK); err != nil {
		t.Errorf("chosen serial: %v", err)
	}
	if _, err := c.Issue(orgReq(func(r *Request) { r.Serial = s }), testKEK); !errors.Is(err, ErrDuplicateSerial) {
		t.Errorf("chosen serial twice: %v", err)
	}
	ix, _ := c.Index()
	if len(ix) != 6 {
		t.Errorf("index has %d entries, want 6 (3 CAs, org, device, chosen serial)", len(ix))
	}
}

func TestRevoke(t *testing.T) {
	c := newCA(t)
	now := time.Now()
	issue := func(r Request) *smki.Certificate {
		t.Helper()
		r.PublicKey = &newKey(t).PublicKey
		x, err := c.Issue(r, testKEK)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	org := issue(Request{Kind: smki.KindOrganisation, EUI: supplier, Role: smki.RoleXMLSign, Usage: smki.KeyUsageDigitalSignature})
	org2 := issue(Request{Kind: smki.KindOrganisation, EUI: supplier, Role: smki.RoleSupplier, Usage: smki.KeyUsageKeyAgreement})
	dev := issue(Request{Kind: smki.KindDevice, EUI: device, Usage: smki.KeyUsageDigitalSignature})

	e, err := c.Revoke(org.SerialNumber, smki.ReasonKeyCompromise, now, testKEK)
	if err != nil {
		t.Fatal(err)
	}
	if e.Revoked == nil || e.Revoked.Reason != smki.ReasonKeyCompromise {
		t.Errorf("entry: %+v", e)
	}
	if _, err := c.Verify(org, smki.PurposeXMLSigning, now); !errors.Is(err, smki.ErrRevoked) {
		t.Errorf("revoked org: %v", err)
	}
	if _, err := c.Verify(org2, smki.PurposePrepayment, now); err != nil {
		t.Errorf("other org: %v", err)
	}
	crls, _ := c.CRLs()
	if len(crls[0].Revoked) != 1 || crls[0].Number.Int64() != 2 || crls[1].Number.Int64() != 1 {
		t.Errorf("org CRL: %d entries, number %v; device number %v", len(crls[0].Revoked), crls[0].Number, crls[1].Number)
	}
	if _, err := c.Revoke(org.SerialNumber, 0, now, testKEK); !errors.Is(err, ErrAlreadyRevoked) {
		t.Errorf("twice: %v", err)
	}
	if _, err := c.Revoke(big.NewInt(99), 0, now, testKEK); !errors.Is(err, ErrUnknownSerial) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := c.Revoke(c.Root.SerialNumber, 0, now, testKEK); !errors.Is(err, ErrRevokeRoot) {
		t.Errorf("root: %v", err)
	}
	if _, err := c.Revoke(dev.SerialNumber, 0, now, Secret{KEK: make([]byte, 32)}); !errors.Is(err, ErrBadSecret) {
		t.Errorf("wrong secret: %v", err)
	}
	if e, _ := c.Lookup(dev.SerialNumber); e.Revoked != nil {
		t.Error("a failed revocation changed the index")
	}
	// Device certificate: the Device CRL.
	if _, err := c.Revoke(dev.SerialNumber, 0, now, testKEK); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(dev, smki.PurposeGBCSSigning, now); !errors.Is(err, smki.ErrRevoked) {
		t.Errorf("revoked device: %v", err)
	}
	// The Organisation CA: the ARL; every organisation certificate fails.
	if _, err := c.Revoke(c.Org.SerialNumber, smki.ReasonCACompromise, now, testKEK); err != nil {
		t.Fatal(err)
	}
	var ce *smki.ChainError
	if _, err := c.Verify(org2, smki.PurposeAny, now); !errors.Is(err, smki.ErrRevoked) || !errors.As(err, &ce) || ce.Depth != 1 {
		t.Errorf("org under a revoked CA: %v", err)
	}
	crls, _ = c.CRLs()
	if e, ok := crls[2].Lookup(c.Org.SerialNumber); !ok || e.Reason != smki.ReasonCACompromise {
		t.Errorf("ARL: %+v %v", e, ok)
	}
	// Currency: a week later the lists are stale until republished.
	later := now.Add(8 * 24 * time.Hour)
	if _, err := c.Verify(org2, smki.PurposeAny, later); !errors.Is(err, smki.ErrCRLExpired) {
		t.Errorf("stale lists: %v", err)
	}
	pub, err := c.PublishCRLs(later, testKEK)
	if err != nil {
		t.Fatal(err)
	}
	if pub[0].Number.Int64() != 3 || pub[1].Number.Int64() != 3 || pub[2].Number.Int64() != 3 || len(pub[2].Revoked) != 1 {
		t.Errorf("republished numbers %v %v %v", pub[0].Number, pub[1].Number, pub[2].Number)
	}
	if _, err := c.Verify(dev, smki.PurposeAny, later); !errors.Is(err, smki.ErrRevoked) {
		t.Errorf("after republishing: %v", err)
	}
}

// TestOpenSSL: openssl verifies issued certificates with the CA files, and
// sees revocations in the published lists.
func TestOpenSSL(t *testing.T) {
	openssl := refdata.Tool(t, "openssl")
	c := newCA(t)
	dir := t.TempDir()
	w := func(name, typ string, der ...[]byte) string {
		var b []byte
		for _, d := range der {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := w("root.pem", "CERTIFICATE", c.Root.Raw)
	inter := w("issuing.pem", "CERTIFICATE", c.Org.Raw, c.Device.Raw)
	verify := func(cert *smki.Certificate, crl bool) string {
		args := []string{"verify", "-x509_strict", "-CAfile", root, "-untrusted", inter}
		if crl {
			crls, err := c.CRLs()
			if err != nil {
				t.Fatal(err)
			}
			args = append(args, "-crl_check_all", "-CRLfile", w("crls.pem", "X509 CRL", crls[0].Raw, crls[1].Raw, crls[2].Raw))
		}
		out, _ := exec.Command(openssl, append(args, w("leaf.pem", "CERTIFICATE", cert.Raw))...).CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	org, err := c.Issue(Request{Kind: smki.KindOrganisation, EUI: supplier, Role: smki.RoleXMLSign, Usage: smki.KeyUsageDigitalSignature,
		PublicKey: &newKey(t).PublicKey}, testKEK)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := c.Issue(Request{Kind: smki.KindDevice, EUI: device, Usage: smki.KeyUsageDigitalSignature, PublicKey: &newKey(t).PublicKey}, testKEK)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*smki.Certificate{org, dev} {
		for _, crl := range []bool{false, true} {
			if out := verify(x, crl); !strings.HasSuffix(out, ": OK") {
				t.Errorf("%s (CRL check %v): %s", x, crl, out)
			} else {
				t.Logf("openssl verify %s (CRL check %v): %s", x.Kind, crl, out)
			}
		}
	}
	if _, err := c.Revoke(dev.SerialNumber, smki.ReasonKeyCompromise, time.Now(), testKEK); err != nil {
		t.Fatal(err)
	}
	if out := verify(dev, true); !strings.Contains(out, "certificate revoked") {
		t.Errorf("revoked device: %s", out)
	} else {
		t.Logf("after revocation: %s", strings.ReplaceAll(out, "\n", " | "))
	}
	if out := verify(org, true); !strings.HasSuffix(out, ": OK") {
		t.Errorf("org after the device revocation: %s", out)
	}
}
