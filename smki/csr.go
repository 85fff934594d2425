package smki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"

	"github.com/opendcc/opendcc/eui"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrMalformedCSR is wrapped by every ParseCSR error.
var ErrMalformedCSR = errors.New("smki: malformed certificate signing request")

// ErrCSRSignature is wrapped when a CSR's self-signature does not verify.
var ErrCSRSignature = errors.New("smki: certificate signing request signature does not verify")

// OIDExtensionRequest is the PKCS#9 extensionRequest attribute.
var OIDExtensionRequest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}

// CSR is a parsed PKCS#10 certification request (RFC 2986) carrying an
// ECDSA P-256 key. Byte slices alias the input.
type CSR struct {
	Raw     []byte // the whole request, DER
	RawInfo []byte // CertificationRequestInfo, DER (what the key signed)

	Version     int // 0 (v1)
	RawSubject  []byte
	SubjectName Name
	Subject     string // RFC 2253 as Java renders it (see Name.String)

	RawSubjectPublicKeyInfo []byte
	PublicKey               *ecdsa.PublicKey

	// Subject EUI and role when the subject is an organisation subject
	// (x500UniqueIdentifier and OU); HasEUI/HasRole say whether found.
	EUI     eui.EUI64
	HasEUI  bool
	Role    Role
	HasRole bool

	// RequestedExtensions are the extensions of an extensionRequest
	// attribute, if any (informational: the CA decides the extensions).
	RequestedExtensions []Extension

	SignatureAlgorithm asn1.ObjectIdentifier
	Signature          []byte // DER ECDSA signature
}

// ParseCSR parses a DER PKCS#10 request, or the first "CERTIFICATE
// REQUEST" (or "NEW CERTIFICATE REQUEST") block of PEM input. It does not
// check the signature: call CheckSignature.
func ParseCSR(b []byte) (*CSR, error) {
	der := b
	if isPEM(b) {
		blk, ok := firstPEMBlock(b, "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
		if !ok {
			return nil, fmt.Errorf("%w: no CERTIFICATE REQUEST PEM block", ErrMalformedCSR)
		}
		der = blk.Bytes
	}
	r, err := parseCSR(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedCSR, err)
	}
	return r, nil
}

func parseCSR(der []byte) (*CSR, error) {
	r := &CSR{}
	env, err := readSignedEnvelope(der, "certificationRequestInfo", "signature")
	if err != nil {
		return nil, err
	}
	r.Raw, r.RawInfo, r.SignatureAlgorithm, r.Signature = env.raw, env.tbs, env.alg, env.sig
	info := cryptobyte.String(env.tbs)

	if !info.ReadASN1(&info, cbasn1.SEQUENCE) {
		return nil, errors.New("certificationRequestInfo: bad SEQUENCE")
	}
	var ver int64
	if !info.ReadASN1Integer(&ver) {
		return nil, errors.New("certificationRequestInfo.version: not an INTEGER")
	}
	if ver != 0 {
		return nil, fmt.Errorf("certificationRequestInfo.version %d, want 0 (v1)", ver)
	}
	r.Version = int(ver)
	var subject cryptobyte.String
	if !info.ReadASN1Element(&subject, cbasn1.SEQUENCE) {
		return nil, errors.New("certificationRequestInfo.subject: not a SEQUENCE")
	}
	r.RawSubject = subject
	if r.SubjectName, err = parseName(subject); err != nil {
		return nil, fmt.Errorf("certificationRequestInfo.subject: %v", err)
	}
	r.Subject = r.SubjectName.String()
	if err := r.subjectIdentity(); err != nil {
		return nil, err
	}
	var spki cryptobyte.String
	if !info.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
		return nil, errors.New("certificationRequestInfo.subjectPKInfo: not a SEQUENCE")
	}
	r.RawSubjectPublicKeyInfo = spki
	if r.PublicKey, err = parseSPKI(spki); err != nil {
		return nil, err
	}
	var attrs cryptobyte.String
	if !info.ReadASN1(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errors.New("certificationRequestInfo.attributes: missing [0]")
	}
	if !info.Empty() {
		return nil, errors.New("certificationRequestInfo: trailing fields")
	}
	for !attrs.Empty() {
		var attr, values cryptobyte.String
		var id asn1.ObjectIdentifier
		if !attrs.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&id) ||
			!attr.ReadASN1(&values, cbasn1.SET) || !attr.Empty() {
			return nil, errors.New("attribute: malformed")
		}
		if !id.Equal(OIDExtensionRequest) {
			continue
		}
		var exts cryptobyte.String
		if !values.ReadASN1(&exts, cbasn1.SEQUENCE) || !values.Empty() {
			return nil, errors.New("extensionRequest: malformed")
		}
		for !exts.Empty() {
			var ext, val cryptobyte.String
			var e Extension
			if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&e.ID) {
				return nil, errors.New("extensionRequest: malformed extension")
			}
			if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&e.Critical) {
				return nil, errors.New("extensionRequest: malformed critical flag")
			}
			if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) || !ext.Empty() {
				return nil, errors.New("extensionRequest: malformed extnValue")
			}
			e.Value = val
			r.RequestedExtensions = append(r.RequestedExtensions, e)
		}
	}
	return r, nil
}

// subjectIdentity reads an organisation EUI and role from the subject.
func (r *CSR) subjectIdentity() error {
	for _, rdn := range r.SubjectName {
		for _, atv := range rdn {
			switch {
			case atv.Type.Equal(OIDX500UniqueIdentifier):
				v := cryptobyte.String(atv.Raw)
				var bs asn1.BitString
				if atv.Tag != cbasn1.BIT_STRING || !readBitString(&v, &bs) || bs.BitLength != 64 || r.HasEUI {
					return errors.New("subject x500UniqueIdentifier: want one 64-bit BIT STRING (EUI-64)")
				}
				copy(r.EUI[:], bs.Bytes)
				r.HasEUI = true
			case atv.Type.Equal(OIDOrganizationalUnit):
				s, ok := atv.StringValue()
				if !ok || r.HasRole {
					return errors.New("subject OU: want one string (the role)")
				}
				role, err := ParseRole(s)
				if err != nil {
					return fmt.Errorf("subject %v", err)
				}
				r.Role, r.HasRole = role, true
			}
		}
	}
	return nil
}

// CheckSignature verifies the request's self-signature (ecdsa-with-SHA256
// over CertificationRequestInfo with the requested key): proof that the
// requester holds the private key. Errors wrap ErrCSRSignature.
func (r *CSR) CheckSignature() error {
	if !r.SignatureAlgorithm.Equal(OIDECDSAWithSHA256) {
		return fmt.Errorf("%w: algorithm %v is not ecdsa-with-SHA256", ErrCSRSignature, r.SignatureAlgorithm)
	}
	h := sha256.Sum256(r.RawInfo)
	if !ecdsa.VerifyASN1(r.PublicKey, h[:], r.Signature) {
		return ErrCSRSignature
	}
	return nil
}

// CreateCSR builds a PKCS#10 request for key's public half with the given
// DER subject (nil: the empty subject, as for devices; see
// OrganisationSubject) and no attributes, signed by key (rand nil:
// crypto/rand).
func CreateCSR(rand io.Reader, key crypto.Signer, rawSubject []byte) ([]byte, error) {
	pub, err := signerKey(key)
	if err != nil {
		return nil, err
	}
	spki, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if rawSubject == nil {
		rawSubject = []byte{0x30, 0x00}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddBytes(rawSubject)
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(*cryptobyte.Builder) {})
	})
	info, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return signDER(rand, info, key)
}
