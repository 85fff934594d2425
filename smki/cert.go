// Package smki is the Smart Metering Key Infrastructure: the X.509
// certificates that identify DCC Users, the DCC and devices, their keys, and
// trust stores of them.
//
// crypto/x509 cannot be used for SMKI organisation certificates: their subject
// carries the EUI-64 as an x500UniqueIdentifier (2.5.4.45) BIT STRING, which
// the standard library refuses ("unsupported string type: 3"). Device
// certificates parse there, but their critical subjectAltName (otherName
// hardwareModuleName) is left unhandled. So this package owns certificate
// parsing: a small cryptobyte parser for the fixed SMKI profile (ECDSA P-256,
// ecdsa-with-SHA256, version 3). It never panics on hostile input.
//
// The package is pure: no network, storage or clock. Validity is checked by
// callers against a time they pass in.
package smki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/opendcc/opendcc/eui"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers used by the SMKI profile.
var (
	OIDECPublicKey          = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	OIDNamedCurveP256       = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	OIDECDSAWithSHA256      = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDX500UniqueIdentifier = asn1.ObjectIdentifier{2, 5, 4, 45}
	OIDOrganizationalUnit   = asn1.ObjectIdentifier{2, 5, 4, 11}
	OIDCommonName           = asn1.ObjectIdentifier{2, 5, 4, 3}
	OIDHardwareModuleName   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 8, 4}

	OIDExtSubjectKeyID        = asn1.ObjectIdentifier{2, 5, 29, 14}
	OIDExtKeyUsage            = asn1.ObjectIdentifier{2, 5, 29, 15}
	OIDExtSubjectAltName      = asn1.ObjectIdentifier{2, 5, 29, 17}
	OIDExtBasicConstraints    = asn1.ObjectIdentifier{2, 5, 29, 19}
	OIDExtCertificatePolicies = asn1.ObjectIdentifier{2, 5, 29, 32}
	OIDExtAuthorityKeyID      = asn1.ObjectIdentifier{2, 5, 29, 35}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidCurveP384     = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidCurveP521     = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("smki: malformed certificate")

// ErrUnsupportedKey is wrapped when the public key is not ECDSA P-256.
var ErrUnsupportedKey = errors.New("smki: unsupported public key (SMKI uses ECDSA P-256 only)")

// Kind says which SMKI certificate profile a certificate follows.
type Kind int

const (
	// KindOrganisation: subject OU = remote-party role, x500UniqueIdentifier = EUI-64.
	KindOrganisation Kind = iota + 1
	// KindDevice: empty subject, critical subjectAltName otherName
	// hardwareModuleName whose hwSerialNum is the device EUI-64.
	KindDevice
	// KindAuthority: a CA certificate (basicConstraints cA), kept so that
	// chains can be checked later.
	KindAuthority
)

func (k Kind) String() string {
	switch k {
	case KindOrganisation:
		return "organisation"
	case KindDevice:
		return "device"
	case KindAuthority:
		return "authority"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Role is the remote-party role of an organisation certificate, carried in
// the subject OU as two hex digits (as dccboxed-keystore parses it).
type Role int

// Remote-party roles.
const (
	RoleNone                Role = 0
	RoleRecovery            Role = 0x01
	RoleSupplier            Role = 0x02
	RoleNetworkOperator     Role = 0x03
	RoleAccessControlBroker Role = 0x04
	RoleTransitionalCoS     Role = 0x05
	RoleWANProvider         Role = 0x06
	RoleIssuingAuthority    Role = 0x07
	RoleLoadController      Role = 0x08
	RoleOther               Role = 0x7F
	RoleXMLSign             Role = 0x87 // 135: a User's DUIS XML-signing certificate
	RoleDSPXMLSign          Role = 0x89 // 137: the DCC (DSP) DUIS XML-signing certificate
)

var roleNames = map[Role]string{
	RoleRecovery: "recovery", RoleSupplier: "supplier", RoleNetworkOperator: "networkOperator",
	RoleAccessControlBroker: "accessControlBroker", RoleTransitionalCoS: "transitionalCoS",
	RoleWANProvider: "wanProvider", RoleIssuingAuthority: "issuingAuthority",
	RoleLoadController: "loadController", RoleOther: "other", RoleXMLSign: "xmlSign",
	RoleDSPXMLSign: "dspXmlSign",
}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// IsXMLSigning reports whether r is one of the DUIS XML-signing roles.
func (r Role) IsXMLSigning() bool { return r == RoleXMLSign || r == RoleDSPXMLSign }

// ParseRole reads a subject OU as a role: two hex digits ("87" is 135). The
// pre-1.4.1 DCC Boxed DSP XML-signing certificate (serial 261E9CCC…) carries
// the non-conformant decimal literal "137" instead of "89"; that one literal
// is accepted as RoleDSPXMLSign so that 2022 DCC Boxed responses still verify.
func ParseRole(ou string) (Role, error) {
	if ou == "137" {
		return RoleDSPXMLSign, nil
	}
	if len(ou) != 2 {
		return 0, fmt.Errorf("role OU %q: want two hex digits", ou)
	}
	v, err := strconv.ParseUint(ou, 16, 8)
	if err != nil {
		return 0, fmt.Errorf("role OU %q: want two hex digits", ou)
	}
	return Role(v), nil
}

// KeyUsage holds the keyUsage bits, bit 0 (digitalSignature) as 1.
type KeyUsage int

// keyUsage bits (RFC 5280 §4.2.1.3).
const (
	KeyUsageDigitalSignature KeyUsage = 1 << iota
	KeyUsageContentCommitment
	KeyUsageKeyEncipherment
	KeyUsageDataEncipherment
	KeyUsageKeyAgreement
	KeyUsageCertSign
	KeyUsageCRLSign
	KeyUsageEncipherOnly
	KeyUsageDecipherOnly
)

func (k KeyUsage) String() string {
	names := []string{"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment",
		"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}
	var out []string
	for i, n := range names {
		if k&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, "|")
}

// Extension is one X.509 v3 extension as found in the certificate.
type Extension struct {
	ID       asn1.ObjectIdentifier
	Critical bool
	Value    []byte // the extnValue OCTET STRING contents
}

// Certificate is a parsed SMKI certificate. Byte slices alias the input.
type Certificate struct {
	Raw    []byte // the whole certificate, DER
	RawTBS []byte // the TBSCertificate, DER (what the issuer signed)

	Version            int // 3
	SerialNumber       *big.Int
	SignatureAlgorithm asn1.ObjectIdentifier
	Signature          []byte // DER ECDSA signature by the issuer

	RawIssuer, RawSubject   []byte // DER Name
	IssuerName, SubjectName Name
	// Issuer and Subject are RFC 2253 strings rendered exactly as Java's
	// X500Principal.getName("RFC2253") does, e.g. "CN=Z1,OU=07": this is the
	// form that goes into ds:X509IssuerName.
	Issuer, Subject string

	NotBefore, NotAfter time.Time // device certificates: NotAfter 9999-12-31T23:59:59Z

	RawSubjectPublicKeyInfo []byte
	PublicKey               *ecdsa.PublicKey // P-256

	Kind Kind
	EUI  eui.EUI64 // org: subject x500UniqueIdentifier; device: SAN hwSerialNum
	Role Role      // org: subject OU; RoleNone otherwise
	// HardwareType is the hwType OID of a device certificate's hardwareModuleName.
	HardwareType asn1.ObjectIdentifier

	KeyUsage         KeyUsage
	KeyUsageCritical bool
	HasKeyUsage      bool

	Policies         []asn1.ObjectIdentifier
	PoliciesCritical bool

	SubjectKeyID   []byte
	AuthorityKeyID []byte

	IsCA                    bool // basicConstraints cA
	BasicConstraintsPresent bool
	// MaxPathLen is basicConstraints pathLenConstraint when HasMaxPathLen.
	MaxPathLen    int
	HasMaxPathLen bool

	Extensions []Extension
	// UnhandledCriticalExtensions lists critical extensions this parser does
	// not interpret.
	UnhandledCriticalExtensions []asn1.ObjectIdentifier
}

// Extension returns the extension with the given OID, if present.
func (c *Certificate) Extension(id asn1.ObjectIdentifier) (Extension, bool) {
	for _, e := range c.Extensions {
		if e.ID.Equal(id) {
			return e, true
		}
	}
	return Extension{}, false
}

// IsSelfIssued reports whether issuer and subject are the same name (a root,
// or a self-issued CA certificate).
func (c *Certificate) IsSelfIssued() bool {
	return string(c.RawIssuer) == string(c.RawSubject)
}

// ValidAt reports whether t lies in [NotBefore, NotAfter].
func (c *Certificate) ValidAt(t time.Time) bool {
	return !t.Before(c.NotBefore) && !t.After(c.NotAfter)
}

// SerialHex is the serial in upper-case hex, as openssl prints it.
func (c *Certificate) SerialHex() string {
	return strings.ToUpper(c.SerialNumber.Text(16))
}

func (c *Certificate) String() string {
	if c == nil {
		return "<nil certificate>"
	}
	switch c.Kind {
	case KindOrganisation:
		return fmt.Sprintf("%s role %d (%s) serial %s issuer %q", c.EUI, int(c.Role), c.Role, c.SerialHex(), c.Issuer)
	case KindDevice:
		return fmt.Sprintf("device %s serial %s issuer %q", c.EUI, c.SerialHex(), c.Issuer)
	}
	return fmt.Sprintf("%s %q serial %s issuer %q", c.Kind, c.Subject, c.SerialHex(), c.Issuer)
}

// ErrSignatureCheck is wrapped when CheckSignatureFrom fails.
var ErrSignatureCheck = errors.New("smki: certificate signature check failed")

// CheckSignatureFrom verifies that parent's key signed c (ecdsa-with-SHA256
// over RawTBS) and that parent may sign certificates (a CA whose keyUsage,
// when present, includes keyCertSign). It does not compare names or dates:
// that belongs to chain building.
func (c *Certificate) CheckSignatureFrom(parent *Certificate) error {
	if parent == nil || parent.PublicKey == nil {
		return fmt.Errorf("%w: no parent key", ErrSignatureCheck)
	}
	if !parent.IsCA {
		return fmt.Errorf("%w: parent %q is not a CA (basicConstraints)", ErrSignatureCheck, parent.Subject)
	}
	if parent.HasKeyUsage && parent.KeyUsage&KeyUsageCertSign == 0 {
		return fmt.Errorf("%w: parent %q keyUsage %s lacks keyCertSign", ErrSignatureCheck, parent.Subject, parent.KeyUsage)
	}
	if !c.SignatureAlgorithm.Equal(OIDECDSAWithSHA256) {
		return fmt.Errorf("%w: signature algorithm %v is not ecdsa-with-SHA256", ErrSignatureCheck, c.SignatureAlgorithm)
	}
	h := sha256.Sum256(c.RawTBS)
	if !ecdsa.VerifyASN1(parent.PublicKey, h[:], c.Signature) {
		return fmt.Errorf("%w: signature on serial %s does not verify with %q's key", ErrSignatureCheck, c.SerialHex(), parent.Subject)
	}
	return nil
}

// ParseCertificate parses one DER certificate of the SMKI profile
// (organisation, device or CA). Byte slices in the result alias der.
func ParseCertificate(der []byte) (*Certificate, error) {
	c, err := parseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return c, nil
}

func parseCertificate(der []byte) (*Certificate, error) {
	c := &Certificate{}
	input := cryptobyte.String(der)
	var certSeq cryptobyte.String
	if !input.ReadASN1Element(&certSeq, cbasn1.SEQUENCE) {
		return nil, errors.New("certificate: not a DER SEQUENCE")
	}
	if !input.Empty() {
		return nil, fmt.Errorf("certificate: %d trailing bytes after the SEQUENCE", len(input))
	}
	c.Raw = certSeq
	if !certSeq.ReadASN1(&certSeq, cbasn1.SEQUENCE) {
		return nil, errors.New("certificate: bad outer SEQUENCE")
	}
	var tbs cryptobyte.String
	if !certSeq.ReadASN1Element(&tbs, cbasn1.SEQUENCE) {
		return nil, errors.New("tbsCertificate: not a SEQUENCE")
	}
	c.RawTBS = tbs
	outerAlg, err := readAlgorithmOID(&certSeq, "signatureAlgorithm")
	if err != nil {
		return nil, err
	}
	c.SignatureAlgorithm = outerAlg
	sig, err := readBitStringBytes(&certSeq, "signatureValue")
	if err != nil {
		return nil, err
	}
	c.Signature = sig
	if !certSeq.Empty() {
		return nil, errors.New("certificate: extra fields after signatureValue")
	}

	// TBSCertificate
	if !tbs.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, errors.New("tbsCertificate: bad SEQUENCE")
	}
	c.Version = 1
	if tbs.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var v cryptobyte.String
		var ver int64
		if !tbs.ReadASN1(&v, cbasn1.Tag(0).Constructed().ContextSpecific()) || !v.ReadASN1Integer(&ver) || !v.Empty() {
			return nil, errors.New("tbsCertificate.version: malformed")
		}
		c.Version = int(ver) + 1
	}
	if c.Version != 3 {
		return nil, fmt.Errorf("tbsCertificate.version: %d, SMKI certificates are version 3", c.Version)
	}
	c.SerialNumber = new(big.Int)
	if !tbs.ReadASN1Integer(c.SerialNumber) {
		return nil, errors.New("tbsCertificate.serialNumber: not an INTEGER")
	}
	if c.SerialNumber.Sign() < 0 {
		return nil, fmt.Errorf("tbsCertificate.serialNumber: negative (%s)", c.SerialNumber)
	}
	innerAlg, err := readAlgorithmOID(&tbs, "tbsCertificate.signature")
	if err != nil {
		return nil, err
	}
	if !innerAlg.Equal(outerAlg) {
		return nil, fmt.Errorf("tbsCertificate.signature %v differs from signatureAlgorithm %v", innerAlg, outerAlg)
	}
	var issuer, subject cryptobyte.String
	if !tbs.ReadASN1Element(&issuer, cbasn1.SEQUENCE) {
		return nil, errors.New("tbsCertificate.issuer: not a SEQUENCE")
	}
	c.RawIssuer = issuer
	if c.IssuerName, err = parseName(issuer); err != nil {
		return nil, fmt.Errorf("tbsCertificate.issuer: %v", err)
	}
	c.Issuer = c.IssuerName.String()

	var validity cryptobyte.String
	if !tbs.ReadASN1(&validity, cbasn1.SEQUENCE) {
		return nil, errors.New("tbsCertificate.validity: not a SEQUENCE")
	}
	if c.NotBefore, err = readTime(&validity); err != nil {
		return nil, fmt.Errorf("tbsCertificate.validity.notBefore: %v", err)
	}
	if c.NotAfter, err = readTime(&validity); err != nil {
		return nil, fmt.Errorf("tbsCertificate.validity.notAfter: %v", err)
	}
	if !validity.Empty() {
		return nil, errors.New("tbsCertificate.validity: extra fields")
	}

	if !tbs.ReadASN1Element(&subject, cbasn1.SEQUENCE) {
		return nil, errors.New("tbsCertificate.subject: not a SEQUENCE")
	}
	c.RawSubject = subject
	if c.SubjectName, err = parseName(subject); err != nil {
		return nil, fmt.Errorf("tbsCertificate.subject: %v", err)
	}
	c.Subject = c.SubjectName.String()

	var spki cryptobyte.String
	if !tbs.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
		return nil, errors.New("tbsCertificate.subjectPublicKeyInfo: not a SEQUENCE")
	}
	c.RawSubjectPublicKeyInfo = spki
	if c.PublicKey, err = parseSPKI(spki); err != nil {
		return nil, err
	}
	// issuerUniqueID [1] and subjectUniqueID [2] are not used by SMKI; skip.
	for _, tag := range []cbasn1.Tag{cbasn1.Tag(1).ContextSpecific(), cbasn1.Tag(2).ContextSpecific()} {
		if !tbs.SkipOptionalASN1(tag) {
			return nil, errors.New("tbsCertificate: malformed unique identifier")
		}
	}
	extTag := cbasn1.Tag(3).Constructed().ContextSpecific()
	if tbs.PeekASN1Tag(extTag) {
		var exts cryptobyte.String
		if !tbs.ReadASN1(&exts, extTag) || !exts.ReadASN1(&exts, cbasn1.SEQUENCE) {
			return nil, errors.New("tbsCertificate.extensions: malformed")
		}
		if err := c.parseExtensions(exts); err != nil {
			return nil, err
		}
	}
	if !tbs.Empty() {
		return nil, errors.New("tbsCertificate: unexpected trailing fields")
	}
	if err := c.classify(); err != nil {
		return nil, err
	}
	return c, nil
}

func readAlgorithmOID(s *cryptobyte.String, where string) (asn1.ObjectIdentifier, error) {
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, fmt.Errorf("%s: malformed AlgorithmIdentifier", where)
	}
	// Parameters: absent, or NULL (the "mdr" test certificates carry NULL).
	if !alg.Empty() {
		var null cryptobyte.String
		if !alg.ReadASN1(&null, cbasn1.NULL) || !null.Empty() || !alg.Empty() {
			return nil, fmt.Errorf("%s: unexpected AlgorithmIdentifier parameters for %v", where, oid)
		}
	}
	return oid, nil
}

func readBitStringBytes(s *cryptobyte.String, where string) ([]byte, error) {
	var bs asn1.BitString
	if !readBitString(s, &bs) {
		return nil, fmt.Errorf("%s: not a BIT STRING", where)
	}
	if bs.BitLength%8 != 0 {
		return nil, fmt.Errorf("%s: BIT STRING has unused bits", where)
	}
	return bs.Bytes, nil
}

// readBitString is ReadASN1BitString that returns the bytes aliasing input.
func readBitString(s *cryptobyte.String, out *asn1.BitString) bool {
	var b cryptobyte.String
	if !s.ReadASN1(&b, cbasn1.BIT_STRING) || len(b) == 0 {
		return false
	}
	pad := b[0]
	data := []byte(b[1:])
	if pad > 7 || (len(data) == 0 && pad != 0) || (len(data) > 0 && data[len(data)-1]&(1<<pad-1) != 0) {
		return false
	}
	*out = asn1.BitString{Bytes: data, BitLength: len(data)*8 - int(pad)}
	return true
}

func readTime(s *cryptobyte.String) (time.Time, error) {
	var t time.Time
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		if !s.ReadASN1UTCTime(&t) {
			return t, errors.New("malformed UTCTime")
		}
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		if !s.ReadASN1GeneralizedTime(&t) {
			return t, errors.New("malformed GeneralizedTime")
		}
	default:
		return t, errors.New("not a UTCTime or GeneralizedTime")
	}
	return t.UTC(), nil
}

func parseSPKI(spki cryptobyte.String) (*ecdsa.PublicKey, error) {
	var seq, alg cryptobyte.String
	var algOID asn1.ObjectIdentifier
	if !spki.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&algOID) {
		return nil, errors.New("subjectPublicKeyInfo: malformed algorithm")
	}
	switch {
	case algOID.Equal(OIDECPublicKey):
	case algOID.Equal(oidRSAEncryption):
		return nil, fmt.Errorf("%w: subjectPublicKeyInfo is RSA", ErrUnsupportedKey)
	default:
		return nil, fmt.Errorf("%w: subjectPublicKeyInfo algorithm %v", ErrUnsupportedKey, algOID)
	}
	var curve asn1.ObjectIdentifier
	if !alg.ReadASN1ObjectIdentifier(&curve) || !alg.Empty() {
		return nil, fmt.Errorf("%w: EC parameters are not a named curve", ErrUnsupportedKey)
	}
	switch {
	case curve.Equal(OIDNamedCurveP256):
	case curve.Equal(oidCurveP384):
		return nil, fmt.Errorf("%w: curve P-384", ErrUnsupportedKey)
	case curve.Equal(oidCurveP521):
		return nil, fmt.Errorf("%w: curve P-521", ErrUnsupportedKey)
	default:
		return nil, fmt.Errorf("%w: curve %v", ErrUnsupportedKey, curve)
	}
	point, err := readBitStringBytes(&seq, "subjectPublicKeyInfo.subjectPublicKey")
	if err != nil {
		return nil, err
	}
	if !seq.Empty() {
		return nil, errors.New("subjectPublicKeyInfo: trailing data")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("subjectPublicKeyInfo: P-256 point: %v", err)
	}
	return pub, nil
}

func (c *Certificate) parseExtensions(exts cryptobyte.String) error {
	seen := map[string]bool{}
	for !exts.Empty() {
		var ext cryptobyte.String
		var e Extension
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&e.ID) {
			return errors.New("extension: malformed")
		}
		if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&e.Critical) {
			return fmt.Errorf("extension %v: malformed critical flag", e.ID)
		}
		var val cryptobyte.String
		if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) || !ext.Empty() {
			return fmt.Errorf("extension %v: malformed extnValue", e.ID)
		}
		e.Value = val
		key := e.ID.String()
		if seen[key] {
			return fmt.Errorf("extension %v: duplicated", e.ID)
		}
		seen[key] = true
		c.Extensions = append(c.Extensions, e)
		handled, err := c.applyExtension(e)
		if err != nil {
			return fmt.Errorf("extension %v: %v", e.ID, err)
		}
		if !handled && e.Critical {
			c.UnhandledCriticalExtensions = append(c.UnhandledCriticalExtensions, e.ID)
		}
	}
	return nil
}

func (c *Certificate) applyExtension(e Extension) (bool, error) {
	v := cryptobyte.String(e.Value)
	switch {
	case e.ID.Equal(OIDExtKeyUsage):
		var bs asn1.BitString
		if !readBitString(&v, &bs) || !v.Empty() {
			return true, errors.New("keyUsage: not a BIT STRING")
		}
		var ku KeyUsage
		for i := 0; i < 9; i++ {
			if bs.At(i) != 0 {
				ku |= 1 << i
			}
		}
		c.KeyUsage, c.KeyUsageCritical, c.HasKeyUsage = ku, e.Critical, true
	case e.ID.Equal(OIDExtSubjectKeyID):
		var id cryptobyte.String
		if !v.ReadASN1(&id, cbasn1.OCTET_STRING) || !v.Empty() {
			return true, errors.New("subjectKeyIdentifier: not an OCTET STRING")
		}
		c.SubjectKeyID = id
	case e.ID.Equal(OIDExtAuthorityKeyID):
		var seq cryptobyte.String
		if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() {
			return true, errors.New("authorityKeyIdentifier: not a SEQUENCE")
		}
		var id cryptobyte.String
		var present bool
		if !seq.ReadOptionalASN1(&id, &present, cbasn1.Tag(0).ContextSpecific()) {
			return true, errors.New("authorityKeyIdentifier: malformed keyIdentifier")
		}
		if present {
			c.AuthorityKeyID = id
		}
		// authorityCertIssuer [1] and authorityCertSerialNumber [2] are ignored.
	case e.ID.Equal(OIDExtCertificatePolicies):
		var seq cryptobyte.String
		if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() {
			return true, errors.New("certificatePolicies: not a SEQUENCE")
		}
		for !seq.Empty() {
			var pi cryptobyte.String
			var oid asn1.ObjectIdentifier
			if !seq.ReadASN1(&pi, cbasn1.SEQUENCE) || !pi.ReadASN1ObjectIdentifier(&oid) {
				return true, errors.New("certificatePolicies: malformed PolicyInformation")
			}
			c.Policies = append(c.Policies, oid)
		}
		c.PoliciesCritical = e.Critical
	case e.ID.Equal(OIDExtBasicConstraints):
		var seq cryptobyte.String
		if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() {
			return true, errors.New("basicConstraints: not a SEQUENCE")
		}
		if seq.PeekASN1Tag(cbasn1.BOOLEAN) && !seq.ReadASN1Boolean(&c.IsCA) {
			return true, errors.New("basicConstraints: malformed cA")
		}
		if seq.PeekASN1Tag(cbasn1.INTEGER) {
			var n int64
			if !seq.ReadASN1Integer(&n) || n < 0 || n > 1<<16 {
				return true, errors.New("basicConstraints: malformed pathLenConstraint")
			}
			c.MaxPathLen, c.HasMaxPathLen = int(n), true
		}
		if !seq.Empty() {
			return true, errors.New("basicConstraints: trailing data")
		}
		c.BasicConstraintsPresent = true
	case e.ID.Equal(OIDExtSubjectAltName):
		found, err := c.parseSAN(v)
		if err != nil {
			return true, err
		}
		// The SAN is only "handled" when it is the SMKI hardwareModuleName.
		return found, nil
	default:
		return false, nil
	}
	return true, nil
}

// parseSAN looks for otherName hardwareModuleName (RFC 4108):
// SEQUENCE { hwType OID, hwSerialNum OCTET STRING }.
func (c *Certificate) parseSAN(v cryptobyte.String) (bool, error) {
	var names cryptobyte.String
	if !v.ReadASN1(&names, cbasn1.SEQUENCE) || !v.Empty() {
		return false, errors.New("subjectAltName: not a SEQUENCE")
	}
	found := false
	for !names.Empty() {
		var gn cryptobyte.String
		var tag cbasn1.Tag
		if !names.ReadAnyASN1(&gn, &tag) {
			return false, errors.New("subjectAltName: malformed GeneralName")
		}
		if tag != cbasn1.Tag(0).Constructed().ContextSpecific() {
			continue // not otherName
		}
		var typeID asn1.ObjectIdentifier
		var val cryptobyte.String
		if !gn.ReadASN1ObjectIdentifier(&typeID) || !gn.ReadASN1(&val, cbasn1.Tag(0).Constructed().ContextSpecific()) || !gn.Empty() {
			return false, errors.New("subjectAltName: malformed otherName")
		}
		if !typeID.Equal(OIDHardwareModuleName) {
			continue
		}
		var hw cryptobyte.String
		var hwType asn1.ObjectIdentifier
		var serial cryptobyte.String
		if !val.ReadASN1(&hw, cbasn1.SEQUENCE) || !val.Empty() ||
			!hw.ReadASN1ObjectIdentifier(&hwType) || !hw.ReadASN1(&serial, cbasn1.OCTET_STRING) || !hw.Empty() {
			return false, errors.New("subjectAltName: malformed hardwareModuleName")
		}
		if found {
			return false, errors.New("subjectAltName: more than one hardwareModuleName")
		}
		if len(serial) != 8 {
			return false, fmt.Errorf("subjectAltName: hwSerialNum is %d bytes, want an 8-byte EUI-64", len(serial))
		}
		found = true
		c.HardwareType = hwType
		copy(c.EUI[:], serial)
	}
	return found, nil
}

// classify decides the Kind and extracts EUI and role from the subject.
func (c *Certificate) classify() error {
	var uid, ou []AttributeTypeAndValue
	for _, rdn := range c.SubjectName {
		for _, atv := range rdn {
			switch {
			case atv.Type.Equal(OIDX500UniqueIdentifier):
				uid = append(uid, atv)
			case atv.Type.Equal(OIDOrganizationalUnit):
				ou = append(ou, atv)
			}
		}
	}
	isDevice := c.HardwareType != nil
	switch {
	case len(uid) > 0:
		if isDevice {
			return errors.New("subject has both x500UniqueIdentifier and a hardwareModuleName subjectAltName")
		}
		if len(uid) > 1 {
			return errors.New("subject: more than one x500UniqueIdentifier")
		}
		if uid[0].Tag != cbasn1.BIT_STRING {
			return fmt.Errorf("subject x500UniqueIdentifier: ASN.1 tag %d, want BIT STRING", uid[0].Tag)
		}
		v := cryptobyte.String(uid[0].Raw)
		var bs asn1.BitString
		if !readBitString(&v, &bs) || bs.BitLength != 64 {
			return errors.New("subject x500UniqueIdentifier: want a 64-bit BIT STRING (EUI-64)")
		}
		copy(c.EUI[:], bs.Bytes)
		if len(ou) != 1 {
			return fmt.Errorf("subject: %d OU attributes, an organisation certificate has one (the role)", len(ou))
		}
		s, ok := ou[0].StringValue()
		if !ok {
			return errors.New("subject OU: not a string")
		}
		r, err := ParseRole(s)
		if err != nil {
			return fmt.Errorf("subject %v", err)
		}
		c.Role = r
		c.Kind = KindOrganisation
	case isDevice:
		c.Kind = KindDevice
	case c.IsCA:
		c.Kind = KindAuthority
	default:
		return fmt.Errorf("subject %q: neither an organisation certificate (x500UniqueIdentifier), a device certificate (hardwareModuleName) nor a CA", c.Subject)
	}
	return nil
}

// signedEnvelope is the outer SEQUENCE { toBeSigned, signatureAlgorithm,
// signature BIT STRING } shared by CRLs and CSRs (RFC 5280, RFC 2986).
type signedEnvelope struct {
	raw, tbs []byte
	alg      asn1.ObjectIdentifier
	sig      []byte
}

// readSignedEnvelope splits a DER signed structure; tbsName and sigName name
// its parts in errors.
func readSignedEnvelope(der []byte, tbsName, sigName string) (signedEnvelope, error) {
	var env signedEnvelope
	in := cryptobyte.String(der)
	var outer cryptobyte.String
	if !in.ReadASN1Element(&outer, cbasn1.SEQUENCE) {
		return env, errors.New("not a DER SEQUENCE")
	}
	if !in.Empty() {
		return env, fmt.Errorf("%d trailing bytes after the SEQUENCE", len(in))
	}
	env.raw = outer
	if !outer.ReadASN1(&outer, cbasn1.SEQUENCE) {
		return env, errors.New("bad outer SEQUENCE")
	}
	var tbs cryptobyte.String
	if !outer.ReadASN1Element(&tbs, cbasn1.SEQUENCE) {
		return env, errors.New(tbsName + ": not a SEQUENCE")
	}
	env.tbs = tbs
	var err error
	if env.alg, err = readAlgorithmOID(&outer, "signatureAlgorithm"); err != nil {
		return env, err
	}
	if env.sig, err = readBitStringBytes(&outer, sigName); err != nil {
		return env, err
	}
	if !outer.Empty() {
		return env, errors.New("extra fields after " + sigName)
	}
	return env, nil
}
