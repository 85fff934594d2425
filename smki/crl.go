package smki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CRL extension OIDs.
var (
	OIDExtCRLNumber         = asn1.ObjectIdentifier{2, 5, 29, 20}
	OIDExtReasonCode        = asn1.ObjectIdentifier{2, 5, 29, 21}
	OIDExtInvalidityDate    = asn1.ObjectIdentifier{2, 5, 29, 24}
	OIDExtDeltaCRLIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	OIDExtIssuingDistPoint  = asn1.ObjectIdentifier{2, 5, 29, 28}
	OIDExtCertificateIssuer = asn1.ObjectIdentifier{2, 5, 29, 29}
)

// ErrMalformedCRL is wrapped by every ParseCRL error.
var ErrMalformedCRL = errors.New("smki: malformed certificate revocation list")

// ErrCRLSignature is wrapped when a CRL does not verify against its issuer.
var ErrCRLSignature = errors.New("smki: CRL signature check failed")

// ErrCRLExpired is wrapped when a CRL is used outside [ThisUpdate, NextUpdate].
var ErrCRLExpired = errors.New("smki: CRL is not current")

// Reason codes (RFC 5280 §5.3.1). ReasonUnspecified is written as no
// reasonCode extension, as RFC 5280 recommends.
const (
	ReasonUnspecified          = 0
	ReasonKeyCompromise        = 1
	ReasonCACompromise         = 2
	ReasonAffiliationChanged   = 3
	ReasonSuperseded           = 4
	ReasonCessationOfOperation = 5
	ReasonCertificateHold      = 6
	ReasonRemoveFromCRL        = 8
	ReasonPrivilegeWithdrawn   = 9
	ReasonAACompromise         = 10
)

var reasonNames = map[int]string{
	ReasonUnspecified: "unspecified", ReasonKeyCompromise: "keyCompromise", ReasonCACompromise: "cACompromise",
	ReasonAffiliationChanged: "affiliationChanged", ReasonSuperseded: "superseded",
	ReasonCessationOfOperation: "cessationOfOperation", ReasonCertificateHold: "certificateHold",
	ReasonRemoveFromCRL: "removeFromCRL", ReasonPrivilegeWithdrawn: "privilegeWithdrawn", ReasonAACompromise: "aACompromise",
}

// ReasonString names a reason code.
func ReasonString(r int) string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return "reason(" + strconv.Itoa(r) + ")"
}

// ParseReason reads a reason code by name (case-sensitive, as RFC 5280
// spells it) or number.
func ParseReason(s string) (int, error) {
	for r, n := range reasonNames {
		if n == s {
			return r, nil
		}
	}
	if r, err := strconv.Atoi(s); err == nil {
		if _, ok := reasonNames[r]; ok {
			return r, nil
		}
	}
	return 0, fmt.Errorf("smki: unknown revocation reason %q", s)
}

// RevokedCertificate is one CRL entry.
type RevokedCertificate struct {
	SerialNumber   *big.Int
	RevocationTime time.Time
	Reason         int // ReasonUnspecified when the entry has no reasonCode
}

// CRL is a parsed X.509 v2 certificate revocation list. Byte slices alias
// the input.
type CRL struct {
	Raw    []byte
	RawTBS []byte

	Version            int // 2
	SignatureAlgorithm asn1.ObjectIdentifier
	Signature          []byte

	RawIssuer  []byte
	IssuerName Name
	Issuer     string // RFC 2253 (see Name.String)

	ThisUpdate, NextUpdate time.Time // NextUpdate zero when absent

	Revoked        []RevokedCertificate
	Number         *big.Int // cRLNumber; nil when absent
	AuthorityKeyID []byte
	Extensions     []Extension

	bySerial map[string]int // serial bytes -> index in Revoked
}

// ParseCRL parses a DER CRL, or the first "X509 CRL" block of PEM input.
// CRLs with critical extensions this package does not implement (delta
// CRLs, issuing distribution points, indirect CRLs) are refused, as RFC
// 5280 §5.2 requires.
func ParseCRL(b []byte) (*CRL, error) {
	der := b
	if isPEM(b) {
		blk, ok := firstPEMBlock(b, "X509 CRL")
		if !ok {
			return nil, fmt.Errorf("%w: no X509 CRL PEM block", ErrMalformedCRL)
		}
		der = blk.Bytes
	}
	c, err := parseCRL(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedCRL, err)
	}
	return c, nil
}

func parseCRL(der []byte) (*CRL, error) {
	c := &CRL{bySerial: map[string]int{}}
	env, err := readSignedEnvelope(der, "tbsCertList", "signatureValue")
	if err != nil {
		return nil, err
	}
	c.Raw, c.RawTBS, c.SignatureAlgorithm, c.Signature = env.raw, env.tbs, env.alg, env.sig
	tbs := cryptobyte.String(env.tbs)

	if !tbs.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, errors.New("tbsCertList: bad SEQUENCE")
	}
	c.Version = 1
	if tbs.PeekASN1Tag(cbasn1.INTEGER) {
		var v int64
		if !tbs.ReadASN1Integer(&v) {
			return nil, errors.New("tbsCertList.version: malformed")
		}
		c.Version = int(v) + 1
	}
	if c.Version != 2 {
		return nil, fmt.Errorf("tbsCertList.version: %d, want 2", c.Version)
	}
	inner, err := readAlgorithmOID(&tbs, "tbsCertList.signature")
	if err != nil {
		return nil, err
	}
	if !inner.Equal(env.alg) {
		return nil, fmt.Errorf("tbsCertList.signature %v differs from signatureAlgorithm %v", inner, env.alg)
	}
	var issuer cryptobyte.String
	if !tbs.ReadASN1Element(&issuer, cbasn1.SEQUENCE) {
		return nil, errors.New("tbsCertList.issuer: not a SEQUENCE")
	}
	c.RawIssuer = issuer
	if c.IssuerName, err = parseName(issuer); err != nil {
		return nil, fmt.Errorf("tbsCertList.issuer: %v", err)
	}
	c.Issuer = c.IssuerName.String()
	if c.ThisUpdate, err = readTime(&tbs); err != nil {
		return nil, fmt.Errorf("tbsCertList.thisUpdate: %v", err)
	}
	if tbs.PeekASN1Tag(cbasn1.UTCTime) || tbs.PeekASN1Tag(cbasn1.GeneralizedTime) {
		if c.NextUpdate, err = readTime(&tbs); err != nil {
			return nil, fmt.Errorf("tbsCertList.nextUpdate: %v", err)
		}
	}
	if tbs.PeekASN1Tag(cbasn1.SEQUENCE) {
		var list cryptobyte.String
		if !tbs.ReadASN1(&list, cbasn1.SEQUENCE) {
			return nil, errors.New("revokedCertificates: malformed")
		}
		for !list.Empty() {
			var ent cryptobyte.String
			r := RevokedCertificate{SerialNumber: new(big.Int)}
			if !list.ReadASN1(&ent, cbasn1.SEQUENCE) || !ent.ReadASN1Integer(r.SerialNumber) {
				return nil, errors.New("revokedCertificates: malformed entry")
			}
			if r.SerialNumber.Sign() < 0 {
				return nil, fmt.Errorf("revokedCertificates: negative serial %s", r.SerialNumber)
			}
			if r.RevocationTime, err = readTime(&ent); err != nil {
				return nil, fmt.Errorf("revokedCertificates: revocationDate: %v", err)
			}
			if !ent.Empty() {
				var exts cryptobyte.String
				if !ent.ReadASN1(&exts, cbasn1.SEQUENCE) || !ent.Empty() {
					return nil, errors.New("revokedCertificates: malformed crlEntryExtensions")
				}
				if err := r.parseEntryExtensions(exts); err != nil {
					return nil, err
				}
			}
			k := string(r.SerialNumber.Bytes())
			if _, dup := c.bySerial[k]; dup {
				return nil, fmt.Errorf("revokedCertificates: serial %X listed twice", r.SerialNumber)
			}
			c.bySerial[k] = len(c.Revoked)
			c.Revoked = append(c.Revoked, r)
		}
	}
	extTag := cbasn1.Tag(0).Constructed().ContextSpecific()
	if tbs.PeekASN1Tag(extTag) {
		var exts cryptobyte.String
		if !tbs.ReadASN1(&exts, extTag) || !exts.ReadASN1(&exts, cbasn1.SEQUENCE) {
			return nil, errors.New("crlExtensions: malformed")
		}
		if err := c.parseExtensions(exts); err != nil {
			return nil, err
		}
	}
	if !tbs.Empty() {
		return nil, errors.New("tbsCertList: unexpected trailing fields")
	}
	return c, nil
}

func readExtension(exts *cryptobyte.String) (Extension, error) {
	var ext, val cryptobyte.String
	var e Extension
	if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&e.ID) {
		return e, errors.New("extension: malformed")
	}
	if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&e.Critical) {
		return e, fmt.Errorf("extension %v: malformed critical flag", e.ID)
	}
	if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) || !ext.Empty() {
		return e, fmt.Errorf("extension %v: malformed extnValue", e.ID)
	}
	e.Value = val
	return e, nil
}

func (c *CRL) parseExtensions(exts cryptobyte.String) error {
	seen := map[string]bool{}
	for !exts.Empty() {
		e, err := readExtension(&exts)
		if err != nil {
			return fmt.Errorf("crlExtensions: %v", err)
		}
		if seen[e.ID.String()] {
			return fmt.Errorf("crlExtensions: %v duplicated", e.ID)
		}
		seen[e.ID.String()] = true
		c.Extensions = append(c.Extensions, e)
		v := cryptobyte.String(e.Value)
		switch {
		case e.ID.Equal(OIDExtCRLNumber):
			n := new(big.Int)
			if !v.ReadASN1Integer(n) || !v.Empty() || n.Sign() < 0 {
				return errors.New("cRLNumber: not a non-negative INTEGER")
			}
			c.Number = n
		case e.ID.Equal(OIDExtAuthorityKeyID):
			var seq, id cryptobyte.String
			var present bool
			if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() ||
				!seq.ReadOptionalASN1(&id, &present, cbasn1.Tag(0).ContextSpecific()) {
				return errors.New("authorityKeyIdentifier: malformed")
			}
			if present {
				c.AuthorityKeyID = id
			}
		case e.Critical:
			// Delta CRL indicator, issuing distribution point, or anything
			// else critical: this profile does not implement them.
			return fmt.Errorf("crlExtensions: unsupported critical extension %v", e.ID)
		}
	}
	return nil
}

func (r *RevokedCertificate) parseEntryExtensions(exts cryptobyte.String) error {
	for !exts.Empty() {
		e, err := readExtension(&exts)
		if err != nil {
			return fmt.Errorf("crlEntryExtensions: %v", err)
		}
		v := cryptobyte.String(e.Value)
		switch {
		case e.ID.Equal(OIDExtReasonCode):
			var reason cryptobyte.String
			if !v.ReadASN1(&reason, cbasn1.ENUM) || !v.Empty() || len(reason) != 1 {
				return errors.New("reasonCode: not a one-octet ENUMERATED")
			}
			r.Reason = int(reason[0])
			if _, ok := reasonNames[r.Reason]; !ok {
				return fmt.Errorf("reasonCode %d unknown", r.Reason)
			}
		case e.Critical:
			// certificateIssuer (indirect CRLs) and anything else critical.
			return fmt.Errorf("crlEntryExtensions: unsupported critical extension %v", e.ID)
		}
	}
	return nil
}

// Lookup returns the entry for serial, if the CRL lists it.
func (c *CRL) Lookup(serial *big.Int) (RevokedCertificate, bool) {
	if serial == nil {
		return RevokedCertificate{}, false
	}
	i, ok := c.bySerial[string(serial.Bytes())]
	if !ok {
		return RevokedCertificate{}, false
	}
	return c.Revoked[i], true
}

// CurrentAt reports whether t lies in [ThisUpdate, NextUpdate] (a CRL
// without NextUpdate is current from ThisUpdate on).
func (c *CRL) CurrentAt(t time.Time) bool {
	if t.Before(c.ThisUpdate) {
		return false
	}
	return c.NextUpdate.IsZero() || !t.After(c.NextUpdate)
}

// CheckSignatureFrom verifies that issuer signed c: the names match, the
// authority key identifier (when both sides have one) is the issuer's
// subject key identifier, the issuer is a CA whose keyUsage (when present)
// includes cRLSign, and the ECDSA P-256/SHA-256 signature verifies.
func (c *CRL) CheckSignatureFrom(issuer *Certificate) error {
	if issuer == nil || issuer.PublicKey == nil {
		return fmt.Errorf("%w: no issuer key", ErrCRLSignature)
	}
	if !bytes.Equal(c.RawIssuer, issuer.RawSubject) {
		return fmt.Errorf("%w: CRL issuer %q is not %q", ErrCRLSignature, c.Issuer, issuer.Subject)
	}
	if len(c.AuthorityKeyID) > 0 && len(issuer.SubjectKeyID) > 0 && !bytes.Equal(c.AuthorityKeyID, issuer.SubjectKeyID) {
		return fmt.Errorf("%w: CRL authorityKeyIdentifier %X is not the issuer's key %X", ErrCRLSignature, c.AuthorityKeyID, issuer.SubjectKeyID)
	}
	if !issuer.IsCA {
		return fmt.Errorf("%w: %q is not a CA", ErrCRLSignature, issuer.Subject)
	}
	if issuer.HasKeyUsage && issuer.KeyUsage&KeyUsageCRLSign == 0 {
		return fmt.Errorf("%w: %q keyUsage %s lacks cRLSign", ErrCRLSignature, issuer.Subject, issuer.KeyUsage)
	}
	if !c.SignatureAlgorithm.Equal(OIDECDSAWithSHA256) {
		return fmt.Errorf("%w: algorithm %v is not ecdsa-with-SHA256", ErrCRLSignature, c.SignatureAlgorithm)
	}
	h := sha256.Sum256(c.RawTBS)
	if !ecdsa.VerifyASN1(issuer.PublicKey, h[:], c.Signature) {
		return fmt.Errorf("%w: signature does not verify with %q's key", ErrCRLSignature, issuer.Subject)
	}
	return nil
}

// CRLTemplate describes a CRL for CreateCRL.
type CRLTemplate struct {
	Number                 *big.Int // cRLNumber, increasing per issuer
	ThisUpdate, NextUpdate time.Time
	Revoked                []RevokedCertificate
}

// CreateCRL issues an X.509 v2 CRL signed by key on behalf of issuer:
// version 2, ecdsa-with-SHA256, issuer name, thisUpdate, nextUpdate, the
// entries sorted by serial (reasonCode extension unless unspecified), and
// the non-critical authorityKeyIdentifier and cRLNumber extensions. The
// result is parsed back and its signature checked.
func CreateCRL(rand io.Reader, t *CRLTemplate, issuer *Certificate, key crypto.Signer) (*CRL, error) {
	if t == nil || t.Number == nil || t.Number.Sign() < 0 || len(t.Number.Bytes()) > 20 {
		return nil, fmt.Errorf("%w: cRLNumber must be a non-negative integer of at most 20 octets", ErrTemplate)
	}
	if issuer == nil || !issuer.IsCA || (issuer.HasKeyUsage && issuer.KeyUsage&KeyUsageCRLSign == 0) {
		return nil, fmt.Errorf("%w: CRL issuer must be a CA with cRLSign", ErrTemplate)
	}
	if len(issuer.SubjectKeyID) == 0 {
		return nil, fmt.Errorf("%w: CRL issuer has no subjectKeyIdentifier", ErrTemplate)
	}
	pub, err := signerKey(key)
	if err != nil {
		return nil, err
	}
	if !pub.Equal(issuer.PublicKey) {
		return nil, fmt.Errorf("%w: the signing key is not %q's", ErrTemplate, issuer.Subject)
	}
	this, next := t.ThisUpdate.UTC().Truncate(time.Second), t.NextUpdate.UTC().Truncate(time.Second)
	if this.IsZero() || !next.After(this) {
		return nil, fmt.Errorf("%w: nextUpdate must follow thisUpdate", ErrTemplate)
	}
	entries := append([]RevokedCertificate(nil), t.Revoked...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].SerialNumber.Cmp(entries[j].SerialNumber) < 0 })
	for i, e := range entries {
		if e.SerialNumber == nil || e.SerialNumber.Sign() <= 0 {
			return nil, fmt.Errorf("%w: entry %d: bad serial", ErrTemplate, i)
		}
		if i > 0 && entries[i-1].SerialNumber.Cmp(e.SerialNumber) == 0 {
			return nil, fmt.Errorf("%w: serial %X listed twice", ErrTemplate, e.SerialNumber)
		}
		if _, ok := reasonNames[e.Reason]; !ok {
			return nil, fmt.Errorf("%w: serial %X: unknown reason %d", ErrTemplate, e.SerialNumber, e.Reason)
		}
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1) // v2
		addAlgorithm(b)
		b.AddBytes(issuer.RawSubject)
		addTime(b, this)
		addTime(b, next)
		if len(entries) > 0 {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, e := range entries {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1BigInt(e.SerialNumber)
						addTime(b, e.RevocationTime.UTC().Truncate(time.Second))
						if e.Reason != ReasonUnspecified {
							var v cryptobyte.Builder
							v.AddASN1Enum(int64(e.Reason))
							addExtensions(b, []extension{{OIDExtReasonCode, false, mustBytes(&v)}})
						}
					})
				}
			})
		}
		var num cryptobyte.Builder
		num.AddASN1BigInt(t.Number)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			addExtensions(b, []extension{
				{OIDExtAuthorityKeyID, false, authorityKeyIDValue(issuer.SubjectKeyID)},
				{OIDExtCRLNumber, false, mustBytes(&num)},
			})
		})
	})
	tbs, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	der, err := signDER(rand, tbs, key)
	if err != nil {
		return nil, err
	}
	crl, err := ParseCRL(der)
	if err != nil {
		return nil, fmt.Errorf("smki: issued CRL does not parse: %w", err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("smki: issued CRL: %w", err)
	}
	return crl, nil
}

// CRLSet is a RevocationChecker over verified CRLs, one current CRL per
// issuing key. It is safe for concurrent use.
type CRLSet struct {
	mu    sync.RWMutex
	lists []*crlEntry
}

type crlEntry struct {
	crl    *CRL
	issuer *Certificate
}

// NewCRLSet returns an empty set.
func NewCRLSet() *CRLSet { return &CRLSet{} }

// Add verifies crl against issuer (CheckSignatureFrom) and, when now is not
// zero, that it is current at now (ErrCRLExpired otherwise), then keeps it
// as the issuer's list, replacing one with a lower cRLNumber (a CRL older
// than the one held is refused).
func (s *CRLSet) Add(crl *CRL, issuer *Certificate, now time.Time) error {
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return err
	}
	if !now.IsZero() && !crl.CurrentAt(now) {
		return fmt.Errorf("%w: CRL of %q covers %s .. %s, now is %s", ErrCRLExpired, crl.Issuer,
			crl.ThisUpdate.Format(time.RFC3339), crl.NextUpdate.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.lists {
		if bytes.Equal(e.issuer.Raw, issuer.Raw) {
			if e.crl.Number != nil && crl.Number != nil && crl.Number.Cmp(e.crl.Number) < 0 {
				return fmt.Errorf("smki: CRL number %s of %q is older than the one held (%s)", crl.Number, crl.Issuer, e.crl.Number)
			}
			e.crl = crl
			return nil
		}
	}
	s.lists = append(s.lists, &crlEntry{crl: crl, issuer: issuer})
	return nil
}

// find returns the CRLs that speak for cert's issuer: same issuer name and,
// when the certificate has an authorityKeyIdentifier, the issuer key.
func (s *CRLSet) find(cert *Certificate) []*CRL {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*CRL
	for _, e := range s.lists {
		if !bytes.Equal(e.crl.RawIssuer, cert.RawIssuer) {
			continue
		}
		if len(cert.AuthorityKeyID) > 0 && !bytes.Equal(cert.AuthorityKeyID, e.issuer.SubjectKeyID) {
			continue
		}
		out = append(out, e.crl)
	}
	return out
}

// Covers reports whether the set holds a CRL of cert's issuer.
func (s *CRLSet) Covers(cert *Certificate) bool {
	return cert != nil && len(s.find(cert)) > 0
}

// Lookup returns cert's entry if a CRL of its issuer lists its serial.
func (s *CRLSet) Lookup(cert *Certificate) (RevokedCertificate, bool) {
	if cert == nil {
		return RevokedCertificate{}, false
	}
	for _, crl := range s.find(cert) {
		if e, ok := crl.Lookup(cert.SerialNumber); ok {
			return e, true
		}
	}
	return RevokedCertificate{}, false
}

// Revoked implements RevocationChecker.
func (s *CRLSet) Revoked(cert *Certificate) bool {
	_, ok := s.Lookup(cert)
	return ok
}

// CRLs lists the CRLs held.
func (s *CRLSet) CRLs() []*CRL {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*CRL, len(s.lists))
	for i, e := range s.lists {
		out[i] = e.crl
	}
	return out
}
