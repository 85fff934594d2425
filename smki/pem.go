package smki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrNoCertificate is returned when PEM input holds no CERTIFICATE block.
var ErrNoCertificate = errors.New("smki: no certificate found")

// ErrBadKey is wrapped by ParsePrivateKey errors.
var ErrBadKey = errors.New("smki: unusable private key")

func isPEM(b []byte) bool {
	return bytes.Contains(b, []byte("-----BEGIN "))
}

// firstPEMBlock returns the first PEM block of one of the given types,
// skipping others (an "EC PARAMETERS" block before a key, say).
func firstPEMBlock(b []byte, types ...string) (*pem.Block, bool) {
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, false
		}
		for _, t := range types {
			if blk.Type == t {
				return blk, true
			}
		}
	}
}

// ParsePEM parses the first CERTIFICATE block of PEM input; input that is
// not PEM is parsed as DER.
func ParsePEM(b []byte) (*Certificate, error) {
	if !isPEM(b) {
		return ParseCertificate(b)
	}
	blk, ok := firstPEMBlock(b, "CERTIFICATE")
	if !ok {
		return nil, ErrNoCertificate
	}
	return ParseCertificate(blk.Bytes)
}

// ParseCertificates parses every CERTIFICATE block of PEM input (or one DER
// certificate).
func ParseCertificates(b []byte) ([]*Certificate, error) {
	if !isPEM(b) {
		c, err := ParseCertificate(b)
		if err != nil {
			return nil, err
		}
		return []*Certificate{c}, nil
	}
	var out []*Certificate
	rest := b
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, ErrNoCertificate
	}
	return out, nil
}

// LoadCertificateFile reads a certificate file, PEM or DER. Errors name the file.
func LoadCertificateFile(path string) (*Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParsePEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// LoadPrivateKeyFile reads a private key file (see ParsePrivateKey).
func LoadPrivateKeyFile(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParsePrivateKey parses an ECDSA P-256 private key given as PEM ("PRIVATE
// KEY" PKCS#8 or "EC PRIVATE KEY" SEC 1) or as DER (PKCS#8 — the ZAZ1 .key
// files — or SEC 1).
func ParsePrivateKey(b []byte) (*ecdsa.PrivateKey, error) {
	der := b
	kind := "DER"
	if isPEM(b) {
		blk, ok := firstPEMBlock(b, "PRIVATE KEY", "EC PRIVATE KEY")
		if !ok {
			return nil, fmt.Errorf("%w: no PRIVATE KEY or EC PRIVATE KEY PEM block", ErrBadKey)
		}
		der, kind = blk.Bytes, blk.Type
	}
	var key any
	var err error
	switch kind {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(der)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(der)
	default:
		key, err = x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			if k, err2 := x509.ParseECPrivateKey(der); err2 == nil {
				key, err = k, nil
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadKey, kind, err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %T, want ECDSA P-256", ErrBadKey, key)
	}
	if ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: curve %s, want P-256", ErrBadKey, ec.Curve.Params().Name)
	}
	return ec, nil
}

// ErrBadPublicKey is wrapped by ParsePublicKey errors.
var ErrBadPublicKey = errors.New("smki: unusable public key")

// ParsePublicKey parses a SubjectPublicKeyInfo given as PEM ("PUBLIC KEY")
// or DER. Only ECDSA P-256 keys are accepted; RSA and other curves wrap
// ErrUnsupportedKey as well.
func ParsePublicKey(b []byte) (*ecdsa.PublicKey, error) {
	der := b
	if isPEM(b) {
		blk, ok := firstPEMBlock(b, "PUBLIC KEY")
		if !ok {
			return nil, fmt.Errorf("%w: no PUBLIC KEY PEM block", ErrBadPublicKey)
		}
		der = blk.Bytes
	}
	in := cryptobyte.String(der)
	var spki cryptobyte.String
	if !in.ReadASN1Element(&spki, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("%w: not a DER SubjectPublicKeyInfo", ErrBadPublicKey)
	}
	pub, err := parseSPKI(spki)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPublicKey, err)
	}
	return pub, nil
}
