package smki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/opendcc/opendcc/eui"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrTemplate is wrapped when CreateCertificate refuses a template.
var ErrTemplate = errors.New("smki: certificate template refused")

// SerialSize is the length in octets of the serial numbers NewSerial draws
// (the reference certificates' serials are 16 octets).
const SerialSize = 16

// NewSerial draws a random positive serial number of exactly SerialSize
// octets in DER: 128 bits of which the top bit is 0 (so the INTEGER needs no
// leading zero octet) and the first octet is not 0, as the reference
// certificates have. About 2^126 values.
func NewSerial(rand io.Reader) (*big.Int, error) {
	var b [SerialSize]byte
	for {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return nil, fmt.Errorf("smki: serial: %w", err)
		}
		b[0] &= 0x7F
		if b[0] != 0 {
			return new(big.Int).SetBytes(b[:]), nil
		}
	}
}

// Template describes a certificate for CreateCertificate. The extensions
// and their order follow the SMKI references (docs/smki.md):
//
//	organisation  keyUsage(c) SKI certificatePolicies(c) AKI          (Z1-supplier-ds)
//	device        keyUsage(c) SKI subjectAltName(c) certificatePolicies(c) AKI  (00db1234567890a0-ds)
//	authority     keyUsage(c) basicConstraints(c) SKI certificatePolicies(c) [AKI]
type Template struct {
	Kind Kind // KindOrganisation, KindDevice or KindAuthority

	// Organisation: subject [CN=CommonName] OU=Role (two upper-case hex
	// digits) x500UniqueIdentifier=EUI (64-bit BIT STRING), UTF8String values.
	// Device: empty subject; EUI goes into the hardwareModuleName.
	// Authority: subject [OU=OrgUnit] CN=CommonName, PrintableString values.
	EUI        eui.EUI64
	Role       Role
	CommonName string
	OrgUnit    string

	// KeyUsage: organisation and device exactly KeyUsageDigitalSignature
	// or exactly KeyUsageKeyAgreement; authority must include
	// KeyUsageCertSign.
	KeyUsage  KeyUsage
	PublicKey *ecdsa.PublicKey // P-256

	SerialNumber *big.Int // positive, at most 20 octets; see NewSerial
	// NotBefore and NotAfter are truncated to the second. A device
	// certificate's NotAfter must be DeviceNotAfter.
	NotBefore, NotAfter time.Time

	Policies     []asn1.ObjectIdentifier // at least one; one for devices
	HardwareType asn1.ObjectIdentifier   // device: hwType (OIDHardwareTypeDevice)

	// MaxPathLen is the authority's pathLenConstraint; negative: none.
	MaxPathLen int
}

// CreateCertificate issues the certificate t describes, signed by
// parentKey on behalf of parent (nil parent: self-signed, authority only,
// with parentKey the private half of t.PublicKey). The result is parsed
// back, its signature checked and its profile checked (CheckProfile) before
// it is returned, so what comes out is what a verifier will see.
// rand supplies the signature randomness (nil: crypto/rand).
func CreateCertificate(rand io.Reader, t *Template, parent *Certificate, parentKey crypto.Signer) (*Certificate, error) {
	tbs, err := buildTBS(t, parent, parentKey)
	if err != nil {
		return nil, err
	}
	der, err := signDER(rand, tbs, parentKey)
	if err != nil {
		return nil, err
	}
	c, err := ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("smki: issued certificate does not parse: %w", err)
	}
	signer := parent
	if signer == nil {
		signer = c
	}
	if err := c.CheckSignatureFrom(signer); err != nil {
		return nil, fmt.Errorf("smki: issued certificate: %w", err)
	}
	if err := CheckProfile(c); err != nil {
		return nil, fmt.Errorf("smki: issued certificate: %w", err)
	}
	return c, nil
}

// signDER signs tbs (ecdsa-with-SHA256) and wraps it as a Certificate or
// CertificateList: SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }.
func signDER(rand io.Reader, tbs []byte, key crypto.Signer) ([]byte, error) {
	if rand == nil {
		rand = cryptoRandReader
	}
	h := sha256.Sum256(tbs)
	sig, err := key.Sign(rand, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("smki: signing: %w", err)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		addAlgorithm(b)
		b.AddASN1BitString(sig)
	})
	return b.Bytes()
}

func addAlgorithm(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDECDSAWithSHA256)
	})
}

// signerKey returns key's public half when it is ECDSA P-256.
func signerKey(key crypto.Signer) (*ecdsa.PublicKey, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no signing key", ErrTemplate)
	}
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: signing key is %T, want ECDSA P-256", ErrUnsupportedKey, key.Public())
	}
	return pub, nil
}

func buildTBS(t *Template, parent *Certificate, parentKey crypto.Signer) ([]byte, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil template", ErrTemplate)
	}
	signPub, err := signerKey(parentKey)
	if err != nil {
		return nil, err
	}
	if t.PublicKey == nil {
		return nil, fmt.Errorf("%w: no public key", ErrTemplate)
	}
	if t.PublicKey.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: subject key curve %s, SMKI uses P-256", ErrUnsupportedKey, t.PublicKey.Curve.Params().Name)
	}
	spki, err := MarshalPublicKey(t.PublicKey)
	if err != nil {
		return nil, err
	}
	ski, err := KeyID(t.PublicKey)
	if err != nil {
		return nil, err
	}
	var issuer, aki []byte
	if parent == nil {
		if t.Kind != KindAuthority {
			return nil, fmt.Errorf("%w: only an authority certificate can be self-signed", ErrTemplate)
		}
		if !signPub.Equal(t.PublicKey) {
			return nil, fmt.Errorf("%w: self-signed, but the signing key is not the subject key", ErrTemplate)
		}
	} else {
		if !parent.IsCA || parent.KeyUsage&KeyUsageCertSign == 0 {
			return nil, fmt.Errorf("%w: issuer %q is not a CA with keyCertSign", ErrTemplate, parent.Subject)
		}
		if parent.PublicKey == nil || !signPub.Equal(parent.PublicKey) {
			return nil, fmt.Errorf("%w: the signing key is not the issuer's (%q)", ErrTemplate, parent.Subject)
		}
		if len(parent.SubjectKeyID) == 0 {
			return nil, fmt.Errorf("%w: issuer %q has no subjectKeyIdentifier", ErrTemplate, parent.Subject)
		}
		issuer, aki = parent.RawSubject, parent.SubjectKeyID
	}
	if t.SerialNumber == nil || t.SerialNumber.Sign() <= 0 || len(t.SerialNumber.Bytes()) > 20 {
		return nil, fmt.Errorf("%w: serial number must be positive and at most 20 octets", ErrTemplate)
	}
	notBefore, notAfter := t.NotBefore.UTC().Truncate(time.Second), t.NotAfter.UTC().Truncate(time.Second)
	if notBefore.IsZero() || !notAfter.After(notBefore) {
		return nil, fmt.Errorf("%w: validity %s .. %s", ErrTemplate, notBefore.Format(time.RFC3339), notAfter.Format(time.RFC3339))
	}
	if len(t.Policies) == 0 {
		return nil, fmt.Errorf("%w: no certificate policy", ErrTemplate)
	}

	var subject []byte
	var exts []extension
	ku := extension{OIDExtKeyUsage, true, keyUsageValue(t.KeyUsage)}
	skiExt := extension{OIDExtSubjectKeyID, false, octetString(ski)}
	pol, err := policiesValue(t.Policies)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	polExt := extension{OIDExtCertificatePolicies, true, pol}
	switch t.Kind {
	case KindOrganisation:
		if t.KeyUsage != KeyUsageDigitalSignature && t.KeyUsage != KeyUsageKeyAgreement {
			return nil, fmt.Errorf("%w: organisation keyUsage %q, want digitalSignature or keyAgreement", ErrTemplate, t.KeyUsage)
		}
		if subject, err = OrganisationSubject(t.EUI, t.Role, t.CommonName); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
		}
		exts = []extension{ku, skiExt, polExt}
	case KindDevice:
		if t.KeyUsage != KeyUsageDigitalSignature && t.KeyUsage != KeyUsageKeyAgreement {
			return nil, fmt.Errorf("%w: device keyUsage %q, want digitalSignature or keyAgreement", ErrTemplate, t.KeyUsage)
		}
		if !notAfter.Equal(DeviceNotAfter) {
			return nil, fmt.Errorf("%w: device notAfter must be 9999-12-31T23:59:59Z", ErrTemplate)
		}
		if len(t.Policies) != 1 {
			return nil, fmt.Errorf("%w: a device certificate carries exactly one policy", ErrTemplate)
		}
		if len(t.HardwareType) == 0 {
			return nil, fmt.Errorf("%w: device hwType missing", ErrTemplate)
		}
		san, err := HardwareModuleNameSAN(t.HardwareType, t.EUI)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
		}
		subject = []byte{0x30, 0x00}
		exts = []extension{ku, skiExt, {OIDExtSubjectAltName, true, san}, polExt}
	case KindAuthority:
		if t.KeyUsage&KeyUsageCertSign == 0 {
			return nil, fmt.Errorf("%w: authority keyUsage %q lacks keyCertSign", ErrTemplate, t.KeyUsage)
		}
		if subject, err = AuthoritySubject(t.OrgUnit, t.CommonName); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
		}
		exts = []extension{ku, {OIDExtBasicConstraints, true, basicConstraintsValue(t.MaxPathLen)}, skiExt, polExt}
	default:
		return nil, fmt.Errorf("%w: kind %v", ErrTemplate, t.Kind)
	}
	if parent == nil {
		issuer = subject
	} else {
		exts = append(exts, extension{OIDExtAuthorityKeyID, false, authorityKeyIDValue(aki)})
	}

	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1Int64(2)
		})
		b.AddASN1BigInt(t.SerialNumber)
		addAlgorithm(b)
		b.AddBytes(issuer)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, notBefore)
			addTime(b, notAfter)
		})
		b.AddBytes(subject)
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			addExtensions(b, exts)
		})
	})
	tbs, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	return tbs, nil
}

// addTime writes UTCTime for 1950-2049 and GeneralizedTime otherwise (RFC
// 5280 §4.1.2.5), as the references do.
func addTime(b *cryptobyte.Builder, t time.Time) {
	if t.Year() >= 1950 && t.Year() < 2050 {
		b.AddASN1UTCTime(t)
	} else {
		b.AddASN1GeneralizedTime(t)
	}
}

type extension struct {
	id       asn1.ObjectIdentifier
	critical bool
	value    []byte
}

func addExtensions(b *cryptobyte.Builder, exts []extension) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, e := range exts {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(e.id)
				if e.critical {
					b.AddASN1Boolean(true)
				}
				b.AddASN1OctetString(e.value)
			})
		}
	})
}

func mustBytes(b *cryptobyte.Builder) []byte {
	out, err := b.Bytes()
	if err != nil {
		panic("smki: " + err.Error()) // only reachable through a programming error
	}
	return out
}

func octetString(v []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1OctetString(v)
	return mustBytes(&b)
}

// keyUsageValue encodes ku as a DER named BIT STRING (trailing zero bits
// removed): digitalSignature is 03 02 07 80, keyAgreement 03 02 03 08.
func keyUsageValue(ku KeyUsage) []byte {
	n := 0 // number of significant bits
	for i := 0; i < 9; i++ {
		if ku&(1<<i) != 0 {
			n = i + 1
		}
	}
	data := make([]byte, (n+7)/8)
	for i := 0; i < n; i++ {
		if ku&(1<<i) != 0 {
			data[i/8] |= 0x80 >> (i % 8)
		}
	}
	unused := byte(len(data)*8 - n)
	out := []byte{0x03, byte(1 + len(data)), unused}
	return append(out, data...)
}

func authorityKeyIDValue(id []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(id) })
	})
	return mustBytes(&b)
}

func basicConstraintsValue(maxPathLen int) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Boolean(true)
		if maxPathLen >= 0 {
			b.AddASN1Int64(int64(maxPathLen))
		}
	})
	return mustBytes(&b)
}

func policiesValue(ps []asn1.ObjectIdentifier) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, p := range ps {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(p) })
		}
	})
	return b.Bytes()
}

// HardwareModuleNameSAN encodes the device subjectAltName value:
//
//	SEQUENCE { [0] otherName { type-id 1.3.6.1.5.5.7.8.4,
//	  [0] EXPLICIT HardwareModuleName { hwType, hwSerialNum OCTET STRING (EUI-64) } } }
//
// built by hand because encoding/asn1 ignores `explicit` on a RawValue with
// FullBytes (go-stack.md §3).
func HardwareModuleNameSAN(hwType asn1.ObjectIdentifier, e eui.EUI64) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(OIDHardwareModuleName)
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(hwType)
					b.AddASN1OctetString(e[:])
				})
			})
		})
	})
	return b.Bytes()
}

// MarshalPublicKey encodes a P-256 public key as a SubjectPublicKeyInfo
// (id-ecPublicKey, prime256v1, uncompressed point).
func MarshalPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: want a P-256 public key", ErrUnsupportedKey)
	}
	point, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(OIDECPublicKey)
			b.AddASN1ObjectIdentifier(OIDNamedCurveP256)
		})
		b.AddASN1BitString(point)
	})
	return b.Bytes()
}

// OrganisationSubject encodes an organisation certificate subject in the
// references' DER order and string types: [CN=cn (UTF8String)],
// OU=role as two upper-case hex digits (UTF8String), x500UniqueIdentifier =
// the EUI-64 as a 64-bit BIT STRING; one attribute per RDN. Role 0 (none) is
// refused.
func OrganisationSubject(e eui.EUI64, r Role, cn string) ([]byte, error) {
	if r <= 0 || r > 0xFF {
		return nil, fmt.Errorf("role %d: want 1..255", int(r))
	}
	if cn != "" && !isPrintable(cn) {
		return nil, fmt.Errorf("common name %q: only PrintableString characters are accepted", cn)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if cn != "" {
			addRDN(b, OIDCommonName, cbasn1.UTF8String, []byte(cn))
		}
		addRDN(b, OIDOrganizationalUnit, cbasn1.UTF8String, []byte(fmt.Sprintf("%02X", int(r))))
		addRDN(b, OIDX500UniqueIdentifier, cbasn1.BIT_STRING, append([]byte{0}, e[:]...))
	})
	return b.Bytes()
}

// AuthoritySubject encodes a CA subject [OU=ou], CN=cn with PrintableString
// values, as the ZAZ1 issuer (OU=07, CN=Z1) and the RTDS device issuer
// (CN=E357) are encoded.
func AuthoritySubject(ou, cn string) ([]byte, error) {
	if cn == "" {
		return nil, errors.New("CA common name is empty")
	}
	for _, s := range []string{ou, cn} {
		if !isPrintable(s) {
			return nil, fmt.Errorf("CA name %q: only PrintableString characters are accepted", s)
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if ou != "" {
			addRDN(b, OIDOrganizationalUnit, cbasn1.PrintableString, []byte(ou))
		}
		addRDN(b, OIDCommonName, cbasn1.PrintableString, []byte(cn))
	})
	return b.Bytes()
}

func addRDN(b *cryptobyte.Builder, id asn1.ObjectIdentifier, tag cbasn1.Tag, value []byte) {
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(id)
			b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(value) })
		})
	})
}

// isPrintable reports whether s uses only PrintableString characters.
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == ' ' || c == '\'' || c == '(' || c == ')' || c == '+' || c == ',' || c == '-' ||
			c == '.' || c == '/' || c == ':' || c == '=' || c == '?':
		default:
			return false
		}
	}
	return true
}

var cryptoRandReader = cryptorand.Reader
