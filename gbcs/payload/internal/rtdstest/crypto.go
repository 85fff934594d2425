package rtdstest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Keystore reads the RTDS keystore (certificates of devices and remote
// parties, private keys of remote parties only).
type Keystore struct {
	Dir string
	mu  sync.Mutex
	pub map[string]*ecdh.PublicKey
	prv map[string]*ecdh.PrivateKey
}

// NewKeystore opens a keystore folder.
func NewKeystore(dir string) *Keystore {
	return &Keystore{Dir: dir, pub: map[string]*ecdh.PublicKey{}, prv: map[string]*ecdh.PrivateKey{}}
}

func (k *Keystore) pemBlock(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(k.Dir, name))
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", name)
	}
	return blk.Bytes, nil
}

// KAPublic returns the key-agreement public key in a device certificate.
func (k *Keystore) KAPublic(eui [8]byte) (*ecdh.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	name := hex.EncodeToString(eui[:]) + "-ka.pem"
	if p, ok := k.pub[name]; ok {
		return p, nil
	}
	der, err := k.pemBlock(name)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ec, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an EC key", name)
	}
	p, err := ec.ECDH()
	if err != nil {
		return nil, err
	}
	k.pub[name] = p
	return p, nil
}

// KAPrivate returns a remote party's key-agreement private key.
func (k *Keystore) KAPrivate(eui [8]byte) (*ecdh.PrivateKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	name := hex.EncodeToString(eui[:]) + "-ka.key"
	if p, ok := k.prv[name]; ok {
		return p, nil
	}
	der, err := k.pemBlock(name)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an EC key", name)
	}
	p, err := ec.ECDH()
	if err != nil {
		return nil, err
	}
	k.prv[name] = p
	return p, nil
}

// ErrNoKeys means the keystore lacks a key needed for the message.
var ErrNoKeys = errors.New("keys not in the RTDS keystore")

// Decryptor returns the payload Decrypt function for a response or alert
// (project notes §2.3, §2.5): K = KDF(ECDH(recipient KA private, device KA
// public), CRA 04), IV = originator system title ‖ invocation counter,
// AAD = security control byte, 12-byte tag. The recipient and counter are
// the supplementary ones when other-information carries them.
func (k *Keystore) Decryptor(h Header) (func([]byte) ([]byte, error), error) {
	recipient := h.Recipient
	if id, ok := h.SupplementaryRemoteParty(); ok {
		recipient = id
	}
	counter := h.Counter
	if c, ok := h.SupplementaryOriginatorCounter(); ok {
		counter = c
	}
	prv, err := k.KAPrivate(recipient)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoKeys, err)
	}
	pub, err := k.KAPublic(h.Originator)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoKeys, err)
	}
	z, err := prv.ECDH(pub)
	if err != nil {
		return nil, err
	}
	other := []byte{0x60, 0x85, 0x74, 0x06, 0x08, 0x03, 0x00}
	other = append(other, h.Originator[:]...)
	other = append(other, 0x09, 0x04)
	for i := 7; i >= 0; i-- {
		other = append(other, byte(counter>>(8*uint(i))))
	}
	other = append(other, recipient[:]...)
	sum := sha256.Sum256(append(append([]byte{0, 0, 0, 1}, z...), other...))
	block, err := aes.NewCipher(sum[:16])
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCMWithTagSize(block, 12)
	if err != nil {
		return nil, err
	}
	orig := h.Originator
	return func(p []byte) ([]byte, error) {
		if len(p) < 17 {
			return nil, errors.New("protected block too short")
		}
		iv := append(append([]byte{}, orig[:]...), p[1:5]...)
		return gcm.Open(nil, iv, p[5:], p[:1])
	}, nil
}
