package smki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
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

// hierarchy is a root, an Organisation CA and a Device CA made with
// CreateCertificate, as smki/ca does.
type hierarchy struct {
	rootKey, orgKey, devKey *ecdsa.PrivateKey
	root, org, dev          *Certificate
	now                     time.Time
}

func mustSerial(t testing.TB) *big.Int {
	t.Helper()
	s, err := NewSerial(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newHierarchy(t testing.TB) *hierarchy {
	t.Helper()
	h := &hierarchy{rootKey: newKey(t, elliptic.P256()), orgKey: newKey(t, elliptic.P256()), devKey: newKey(t, elliptic.P256()),
		now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	var err error
	h.root, err = CreateCertificate(nil, &Template{Kind: KindAuthority, CommonName: "TR1", KeyUsage: KeyUsageCertSign | KeyUsageCRLSign,
		PublicKey: &h.rootKey.PublicKey, SerialNumber: mustSerial(t), NotBefore: h.now.AddDate(0, 0, -1), NotAfter: h.now.AddDate(25, 0, 0),
		Policies: []asn1.ObjectIdentifier{OIDAnyPolicy}, MaxPathLen: -1}, nil, h.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	h.org, err = CreateCertificate(nil, &Template{Kind: KindAuthority, OrgUnit: "07", CommonName: "TZ1", KeyUsage: KeyUsageCertSign | KeyUsageCRLSign,
		PublicKey: &h.orgKey.PublicKey, SerialNumber: mustSerial(t), NotBefore: h.now.AddDate(0, 0, -1), NotAfter: h.now.AddDate(20, 0, 0),
		Policies: []asn1.ObjectIdentifier{OIDPolicyOrganisation}, MaxPathLen: 0}, h.root, h.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	h.dev, err = CreateCertificate(nil, &Template{Kind: KindAuthority, CommonName: "TE1", KeyUsage: KeyUsageCertSign | KeyUsageCRLSign,
		PublicKey: &h.devKey.PublicKey, SerialNumber: mustSerial(t), NotBefore: h.now.AddDate(0, 0, -1), NotAfter: h.now.AddDate(20, 0, 0),
		Policies: []asn1.ObjectIdentifier{OIDPolicyDevice}, MaxPathLen: 0}, h.root, h.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *hierarchy) orgTemplate(pub *ecdsa.PublicKey, e eui.EUI64, r Role, cn string, ku KeyUsage) *Template {
	nb := time.Date(h.now.Year(), h.now.Month(), h.now.Day(), 0, 0, 0, 0, time.UTC)
	return &Template{Kind: KindOrganisation, EUI: e, Role: r, CommonName: cn, KeyUsage: ku, PublicKey: pub,
		SerialNumber: new(big.Int).SetBytes(bytes.Repeat([]byte{0x3C}, 16)), NotBefore: nb, NotAfter: nb.AddDate(10, 0, 0).Add(-time.Second),
		Policies: []asn1.ObjectIdentifier{OIDPolicyOrganisation}}
}

func (h *hierarchy) deviceTemplate(pub *ecdsa.PublicKey, e eui.EUI64, ku KeyUsage) *Template {
	nb := time.Date(h.now.Year(), h.now.Month(), h.now.Day(), 0, 0, 0, 0, time.UTC)
	return &Template{Kind: KindDevice, EUI: e, KeyUsage: ku, PublicKey: pub,
		SerialNumber: new(big.Int).SetBytes(bytes.Repeat([]byte{0x30}, 16)), NotBefore: nb, NotAfter: DeviceNotAfter,
		Policies: []asn1.ObjectIdentifier{OIDPolicyDevice}, HardwareType: OIDHardwareTypeDevice}
}

func (h *hierarchy) opts() ChainOptions {
	return ChainOptions{Roots: []*Certificate{h.root}, Intermediates: []*Certificate{h.org, h.dev}, Now: h.now}
}

func loadRef(t *testing.T, elem ...string) *Certificate {
	t.Helper()
	c, err := LoadCertificateFile(refdata.Path(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// extensionShape is an extension as the profile comparison sees it: OID,
// criticality, and the value with key identifiers and EUIs masked.
type extensionShape struct {
	id       string
	critical bool
	value    string
}

func shapes(c *Certificate) []extensionShape {
	var out []extensionShape
	for _, e := range c.Extensions {
		v := hex.EncodeToString(e.Value)
		for _, secret := range [][]byte{c.SubjectKeyID, c.AuthorityKeyID, c.EUI[:]} {
			if len(secret) > 0 {
				v = strings.ReplaceAll(v, hex.EncodeToString(secret), strings.Repeat("x", 2*len(secret)))
			}
		}
		out = append(out, extensionShape{e.ID.String(), e.Critical, v})
	}
	return out
}

// TestProfileAgainstReferences issues an organisation and a device
// certificate and compares them with the reference certificates extension
// by extension (OID, order, criticality, encoding with the key identifiers
// and EUI masked), and field by field (version, algorithms, name string
// types, validity encodings, serial length).
func TestProfileAgainstReferences(t *testing.T) {
	h := newHierarchy(t)
	k := newKey(t, elliptic.P256())
	cases := []struct {
		name string
		ref  *Certificate
		tmpl *Template
		ca   *Certificate
		caK  *ecdsa.PrivateKey
	}{
		{"Z1-supplier-ds", loadRef(t, "zaz1", "Z1-supplier-ds.pem"),
			h.orgTemplate(&k.PublicKey, eui.MustParse("90B3D51F30010000"), RoleSupplier, "GITTESTSUPPLIER", KeyUsageDigitalSignature), h.org, h.orgKey},
		{"90b3d51f30010000-ka", loadRef(t, "gbcs", "rtds", "keystore", "90b3d51f30010000-ka.pem"),
			h.orgTemplate(&k.PublicKey, eui.MustParse("90B3D51F30010000"), RoleSupplier, "", KeyUsageKeyAgreement), h.org, h.orgKey},
		{"00db1234567890a0-ds", loadRef(t, "gbcs", "rtds", "keystore", "00db1234567890a0-ds.pem"),
			h.deviceTemplate(&k.PublicKey, eui.MustParse("00DB1234567890A0"), KeyUsageDigitalSignature), h.dev, h.devKey},
		{"00db1234567890a0-ka", loadRef(t, "gbcs", "rtds", "keystore", "00db1234567890a0-ka.pem"),
			h.deviceTemplate(&k.PublicKey, eui.MustParse("00DB1234567890A0"), KeyUsageKeyAgreement), h.dev, h.devKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CreateCertificate(nil, tc.tmpl, tc.ca, tc.caK)
			if err != nil {
				t.Fatal(err)
			}
			ref := tc.ref
			if err := CheckProfile(ref); err != nil {
				t.Errorf("reference: %v", err)
			}
			gs, rs := shapes(got), shapes(ref)
			if len(gs) != len(rs) {
				t.Fatalf("%d extensions, reference has %d:\n got %v\n ref %v", len(gs), len(rs), gs, rs)
			}
			for i := range gs {
				if gs[i] != rs[i] {
					t.Errorf("extension %d: got %+v, reference %+v", i, gs[i], rs[i])
				}
			}
			// Subject DER equal up to the EUI (same string types, same order).
			if !bytes.Equal(got.RawSubject, ref.RawSubject) {
				t.Errorf("subject DER %X, reference %X", got.RawSubject, ref.RawSubject)
			}
			if got.Version != ref.Version || !got.SignatureAlgorithm.Equal(ref.SignatureAlgorithm) ||
				len(got.SerialNumber.Bytes()) != len(ref.SerialNumber.Bytes()) || got.Kind != ref.Kind ||
				got.KeyUsage != ref.KeyUsage || got.EUI != ref.EUI || got.Role != ref.Role {
				t.Errorf("fields: got v%d %v serial %d octets %v %v %v %v, reference v%d %v %d %v %v %v %v",
					got.Version, got.SignatureAlgorithm, len(got.SerialNumber.Bytes()), got.Kind, got.KeyUsage, got.EUI, got.Role,
					ref.Version, ref.SignatureAlgorithm, len(ref.SerialNumber.Bytes()), ref.Kind, ref.KeyUsage, ref.EUI, ref.Role)
			}
			// Validity encodings: the time tags in the TBS.
			if g, r := validityTags(t, got), validityTags(t, ref); g != r {
				t.Errorf("validity encodings %s, reference %s", g, r)
			}
			// SPKI algorithm identifier bytes equal.
			if !bytes.Equal(got.RawSubjectPublicKeyInfo[:27], ref.RawSubjectPublicKeyInfo[:27]) {
				t.Errorf("SPKI header %X, reference %X", got.RawSubjectPublicKeyInfo[:27], ref.RawSubjectPublicKeyInfo[:27])
			}
			if id, _ := KeyID(got.PublicKey); !bytes.Equal(id, got.SubjectKeyID) || !bytes.Equal(got.AuthorityKeyID, tc.ca.SubjectKeyID) {
				t.Errorf("SKI %X (want %X), AKI %X (want %X)", got.SubjectKeyID, id, got.AuthorityKeyID, tc.ca.SubjectKeyID)
			}
			if _, err := VerifyChain(got, h.opts()); err != nil {
				t.Errorf("chain: %v", err)
			}
		})
	}
}

// validityTags names the ASN.1 types of notBefore and notAfter.
func validityTags(t *testing.T, c *Certificate) string {
	t.Helper()
	// The validity SEQUENCE follows the issuer Name in the TBS.
	i := bytes.Index(c.RawTBS, c.RawIssuer)
	if i < 0 {
		t.Fatal("issuer not found in TBS")
	}
	v := c.RawTBS[i+len(c.RawIssuer):]
	tag := func(b byte) string {
		switch b {
		case 0x17:
			return "UTCTime"
		case 0x18:
			return "GeneralizedTime"
		}
		return "?"
	}
	nb := v[2:]
	na := nb[2+int(nb[1]):]
	return tag(nb[0]) + "/" + tag(na[0])
}

// TestReferenceKeyIDs: every reference certificate's subject key
// identifier is RFC 5280 method 2 of its key, as KeyID computes it.
func TestReferenceKeyIDs(t *testing.T) {
	n := 0
	for _, dir := range [][]string{{"zaz1"}, {"gbcs", "rtds", "keystore"}} {
		for _, f := range certFiles(t, refdata.Path(t, dir...)) {
			c, err := LoadCertificateFile(f)
			if err != nil {
				t.Fatal(err)
			}
			id, err := KeyID(c.PublicKey)
			if err != nil || !bytes.Equal(id, c.SubjectKeyID) {
				t.Errorf("%s: SKI %X, method 2 gives %X", filepath.Base(f), c.SubjectKeyID, id)
			}
			n++
		}
	}
	t.Logf("%d reference SKIs are RFC 5280 method 2", n)
}

// TestReferenceProfiles: which reference certificates follow the profile.
func TestReferenceProfiles(t *testing.T) {
	for _, dir := range [][]string{{"zaz1"}, {"gbcs", "rtds", "keystore"}} {
		for _, f := range certFiles(t, refdata.Path(t, dir...)) {
			c, err := LoadCertificateFile(f)
			if err != nil {
				t.Fatal(err)
			}
			v := ProfileViolations(c)
			base := filepath.Base(f)
			noAKI := strings.Contains(base, "xml-sign") || strings.HasPrefix(base, "90b3d51f30010008")
			switch {
			case noAKI && (len(v) != 1 || v[0] != "authorityKeyIdentifier missing"):
				t.Errorf("%s: %v, want only the missing AKI", base, v)
			case !noAKI && len(v) != 0:
				t.Errorf("%s: %v", base, v)
			}
		}
	}
}

func TestOpenSSLVerifiesIssued(t *testing.T) {
	openssl := refdata.Tool(t, "openssl")
	h := newHierarchy(t)
	dir := t.TempDir()
	write := func(name string, ders ...[]byte) string {
		var b []byte
		for _, d := range ders {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := write("root.pem", h.root.Raw)
	untrusted := write("issuing.pem", h.org.Raw, h.dev.Raw)
	k := newKey(t, elliptic.P256())
	org, err := CreateCertificate(nil, h.orgTemplate(&k.PublicKey, eui.MustParse("90B3D51F30010000"), RoleXMLSign, "", KeyUsageDigitalSignature), h.org, h.orgKey)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := CreateCertificate(nil, h.deviceTemplate(&k.PublicKey, eui.MustParse("00DB1234567890A0"), KeyUsageKeyAgreement), h.dev, h.devKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Certificate{"org": org, "device": dev, "org-ca": h.org} {
		leaf := write(name+".pem", c.Raw)
		for _, strict := range []bool{false, true} {
			args := []string{"verify", "-CAfile", root, "-untrusted", untrusted}
			if strict {
				args = append(args, "-x509_strict")
			}
			out, err := exec.Command(openssl, append(args, leaf)...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), ": OK") {
				t.Errorf("%s (strict %v): openssl verify: %v\n%s", name, strict, err, out)
			}
		}
	}
}

func TestCreateCertificateRefuses(t *testing.T) {
	h := newHierarchy(t)
	k := newKey(t, elliptic.P256())
	e := eui.MustParse("90B3D51F30010000")
	ok := func() *Template { return h.orgTemplate(&k.PublicKey, e, RoleSupplier, "", KeyUsageDigitalSignature) }
	p384 := newKey(t, elliptic.P384())
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mod    func(*Template)
		parent *Certificate
		key    crypto.Signer
		want   error
	}{
		{"both usages", func(t *Template) { t.KeyUsage = KeyUsageDigitalSignature | KeyUsageKeyAgreement }, h.org, h.orgKey, ErrTemplate},
		{"no usage", func(t *Template) { t.KeyUsage = 0 }, h.org, h.orgKey, ErrTemplate},
		{"P-384 subject key", func(t *Template) { t.PublicKey = &p384.PublicKey }, h.org, h.orgKey, ErrUnsupportedKey},
		{"role 0", func(t *Template) { t.Role = 0 }, h.org, h.orgKey, ErrTemplate},
		{"no serial", func(t *Template) { t.SerialNumber = nil }, h.org, h.orgKey, ErrTemplate},
		{"no policy", func(t *Template) { t.Policies = nil }, h.org, h.orgKey, ErrTemplate},
		{"wrong CA key", func(t *Template) {}, h.org, h.devKey, ErrTemplate},
		{"leaf as parent", func(t *Template) {}, loadRef(t, "zaz1", "Z1-supplier-ds.pem"), h.orgKey, ErrTemplate},
		{"self-signed leaf", func(t *Template) {}, nil, k, ErrTemplate},
		{"P-384 CA key", func(t *Template) {}, h.org, p384, ErrUnsupportedKey},
		{"RSA CA key", func(t *Template) {}, h.org, rk, ErrUnsupportedKey},
		{"bad CN", func(t *Template) { t.CommonName = "a\nb" }, h.org, h.orgKey, ErrTemplate},
		{"device notAfter", func(t *Template) { t.Kind = KindDevice; t.HardwareType = OIDHardwareTypeDevice }, h.dev, h.devKey, ErrTemplate},
	}
	for _, tc := range cases {
		tmpl := ok()
		tc.mod(tmpl)
		_, err := CreateCertificate(nil, tmpl, tc.parent, tc.key)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestX509ParsesIssuedDeviceAndCA(t *testing.T) {
	h := newHierarchy(t)
	k := newKey(t, elliptic.P256())
	dev, err := CreateCertificate(nil, h.deviceTemplate(&k.PublicKey, eui.MustParse("00DB1234567890A0"), KeyUsageDigitalSignature), h.dev, h.devKey)
	if err != nil {
		t.Fatal(err)
	}
	xc, err := x509.ParseCertificate(dev.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if xc.KeyUsage != x509.KeyUsageDigitalSignature || !bytes.Equal(xc.SubjectKeyId, dev.SubjectKeyID) || xc.NotAfter != DeviceNotAfter {
		t.Errorf("x509 view: %v %X %v", xc.KeyUsage, xc.SubjectKeyId, xc.NotAfter)
	}
	xr, err := x509.ParseCertificate(h.root.Raw)
	if err != nil {
		t.Fatal(err)
	}
	xo, err := x509.ParseCertificate(h.org.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := xo.CheckSignatureFrom(xr); err != nil || !xo.IsCA || xo.MaxPathLen != 0 || !xo.MaxPathLenZero || xo.Subject.String() != "CN=TZ1,OU=07" {
		t.Errorf("x509 org CA: %v %v %d %q", err, xo.IsCA, xo.MaxPathLen, xo.Subject.String())
	}
	if xr.MaxPathLen != -1 {
		t.Errorf("root pathLen %d", xr.MaxPathLen)
	}
}
