package repository

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/opendcc/opendcc/smki"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrMalformedCRL is wrapped by every ParseCRL error.
var ErrMalformedCRL = errors.New("malformed revocation list")

// CRL is a parsed X.509 v2 certificate revocation list: an Organisation CRL
// or, issued by the root, an Authority Revocation List (ARL). Only what the
// repository needs is decoded: crypto/x509's parser is not used because SMKI
// names may carry an x500UniqueIdentifier BIT STRING, which it refuses.
type CRL struct {
	Raw       []byte // the whole list, DER
	RawTBS    []byte // tbsCertList, DER (what the issuer signed)
	RawIssuer []byte // issuer Name, DER

	ThisUpdate time.Time
	NextUpdate time.Time // zero when absent

	Revoked []RevokedCertificate

	SignatureAlgorithm asn1.ObjectIdentifier
	Signature          []byte
}

// RevokedCertificate is one revokedCertificates entry.
type RevokedCertificate struct {
	SerialNumber   *big.Int
	RevocationTime time.Time
}

// ParseCRL parses a revocation list given as DER or as PEM ("X509 CRL").
func ParseCRL(b []byte) (*CRL, error) {
	if t := bytes.TrimSpace(b); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		for {
			var blk *pem.Block
			blk, t = pem.Decode(t)
			if blk == nil {
				return nil, fmt.Errorf("%w: no X509 CRL PEM block", ErrMalformedCRL)
			}
			if blk.Type == "X509 CRL" {
				b = blk.Bytes
				break
			}
		}
	}
	l := &CRL{Raw: b}
	if err := l.parse(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedCRL, err)
	}
	return l, nil
}

func (l *CRL) parse() error {
	in := cryptobyte.String(l.Raw)
	var list, tbs cryptobyte.String
	if !in.ReadASN1(&list, cbasn1.SEQUENCE) || !in.Empty() {
		return errors.New("not a DER SEQUENCE")
	}
	var rawTBS cryptobyte.String
	if !list.ReadASN1Element(&rawTBS, cbasn1.SEQUENCE) {
		return errors.New("tbsCertList")
	}
	l.RawTBS = rawTBS
	tbs = rawTBS
	if !tbs.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return errors.New("tbsCertList")
	}
	if tbs.PeekASN1Tag(cbasn1.INTEGER) {
		var v int64
		if !tbs.ReadASN1Int64WithTag(&v, cbasn1.INTEGER) || v != 1 {
			return errors.New("version: want v2")
		}
	}
	var innerAlg cryptobyte.String
	if !tbs.ReadASN1(&innerAlg, cbasn1.SEQUENCE) {
		return errors.New("signature algorithm")
	}
	var issuer cryptobyte.String
	if !tbs.ReadASN1Element(&issuer, cbasn1.SEQUENCE) {
		return errors.New("issuer")
	}
	l.RawIssuer = issuer
	var err error
	if l.ThisUpdate, err = readTime(&tbs); err != nil {
		return fmt.Errorf("thisUpdate: %v", err)
	}
	if tbs.PeekASN1Tag(cbasn1.UTCTime) || tbs.PeekASN1Tag(cbasn1.GeneralizedTime) {
		if l.NextUpdate, err = readTime(&tbs); err != nil {
			return fmt.Errorf("nextUpdate: %v", err)
		}
	}
	if tbs.PeekASN1Tag(cbasn1.SEQUENCE) {
		var revoked cryptobyte.String
		if !tbs.ReadASN1(&revoked, cbasn1.SEQUENCE) {
			return errors.New("revokedCertificates")
		}
		for !revoked.Empty() {
			var rc cryptobyte.String
			if !revoked.ReadASN1(&rc, cbasn1.SEQUENCE) {
				return errors.New("revokedCertificates entry")
			}
			r := RevokedCertificate{SerialNumber: new(big.Int)}
			if !rc.ReadASN1Integer(r.SerialNumber) {
				return errors.New("revoked serial")
			}
			if r.RevocationTime, err = readTime(&rc); err != nil {
				return fmt.Errorf("revocationDate: %v", err)
			}
			if !rc.Empty() && !rc.SkipASN1(cbasn1.SEQUENCE) {
				return errors.New("crlEntryExtensions")
			}
			if !rc.Empty() {
				return errors.New("trailing data in revoked entry")
			}
			l.Revoked = append(l.Revoked, r)
		}
	}
	if !tbs.Empty() && !tbs.SkipASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return errors.New("crlExtensions")
	}
	if !tbs.Empty() {
		return errors.New("trailing data in tbsCertList")
	}
	var alg cryptobyte.String
	if !list.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&l.SignatureAlgorithm) {
		return errors.New("signatureAlgorithm")
	}
	var sig asn1.BitString
	if !list.ReadASN1BitString(&sig) || sig.BitLength%8 != 0 {
		return errors.New("signatureValue")
	}
	l.Signature = sig.Bytes
	if !list.Empty() {
		return errors.New("trailing data after signature")
	}
	return nil
}

func readTime(s *cryptobyte.String) (time.Time, error) {
	var t time.Time
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		if !s.ReadASN1UTCTime(&t) {
			return t, errors.New("bad UTCTime")
		}
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		if !s.ReadASN1GeneralizedTime(&t) {
			return t, errors.New("bad GeneralizedTime")
		}
	default:
		return t, errors.New("missing time")
	}
	return t, nil
}

// CheckSignatureFrom verifies that ca signed l: ecdsa-with-SHA256 over the
// tbsCertList with ca's P-256 key, ca a CA whose keyUsage, when present,
// includes cRLSign.
func (l *CRL) CheckSignatureFrom(ca *smki.Certificate) error {
	if !ca.IsCA {
		return fmt.Errorf("%w: %s is not a CA", ErrCRLSignature, ca.Subject)
	}
	if ca.HasKeyUsage && ca.KeyUsage&smki.KeyUsageCRLSign == 0 {
		return fmt.Errorf("%w: %s may not sign revocation lists (keyUsage %v)", ErrCRLSignature, ca.Subject, ca.KeyUsage)
	}
	if !l.SignatureAlgorithm.Equal(smki.OIDECDSAWithSHA256) {
		return fmt.Errorf("%w: algorithm %v, want ecdsa-with-SHA256", ErrCRLSignature, l.SignatureAlgorithm)
	}
	if ca.PublicKey == nil {
		return fmt.Errorf("%w: %s has no usable key", ErrCRLSignature, ca.Subject)
	}
	h := sha256.Sum256(l.RawTBS)
	if !ecdsa.VerifyASN1(ca.PublicKey, h[:], l.Signature) {
		return fmt.Errorf("%w: not signed by %s", ErrCRLSignature, ca.Subject)
	}
	return nil
}
