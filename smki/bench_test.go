package smki

import (
	"crypto/elliptic"
	"math/big"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
)

// Benchmarks of the SMKI operations (docs/smki.md lists the figures):
//
//	go test ./smki -run '^$' -bench . -benchmem

func BenchmarkIssueOrganisation(b *testing.B) {
	h := newHierarchy(b)
	k := newKey(b, elliptic.P256())
	tm := h.orgTemplate(&k.PublicKey, eui.MustParse("90B3D51F30010000"), RoleSupplier, "GITTESTSUPPLIER", KeyUsageDigitalSignature)
	b.ReportAllocs()
	for b.Loop() {
		tm.SerialNumber = mustSerial(b)
		if _, err := CreateCertificate(nil, tm, h.org, h.orgKey); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssueDevice(b *testing.B) {
	h := newHierarchy(b)
	k := newKey(b, elliptic.P256())
	tm := h.deviceTemplate(&k.PublicKey, eui.MustParse("00DB1234567890A0"), KeyUsageKeyAgreement)
	b.ReportAllocs()
	for b.Loop() {
		tm.SerialNumber = mustSerial(b)
		if _, err := CreateCertificate(nil, tm, h.dev, h.devKey); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCertificate(b *testing.B) {
	h := newHierarchy(b)
	k := newKey(b, elliptic.P256())
	for _, tc := range []struct {
		name string
		tm   *Template
		ca   *Certificate
	}{
		{"organisation", h.orgTemplate(&k.PublicKey, eui.MustParse("90B3D51F30010000"), RoleSupplier, "GITTESTSUPPLIER", KeyUsageDigitalSignature), h.org},
		{"device", h.deviceTemplate(&k.PublicKey, eui.MustParse("00DB1234567890A0"), KeyUsageKeyAgreement), h.dev},
	} {
		key := h.orgKey
		if tc.ca == h.dev {
			key = h.devKey
		}
		c, err := CreateCertificate(nil, tc.tm, tc.ca, key)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseCertificate(c.Raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyChain: an organisation certificate through the
// Organisation CA to the root, purpose XML signing, with a CRLSet holding
// a 1,000-entry CRL and the ARL (two ECDSA verifications per run).
func BenchmarkVerifyChain(b *testing.B) {
	h := newHierarchy(b)
	k := newKey(b, elliptic.P256())
	tm := h.orgTemplate(&k.PublicKey, eui.MustParse("90B3D51F30010000"), RoleXMLSign, "", KeyUsageDigitalSignature)
	leaf, err := CreateCertificate(nil, tm, h.org, h.orgKey)
	if err != nil {
		b.Fatal(err)
	}
	var es []RevokedCertificate
	for i := 0; i < 1000; i++ {
		es = append(es, RevokedCertificate{SerialNumber: mustSerial(b), RevocationTime: h.now})
	}
	set := NewCRLSet()
	crl, err := CreateCRL(nil, &CRLTemplate{Number: big.NewInt(1), ThisUpdate: h.now, NextUpdate: h.now.Add(time.Hour), Revoked: es}, h.org, h.orgKey)
	if err != nil {
		b.Fatal(err)
	}
	arl, err := CreateCRL(nil, &CRLTemplate{Number: big.NewInt(1), ThisUpdate: h.now, NextUpdate: h.now.Add(time.Hour)}, h.root, h.rootKey)
	if err != nil {
		b.Fatal(err)
	}
	if err := set.Add(crl, h.org, h.now); err != nil {
		b.Fatal(err)
	}
	if err := set.Add(arl, h.root, h.now); err != nil {
		b.Fatal(err)
	}
	o := h.opts()
	o.Purpose, o.Revocation, o.RequireRevocationInfo = PurposeXMLSigning, set, true
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyChain(leaf, o); err != nil {
			b.Fatal(err)
		}
	}
}
