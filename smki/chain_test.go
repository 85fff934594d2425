package smki

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
)

func TestVerifyChain(t *testing.T) {
	h := newHierarchy(t)
	k := newKey(t, elliptic.P256())
	issue := func(tm *Template, ca *Certificate) *Certificate {
		t.Helper()
		key := h.orgKey
		if ca == h.dev {
			key = h.devKey
		}
		tm.SerialNumber = mustSerial(t)
		c, err := CreateCertificate(nil, tm, ca, key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	supplier := eui.MustParse("90B3D51F30010000")
	orgDS := issue(h.orgTemplate(&k.PublicKey, supplier, RoleSupplier, "GITTESTSUPPLIER", KeyUsageDigitalSignature), h.org)
	orgKA := issue(h.orgTemplate(&k.PublicKey, supplier, RoleSupplier, "", KeyUsageKeyAgreement), h.org)
	xmlSign := issue(h.orgTemplate(&k.PublicKey, supplier, RoleXMLSign, "", KeyUsageDigitalSignature), h.org)
	nwoKA := issue(h.orgTemplate(&k.PublicKey, eui.MustParse("90B3D51F30020000"), RoleNetworkOperator, "", KeyUsageKeyAgreement), h.org)
	devDS := issue(h.deviceTemplate(&k.PublicKey, eui.MustParse("00DB1234567890A0"), KeyUsageDigitalSignature), h.dev)
	devKA := issue(h.deviceTemplate(&k.PublicKey, eui.MustParse("00DB1234567890A0"), KeyUsageKeyAgreement), h.dev)

	good := []struct {
		c *Certificate
		p Purpose
	}{
		{orgDS, PurposeXMLSigning}, {xmlSign, PurposeXMLSigning}, {orgDS, PurposeGBCSSigning}, {devDS, PurposeGBCSSigning},
		{orgKA, PurposeKeyAgreement}, {devKA, PurposeKeyAgreement}, {orgKA, PurposePrepayment}, {devKA, PurposeAny},
		{h.org, PurposeAny}, {h.root, PurposeAny},
	}
	for _, g := range good {
		o := h.opts()
		o.Purpose = g.p
		chain, err := VerifyChain(g.c, o)
		if err != nil {
			t.Errorf("%s for %s: %v", g.c, g.p, err)
			continue
		}
		if chain[len(chain)-1] != h.root || chain[0] != g.c {
			t.Errorf("%s: chain %v", g.c, chain)
		}
	}
	if chain, _ := VerifyChain(devDS, h.opts()); len(chain) != 3 || chain[1] != h.dev {
		t.Errorf("device chain: %v", chain)
	}

	bad := []struct {
		name  string
		c     *Certificate
		p     Purpose
		roles []Role
	}{
		{"device for XML", devDS, PurposeXMLSigning, nil},
		{"KA for XML", orgKA, PurposeXMLSigning, nil},
		{"DS for KA", devDS, PurposeKeyAgreement, nil},
		{"KA for GBCS signing", devKA, PurposeGBCSSigning, nil},
		{"device for prepayment", devKA, PurposePrepayment, nil},
		{"network operator for prepayment", nwoKA, PurposePrepayment, nil},
		{"role not allowed", orgDS, PurposeXMLSigning, []Role{RoleXMLSign, RoleDSPXMLSign}},
		{"CA for signing", h.org, PurposeGBCSSigning, nil},
	}
	for _, b := range bad {
		o := h.opts()
		o.Purpose, o.Roles = b.p, b.roles
		_, err := VerifyChain(b.c, o)
		var ce *ChainError
		if !errors.Is(err, ErrPurpose) || !errors.As(err, &ce) || ce.Depth != 0 {
			t.Errorf("%s: err = %v", b.name, err)
		}
	}
	o := h.opts()
	o.Roles = []Role{RoleXMLSign}
	o.Purpose = PurposeXMLSigning
	if _, err := VerifyChain(xmlSign, o); err != nil {
		t.Errorf("xmlSign with Roles: %v", err)
	}

	// Unknown issuer: no intermediates; another root.
	o = h.opts()
	o.Intermediates = nil
	if _, err := VerifyChain(orgDS, o); !errors.Is(err, ErrUnknownIssuer) {
		t.Errorf("no intermediates: %v", err)
	}
	other := newHierarchy(t)
	if _, err := VerifyChain(orgDS, other.opts()); !errors.Is(err, ErrUnknownIssuer) {
		t.Errorf("other hierarchy: %v", err)
	}
	if _, err := VerifyChain(orgDS, ChainOptions{}); !errors.Is(err, ErrNoTrustAnchor) {
		t.Errorf("no roots: %v", err)
	}
	// Same names, different keys: found by name, refused by key identifier.
	o = other.opts()
	if _, err := VerifyChain(orgDS, ChainOptions{Roots: o.Roots, Intermediates: []*Certificate{other.org}}); !errors.Is(err, ErrUnknownIssuer) {
		t.Errorf("same name, other key: %v", err)
	}

	// Tampered certificate: signature.
	der := append([]byte(nil), orgDS.Raw...)
	i := strings.Index(string(der), "GITTESTSUPPLIER")
	der[i] = 'H'
	tampered, err := ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyChain(tampered, h.opts()); !errors.Is(err, ErrSignatureCheck) {
		t.Errorf("tampered: %v", err)
	}

	// Validity: expired, not yet valid, allowance.
	o = h.opts()
	o.Now = orgDS.NotAfter.Add(time.Hour)
	if _, err := VerifyChain(orgDS, o); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	o.Allowance = 2 * time.Hour
	if _, err := VerifyChain(orgDS, o); err != nil {
		t.Errorf("expired within allowance: %v", err)
	}
	o = h.opts()
	o.Now = orgDS.NotBefore.Add(-time.Hour)
	if _, err := VerifyChain(orgDS, o); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("not yet valid: %v", err)
	}
	// A device certificate outlives its CA: refused once the CA expired.
	o = h.opts()
	o.Now = h.dev.NotAfter.Add(time.Hour)
	var ce *ChainError
	if _, err := VerifyChain(devDS, o); !errors.Is(err, ErrExpired) || !errors.As(err, &ce) || ce.Depth != 1 {
		t.Errorf("expired CA: %v", err)
	}
	o.Now = time.Time{}
	if _, err := VerifyChain(devDS, o); err != nil {
		t.Errorf("zero Now skips dates: %v", err)
	}

	// Path length: a CA below the Organisation CA (pathLen 0).
	subKey := newKey(t, elliptic.P256())
	sub, err := CreateCertificate(nil, &Template{Kind: KindAuthority, CommonName: "SUB", KeyUsage: KeyUsageCertSign | KeyUsageCRLSign,
		PublicKey: &subKey.PublicKey, SerialNumber: mustSerial(t), NotBefore: h.now.AddDate(0, 0, -1), NotAfter: h.now.AddDate(1, 0, 0),
		Policies: []asn1.ObjectIdentifier{OIDPolicyOrganisation}, MaxPathLen: -1}, h.org, h.orgKey)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := h.orgTemplate(&k.PublicKey, supplier, RoleSupplier, "", KeyUsageDigitalSignature)
	leafTmpl.SerialNumber = mustSerial(t)
	leaf, err := CreateCertificate(nil, leafTmpl, sub, subKey)
	if err != nil {
		t.Fatal(err)
	}
	o = h.opts()
	o.Intermediates = append(o.Intermediates, sub)
	if _, err := VerifyChain(leaf, o); !errors.Is(err, ErrPathLength) {
		t.Errorf("path length: %v", err)
	}

	// Revocation through a CRLSet.
	set := NewCRLSet()
	crl, err := CreateCRL(nil, &CRLTemplate{Number: big.NewInt(1), ThisUpdate: h.now, NextUpdate: h.now.AddDate(0, 0, 7),
		Revoked: []RevokedCertificate{{SerialNumber: orgKA.SerialNumber, RevocationTime: h.now, Reason: ReasonKeyCompromise}}}, h.org, h.orgKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Add(crl, h.org, h.now); err != nil {
		t.Fatal(err)
	}
	o = h.opts()
	o.Revocation = set
	if _, err := VerifyChain(orgKA, o); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked: %v", err)
	}
	if _, err := VerifyChain(orgDS, o); err != nil {
		t.Errorf("not revoked: %v", err)
	}
	// Device CRL and ARL missing: fine unless revocation info is required.
	if _, err := VerifyChain(devDS, o); err != nil {
		t.Errorf("device without CRL: %v", err)
	}
	o.RequireRevocationInfo = true
	if _, err := VerifyChain(devDS, o); !errors.Is(err, ErrRevocationUnknown) {
		t.Errorf("device without CRL, required: %v", err)
	}
	if _, err := VerifyChain(orgDS, o); !errors.Is(err, ErrRevocationUnknown) {
		t.Errorf("no ARL, required: %v", err)
	}
	arl, err := CreateCRL(nil, &CRLTemplate{Number: big.NewInt(1), ThisUpdate: h.now, NextUpdate: h.now.AddDate(0, 0, 7),
		Revoked: []RevokedCertificate{{SerialNumber: h.dev.SerialNumber, RevocationTime: h.now, Reason: ReasonCACompromise}}}, h.root, h.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Add(arl, h.root, h.now); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyChain(orgDS, o); err != nil {
		t.Errorf("with ARL: %v", err)
	}
	// The Device CA is on the ARL: every device certificate is refused.
	o.RequireRevocationInfo = false
	if _, err := VerifyChain(devDS, o); !errors.Is(err, ErrRevoked) || !errors.As(err, &ce) || ce.Depth != 1 {
		t.Errorf("revoked CA: %v", err)
	}
}

// TestVerifyChainProfile: certificates issued by another tool under our CA
// that miss mandatory extensions, or mark them non-critical, are refused
// with ErrProfile and a reason.
func TestVerifyChainProfile(t *testing.T) {
	h := newHierarchy(t)
	xca, err := x509.ParseCertificate(h.org.Raw)
	if err != nil {
		t.Fatal(err)
	}
	k := newKey(t, elliptic.P256())
	ski, _ := KeyID(&k.PublicKey)
	pol, _ := policiesValue([]asn1.ObjectIdentifier{OIDPolicyOrganisation})
	subject, _ := OrganisationSubject(eui.MustParse("90B3D51F30010000"), RoleSupplier, "")
	base := func() *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(77), RawSubject: subject, NotBefore: h.now.AddDate(0, 0, -1),
			NotAfter: h.now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature, SubjectKeyId: ski,
			ExtraExtensions: []pkix.Extension{{Id: OIDExtCertificatePolicies, Critical: true, Value: pol}}}
	}
	cases := []struct {
		name, want string
		mod        func(*x509.Certificate)
	}{
		{"control", "", func(*x509.Certificate) {}},
		{"policies non-critical", "certificatePolicies not critical", func(c *x509.Certificate) { c.ExtraExtensions[0].Critical = false }},
		{"policies missing", "certificatePolicies missing", func(c *x509.Certificate) { c.ExtraExtensions = nil }},
		{"keyUsage missing", "keyUsage missing", func(c *x509.Certificate) { c.KeyUsage = 0 }},
		{"two usages", "want exactly digitalSignature or exactly keyAgreement", func(c *x509.Certificate) {
			c.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement
		}},
		{"20-byte SKI", "subjectKeyIdentifier is 20 octets", func(c *x509.Certificate) { c.SubjectKeyId = make([]byte, 20) }},
		{"unknown critical extension", "unhandled critical extension 1.2.3.4", func(c *x509.Certificate) {
			c.ExtraExtensions = append(c.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}})
		}},
	}
	for _, tc := range cases {
		tmpl := base()
		tc.mod(tmpl)
		der, err := x509.CreateCertificate(rand.Reader, tmpl, xca, &k.PublicKey, h.orgKey)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c, err := ParseCertificate(der)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, err = VerifyChain(c, h.opts())
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (!errors.Is(err, ErrProfile) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestParsePurpose(t *testing.T) {
	for in, want := range map[string]Purpose{"": PurposeAny, "xml": PurposeXMLSigning, "gbcs": PurposeGBCSSigning,
		"ka": PurposeKeyAgreement, "pp": PurposePrepayment, "prepayment": PurposePrepayment} {
		if p, err := ParsePurpose(in); err != nil || p != want {
			t.Errorf("%q: %v %v", in, p, err)
		}
	}
	if _, err := ParsePurpose("sign"); err == nil {
		t.Error("unknown purpose accepted")
	}
}
