package ca_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/smki/ca"
	"github.com/opendcc/opendcc/xmldsig"
)

var kek = ca.Secret{KEK: bytes.Repeat([]byte{0xA5}, 32)}

func setup(t *testing.T) *ca.CA {
	t.Helper()
	c, err := ca.Init(filepath.Join(t.TempDir(), "ca"), ca.InitOptions{}, kek)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func issue(t *testing.T, c *ca.CA, r ca.Request) (*smki.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r.PublicKey = &k.PublicKey
	cert, err := c.Issue(r, kek)
	if err != nil {
		t.Fatal(err)
	}
	return cert, k
}

func crlSet(t *testing.T, c *ca.CA) *smki.CRLSet {
	t.Helper()
	s, err := c.CRLSet(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestXMLSignatureWithIssuedCertificate: an organisation certificate issued
// here signs a DUIS request; xmldsig.Verify accepts it with a store holding
// the certificate, and refuses it once the certificate is revoked.
func TestXMLSignatureWithIssuedCertificate(t *testing.T) {
	c := setup(t)
	supplier := eui.MustParse("90-B3-D5-1F-30-01-00-00")
	cert, key := issue(t, c, ca.Request{Kind: smki.KindOrganisation, EUI: supplier, Role: smki.RoleXMLSign, Usage: smki.KeyUsageDigitalSignature})
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "read-inventory.xml"))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := xmldsig.Sign(doc, key, cert)
	if err != nil {
		t.Fatal(err)
	}
	store := smki.NewStore()
	if err := store.Add(cert, nil); err != nil {
		t.Fatal(err)
	}
	opts := xmldsig.VerifyOptions{Certificates: store, Now: time.Now(), ExpectedSigner: &supplier, Revocation: crlSet(t, c)}
	res, err := xmldsig.Verify(signed, opts)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if res.Role != smki.RoleXMLSign || res.Serial.Cmp(cert.SerialNumber) != 0 || res.IssuerName != "CN=OZ1,OU=07" {
		t.Errorf("result: %+v", res)
	}
	if _, err := c.Verify(res.Certificate, smki.PurposeXMLSigning, time.Time{}); err != nil {
		t.Errorf("chain: %v", err)
	}
	if _, err := c.Revoke(cert.SerialNumber, smki.ReasonKeyCompromise, time.Now(), kek); err != nil {
		t.Fatal(err)
	}
	opts.Revocation = crlSet(t, c)
	if _, err := xmldsig.Verify(signed, opts); !errors.Is(err, xmldsig.ErrCertificateRevoked) {
		t.Errorf("after revocation: %v", err)
	}
}

// TestGBCSWithIssuedDeviceCertificates: device certificates issued here
// verify a device's signature and MAC through gbcs.Security, and are
// refused once revoked.
func TestGBCSWithIssuedDeviceCertificates(t *testing.T) {
	c := setup(t)
	dev := eui.MustParse("00-DB-12-34-56-78-90-A0")
	supplier := eui.MustParse("90-B3-D5-1F-30-01-00-00")
	devDS, devDSKey := issue(t, c, ca.Request{Kind: smki.KindDevice, EUI: dev, Usage: smki.KeyUsageDigitalSignature})
	devKA, devKAKey := issue(t, c, ca.Request{Kind: smki.KindDevice, EUI: dev, Usage: smki.KeyUsageKeyAgreement})
	supKA, supKAKey := issue(t, c, ca.Request{Kind: smki.KindOrganisation, EUI: supplier, Role: smki.RoleSupplier, Usage: smki.KeyUsageKeyAgreement})

	soft := func(k *ecdsa.PrivateKey) gbcs.PrivateKey {
		s, err := gbcs.NewSoftwareKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Device side: its own keys and the supplier's KA certificate.
	devRing := gbcs.NewKeyring()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(devRing.AddPrivateKey(dev, gbcs.UsageDigitalSignature, soft(devDSKey)))
	must(devRing.AddPrivateKey(dev, gbcs.UsageKeyAgreement, soft(devKAKey)))
	must(devRing.AddCertificate(supplier, gbcs.UsageKeyAgreement, supKA))
	devSec := gbcs.NewSecurity(devRing, 0)

	// A critical alert (signed) and a non-critical response (MACed).
	alert := &gbcs.Message{CRA: gbcs.CRAAlert, OriginatorCounter: 7, Originator: dev, Recipient: supplier, MessageCode: 0x1000,
		Content: []byte{0x0F}, SignatureField: true}
	must(devSec.Sign(alert, nil))
	resp := &gbcs.Message{CRA: gbcs.CRAResponse, OriginatorCounter: 42, Originator: dev, Recipient: supplier,
		MessageCode: 0x0027, Content: []byte{0xDA, 0x20, 0x00, 0x00, 0x2A}, SignatureField: true, Signature: []byte{}}
	must(devSec.WrapMAC(resp))
	wire, err := resp.Marshal()
	must(err)
	resp, err = gbcs.Parse(wire)
	must(err)
	wire, err = alert.Marshal()
	must(err)
	alert, err = gbcs.Parse(wire)
	must(err)

	// Supplier side: its KA key, and the device certificates issued here.
	supRing := gbcs.NewKeyring()
	must(supRing.AddPrivateKey(supplier, gbcs.UsageKeyAgreement, soft(supKAKey)))
	must(supRing.AddCertificate(dev, gbcs.UsageDigitalSignature, devDS))
	must(supRing.AddCertificate(dev, gbcs.UsageKeyAgreement, devKA))
	sec := gbcs.NewSecurity(supRing, 0)
	sec.Revocation = crlSet(t, c)
	if err := sec.VerifySignature(alert); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := sec.VerifyMAC(resp); err != nil {
		t.Errorf("MAC: %v", err)
	}
	for _, x := range []*smki.Certificate{devDS, devKA} {
		if _, err := c.Verify(x, smki.PurposeAny, time.Time{}); err != nil {
			t.Errorf("chain %s: %v", x, err)
		}
	}

	// Revoke both device certificates.
	for _, x := range []*smki.Certificate{devDS, devKA} {
		if _, err := c.Revoke(x.SerialNumber, smki.ReasonKeyCompromise, time.Now(), kek); err != nil {
			t.Fatal(err)
		}
	}
	sec = gbcs.NewSecurity(supRing, 0)
	sec.Revocation = crlSet(t, c)
	if err := sec.VerifySignature(alert); !errors.Is(err, gbcs.ErrCertificateRevoked) {
		t.Errorf("signature after revocation: %v", err)
	}
	if err := sec.VerifyMAC(resp); !errors.Is(err, gbcs.ErrCertificateRevoked) {
		t.Errorf("MAC after revocation: %v", err)
	}
	if _, err := sec.MACKeys(resp); !errors.Is(err, gbcs.ErrCertificateRevoked) {
		t.Errorf("MAC keys after revocation: %v", err)
	}
	// Without the hook the same material still verifies (the hook is what refuses).
	plain := gbcs.NewSecurity(supRing, 0)
	if err := plain.VerifySignature(alert); err != nil {
		t.Errorf("no hook: %v", err)
	}
	// A second, valid device DS certificate alongside the revoked one: a
	// signature by its key verifies; one by the revoked key does not.
	devDS2, devDS2Key := issue(t, c, ca.Request{Kind: smki.KindDevice, EUI: dev, Usage: smki.KeyUsageDigitalSignature})
	must(supRing.AddCertificate(dev, gbcs.UsageDigitalSignature, devDS2))
	ring2 := gbcs.NewKeyring()
	must(ring2.AddPrivateKey(dev, gbcs.UsageDigitalSignature, soft(devDS2Key)))
	alert2 := &gbcs.Message{CRA: gbcs.CRAAlert, OriginatorCounter: 8, Originator: dev, Recipient: supplier, MessageCode: 0x1000,
		Content: []byte{0x0F}, SignatureField: true}
	must(gbcs.NewSecurity(ring2, 0).Sign(alert2, nil))
	if err := sec.VerifySignature(alert2); err != nil {
		t.Errorf("new certificate: %v", err)
	}
	if err := sec.VerifySignature(alert); !errors.Is(err, gbcs.ErrCertificateRevoked) {
		t.Errorf("old signature with a new certificate present: %v", err)
	}
}
