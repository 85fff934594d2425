package ca

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"

	"github.com/opendcc/opendcc/smki"
)

// Environment variables that carry the key-encryption secret.
const (
	EnvPassphrase = "OPENDCC_SMKI_PASSPHRASE"
	EnvKEK        = "OPENDCC_SMKI_KEK"
)

// MinPassphrase is the shortest passphrase Init accepts.
const MinPassphrase = 8

var (
	// ErrNoSecret: neither a passphrase nor a key-encryption key was given.
	ErrNoSecret = errors.New("ca: no key-encryption secret: set " + EnvPassphrase + " or " + EnvKEK)
	// ErrBadSecret: the secret is malformed, or does not open a key file.
	ErrBadSecret = errors.New("ca: wrong or malformed key-encryption secret")
)

// Secret protects the CA private keys at rest. A key file records which of
// the two encrypted it; opening it needs that one.
type Secret struct {
	// Passphrase: the file key is scrypt(passphrase, salt).
	Passphrase []byte
	// KEK: a 32-byte key-encryption key (e.g. from an HSM or a secrets
	// manager); the file key is HKDF-SHA256(KEK, salt). Preferred over the
	// passphrase for new files when both are set.
	KEK []byte
}

// IsZero reports whether no secret is set.
func (s Secret) IsZero() bool { return len(s.Passphrase) == 0 && len(s.KEK) == 0 }

// SecretFromEnv reads OPENDCC_SMKI_KEK (64 hex digits) and
// OPENDCC_SMKI_PASSPHRASE with getenv (nil: os.Getenv). Neither set gives
// a zero Secret and no error; a malformed KEK is an error.
func SecretFromEnv(getenv func(string) string) (Secret, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var s Secret
	if h := strings.TrimSpace(getenv(EnvKEK)); h != "" {
		k, err := hex.DecodeString(h)
		if err != nil || len(k) != 32 {
			return Secret{}, fmt.Errorf("%w: %s must be 64 hex digits (32 bytes)", ErrBadSecret, EnvKEK)
		}
		s.KEK = k
	}
	if p := getenv(EnvPassphrase); p != "" {
		s.Passphrase = []byte(p)
	}
	return s, nil
}

// scrypt parameters of new key files: N=2^15, r=8, p=1 (32 MiB; the
// x/crypto/scrypt recommendation for interactive use). They are stored in
// each file, so they can be raised without breaking old files. (Argon2id
// would need golang.org/x/sys, which the module does not require.)
const (
	scryptLogN = 15
	scryptR    = 8
	scryptP    = 1
)

const (
	keyFileFormat = "opendcc-smki-key/1"
	kdfScrypt     = "scrypt"
	kdfKEK        = "kek-hkdf-sha256"
	cipherName    = "AES-256-GCM"
)

// keyFile is the on-disk form of an encrypted CA private key (JSON).
type keyFile struct {
	Format    string `json:"format"`
	Name      string `json:"name"` // root, org-ca, device-ca: bound into the AAD
	KDF       string `json:"kdf"`
	Salt      string `json:"salt"` // base64, 16 bytes
	LogN      int    `json:"scryptLogN,omitempty"`
	R         int    `json:"scryptR,omitempty"`
	P         int    `json:"scryptP,omitempty"`
	Cipher    string `json:"cipher"`
	PublicKey string `json:"publicKey"` // base64 SubjectPublicKeyInfo DER, in the clear
	Nonce     string `json:"nonce"`
	// Ciphertext is base64 of AES-256-GCM(PKCS#8 DER) with the header
	// fields above as additional data.
	Ciphertext string `json:"ciphertext"`
}

func (f *keyFile) aad() []byte {
	return []byte(strings.Join([]string{f.Format, f.Name, f.KDF, f.Salt,
		strconv.Itoa(f.LogN), strconv.Itoa(f.R), strconv.Itoa(f.P),
		f.Cipher, f.PublicKey}, "\n"))
}

func (f *keyFile) fileKey(sec Secret) ([]byte, error) {
	salt, err := base64.StdEncoding.DecodeString(f.Salt)
	if err != nil || len(salt) < 16 {
		return nil, errors.New("bad salt")
	}
	switch f.KDF {
	case kdfKEK:
		if len(sec.KEK) != 32 {
			return nil, fmt.Errorf("%w: %s is encrypted under a key-encryption key; set %s", ErrNoSecret, f.Name, EnvKEK)
		}
		return hkdf.Key(sha256.New, sec.KEK, salt, "opendcc smki ca key "+f.Name, 32)
	case kdfScrypt:
		if len(sec.Passphrase) == 0 {
			return nil, fmt.Errorf("%w: %s is encrypted under a passphrase; set %s", ErrNoSecret, f.Name, EnvPassphrase)
		}
		// Bounds: at least the default cost, at most 1 GiB of memory.
		if f.LogN < scryptLogN || f.R < 1 || f.P < 1 || f.LogN > 22 || f.R > 32 || f.P > 16 || (128*f.R)<<f.LogN > 1<<30 {
			return nil, errors.New("implausible scrypt parameters")
		}
		return scrypt.Key(sec.Passphrase, salt, 1<<f.LogN, f.R, f.P, 32)
	}
	return nil, fmt.Errorf("unknown kdf %q", f.KDF)
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// sealKey encrypts key under sec for the key file name.
func sealKey(name string, key *ecdsa.PrivateKey, sec Secret) ([]byte, error) {
	if sec.IsZero() {
		return nil, ErrNoSecret
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	spki, err := smki.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	nonce := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	f := &keyFile{Format: keyFileFormat, Name: name, Salt: base64.StdEncoding.EncodeToString(salt), Cipher: cipherName,
		PublicKey: base64.StdEncoding.EncodeToString(spki), Nonce: base64.StdEncoding.EncodeToString(nonce)}
	if len(sec.KEK) > 0 {
		if len(sec.KEK) != 32 {
			return nil, fmt.Errorf("%w: the key-encryption key must be 32 bytes", ErrBadSecret)
		}
		f.KDF = kdfKEK
	} else {
		if len(sec.Passphrase) < MinPassphrase {
			return nil, fmt.Errorf("%w: the passphrase must be at least %d bytes", ErrBadSecret, MinPassphrase)
		}
		f.KDF, f.LogN, f.R, f.P = kdfScrypt, scryptLogN, scryptR, scryptP
	}
	fk, err := f.fileKey(sec)
	if err != nil {
		return nil, err
	}
	aead, err := gcm(fk)
	if err != nil {
		return nil, err
	}
	f.Ciphertext = base64.StdEncoding.EncodeToString(aead.Seal(nil, nonce, pkcs8, f.aad()))
	return json.MarshalIndent(f, "", "  ")
}

// openKey decrypts a key file written by sealKey for name and checks that
// the key is the one recorded in its header.
func openKey(name string, data []byte, sec Secret) (*ecdsa.PrivateKey, error) {
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("ca: key file %s: %w", name, err)
	}
	if f.Format != keyFileFormat || f.Cipher != cipherName {
		return nil, fmt.Errorf("ca: key file %s: format %q cipher %q not supported", name, f.Format, f.Cipher)
	}
	if f.Name != name {
		return nil, fmt.Errorf("ca: key file %s holds the key of %q", name, f.Name)
	}
	if sec.IsZero() {
		return nil, ErrNoSecret
	}
	fk, err := f.fileKey(sec)
	if err != nil {
		if errors.Is(err, ErrNoSecret) {
			return nil, err
		}
		return nil, fmt.Errorf("ca: key file %s: %w", name, err)
	}
	nonce, err1 := base64.StdEncoding.DecodeString(f.Nonce)
	ct, err2 := base64.StdEncoding.DecodeString(f.Ciphertext)
	if err1 != nil || err2 != nil || len(nonce) != 12 {
		return nil, fmt.Errorf("ca: key file %s: bad nonce or ciphertext encoding", name)
	}
	aead, err := gcm(fk)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, ct, f.aad())
	if err != nil {
		return nil, fmt.Errorf("%w: key file %s does not open (wrong secret, or the file was altered)", ErrBadSecret, name)
	}
	k, err := smki.ParsePrivateKey(pt)
	if err != nil {
		return nil, fmt.Errorf("ca: key file %s: %w", name, err)
	}
	spki, err := smki.MarshalPublicKey(&k.PublicKey)
	if err != nil || base64.StdEncoding.EncodeToString(spki) != f.PublicKey {
		return nil, fmt.Errorf("ca: key file %s: the key does not match its recorded public key", name)
	}
	return k, nil
}
