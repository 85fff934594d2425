package gbcs

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
)

var cryptoRand = rand.Reader

// Usage says what a GBCS key is for. A party holds one key pair per usage.
type Usage int

// Key usages.
const (
	UsageDigitalSignature Usage = iota + 1 // signs Grouping Headers (cert keyUsage digitalSignature)
	UsageKeyAgreement                      // ECDH for MACs and payload encryption (keyAgreement)
	UsagePrepayment                        // a supplier's prepayment key-agreement key, for UTRNs
)

func (u Usage) String() string {
	switch u {
	case UsageDigitalSignature:
		return "ds"
	case UsageKeyAgreement:
		return "ka"
	case UsagePrepayment:
		return "pp-ka"
	}
	return fmt.Sprintf("Usage(%d)", int(u))
}

// PrivateKey is a P-256 private key as this package uses it: it signs
// (crypto.Signer, SHA-256 digests) and agrees keys (ECDH returns the 32-byte
// shared x-coordinate). Software keys come from NewSoftwareKey; an HSM can
// implement the interface without exposing the key.
type PrivateKey interface {
	crypto.Signer
	ECDH(peer *ecdh.PublicKey) ([]byte, error)
}

// softwareKey is an in-memory PrivateKey.
type softwareKey struct {
	*ecdsa.PrivateKey
	ecdh *ecdh.PrivateKey
}

func (k softwareKey) ECDH(peer *ecdh.PublicKey) ([]byte, error) { return k.ecdh.ECDH(peer) }

// Sign signs with the ECDSA key (so that SignData takes its fast path).
func (k softwareKey) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.PrivateKey.Sign(rand, digest, opts)
}

// NewSoftwareKey wraps an ECDSA P-256 key as a PrivateKey.
func NewSoftwareKey(k *ecdsa.PrivateKey) (PrivateKey, error) {
	if k == nil {
		return nil, errors.New("gbcs: nil private key")
	}
	e, err := k.ECDH()
	if err != nil {
		return nil, fmt.Errorf("gbcs: key is not usable for ECDH: %w", err)
	}
	if e.Curve() != ecdh.P256() {
		return nil, errors.New("gbcs: key is not P-256")
	}
	return softwareKey{PrivateKey: k, ecdh: e}, nil
}

// KeyStore holds the certificates and private keys of the parties this side
// of the link knows: files today, an HSM tomorrow. Lists come preferred
// first; signers and MAC writers use the first entry, verifiers try all.
type KeyStore interface {
	Certificates(id eui.EUI64, u Usage) []*smki.Certificate
	PrivateKeys(id eui.EUI64, u Usage) []PrivateKey
}

type slot struct {
	id eui.EUI64
	u  Usage
}

// Keyring is the in-memory KeyStore. Several sources can be loaded into one
// Keyring (the RTDS folder, a DCC Boxed keystore JSON, single files); a
// certificate or key that is already present is not added twice. It is safe
// for concurrent use.
type Keyring struct {
	mu    sync.RWMutex
	certs map[slot][]*smki.Certificate
	keys  map[slot][]PrivateKey
	pubs  map[slot][][]byte // uncompressed public keys of keys, for de-duplication
}

// NewKeyring returns an empty Keyring.
func NewKeyring() *Keyring {
	return &Keyring{certs: map[slot][]*smki.Certificate{}, keys: map[slot][]PrivateKey{}, pubs: map[slot][][]byte{}}
}

// Certificates implements KeyStore.
func (k *Keyring) Certificates(id eui.EUI64, u Usage) []*smki.Certificate {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return append([]*smki.Certificate(nil), k.certs[slot{id, u}]...)
}

// PrivateKeys implements KeyStore.
func (k *Keyring) PrivateKeys(id eui.EUI64, u Usage) []PrivateKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return append([]PrivateKey(nil), k.keys[slot{id, u}]...)
}

// Len reports the number of certificates and private keys held.
func (k *Keyring) Len() (certs, keys int) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, c := range k.certs {
		certs += len(c)
	}
	for _, c := range k.keys {
		keys += len(c)
	}
	return
}

// AddCertificate adds cert for id and usage. The usage must agree with the
// certificate's keyUsage (digitalSignature, or keyAgreement for both
// key-agreement usages).
func (k *Keyring) AddCertificate(id eui.EUI64, u Usage, cert *smki.Certificate) error {
	if cert == nil || cert.PublicKey == nil {
		return errors.New("gbcs: certificate without a public key")
	}
	if err := checkUsage(cert, u); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s := slot{id, u}
	for _, c := range k.certs[s] {
		if bytes.Equal(c.Raw, cert.Raw) {
			return nil
		}
	}
	k.certs[s] = append(k.certs[s], cert)
	return nil
}

func checkUsage(cert *smki.Certificate, u Usage) error {
	if !cert.HasKeyUsage {
		return nil
	}
	var bit smki.KeyUsage
	switch u {
	case UsageDigitalSignature:
		bit = smki.KeyUsageDigitalSignature
	case UsageKeyAgreement, UsagePrepayment:
		bit = smki.KeyUsageKeyAgreement
	default:
		return fmt.Errorf("gbcs: unknown usage %v", u)
	}
	if cert.KeyUsage&bit == 0 {
		return fmt.Errorf("gbcs: certificate %s has keyUsage %v, not usable as %v", cert.SerialHex(), cert.KeyUsage, u)
	}
	return nil
}

// AddPrivateKey adds a private key for id and usage.
func (k *Keyring) AddPrivateKey(id eui.EUI64, u Usage, key PrivateKey) error {
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok {
		return errors.New("gbcs: private key's public half is not ECDSA")
	}
	pb, err := pub.Bytes()
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	s := slot{id, u}
	for _, p := range k.pubs[s] {
		if bytes.Equal(p, pb) {
			return nil
		}
	}
	k.keys[s] = append(k.keys[s], key)
	k.pubs[s] = append(k.pubs[s], pb)
	return nil
}

// rtdsName matches the RTDS keystore file names <eui16>[-pp]-<ka|ds>.<pem|key>.
var rtdsName = regexp.MustCompile(`^([0-9a-fA-F]{16})(-pp)?-(ka|ds)\.(pem|key)$`)

// LoadRTDSDir loads a folder named like the RTDS keystore:
// <eui16>[-pp]-<ka|ds>.<pem|key>, certificates (.pem) and PKCS#8 private keys
// (.key, DER or PEM); "-pp" marks a supplier's prepayment key. Other files
// are ignored.
//
// A certificate is filed under the EUI it names (the file name can be wrong:
// in RTDS 90b3d51f30000007-ka.pem holds supplier 2's certificate), a key
// under its certificate's EUI when a certificate of the same stem matches it,
// else under the file name's EUI. A .pem that holds only a public key is
// skipped (it has no identity). It returns notes on what was filed
// differently from its name or skipped.
func (k *Keyring) LoadRTDSDir(dir string) (notes []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type stemInfo struct {
		id   eui.EUI64
		u    Usage
		cert *smki.Certificate
		key  *ecdsa.PrivateKey
		file string
	}
	stems := map[string]*stemInfo{}
	var order []string
	for _, e := range ents {
		m := rtdsName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		stem := strings.TrimSuffix(e.Name(), "."+m[4])
		si := stems[stem]
		if si == nil {
			id, err := eui.Parse(m[1])
			if err != nil {
				return notes, fmt.Errorf("%s: %w", e.Name(), err)
			}
			u := UsageDigitalSignature
			switch {
			case m[3] == "ka" && m[2] != "":
				u = UsagePrepayment
			case m[3] == "ka":
				u = UsageKeyAgreement
			case m[2] != "":
				return notes, fmt.Errorf("%s: prepayment keys are key-agreement keys", e.Name())
			}
			si = &stemInfo{id: id, u: u}
			stems[stem] = si
			order = append(order, stem)
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return notes, err
		}
		switch m[4] {
		case "pem":
			if bytes.Contains(data, []byte("-----BEGIN PUBLIC KEY-----")) && !bytes.Contains(data, []byte("CERTIFICATE")) {
				notes = append(notes, e.Name()+": bare public key, skipped")
				continue
			}
			c, err := smki.ParsePEM(data)
			if err != nil {
				return notes, fmt.Errorf("%s: %w", e.Name(), err)
			}
			si.cert, si.file = c, e.Name()
		case "key":
			key, err := smki.ParsePrivateKey(data)
			if err != nil {
				return notes, fmt.Errorf("%s: %w", e.Name(), err)
			}
			si.key = key
		}
	}
	sort.Strings(order)
	for _, stem := range order {
		si := stems[stem]
		keyID := si.id
		if si.cert != nil {
			certID := si.cert.EUI
			if certID != si.id {
				notes = append(notes, fmt.Sprintf("%s: certificate names %s, filed under it", si.file, certID))
			}
			if err := k.AddCertificate(certID, si.u, si.cert); err != nil {
				return notes, fmt.Errorf("%s: %w", si.file, err)
			}
			if si.key != nil {
				if smki.KeyMatches(si.cert, si.key) {
					keyID = certID
				} else {
					notes = append(notes, fmt.Sprintf("%s.key: does not match %s, filed as a key of %s without certificate", stem, si.file, si.id))
				}
			}
		}
		if si.key != nil {
			sk, err := NewSoftwareKey(si.key)
			if err != nil {
				return notes, fmt.Errorf("%s.key: %w", stem, err)
			}
			if err := k.AddPrivateKey(keyID, si.u, sk); err != nil {
				return notes, err
			}
		}
	}
	return notes, nil
}

// LoadKeystoreJSON loads a DCC Boxed keystore.json ({eui: {digitalSignature|
// keyAgreement: {serial: {certificate, privateKey, role, name}}}}), read and
// cross-checked by smki.Store.LoadKeystoreJSON. DUIS XML-signing
// certificates (roles 135 and 137) are left out: they do not sign GBCS. A
// key-agreement entry whose name contains "PP-" (Z1-supplierPP-ka) is a
// prepayment key. Entries come in smki's order (EUI, usage, name), which puts
// the Z1- generation before Z1b-.
func (k *Keyring) LoadKeystoreJSON(data []byte) error {
	st := smki.NewStore()
	if err := st.LoadKeystoreJSON(data); err != nil {
		return err
	}
	return k.AddStore(st)
}

// AddStore adds the organisation and device certificates of an smki.Store,
// with their keys, classifying them as LoadKeystoreJSON does.
func (k *Keyring) AddStore(st *smki.Store) error {
	for _, e := range st.Entries() {
		c := e.Certificate
		if c.Kind == smki.KindAuthority || c.Role.IsXMLSigning() {
			continue
		}
		var u Usage
		switch {
		case c.KeyUsage&smki.KeyUsageDigitalSignature != 0:
			u = UsageDigitalSignature
		case c.KeyUsage&smki.KeyUsageKeyAgreement != 0 && strings.Contains(strings.ToUpper(e.Name), "PP-"):
			u = UsagePrepayment
		case c.KeyUsage&smki.KeyUsageKeyAgreement != 0:
			u = UsageKeyAgreement
		default:
			continue
		}
		if err := k.AddCertificate(c.EUI, u, c); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		if e.Key != nil {
			sk, err := NewSoftwareKey(e.Key)
			if err != nil {
				return fmt.Errorf("%s: %w", e.Name, err)
			}
			if err := k.AddPrivateKey(c.EUI, u, sk); err != nil {
				return err
			}
		}
	}
	return nil
}

// MultiKeyStore merges key stores: lists are concatenated in order, so the
// first store's entries are preferred.
type MultiKeyStore []KeyStore

// Certificates implements KeyStore.
func (ms MultiKeyStore) Certificates(id eui.EUI64, u Usage) []*smki.Certificate {
	var out []*smki.Certificate
	for _, s := range ms {
		out = append(out, s.Certificates(id, u)...)
	}
	return out
}

// PrivateKeys implements KeyStore.
func (ms MultiKeyStore) PrivateKeys(id eui.EUI64, u Usage) []PrivateKey {
	var out []PrivateKey
	for _, s := range ms {
		out = append(out, s.PrivateKeys(id, u)...)
	}
	return out
}
