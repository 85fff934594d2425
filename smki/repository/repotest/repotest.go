// Package repotest makes SMKI-profile certificates and revocation lists for
// tests of the SMKI repository: a throwaway device CA, device certificates
// (empty subject, critical subjectAltName otherName hardwareModuleName
// 1.3.6.1.5.5.7.8.4 {hwType, hwSerialNum = device EUI-64}, critical keyUsage
// with one bit, critical certificatePolicies, 8-octet key identifiers,
// NotAfter 9999-12-31T23:59:59Z, P-256) and CRLs. Test keys only.
package repotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers used for the test certificates.
var (
	// DevicePolicy is the policy the RTDS device certificates carry.
	DevicePolicy = asn1.ObjectIdentifier{1, 2, 826, 0, 1, 1800000, 1, 2, 1, 4}
	// HardwareType is the hwType put in the hardwareModuleName.
	HardwareType = asn1.ObjectIdentifier{1, 2, 826, 0, 1, 8641679, 1, 2, 2, 1}
)

// DeviceNotAfter is the fixed SMKI device certificate expiry.
var DeviceNotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// CA is a throwaway device CA.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	DER  []byte
}

func keyID(pub *ecdsa.PublicKey) []byte {
	// RFC 5280 §4.2.1.2 method 2: 0100 followed by the low 60 bits of the
	// SHA-1 of the subjectPublicKey bits.
	pt := elliptic.Marshal(elliptic.P256(), pub.X, pub.Y) //nolint:staticcheck // uncompressed point, as in the certificate
	h := sha1.Sum(pt)
	id := append([]byte(nil), h[12:]...)
	id[0] = 0x40 | id[0]&0x0F
	return id
}

func serial(tb testing.TB) *big.Int {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	b[0] &= 0x7F
	b[0] |= 0x10
	return new(big.Int).SetBytes(b)
}

func policies(oid asn1.ObjectIdentifier) pkix.Extension {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
		})
	})
	return pkix.Extension{Id: smki.OIDExtCertificatePolicies, Critical: true, Value: b.BytesOrPanic()}
}

// HardwareModuleNameSAN is the DER subjectAltName value of a device
// certificate: GeneralNames { otherName { hardwareModuleName, [0] {hwType,
// hwSerialNum} } }.
func HardwareModuleNameSAN(hwType asn1.ObjectIdentifier, e eui.EUI64) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(smki.OIDHardwareModuleName)
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(hwType)
					b.AddASN1OctetString(e[:])
				})
			})
		})
	})
	return b.BytesOrPanic()
}

// NewCA makes a self-signed P-256 CA that may sign certificates and CRLs.
func NewCA(tb testing.TB, cn string) *CA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(tb),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          keyID(&key.PublicKey),
		ExtraExtensions:       []pkix.Extension{policies(DevicePolicy)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &CA{Cert: cert, Key: key, DER: der}
}

// Device issues a device certificate for e with one key usage
// (smki.KeyUsageDigitalSignature or smki.KeyUsageKeyAgreement) and returns
// its DER and private key. NotBefore is an hour ago unless notBefore is
// non-zero.
func (ca *CA) Device(tb testing.TB, e eui.EUI64, usage smki.KeyUsage, notBefore time.Time) ([]byte, *ecdsa.PrivateKey) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	ku := x509.KeyUsageDigitalSignature
	if usage == smki.KeyUsageKeyAgreement {
		ku = x509.KeyUsageKeyAgreement
	}
	if notBefore.IsZero() {
		notBefore = time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(tb),
		NotBefore:    notBefore,
		NotAfter:     DeviceNotAfter,
		KeyUsage:     ku,
		SubjectKeyId: keyID(&key.PublicKey),
		ExtraExtensions: []pkix.Extension{
			{Id: smki.OIDExtSubjectAltName, Critical: true, Value: HardwareModuleNameSAN(HardwareType, e)},
			policies(DevicePolicy),
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		tb.Fatal(err)
	}
	return der, key
}

// CRL makes a CRL signed by ca revoking serials.
func (ca *CA) CRL(tb testing.TB, serials ...*big.Int) []byte {
	tb.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: now.Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                now.Add(-time.Minute),
		NextUpdate:                now.AddDate(0, 0, 30),
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	if err != nil {
		tb.Fatal(err)
	}
	return der
}
