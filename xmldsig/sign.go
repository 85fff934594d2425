package xmldsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/beevik/etree"
	"github.com/opendcc/opendcc/smki"
)

var outputSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}

// Sign signs doc with key under the DUIS profile and returns the signed
// document in compact form.
//
// It runs the xmlsafe gate, parses, removes every existing ds:Signature
// (templates carry a placeholder), removes comments and whitespace-only text
// between elements (DCC Boxed's Java verifier ignores element-content
// whitespace, so the compact form is the one both it and conformant
// verifiers agree on), appends a ds:Signature as the last child of the root
// (prefix ds, declaring xmlns:ds only when the root does not bind ds to the
// xmldsig namespace already) and writes the result after the declaration
// <?xml version="1.0" encoding="UTF-8" standalone="no"?>. KeyInfo names cert
// by issuer (RFC 2253, as Java renders it) and decimal serial.
//
// The output is deterministic except for the ECDSA randomness. Sign does not
// touch the document's content otherwise (no RequestID counter rewriting:
// that is DUIS business, not signature business).
func Sign(doc []byte, key *ecdsa.PrivateKey, cert *smki.Certificate) ([]byte, error) {
	if key == nil || cert == nil {
		return nil, errors.New("xmldsig: Sign needs a key and its certificate")
	}
	if !smki.KeyMatches(cert, key) {
		return nil, fmt.Errorf("xmldsig: %w (%s)", smki.ErrKeyMismatch, cert)
	}
	if cert.KeyUsage&smki.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: %s has keyUsage %s", ErrKeyUsage, cert, cert.KeyUsage)
	}
	if out, ok, err := signFast(doc, key, cert); ok {
		return out, err
	}
	return signGeneral(doc, key, cert)
}

// signGeneral is Sign for any document: parse, compact, canonicalise,
// serialise.
func signGeneral(doc []byte, key *ecdsa.PrivateKey, cert *smki.Certificate) ([]byte, error) {
	d, root, sigs, err := parseMode(doc, 0, true)
	if err != nil {
		return nil, err
	}
	for _, s := range sigs {
		s.Parent().RemoveChild(s)
	}
	compact(root)
	// Only the root element is written out, so only it is signed: drop the
	// declaration, comments and processing instructions around it.
	d.Child = d.Child[:0]
	d.AddChild(root)

	digest := referenceDigest(d, root, nil)
	si, sv := buildSignature(root, digest, cert)
	h := signedInfoDigest(si)
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		return nil, fmt.Errorf("xmldsig: ECDSA: %w", err)
	}
	var rs [signatureValueSize]byte
	r.FillBytes(rs[:32])
	s.FillBytes(rs[32:])
	sv.SetText(base64.StdEncoding.EncodeToString(rs[:]))

	var out bytes.Buffer
	out.Grow(len(doc) + 1024)
	out.WriteString(XMLDeclaration)
	root.WriteTo(&out, &outputSettings)
	return out.Bytes(), nil
}

// buildSignature appends the ds:Signature skeleton to root and returns its
// SignedInfo and (empty) SignatureValue.
func buildSignature(root *etree.Element, digest []byte, cert *smki.Certificate) (si, sv *etree.Element) {
	const p = signaturePrefix + ":"
	sig := root.CreateElement(p + "Signature")
	if root.SelectAttrValue("xmlns:"+signaturePrefix, "") != Namespace {
		sig.CreateAttr("xmlns:"+signaturePrefix, Namespace)
	}
	si = sig.CreateElement(p + "SignedInfo")
	si.CreateElement(p+"CanonicalizationMethod").CreateAttr("Algorithm", AlgExcC14N)
	si.CreateElement(p+"SignatureMethod").CreateAttr("Algorithm", AlgECDSASHA256)
	ref := si.CreateElement(p + "Reference")
	ref.CreateAttr("URI", "")
	ref.CreateElement(p+"Transforms").CreateElement(p+"Transform").CreateAttr("Algorithm", AlgEnvelopedSig)
	ref.CreateElement(p+"DigestMethod").CreateAttr("Algorithm", AlgSHA256)
	ref.CreateElement(p + "DigestValue").SetText(base64.StdEncoding.EncodeToString(digest))
	sv = sig.CreateElement(p + "SignatureValue")
	xis := sig.CreateElement(p + "KeyInfo").CreateElement(p + "X509Data").CreateElement(p + "X509IssuerSerial")
	xis.CreateElement(p + "X509IssuerName").SetText(cert.Issuer)
	xis.CreateElement(p + "X509SerialNumber").SetText(cert.SerialNumber.String())
	return si, sv
}
