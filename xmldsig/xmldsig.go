// Package xmldsig implements the XML signature profile of DUIS (the DCC User
// Interface), exactly as the DCC Boxed signing tool produces and checks it:
//
//   - one enveloped ds:Signature, the last child of the root element;
//   - SignedInfo canonicalised with exclusive C14N (no comments, no
//     InclusiveNamespaces), SignatureMethod ecdsa-sha256;
//   - exactly one Reference, URI="", whose only transform is
//     enveloped-signature, so the referenced octets are the INCLUSIVE
//     Canonical XML 1.0 (no comments) of the document without the
//     Signature, digested with SHA-256 (xmlenc#sha256);
//   - SignatureValue = base64 of the raw 64-byte r||s of ECDSA P-256;
//   - KeyInfo/X509Data/X509IssuerSerial only (RFC 2253 issuer, decimal serial).
//
// Sign emits the compact form (no whitespace between elements, no
// comments), which is what DCC Boxed signs and sends; Verify checks strictly
// and, only when asked (VerifyOptions.Compat), also accepts what the Java
// verifier accepts: whitespace between elements that was added after signing.
// See docs/xml-signature.md.
//
// The package is generic XML-DSig for that profile: it knows nothing of the
// DUIS schema. It is pure — no network, storage or clock; the time for
// certificate validity comes in through VerifyOptions.Now.
package xmldsig

import (
	"errors"
	"math/big"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
)

// Namespace and algorithm identifiers of the profile.
const (
	Namespace          = "http://www.w3.org/2000/09/xmldsig#"
	AlgExcC14N         = "http://www.w3.org/2001/10/xml-exc-c14n#"
	AlgECDSASHA256     = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	AlgEnvelopedSig    = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	AlgSHA256          = "http://www.w3.org/2001/04/xmlenc#sha256"
	XMLDeclaration     = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>`
	signaturePrefix    = "ds"
	signatureValueSize = 64 // r||s, P-256
)

// Errors. Every error returned by Sign and Verify wraps one of these (and
// adds detail); test with errors.Is.
var (
	// ErrInvalidDocument: the input is not acceptable XML (refused by the
	// xmlsafe gate — DOCTYPE, entities, non-UTF-8, size — or not
	// well-formed, or with undeclared namespace prefixes).
	ErrInvalidDocument = errors.New("xmldsig: invalid XML document")
	// ErrUnsigned: the document has no ds:Signature.
	ErrUnsigned = errors.New("xmldsig: document is not signed")
	// ErrMultipleSignatures: more than one ds:Signature anywhere.
	ErrMultipleSignatures = errors.New("xmldsig: more than one ds:Signature")
	// ErrSignatureNotLast: the ds:Signature is not the last element child of the root.
	ErrSignatureNotLast = errors.New("xmldsig: ds:Signature is not the last child of the root element")
	// ErrMalformedSignature: the Signature does not have the profile's
	// structure (missing or extra elements, missing KeyInfo or serial, bad
	// base64, wrong lengths).
	ErrMalformedSignature = errors.New("xmldsig: malformed ds:Signature")
	// ErrUnsupportedAlgorithm: an algorithm or transform other than the
	// profile's (no downgrade or substitution is accepted).
	ErrUnsupportedAlgorithm = errors.New("xmldsig: algorithm not allowed by the DUIS profile")
	// ErrUnknownCertificate: no certificate with the KeyInfo issuer and serial.
	ErrUnknownCertificate = errors.New("xmldsig: signing certificate not known")
	// ErrDigestMismatch: the document does not match the signed digest.
	ErrDigestMismatch = errors.New("xmldsig: reference digest mismatch")
	// ErrBadSignature: the SignatureValue does not verify over SignedInfo.
	ErrBadSignature = errors.New("xmldsig: signature value does not verify")
	// ErrWrongSigner: the certificate is not an organisation certificate of
	// the expected signer.
	ErrWrongSigner = errors.New("xmldsig: unexpected signer")
	// ErrKeyUsage: the certificate's keyUsage lacks digitalSignature.
	ErrKeyUsage = errors.New("xmldsig: certificate not for digital signature")
	// ErrCertificateExpired: Now is after the certificate's NotAfter (+ Allowance).
	ErrCertificateExpired = errors.New("xmldsig: signing certificate expired")
	// ErrCertificateNotYetValid: Now is before NotBefore (- Allowance).
	ErrCertificateNotYetValid = errors.New("xmldsig: signing certificate not yet valid")
	// ErrCertificateRevoked: VerifyOptions.Revocation says the signing
	// certificate is revoked.
	ErrCertificateRevoked = errors.New("xmldsig: signing certificate revoked")
)

// CertificateSource finds signing certificates; *smki.Store implements it.
// issuer is the ds:X509IssuerName text as found (RFC 2253).
type CertificateSource interface {
	ByIssuerSerial(issuer string, serial *big.Int) (*smki.Certificate, bool)
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Certificates resolves KeyInfo's issuer and serial. Required.
	Certificates CertificateSource

	// Compat, when set, also accepts a document whose strict check fails
	// only because whitespace-only text was added in element-only content
	// after signing (for instance by pretty-printing): the digest and
	// SignedInfo are recomputed without it, which is what the DCC Boxed Java
	// verifier effectively does. Result.Compat reports when this was needed.
	Compat bool

	// Now is the time for the certificate validity check; the zero time
	// skips the check (the ZAZ1 test role certificates expired in
	// 2025-26, and DCC Boxed itself does not check dates).
	Now time.Time
	// Allowance widens the validity window at both ends (clock skew).
	Allowance time.Duration

	// ExpectedSigner, when set, must equal the certificate's EUI (e.g. the
	// RequestID originator of a request).
	ExpectedSigner *eui.EUI64

	// MaxSize bounds the document; <= 0 means xmlsafe.DefaultMaxSize.
	MaxSize int

	// Revocation, when set, is asked whether the signing certificate is
	// revoked (ErrCertificateRevoked); *smki.CRLSet implements it.
	Revocation smki.RevocationChecker
}

// Result describes a verified signature.
type Result struct {
	Certificate *smki.Certificate
	Signer      eui.EUI64 // Certificate.EUI
	Role        smki.Role // Certificate.Role
	Serial      *big.Int  // from KeyInfo (equals Certificate.SerialNumber)
	IssuerName  string    // ds:X509IssuerName as found
	// Compat is true when the document verified only after dropping
	// whitespace in element-only content (VerifyOptions.Compat).
	Compat bool
}
