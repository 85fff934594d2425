package gbcs

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/opendcc/opendcc/eui"
)

// Cryptographic errors. Verification functions return errors that wrap one
// of these, so callers can tell a bad message from a missing key.
var (
	ErrNoKey            = errors.New("gbcs: no key for this party")
	ErrMACInvalid       = errors.New("gbcs: MAC invalid")
	ErrSignatureInvalid = errors.New("gbcs: signature invalid")
	ErrNotMACed         = errors.New("gbcs: message has no MAC Header")
	ErrNotSigned        = errors.New("gbcs: message carries no signature")
	ErrDecrypt          = errors.New("gbcs: payload decryption failed")
)

// AlgorithmID is the AlgorithmID of the KDF OtherInfo, used verbatim.
var AlgorithmID = [7]byte{0x60, 0x85, 0x74, 0x06, 0x08, 0x03, 0x00}

// KeySize is the AES-128 key length the KDF produces.
const KeySize = 16

// macAADPrefix precedes the Grouping Header in the GMAC's additional data:
// the security control byte 0x11 and five zero bytes, constant in every
// GBCS MAC (the five empty General-Ciphering header fields, plausibly).
var macAADPrefix = [6]byte{SecurityControlAuthOnly, 0, 0, 0, 0, 0}

// protectedPrefix starts an encrypted payload: security control 0x31
// (authenticated and encrypted, suite 1) and a zero invocation counter.
var protectedPrefix = [5]byte{0x31, 0, 0, 0, 0}

// KDFOtherInfo is the 33-byte OtherInfo of the concatenation KDF:
// AlgorithmID ‖ originator ‖ 09 ‖ CRA ‖ counter ‖ recipient.
func KDFOtherInfo(cra CRA, counter uint64, originator, recipient eui.EUI64) [33]byte {
	var o [33]byte
	copy(o[0:7], AlgorithmID[:])
	copy(o[7:15], originator[:])
	o[15] = 0x09
	o[16] = byte(cra)
	binary.BigEndian.PutUint64(o[17:25], counter)
	copy(o[25:33], recipient[:])
	return o
}

// DeriveKey is the GBCS single-step concatenation KDF: the first 16 bytes of
// SHA-256(00000001 ‖ Z ‖ OtherInfo), with Z the 32-byte ECDH shared secret.
func DeriveKey(z []byte, cra CRA, counter uint64, originator, recipient eui.EUI64) [KeySize]byte {
	oi := KDFOtherInfo(cra, counter, originator, recipient)
	var buf [4 + 32 + 33]byte
	buf[3] = 1
	n := 4 + copy(buf[4:], z)
	n += copy(buf[n:], oi[:])
	sum := sha256.Sum256(buf[:n])
	var k [KeySize]byte
	copy(k[:], sum[:KeySize])
	return k
}

// iv is originator system title ‖ 00000000.
func iv(originator eui.EUI64) []byte {
	v := make([]byte, 12)
	copy(v, originator[:])
	return v
}

func newGCM(key []byte, tagSize int) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("gbcs: AES key must be %d bytes, have %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithTagSize(block, tagSize)
}

// GMAC is AES-128-GCM over empty plaintext with additional data aad and IV
// originator ‖ 00000000, returning a tag of tagSize bytes (12 for messages,
// 16 for UTRNs).
func GMAC(key []byte, originator eui.EUI64, aad []byte, tagSize int) ([]byte, error) {
	g, err := newGCM(key, tagSize)
	if err != nil {
		return nil, err
	}
	return g.Seal(nil, iv(originator), nil, aad), nil
}

// macInput is the GMAC additional data of m: 11 00 00 00 00 00 ‖ the
// General-Signing APDU.
func macInput(m *Message) ([]byte, error) {
	b := make([]byte, 0, 6+64+len(m.Content)+len(m.SupplementaryRemotePartyCertificate)+SignatureSize+8)
	b = append(b, macAADPrefix[:]...)
	return m.AppendGeneralSigning(b)
}

// ComputeMAC returns the 12-byte MAC of m under key (the KDF output for the
// message's CRA). It does not look at or change m.MAC.
func ComputeMAC(key []byte, m *Message) ([]byte, error) {
	aad, err := macInput(m)
	if err != nil {
		return nil, err
	}
	return GMAC(key, m.Originator, aad, MACSize)
}

// CheckMAC verifies m.MAC under key.
func CheckMAC(key []byte, m *Message) error {
	if !m.MACHeader {
		return ErrNotMACed
	}
	want, err := ComputeMAC(key, m)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, m.MAC) != 1 {
		return ErrMACInvalid
	}
	return nil
}

// SetMAC puts m in a MAC Header (security control 0x11, invocation counter
// 0) and computes its MAC under key. A Pre-Command gets an empty signature
// field first.
func SetMAC(key []byte, m *Message) error {
	if !m.SignatureField {
		m.SignatureField = true
		m.Signature = []byte{}
	}
	m.MACHeader = true
	m.SecurityControl = SecurityControlAuthOnly
	m.InvocationCounter = 0
	m.MAC = make([]byte, MACSize) // placeholder so that check() passes; not part of the AAD
	mac, err := ComputeMAC(key, m)
	if err != nil {
		return err
	}
	m.MAC = mac
	m.Raw = nil
	return nil
}

// EncryptPayload protects sensitive data (GBCS §2.5 of the notes) with the
// CRA 04 key: 31 00000000 ‖ AES-128-GCM(plaintext, AAD 31) ‖ 12-byte tag,
// IV originator ‖ 00000000.
func EncryptPayload(key []byte, originator eui.EUI64, plaintext []byte) ([]byte, error) {
	g, err := newGCM(key, MACSize)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 5+len(plaintext)+MACSize)
	out = append(out, protectedPrefix[:]...)
	return g.Seal(out, iv(originator), plaintext, protectedPrefix[:1]), nil
}

// DecryptPayload reverses EncryptPayload. protected must start with
// 31 00000000 and end with the tag.
func DecryptPayload(key []byte, originator eui.EUI64, protected []byte) ([]byte, error) {
	if len(protected) < 5+MACSize || [5]byte(protected[:5]) != protectedPrefix {
		return nil, fmt.Errorf("%w: not a protected payload (want 31 00000000 ‖ ciphertext ‖ 12-byte tag)", ErrDecrypt)
	}
	g, err := newGCM(key, MACSize)
	if err != nil {
		return nil, err
	}
	pt, err := g.Open(nil, iv(originator), protected[5:], protected[:1])
	if err != nil {
		return nil, fmt.Errorf("%w: authentication tag mismatch", ErrDecrypt)
	}
	return pt, nil
}

// SignData signs data with ECDSA P-256 / SHA-256 and returns the raw 64-byte
// r‖s form GBCS carries. rand nil means crypto/rand.
func SignData(signer crypto.Signer, rand io.Reader, data []byte) ([]byte, error) {
	digest := sha256.Sum256(data)
	if k, ok := signer.(*ecdsa.PrivateKey); ok {
		if rand == nil {
			rand = cryptoRand
		}
		r, s, err := ecdsa.Sign(rand, k, digest[:])
		if err != nil {
			return nil, err
		}
		return rawSignature(r, s), nil
	}
	if rand == nil {
		rand = cryptoRand
	}
	der, err := signer.Sign(rand, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	var r, s big.Int
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, errors.New("gbcs: signer returned a malformed ECDSA signature")
	}
	return rawSignature(&r, &s), nil
}

func rawSignature(r, s *big.Int) []byte {
	sig := make([]byte, SignatureSize)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

// VerifyData checks a raw r‖s signature over data.
func VerifyData(pub *ecdsa.PublicKey, data, sig []byte) bool {
	if pub == nil || len(sig) != SignatureSize {
		return false
	}
	digest := sha256.Sum256(data)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, digest[:], r, s)
}

// SignMessage signs m's Grouping Header (SignedBytes) and stores the
// signature, giving a Pre-Command its signature field. A message that already
// had a MAC must be MACed again afterwards: the MAC covers the signature.
func SignMessage(m *Message, signer crypto.Signer, rand io.Reader) error {
	data, err := m.SignedBytes()
	if err != nil {
		return err
	}
	sig, err := SignData(signer, rand, data)
	if err != nil {
		return err
	}
	m.SignatureField = true
	m.Signature = sig
	m.Raw = nil
	return nil
}

// CheckSignature verifies m's signature with pub.
func CheckSignature(m *Message, pub *ecdsa.PublicKey) error {
	if !m.Signed() {
		return ErrNotSigned
	}
	data, err := m.SignedBytes()
	if err != nil {
		return err
	}
	if !VerifyData(pub, data, m.Signature) {
		return ErrSignatureInvalid
	}
	return nil
}
