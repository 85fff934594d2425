package gbcs

import (
	"container/list"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
)

// ErrCertificateRevoked is wrapped when the only certificates that could
// verify a message, or derive its key, are revoked (Security.Revocation).
var ErrCertificateRevoked = errors.New("gbcs: certificate revoked")

// DefaultCacheSize is the number of ECDH shared secrets a Security keeps
// when NewSecurity is given 0.
const DefaultCacheSize = 4096

// Security applies the GBCS protection rules with keys from a KeyStore:
//
//	message                    MAC key pair (ECDH)             KDF CRA  signature
//	command (any, via DCC)     ACB KA ↔ recipient (device) KA  01       critical: originator (user) DS
//	response, non-critical     originator KA ↔ recipient KA    02       —
//	alert, non-critical        originator KA ↔ recipient KA    03       —
//	response/alert, critical   —                               —        originator (device) DS
//	sensitive payload          originator KA ↔ supplementary   04       —
//	                           remote party KA, else recipient
//
// The KDF's party info is always the Grouping Header's originator,
// originator counter and recipient (for CRA 04: the Supplementary Originator
// Counter and the Supplementary Remote Party when other-information has
// them). Either end of a pair may hold the private key: a device verifies
// with its own KA key and the ACB's certificate, the DCC with the ACB key and
// the device's certificate.
//
// ECDH shared secrets are cached per key pair (an LRU), since the point
// multiplication dominates the cost of every MAC. Security is safe for
// concurrent use.
//
// With Revocation set, certificates it reports revoked are not used: a
// signature or MAC that only a revoked certificate's key verifies fails
// with ErrCertificateRevoked, and no key is derived from one.
type Security struct {
	Keys KeyStore
	// ACB is the Access Control Broker whose KA key MACs every command
	// (the DCC, 90-B3-D5-1F-30-00-00-02, by default).
	ACB eui.EUI64
	// Revocation, when set, is asked about every certificate before use
	// (*smki.CRLSet implements it).
	Revocation smki.RevocationChecker

	cache *secretCache
	// byPair finds a cached secret by the identity of the two public key
	// objects (certificates' keys and private keys' public halves live as
	// long as the key store), before encoding both keys to look the LRU up:
	// the encoding cost more than the lookup. Bounded; keys are immutable,
	// and a key held here is not freed, so its address is not reused.
	byPair  sync.Map // keyPair → []byte
	byPairN atomic.Int64
}

type keyPair struct{ own, peer *ecdsa.PublicKey }

const maxByPair = 4096

// NewSecurity returns a Security over keys caching up to cacheSize shared
// secrets (0: DefaultCacheSize; negative: no cache).
func NewSecurity(keys KeyStore, cacheSize int) *Security {
	s := &Security{Keys: keys, ACB: smki.DCCEUI}
	if cacheSize == 0 {
		cacheSize = DefaultCacheSize
	}
	if cacheSize > 0 {
		s.cache = newSecretCache(cacheSize)
	}
	return s
}

// SharedSecret is the ECDH shared secret (32-byte x-coordinate) of own and
// the public key of peer, from the cache when possible.
func (s *Security) SharedSecret(own PrivateKey, peer *ecdsa.PublicKey) ([]byte, error) {
	ownPub, ok := own.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("gbcs: private key's public half is not ECDSA")
	}
	var ck string
	if s.cache != nil {
		if z, ok := s.byPair.Load(keyPair{ownPub, peer}); ok {
			return z.([]byte), nil
		}
		a, err1 := ownPub.Bytes()
		b, err2 := peer.Bytes()
		if err1 != nil || err2 != nil {
			return nil, errors.New("gbcs: invalid public key")
		}
		ck = string(a) + string(b)
		if z, ok := s.cache.get(ck); ok {
			s.rememberPair(ownPub, peer, z)
			return z, nil
		}
	}
	pe, err := peer.ECDH()
	if err != nil {
		return nil, fmt.Errorf("gbcs: peer key: %w", err)
	}
	z, err := own.ECDH(pe)
	if err != nil {
		return nil, err
	}
	if s.cache != nil {
		s.cache.put(ck, z)
		s.rememberPair(ownPub, peer, z)
	}
	return z, nil
}

func (s *Security) rememberPair(own, peer *ecdsa.PublicKey, z []byte) {
	if s.byPairN.Load() >= maxByPair {
		return
	}
	if _, loaded := s.byPair.LoadOrStore(keyPair{own, peer}, z); !loaded {
		s.byPairN.Add(1)
	}
}

// kdfInput is what a derived key depends on besides the shared secret.
type kdfInput struct {
	cra                   CRA
	counter               uint64
	originator, recipient eui.EUI64
}

// revoked reports whether the Revocation checker refuses c.
func (s *Security) revoked(c *smki.Certificate) bool {
	return s.Revocation != nil && s.Revocation.Revoked(c)
}

// derive returns the keys derivable for the KA pair (a, ua) ↔ (b, ub): one
// per (private key of one side, certificate of the other) combination held,
// preferred first, none from a revoked certificate. It fails with ErrNoKey
// when there is none, and with ErrCertificateRevoked when all candidates
// are revoked.
func (s *Security) derive(a eui.EUI64, ua Usage, b eui.EUI64, ub Usage, in kdfInput, extraB []*smki.Certificate) ([][KeySize]byte, error) {
	good, _, err := s.deriveAll(a, ua, b, ub, in, extraB)
	return good, err
}

// deriveAll is derive that also returns the keys from revoked
// certificates, so that a verifier can tell "revoked" from "invalid".
func (s *Security) deriveAll(a eui.EUI64, ua Usage, b eui.EUI64, ub Usage, in kdfInput, extraB []*smki.Certificate) (good, revoked [][KeySize]byte, err error) {
	if s.Keys == nil {
		return nil, nil, fmt.Errorf("%w: no key store", ErrNoKey)
	}
	try := func(priv []PrivateKey, certs []*smki.Certificate) error {
		for _, p := range priv {
			for _, c := range certs {
				z, err := s.SharedSecret(p, c.PublicKey)
				if err != nil {
					return err
				}
				k := DeriveKey(z, in.cra, in.counter, in.originator, in.recipient)
				if s.revoked(c) {
					revoked = append(revoked, k)
				} else {
					good = append(good, k)
				}
			}
		}
		return nil
	}
	certsB := append(s.Keys.Certificates(b, ub), extraB...)
	if err := try(s.Keys.PrivateKeys(a, ua), certsB); err != nil {
		return nil, nil, err
	}
	if err := try(s.Keys.PrivateKeys(b, ub), s.Keys.Certificates(a, ua)); err != nil {
		return nil, nil, err
	}
	if len(good) == 0 {
		if len(revoked) > 0 {
			return nil, revoked, fmt.Errorf("%w: every %v certificate of %s or %s that could be used is revoked", ErrCertificateRevoked, ub, a, b)
		}
		return nil, nil, fmt.Errorf("%w: need the %v private key of %s and a certificate of %s (%v), or the reverse", ErrNoKey, ua, a, b, ub)
	}
	return good, revoked, nil
}

// MACParties returns the two parties whose KA keys protect m's MAC: the ACB
// and the recipient for commands, originator and recipient otherwise.
// Device-to-device HAN-only commands (PCS01/PCS02, PPMID to GSME, catalogue
// type SME.C.PPMID-GSME) are taken as originator ↔ recipient; RTDS holds no
// keys to confirm that.
func (s *Security) MACParties(m *Message) (a, b eui.EUI64) {
	if m.CRA == CRACommand {
		if uc, ok := LookupMessageCode(m.MessageCode); !ok || !uc.DeviceToDevice {
			return s.ACB, m.Recipient
		}
	}
	return m.Originator, m.Recipient
}

// MACKeys returns the candidate MAC keys of m (see derive), none from a
// revoked certificate.
func (s *Security) MACKeys(m *Message) ([][KeySize]byte, error) {
	good, _, err := s.macKeys(m)
	return good, err
}

func (s *Security) macKeys(m *Message) (good, revoked [][KeySize]byte, err error) {
	a, b := s.MACParties(m)
	return s.deriveAll(a, UsageKeyAgreement, b, UsageKeyAgreement,
		kdfInput{m.CRA, m.OriginatorCounter, m.Originator, m.Recipient}, nil)
}

// VerifyMAC checks m's MAC. Errors wrap ErrNotMACed, ErrNoKey,
// ErrCertificateRevoked or ErrMACInvalid.
func (s *Security) VerifyMAC(m *Message) error {
	if !m.MACHeader {
		return ErrNotMACed
	}
	keys, revoked, derr := s.macKeys(m)
	if derr != nil && !errors.Is(derr, ErrCertificateRevoked) {
		return derr
	}
	aad, err := macInput(m)
	if err != nil {
		return err
	}
	match := func(keys [][KeySize]byte) (bool, error) {
		for _, k := range keys {
			mac, err := GMAC(k[:], m.Originator, aad, MACSize)
			if err != nil {
				return false, err
			}
			if constantEqual(mac, m.MAC) {
				return true, nil
			}
		}
		return false, nil
	}
	if ok, err := match(keys); ok || err != nil {
		return err
	}
	ok, err := match(revoked)
	switch {
	case err != nil:
		return err
	case ok:
		return fmt.Errorf("%w: the MAC verifies only with a revoked key-agreement certificate", ErrCertificateRevoked)
	case derr != nil:
		return derr // every candidate is revoked, and none verifies either
	}
	return ErrMACInvalid
}

// WrapMAC puts m in a MAC Header and computes its MAC with the preferred
// key pair (see SetMAC).
func (s *Security) WrapMAC(m *Message) error {
	keys, err := s.MACKeys(m)
	if err != nil {
		return err
	}
	return SetMAC(keys[0][:], m)
}

// VerifySignature checks m's signature against the originator's
// digital-signature certificates. Errors wrap ErrNotSigned, ErrNoKey,
// ErrCertificateRevoked (only a revoked certificate verifies it) or
// ErrSignatureInvalid.
func (s *Security) VerifySignature(m *Message) error {
	if !m.Signed() {
		return ErrNotSigned
	}
	if s.Keys == nil {
		return fmt.Errorf("%w: no key store", ErrNoKey)
	}
	certs := s.Keys.Certificates(m.Originator, UsageDigitalSignature)
	if len(certs) == 0 {
		return fmt.Errorf("%w: no digital-signature certificate of %s", ErrNoKey, m.Originator)
	}
	data, err := m.SignedBytes()
	if err != nil {
		return err
	}
	var revoked *smki.Certificate
	for _, c := range certs {
		if VerifyData(c.PublicKey, data, m.Signature) {
			if !s.revoked(c) {
				return nil
			}
			revoked = c
		}
	}
	if revoked != nil {
		return fmt.Errorf("%w: the signature verifies only with %s", ErrCertificateRevoked, revoked)
	}
	return ErrSignatureInvalid
}

// Sign signs m with the originator's preferred digital-signature key (rand
// nil: crypto/rand). A MAC, if any, must be recomputed afterwards.
func (s *Security) Sign(m *Message, rand io.Reader) error {
	if s.Keys == nil {
		return fmt.Errorf("%w: no key store", ErrNoKey)
	}
	keys := s.Keys.PrivateKeys(m.Originator, UsageDigitalSignature)
	if len(keys) == 0 {
		return fmt.Errorf("%w: no digital-signature private key of %s", ErrNoKey, m.Originator)
	}
	return SignMessage(m, keys[0], rand)
}

// PayloadParties returns the party that encrypts sensitive data in m (its
// originator), the party it is encrypted for (the Supplementary Remote
// Party when present, else the recipient) and the counter the KDF uses (the
// Supplementary Originator Counter when present, else the originator
// counter).
func PayloadParties(m *Message) (from, to eui.EUI64, counter uint64) {
	from, to, counter = m.Originator, m.Recipient, m.OriginatorCounter
	if m.HasSupplementaryRemoteParty {
		to = m.SupplementaryRemoteParty
	}
	if m.HasSupplementaryOriginatorCounter {
		counter = m.SupplementaryOriginatorCounter
	}
	return
}

// PayloadKeys returns the candidate CRA 04 keys for sensitive data in m,
// none from a revoked certificate. extra adds certificates of the party the
// data is encrypted for (e.g. the unknown remote party's KA certificate a
// device received in the command).
func (s *Security) PayloadKeys(m *Message, extra ...*smki.Certificate) ([][KeySize]byte, error) {
	from, to, counter := PayloadParties(m)
	return s.derive(from, UsageKeyAgreement, to, UsageKeyAgreement,
		kdfInput{CRAEncryption, counter, from, to}, extra)
}

// DecryptPayload decrypts a protected payload (31 00000000 ‖ ciphertext ‖
// tag) found in m's content. Errors wrap ErrNoKey or ErrDecrypt.
func (s *Security) DecryptPayload(m *Message, protected []byte, extra ...*smki.Certificate) ([]byte, error) {
	keys, err := s.PayloadKeys(m, extra...)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if pt, err := DecryptPayload(k[:], m.Originator, protected); err == nil {
			return pt, nil
		}
	}
	return nil, fmt.Errorf("%w: no key opens it", ErrDecrypt)
}

// EncryptPayload encrypts plaintext as m's originator would for its payload
// (see PayloadParties), with the preferred key.
func (s *Security) EncryptPayload(m *Message, plaintext []byte, extra ...*smki.Certificate) ([]byte, error) {
	keys, err := s.PayloadKeys(m, extra...)
	if err != nil {
		return nil, err
	}
	return EncryptPayload(keys[0][:], m.Originator, plaintext)
}

func constantEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := range a {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

// secretCache is a small LRU of ECDH shared secrets keyed by the two public
// keys.
type secretCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List
	m   map[string]*list.Element
}

type cacheEntry struct {
	key string
	z   []byte
}

func newSecretCache(max int) *secretCache {
	return &secretCache{max: max, ll: list.New(), m: make(map[string]*list.Element)}
}

func (c *secretCache) get(k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cacheEntry).z, true
	}
	return nil, false
}

func (c *secretCache) put(k string, z []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.ll.MoveToFront(e)
		return
	}
	c.m[k] = c.ll.PushFront(&cacheEntry{k, z})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.m, old.Value.(*cacheEntry).key)
	}
}

// Len reports the number of cached shared secrets.
func (c *secretCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
