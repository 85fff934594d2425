package smki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/refdata"
)

// testPKI issues a CA, an organisation certificate and a device certificate
// of the SMKI shape with crypto/x509 (as go-stack.md §3 describes).
type testPKI struct {
	caKey, orgKey, devKey *ecdsa.PrivateKey
	caDER, orgDER, devDER []byte
}

func newKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	p := &testPKI{caKey: newKey(t, elliptic.P256()), orgKey: newKey(t, elliptic.P256()), devKey: newKey(t, elliptic.P256())}
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "T1", OrganizationalUnit: []string{"07"}},
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
		SubjectKeyId:          []byte{1, 2, 3, 4, 5, 6, 7, 8},
	}
	var err error
	if p.caDER, err = x509.CreateCertificate(rand.Reader, ca, ca, &p.caKey.PublicKey, p.caKey); err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(p.caDER)
	if err != nil {
		t.Fatal(err)
	}
	policies := mustMarshal(t, []struct{ ID asn1.ObjectIdentifier }{{smkiOrgPolicy}})
	org := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes([]byte{0x14, 0xBE, 0x4A, 0xD2, 0xEA, 0x1D, 0x0E, 0x4E, 0xC7, 0xF7, 0x15, 0x6B, 0xD2, 0x46, 0x24, 0xA7}),
		Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: asn1.ObjectIdentifier{2, 5, 4, 11}, Value: "87"},
			{Type: asn1.ObjectIdentifier{2, 5, 4, 45}, Value: asn1.BitString{Bytes: []byte{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0x01, 0x00, 0x00}, BitLength: 64}},
		}},
		NotBefore:       time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:        time.Date(2118, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		SubjectKeyId:    []byte{9, 9, 9, 9, 9, 9, 9, 9},
		ExtraExtensions: []pkix.Extension{{Id: OIDExtCertificatePolicies, Critical: true, Value: policies}},
	}
	if p.orgDER, err = x509.CreateCertificate(rand.Reader, org, caCert, &p.orgKey.PublicKey, p.caKey); err != nil {
		t.Fatal(err)
	}
	// SAN: GeneralNames { [0] otherName { hardwareModuleName, [0] EXPLICIT HardwareModuleName } }
	hw := mustMarshal(t, struct {
		Type   asn1.ObjectIdentifier
		Serial []byte
	}{asn1.ObjectIdentifier{1, 2, 826, 0, 1, 1800000, 1, 2, 2, 1}, []byte{0x00, 0xDB, 0x12, 0x34, 0x56, 0x78, 0x90, 0xA0}})
	otherName := mustMarshal(t, asn1.RawValue{Class: 2, Tag: 0, IsCompound: true, Bytes: append(
		mustMarshal(t, OIDHardwareModuleName),
		mustMarshal(t, asn1.RawValue{Class: 2, Tag: 0, IsCompound: true, Bytes: hw})...)})
	san := mustMarshal(t, asn1.RawValue{Class: 0, Tag: 16, IsCompound: true, Bytes: otherName})
	dev := &x509.Certificate{
		SerialNumber:    big.NewInt(1001),
		NotBefore:       time.Date(2016, 4, 6, 0, 0, 0, 0, time.UTC),
		NotAfter:        time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		KeyUsage:        x509.KeyUsageKeyAgreement,
		ExtraExtensions: []pkix.Extension{{Id: OIDExtSubjectAltName, Critical: true, Value: san}},
	}
	if p.devDER, err = x509.CreateCertificate(rand.Reader, dev, caCert, &p.devKey.PublicKey, p.caKey); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSyntheticCertificates(t *testing.T) {
	p := newTestPKI(t)
	ca, err := ParseCertificate(p.caDER)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Kind != KindAuthority || ca.Subject != "CN=T1,OU=07" || !ca.IsCA {
		t.Errorf("CA: kind %v subject %q", ca.Kind, ca.Subject)
	}
	org, err := ParseCertificate(p.orgDER)
	if err != nil {
		t.Fatal(err)
	}
	if org.Kind != KindOrganisation || org.EUI != eui.MustParse("90-B3-D5-1F-30-01-00-00") || org.Role != RoleXMLSign ||
		org.Subject != "2.5.4.45=#03090090b3d51f30010000,OU=87" || org.Issuer != "CN=T1,OU=07" ||
		!org.PoliciesCritical || org.KeyUsage != KeyUsageDigitalSignature || string(org.AuthorityKeyID) != string(ca.SubjectKeyID) {
		t.Errorf("org: %+v", org)
	}
	if !org.PublicKey.Equal(&p.orgKey.PublicKey) {
		t.Error("org: public key differs")
	}
	if err := org.CheckSignatureFrom(ca); err != nil {
		t.Errorf("org.CheckSignatureFrom(ca): %v", err)
	}
	if err := org.CheckSignatureFrom(org); !errors.Is(err, ErrSignatureCheck) {
		t.Errorf("org.CheckSignatureFrom(org): %v", err)
	}
	dev, err := ParseCertificate(p.devDER)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Kind != KindDevice || dev.EUI != eui.MustParse("00-DB-12-34-56-78-90-A0") || dev.Subject != "" ||
		dev.KeyUsage != KeyUsageKeyAgreement || dev.NotAfter.Year() != 9999 || len(dev.UnhandledCriticalExtensions) != 0 {
		t.Errorf("device: %+v", dev)
	}
	if err := dev.CheckSignatureFrom(ca); err != nil {
		t.Errorf("dev.CheckSignatureFrom(ca): %v", err)
	}
	// Tampering with the TBS breaks the signature.
	bad := append([]byte(nil), p.orgDER...)
	i := strings.Index(string(bad), "87")
	bad[i+1] = '8'
	tampered, err := ParseCertificate(bad)
	if err != nil {
		t.Fatal(err)
	}
	if tampered.Role != 0x88 {
		t.Fatalf("tamper did not hit the OU: role %v", tampered.Role)
	}
	if err := tampered.CheckSignatureFrom(ca); !errors.Is(err, ErrSignatureCheck) {
		t.Errorf("tampered: %v", err)
	}
	// Stdlib refuses the organisation certificate; that is why this package exists.
	if _, err := x509.ParseCertificate(p.orgDER); err == nil {
		t.Log("note: crypto/x509 now parses SMKI organisation certificates")
	}
}

func TestUnsupportedKeys(t *testing.T) {
	p := newTestPKI(t)
	caCert, _ := x509.ParseCertificate(p.caDER)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(5), NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1e9, 0),
		Subject: pkix.Name{CommonName: "x"}, IsCA: true, BasicConstraintsValid: true}
	p384 := newKey(t, elliptic.P384())
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &p384.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCertificate(der); !errors.Is(err, ErrUnsupportedKey) || !strings.Contains(err.Error(), "P-384") {
		t.Errorf("P-384: %v", err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, caCert, &rk.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCertificate(der); !errors.Is(err, ErrUnsupportedKey) || !strings.Contains(err.Error(), "RSA") {
		t.Errorf("RSA: %v", err)
	}
}

func TestMalformedCertificates(t *testing.T) {
	p := newTestPKI(t)
	for n := 0; n < len(p.orgDER); n += 7 {
		if _, err := ParseCertificate(p.orgDER[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated to %d: err = %v", n, err)
		}
	}
	if _, err := ParseCertificate(append(append([]byte(nil), p.orgDER...), 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Errorf("trailing byte: %v", err)
	}
	if _, err := ParsePEM([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("public key PEM: %v", err)
	}
}

func TestParseRole(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Role
		ok   bool
	}{{"87", RoleXMLSign, true}, {"89", RoleDSPXMLSign, true}, {"137", RoleDSPXMLSign, true}, {"02", RoleSupplier, true},
		{"7F", RoleOther, true}, {"7f", RoleOther, true}, {"135", 0, false}, {"", 0, false}, {"8", 0, false}, {"zz", 0, false}} {
		r, err := ParseRole(tc.in)
		if (err == nil) != tc.ok || r != tc.want {
			t.Errorf("ParseRole(%q) = %v, %v", tc.in, r, err)
		}
	}
	if RoleXMLSign.String() != "xmlSign" || int(RoleXMLSign) != 135 || !RoleDSPXMLSign.IsXMLSigning() || RoleSupplier.IsXMLSigning() {
		t.Error("role constants")
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"CN=Z1,OU=07", "CN=Z1, OU=07"},
		{"CN=Z1,OU=07", " cn = z1 ;ou=07"},
		{"CN=Z1,OU=07", "OID.2.5.4.3=Z1,2.5.4.11=07"},
		{"CN=a\\,b,OU=07", "CN=\"a,b\",OU=07"},
		{"CN=A  B", "cn=a b"},
		{"2.5.4.45=#03090090B3D51F30010000", "2.5.4.45=#03090090b3d51f30010000"},
		{"CN=x+OU=y", "cn=X + ou=Y"},
		{"", ""},
	} {
		if !EqualNames(tc.a, tc.b) {
			na, e1 := NormalizeName(tc.a)
			nb, e2 := NormalizeName(tc.b)
			t.Errorf("EqualNames(%q, %q) = false (%q %v / %q %v)", tc.a, tc.b, na, e1, nb, e2)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"CN=Z1,OU=07", "OU=07,CN=Z1"},
		{"CN=Z1,OU=07", "CN=U1,OU=07"},
		{"CN=a\\,b", "CN=a,CN=b"},
		{"CN=x+OU=y", "CN=x,OU=y"},
		{"CN=Z1", "CN=Z1,"},
		{"junk", "junk"},
	} {
		if EqualNames(tc.a, tc.b) {
			t.Errorf("EqualNames(%q, %q) = true", tc.a, tc.b)
		}
	}
	for in, want := range map[string]string{
		"a,b":     `a\,b`,
		" lead":   `\ lead`,
		"trail  ": `trail\ \ `,
		"#x=y":    `\#x\=y`,
		"q\"<>;+": `q\"\<\>\;\+`,
	} {
		if got := escapeRFC2253(in); got != want {
			t.Errorf("escapeRFC2253(%q) = %q, want %q", in, got, want)
		}
		n, err := NormalizeName("CN=" + want)
		if err != nil {
			t.Errorf("NormalizeName(CN=%s): %v", want, err)
		}
		_ = n
	}
}

func TestParsePrivateKey(t *testing.T) {
	k := newKey(t, elliptic.P256())
	pk8, _ := x509.MarshalPKCS8PrivateKey(k)
	sec1, _ := x509.MarshalECPrivateKey(k)
	forms := map[string][]byte{
		"pkcs8 der": pk8,
		"sec1 der":  sec1,
		"pkcs8 pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk8}),
		"sec1 pem": append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...),
	}
	for name, b := range forms {
		got, err := ParsePrivateKey(b)
		if err != nil || !got.Equal(k) {
			t.Errorf("%s: %v", name, err)
		}
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	rb, _ := x509.MarshalPKCS8PrivateKey(rk)
	if _, err := ParsePrivateKey(rb); !errors.Is(err, ErrBadKey) {
		t.Errorf("RSA: %v", err)
	}
	p384, _ := x509.MarshalPKCS8PrivateKey(newKey(t, elliptic.P384()))
	if _, err := ParsePrivateKey(p384); !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "P-384") {
		t.Errorf("P-384: %v", err)
	}
	if _, err := ParsePrivateKey([]byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")); !errors.Is(err, ErrBadKey) {
		t.Errorf("no key block: %v", err)
	}
}

func TestReferenceKeyFiles(t *testing.T) {
	dir := refdata.Path(t, "zaz1")
	der, err := LoadPrivateKeyFile(filepath.Join(dir, "dsp-xml-sign-90B3D51F30000002-ds.key"))
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := LoadPrivateKeyFile(filepath.Join(dir, "dsp-xml-sign-90B3D51F30000002-ds.key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !der.Equal(pemKey) {
		t.Error("DER and PEM forms of the DSP key differ")
	}
	// The two DSP XML-signing certificates share this key pair.
	for _, f := range []string{"dsp-xml-sign-90B3D51F30000002-ds.pem", "Z1-accessControlBroker-dSPXmlSign.pem"} {
		c, err := LoadCertificateFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !KeyMatches(c, der) {
			t.Errorf("%s: key does not match", f)
		}
	}
}

func TestStoreAdd(t *testing.T) {
	p := newTestPKI(t)
	org, _ := ParseCertificate(p.orgDER)
	s := NewStore()
	if err := s.Add(org, p.devKey); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatched key: %v", err)
	}
	if err := s.Add(org, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.XMLSigningKey(org.EUI); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("no key yet: %v", err)
	}
	if err := s.Add(org, p.orgKey); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Errorf("Len = %d after re-adding", s.Len())
	}
	k, c, err := s.XMLSigningKey(org.EUI)
	if err != nil || c != org || !k.Equal(p.orgKey) {
		t.Errorf("XMLSigningKey: %v %v", c, err)
	}
	if got := s.ByEUI(org.EUI); len(got) != 1 {
		t.Errorf("ByEUI: %d", len(got))
	}
}

func TestLoadDirErrors(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("org.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.orgDER}))
	write("dev.der", p.devDER)
	k8, _ := x509.MarshalPKCS8PrivateKey(p.orgKey)
	write("org.key", k8)
	write("orphan.key", k8)
	pub, _ := x509.MarshalPKIXPublicKey(&p.devKey.PublicKey)
	write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	write("notes.txt", []byte("ignored"))
	s := NewStore()
	if err := s.LoadDir(dir); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2", s.Len())
	}
	if _, _, err := s.XMLSigningKey(eui.MustParse("90B3D51F30010000")); err != nil {
		t.Errorf("paired key: %v", err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(p.devKey)
	write("org.key", kd)
	if err := NewStore().LoadDir(dir); !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), "org.key") {
		t.Errorf("mismatch: %v", err)
	}
	write("org.key", k8)
	write("broken.pem", []byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	if err := NewStore().LoadDir(dir); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "broken.pem") {
		t.Errorf("broken: %v", err)
	}
}

func FuzzParseCertificate(f *testing.F) {
	p := newTestPKI(f)
	f.Add(p.caDER)
	f.Add(p.orgDER)
	f.Add(p.devDER)
	if d, ok := refdata.Find(); ok {
		for _, glob := range []string{"zaz1/*.pem", "gbcs/rtds/keystore/*.pem"} {
			fs, _ := filepath.Glob(filepath.Join(d, glob))
			for _, fn := range fs {
				b, err := os.ReadFile(fn)
				if err != nil {
					continue
				}
				if blk, _ := pem.Decode(b); blk != nil && blk.Type == "CERTIFICATE" {
					f.Add(blk.Bytes)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := ParseCertificate(der)
		if err != nil {
			if c != nil {
				t.Fatal("non-nil certificate with an error")
			}
			return
		}
		_ = c.String()
		if c.PublicKey == nil || c.SerialNumber == nil || c.Kind == 0 {
			t.Fatalf("accepted certificate lacks essentials: %+v", c)
		}
		if _, err := NormalizeName(c.Issuer); err != nil {
			t.Fatalf("own issuer rendering %q does not normalise: %v", c.Issuer, err)
		}
		c2, err := ParseCertificate(c.Raw)
		if err != nil || c2.Subject != c.Subject {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
