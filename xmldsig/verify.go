package xmldsig

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"

	"github.com/beevik/etree"
	"github.com/opendcc/opendcc/smki"
)

// signature is the parsed content of a profile-conformant ds:Signature.
type signature struct {
	el         *etree.Element
	signedInfo *etree.Element
	digest     []byte // DigestValue
	value      []byte // r||s
	issuer     string
	serial     *big.Int
}

// Verify checks the DUIS-profile signature of doc. The order is:
//
//  1. the xmlsafe gate and parsing (ErrInvalidDocument);
//  2. exactly one ds:Signature (ErrUnsigned, ErrMultipleSignatures), the
//     last element child of the root (ErrSignatureNotLast);
//  3. the Signature's shape, exactly the profile (ErrMalformedSignature,
//     ErrUnsupportedAlgorithm);
//  4. the certificate, by KeyInfo issuer and serial (ErrUnknownCertificate);
//  5. the reference digest (ErrDigestMismatch), with the Compat retry;
//  6. the ECDSA signature over exc-c14n(SignedInfo) (ErrBadSignature), with
//     the Compat retry;
//  7. the certificate: an organisation certificate (ErrWrongSigner) with
//     keyUsage digitalSignature (ErrKeyUsage), of ExpectedSigner
//     (ErrWrongSigner), valid at Now ± Allowance when Now is set
//     (ErrCertificateExpired, ErrCertificateNotYetValid), and not revoked
//     when VerifyOptions.Revocation is set (ErrCertificateRevoked).
//
// Cryptographic checks come before the certificate policy checks, so a
// policy error is only ever reported for an authentic document.
func Verify(doc []byte, opts VerifyOptions) (*Result, error) {
	d, root, sigs, err := parse(doc, opts.MaxSize)
	if err != nil {
		return nil, err
	}
	switch {
	case len(sigs) == 0:
		return nil, ErrUnsigned
	case len(sigs) > 1:
		return nil, fmt.Errorf("%w: %d found", ErrMultipleSignatures, len(sigs))
	}
	sigEl := sigs[0]
	if sigEl.Parent() != root {
		return nil, fmt.Errorf("%w: it is inside <%s>", ErrSignatureNotLast, sigEl.Parent().FullTag())
	}
	for _, t := range root.Child[sigEl.Index()+1:] {
		if e, ok := t.(*etree.Element); ok {
			return nil, fmt.Errorf("%w: <%s> follows it", ErrSignatureNotLast, e.FullTag())
		}
	}
	sig, err := parseSignature(sigEl)
	if err != nil {
		return nil, err
	}
	if opts.Certificates == nil {
		return nil, fmt.Errorf("%w: no certificate source configured", ErrUnknownCertificate)
	}
	cert, ok := opts.Certificates.ByIssuerSerial(sig.issuer, sig.serial)
	if !ok || cert == nil {
		return nil, fmt.Errorf("%w: issuer %q serial %s", ErrUnknownCertificate, sig.issuer, sig.serial)
	}
	if cert.PublicKey == nil {
		return nil, fmt.Errorf("%w: certificate %s has no public key", ErrUnknownCertificate, cert)
	}

	res := &Result{Certificate: cert, Signer: cert.EUI, Role: cert.Role, Serial: sig.serial, IssuerName: sig.issuer}

	// Reference digest.
	digest := referenceDigest(d, root, sigEl)
	stripped := false
	if subtle.ConstantTimeCompare(digest, sig.digest) != 1 {
		if !opts.Compat || !compact(root) {
			return nil, fmt.Errorf("%w: computed %s, signed %s", ErrDigestMismatch,
				base64.StdEncoding.EncodeToString(digest), base64.StdEncoding.EncodeToString(sig.digest))
		}
		stripped = true
		digest = referenceDigest(d, root, sigEl)
		if subtle.ConstantTimeCompare(digest, sig.digest) != 1 {
			return nil, fmt.Errorf("%w (also without inter-element whitespace): computed %s, signed %s", ErrDigestMismatch,
				base64.StdEncoding.EncodeToString(digest), base64.StdEncoding.EncodeToString(sig.digest))
		}
		res.Compat = true
	}

	// Signature value over SignedInfo.
	var derBuf [derSignatureMax]byte
	der := derSignature(derBuf[:0], sig.value)
	ok = checkSignedInfo(sig.signedInfo, cert.PublicKey, der)
	if !ok && opts.Compat && !stripped && compact(sig.signedInfo) {
		ok = checkSignedInfo(sig.signedInfo, cert.PublicKey, der)
		res.Compat = ok
	}
	if !ok {
		return nil, fmt.Errorf("%w: with certificate %s", ErrBadSignature, cert)
	}

	// Certificate policy.
	if cert.Kind != smki.KindOrganisation {
		return nil, fmt.Errorf("%w: %s is not an organisation certificate", ErrWrongSigner, cert)
	}
	if !cert.HasKeyUsage || cert.KeyUsage&smki.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: %s has keyUsage %s", ErrKeyUsage, cert, cert.KeyUsage)
	}
	if opts.ExpectedSigner != nil && *opts.ExpectedSigner != cert.EUI {
		return nil, fmt.Errorf("%w: signed by %s, expected %s", ErrWrongSigner, cert.EUI, *opts.ExpectedSigner)
	}
	if !opts.Now.IsZero() {
		if opts.Now.Add(opts.Allowance).Before(cert.NotBefore) {
			return nil, fmt.Errorf("%w: %s valid from %s", ErrCertificateNotYetValid, cert, cert.NotBefore.Format("2006-01-02T15:04:05Z"))
		}
		if opts.Now.Add(-opts.Allowance).After(cert.NotAfter) {
			return nil, fmt.Errorf("%w: %s expired %s", ErrCertificateExpired, cert, cert.NotAfter.Format("2006-01-02T15:04:05Z"))
		}
	}
	if opts.Revocation != nil && opts.Revocation.Revoked(cert) {
		return nil, fmt.Errorf("%w: %s", ErrCertificateRevoked, cert)
	}
	return res, nil
}

// checkSignedInfo verifies der (from derSignature; nil never verifies)
// over the exclusive C14N of si.
func checkSignedInfo(si *etree.Element, pub *ecdsa.PublicKey, der []byte) bool {
	h := signedInfoDigest(si)
	return der != nil && ecdsa.VerifyASN1(pub, h[:], der)
}

const derSignatureMax = 2 + 2*(2+33)

// derSignature appends to dst the ASN.1 DER ECDSA-Sig-Value of r||s (two
// 32-byte big-endian integers), as ecdsa.Verify encodes r and s before it
// calls ecdsa.VerifyASN1 (SEQUENCE of two minimal positive INTEGERs); nil
// when r or s is zero, which ecdsa.Verify refuses. It saves Verify the
// big.Int values and the cryptobyte builder.
func derSignature(dst, rs []byte) []byte {
	r, s := rs[:len(rs)/2], rs[len(rs)/2:]
	for len(r) > 0 && r[0] == 0 {
		r = r[1:]
	}
	for len(s) > 0 && s[0] == 0 {
		s = s[1:]
	}
	if len(r) == 0 || len(s) == 0 {
		return nil
	}
	integer := func(b, v []byte) []byte {
		n := len(v)
		if v[0]&0x80 != 0 {
			n++
		}
		b = append(b, 0x02, byte(n))
		if v[0]&0x80 != 0 {
			b = append(b, 0)
		}
		return append(b, v...)
	}
	body := len(r) + len(s) + 4
	if r[0]&0x80 != 0 {
		body++
	}
	if s[0]&0x80 != 0 {
		body++
	}
	dst = append(dst, 0x30, byte(body))
	dst = integer(dst, r)
	return integer(dst, s)
}

// parseSignature checks the Signature against the profile and extracts its values.
func parseSignature(el *etree.Element) (*signature, error) {
	if err := onlyAttrs(el, "Id"); err != nil {
		return nil, err
	}
	kids, err := dsChildren(el)
	if err != nil {
		return nil, err
	}
	if len(kids) == 2 && kids[0].Tag == "SignedInfo" && kids[1].Tag == "SignatureValue" {
		return nil, fmt.Errorf("%w: no ds:KeyInfo, so no X509IssuerSerial to find the certificate by", ErrMalformedSignature)
	}
	if kids, err = expectChildren(el, "SignedInfo", "SignatureValue", "KeyInfo"); err != nil {
		return nil, err
	}
	sig := &signature{el: el, signedInfo: kids[0]}

	// SignedInfo
	if err := onlyAttrs(kids[0], "Id"); err != nil {
		return nil, err
	}
	siKids, err := dsChildren(kids[0])
	if err != nil {
		return nil, err
	}
	if n := countTag(siKids, "Reference"); n > 1 {
		return nil, fmt.Errorf("%w: %d ds:Reference elements, the profile has exactly one", ErrMalformedSignature, n)
	}
	if siKids, err = expectChildren(kids[0], "CanonicalizationMethod", "SignatureMethod", "Reference"); err != nil {
		return nil, err
	}
	if err := algorithm(siKids[0], AlgExcC14N); err != nil {
		return nil, err
	}
	if err := algorithm(siKids[1], AlgECDSASHA256); err != nil {
		return nil, err
	}
	ref := siKids[2]
	if err := onlyAttrs(ref, "URI", "Id", "Type"); err != nil {
		return nil, err
	}
	if uri := ref.SelectAttr("URI"); uri == nil || uri.Value != "" {
		got := "no URI"
		if uri != nil {
			got = fmt.Sprintf("URI=%q", uri.Value)
		}
		return nil, fmt.Errorf("%w: ds:Reference has %s, the profile signs the whole document (URI=\"\")", ErrUnsupportedAlgorithm, got)
	}
	refKids, err := expectChildren(ref, "Transforms", "DigestMethod", "DigestValue")
	if err != nil {
		return nil, err
	}
	if err := onlyAttrs(refKids[0]); err != nil {
		return nil, err
	}
	transforms, err := dsChildren(refKids[0])
	if err != nil {
		return nil, err
	}
	if len(transforms) != 1 || transforms[0].Tag != "Transform" {
		var algs []string
		for _, t := range transforms {
			algs = append(algs, t.SelectAttrValue("Algorithm", t.Tag))
		}
		return nil, fmt.Errorf("%w: transforms %v, the profile has only enveloped-signature", ErrUnsupportedAlgorithm, algs)
	}
	if err := algorithm(transforms[0], AlgEnvelopedSig); err != nil {
		return nil, err
	}
	if err := algorithm(refKids[1], AlgSHA256); err != nil {
		return nil, err
	}
	if err := onlyAttrs(refKids[2]); err != nil {
		return nil, err
	}
	if sig.digest, err = decodeBase64(refKids[2]); err != nil {
		return nil, err
	}
	if len(sig.digest) != sha256.Size {
		return nil, fmt.Errorf("%w: DigestValue is %d bytes, SHA-256 gives 32", ErrMalformedSignature, len(sig.digest))
	}

	// SignatureValue
	if err := onlyAttrs(kids[1], "Id"); err != nil {
		return nil, err
	}
	if sig.value, err = decodeBase64(kids[1]); err != nil {
		return nil, err
	}
	if len(sig.value) != signatureValueSize {
		return nil, fmt.Errorf("%w: SignatureValue is %d bytes, ECDSA P-256 r||s is 64", ErrMalformedSignature, len(sig.value))
	}

	// KeyInfo
	if err := onlyAttrs(kids[2], "Id"); err != nil {
		return nil, err
	}
	x509Data, err := expectChildren(kids[2], "X509Data")
	if err != nil {
		return nil, err
	}
	xis, err := expectChildren(x509Data[0], "X509IssuerSerial")
	if err != nil {
		return nil, err
	}
	parts, err := expectChildren(xis[0], "X509IssuerName", "X509SerialNumber")
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if len(p.ChildElements()) != 0 {
			return nil, fmt.Errorf("%w: ds:%s has child elements", ErrMalformedSignature, p.Tag)
		}
	}
	sig.issuer = strings.TrimSpace(textOf(parts[0]))
	serial := strings.TrimSpace(textOf(parts[1]))
	if serial == "" || strings.TrimLeft(serial, "0123456789") != "" || len(serial) > 60 {
		return nil, fmt.Errorf("%w: X509SerialNumber %q is not a decimal serial", ErrMalformedSignature, truncate(serial))
	}
	sig.serial, _ = new(big.Int).SetString(serial, 10)
	return sig, nil
}

func countTag(els []*etree.Element, tag string) int {
	n := 0
	for _, e := range els {
		if e.Tag == tag {
			n++
		}
	}
	return n
}

// algorithm checks an ...Method or Transform element: Algorithm = want, no children.
func algorithm(el *etree.Element, want string) error {
	if err := onlyAttrs(el, "Algorithm"); err != nil {
		return err
	}
	got := el.SelectAttr("Algorithm")
	if got == nil {
		return fmt.Errorf("%w: ds:%s has no Algorithm", ErrMalformedSignature, el.Tag)
	}
	if got.Value != want {
		return fmt.Errorf("%w: ds:%s Algorithm %q, the profile requires %q", ErrUnsupportedAlgorithm, el.Tag, got.Value, want)
	}
	kids, err := dsChildrenAny(el)
	if err != nil {
		return err
	}
	if len(kids) != 0 {
		return fmt.Errorf("%w: ds:%s has parameters (<%s>), the profile has none", ErrUnsupportedAlgorithm, el.Tag, kids[0].FullTag())
	}
	return nil
}

// dsChildrenAny lists element children in any namespace, refusing text.
func dsChildrenAny(el *etree.Element) ([]*etree.Element, error) {
	var out []*etree.Element
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			out = append(out, t)
		case *etree.CharData:
			if !isXMLSpace(t.Data) {
				return nil, fmt.Errorf("%w: text inside ds:%s", ErrMalformedSignature, el.Tag)
			}
		}
	}
	return out, nil
}

// decodeBase64 decodes an element's base64 text, ignoring XML whitespace
// (Java wraps SignatureValue with CR LF; a DCC Boxed sample has a space).
func decodeBase64(el *etree.Element) ([]byte, error) {
	if len(el.ChildElements()) != 0 {
		return nil, fmt.Errorf("%w: ds:%s has child elements", ErrMalformedSignature, el.Tag)
	}
	txt := textOf(el)
	var cleanBuf [128]byte // DigestValue and SignatureValue fit
	clean := cleanBuf[:0]
	for i := 0; i < len(txt); i++ {
		switch c := txt[i]; c {
		case ' ', '\t', '\r', '\n':
		default:
			clean = append(clean, c)
		}
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Strict().Decode(out, clean)
	if err != nil {
		return nil, fmt.Errorf("%w: ds:%s is not base64: %v", ErrMalformedSignature, el.Tag, err)
	}
	return out[:n], nil
}
