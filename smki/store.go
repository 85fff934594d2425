package smki

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/opendcc/opendcc/eui"
)

// Entry is one certificate in a Store, with its private key when known.
type Entry struct {
	Certificate *Certificate
	Key         *ecdsa.PrivateKey // nil when only the certificate is known
	Name        string            // file stem or keystore name, for messages

	issuerNorm string // NormalizeName(Certificate.Issuer), "" if unreadable
}

// Store is an in-memory set of SMKI certificates and private keys: the trust
// store that verifiers look signers up in, and the key ring signers take
// keys from. It is safe for concurrent use. The zero Store is empty and ready.
type Store struct {
	mu       sync.RWMutex
	entries  []*Entry
	byRaw    map[string]*Entry
	bySerial map[string][]*Entry
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{} }

// ErrKeyMismatch is returned when a private key does not belong to the
// certificate it is paired with.
var ErrKeyMismatch = errors.New("smki: private key does not match the certificate's public key")

// KeyMatches reports whether key is the private half of cert's public key.
func KeyMatches(cert *Certificate, key *ecdsa.PrivateKey) bool {
	return cert != nil && key != nil && cert.PublicKey != nil && cert.PublicKey.Equal(&key.PublicKey)
}

// Add puts cert (and key, which may be nil) in the store. Adding a
// certificate that is already present (same DER) only fills in a missing key.
func (s *Store) Add(cert *Certificate, key *ecdsa.PrivateKey) error {
	return s.add(cert, key, "")
}

func (s *Store) add(cert *Certificate, key *ecdsa.PrivateKey, name string) error {
	if cert == nil {
		return errors.New("smki: Add: nil certificate")
	}
	if key != nil && !KeyMatches(cert, key) {
		return fmt.Errorf("%w: %s", ErrKeyMismatch, cert)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byRaw == nil {
		s.byRaw = map[string]*Entry{}
		s.bySerial = map[string][]*Entry{}
	}
	if e, ok := s.byRaw[string(cert.Raw)]; ok {
		if e.Key == nil {
			e.Key = key
		}
		if e.Name == "" {
			e.Name = name
		}
		return nil
	}
	if name == "" {
		name = cert.SerialHex()
	}
	e := &Entry{Certificate: cert, Key: key, Name: name}
	if n, err := NormalizeName(cert.Issuer); err == nil {
		e.issuerNorm = n
	}
	s.entries = append(s.entries, e)
	s.byRaw[string(cert.Raw)] = e
	k := string(cert.SerialNumber.Bytes())
	s.bySerial[k] = append(s.bySerial[k], e)
	return nil
}

// Len is the number of certificates.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.entries)
}

// Certificates lists the certificates in the order they were added.
func (s *Store) Certificates() []*Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Certificate, len(s.entries))
	for i, e := range s.entries {
		out[i] = e.Certificate
	}
	return out
}

// Entries lists certificates with their keys and names, in insertion order.
func (s *Store) Entries() []Entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Entry, len(s.entries))
	for i, e := range s.entries {
		out[i] = *e
	}
	return out
}

// Key returns the private key held for cert, if any.
func (s *Store) Key(cert *Certificate) (*ecdsa.PrivateKey, bool) {
	if cert == nil {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.byRaw[string(cert.Raw)]
	if !ok || e.Key == nil {
		return nil, false
	}
	return e.Key, true
}

// BySerial returns the first certificate added with this serial number.
func (s *Store) BySerial(serial *big.Int) (*Certificate, bool) {
	return s.ByIssuerSerial("", serial)
}

// ByIssuerSerial finds a certificate by serial number and, when issuer is
// not empty, by issuer too. Issuers compare as RFC 2253 names after
// NormalizeName, so the templates' "CN=U1, OU=07" (with a space) is read
// correctly (and does not match "CN=Z1,OU=07"). When several certificates
// share the serial the first one added wins.
func (s *Store) ByIssuerSerial(issuer string, serial *big.Int) (*Certificate, bool) {
	if serial == nil {
		return nil, false
	}
	var want string
	if issuer != "" {
		n, err := NormalizeName(issuer)
		if err != nil {
			return nil, false
		}
		want = n
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.bySerial[string(serial.Bytes())] {
		if e.Certificate.SerialNumber.Cmp(serial) != 0 {
			continue
		}
		if issuer != "" && (e.issuerNorm == "" || e.issuerNorm != want) {
			continue
		}
		return e.Certificate, true
	}
	return nil, false
}

// ByEUI lists the certificates whose subject EUI is e, in insertion order.
func (s *Store) ByEUI(e eui.EUI64) []*Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*Certificate
	for _, en := range s.entries {
		if en.Certificate.EUI == e && en.Certificate.Kind != KindAuthority {
			out = append(out, en.Certificate)
		}
	}
	return out
}

// DCCEUI is the EUI-64 of the DCC (Access Control Broker / DSP) in DCC Boxed.
var DCCEUI = eui.EUI64{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0x00, 0x00, 0x02}

// dccBoxedLibrary is the DCC Boxed signing tool's built-in certificate
// library (CertificateLibrary.java), by serial, in the tool's order. The tool
// signs with the first entry whose EUI matches the originator, and its
// Validate only knows these serials, so preferring them keeps our signatures
// acceptable to every DCC Boxed client.
var dccBoxedLibrary = serials(
	"7DAC7283AAD29BDD23C9EFBFDDB52A41", // dsp-xml-sign-90B3D51F30000002-ds (role 137)
	"261E9CCC40A78FD13D83BCE07DACFE08", // dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1 (OU "137")
	"1ECC6ED40F92A82835DB58174B4A666D", // xml-sign-90B3D51F30020000-ds (135)
	"469AFEC2E7C0CAAEC8A400769B702BC8", // Z1-recovery-ds (01)
	"14BE4AD2EA1D0E4EC7F7156BD24624A7", // xml-sign-90B3D51F30010000-ds (135)
	"39EAFF0055CE4DAF085AC874C7C84BD3", // Z1-supplier2-ds (02)
	"3CE369AB08F102975C5490D6B88FC066", // Z1-transitionalCoS-ds (05)
	"7C758B23CC7FE6923B01921F557D8B0A", // Z1-wanProvider-ds (06)
	"1C063B7B4F241AADA23FFFF28E88B927", // xml-sign-00DB123456780004-ds (135)
	"0F4889EF197D41E9016966F9D5AB0402", // Z1-accessControlBroker-dSPXmlSign (137)
)

func serials(hexes ...string) []*big.Int {
	out := make([]*big.Int, len(hexes))
	for i, h := range hexes {
		v, ok := new(big.Int).SetString(h, 16)
		if !ok {
			panic("smki: bad serial constant " + h)
		}
		out[i] = v
	}
	return out
}

func libraryRank(c *Certificate) int {
	for i, s := range dccBoxedLibrary {
		if s.Cmp(c.SerialNumber) == 0 {
			return i
		}
	}
	return len(dccBoxedLibrary)
}

func roleRank(r Role) int {
	switch r {
	case RoleXMLSign, RoleDSPXMLSign:
		return 0
	}
	return 1
}

// ErrNoSigningKey is returned when the store has no usable signing key for an EUI.
var ErrNoSigningKey = errors.New("smki: no DUIS XML-signing key")

// XMLSigningKey picks the key and certificate that signs DUIS XML for the
// organisation e, choosing as the DCC Boxed signing tool does. Candidates
// are organisation certificates with subject EUI e, keyUsage
// digitalSignature and a private key in the store. Among them:
//
//  1. a certificate of the DCC Boxed tool's built-in library, in the tool's
//     order (for the DCC, 90-B3-D5-1F-30-00-00-02, that is
//     dsp-xml-sign-90B3D51F30000002-ds, serial 7DAC7283AAD29BDD23C9EFBFDDB52A41;
//     for supplier2, transitional CoS, WAN provider and recovery it is their
//     Z1- role certificate, which the tool uses because they have no
//     XML-signing certificate);
//  2. otherwise an XML-signing certificate (role 135 xmlSign or 137 dspXmlSign);
//  3. otherwise any other digitalSignature role certificate of e;
//
// ties going to the certificate added first. Validity dates are not
// considered (the package has no clock); callers that care check NotAfter.
func (s *Store) XMLSigningKey(e eui.EUI64) (*ecdsa.PrivateKey, *Certificate, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best *Entry
	var bestLib, bestRole int
	for _, en := range s.entries {
		c := en.Certificate
		if en.Key == nil || c.Kind != KindOrganisation || c.EUI != e || c.KeyUsage&KeyUsageDigitalSignature == 0 {
			continue
		}
		lib, role := libraryRank(c), roleRank(c.Role)
		if best == nil || lib < bestLib || lib == bestLib && role < bestRole {
			best, bestLib, bestRole = en, lib, role
		}
	}
	if best == nil {
		return nil, nil, fmt.Errorf("%w for %s: no digitalSignature organisation certificate with a private key", ErrNoSigningKey, e)
	}
	return best.Key, best.Certificate, nil
}

// LoadDir adds every certificate file of dir (*.pem, *.der, *.crt, *.cer;
// not recursive) and pairs private keys with them by file stem: X.key (DER
// or PEM) or X.key.pem goes with X.pem. A key that does not match its
// certificate is an error. PEM files holding only a PUBLIC KEY, and keys
// with no certificate of the same stem, are skipped. Errors name the file.
func (s *Store) LoadDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type pair struct {
		cert    *Certificate
		keys    []*ecdsa.PrivateKey
		keyFile string
	}
	stems := map[string]*pair{}
	var order []string
	get := func(stem string) *pair {
		p, ok := stems[stem]
		if !ok {
			p = &pair{}
			stems[stem] = p
			order = append(order, stem)
		}
		return p
	}
	for _, de := range ents {
		if de.IsDir() {
			continue
		}
		name := de.Name()
		lower := strings.ToLower(name)
		path := filepath.Join(dir, name)
		var stem string
		isKey := false
		switch {
		case strings.HasSuffix(lower, ".key.pem"):
			stem, isKey = name[:len(name)-len(".key.pem")], true
		case strings.HasSuffix(lower, ".key"):
			stem, isKey = name[:len(name)-len(".key")], true
		case strings.HasSuffix(lower, ".pem"), strings.HasSuffix(lower, ".der"),
			strings.HasSuffix(lower, ".crt"), strings.HasSuffix(lower, ".cer"):
			stem = name[:len(name)-4]
		default:
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !isKey && isPEM(b) {
			switch pemKind(b) {
			case "key":
				isKey = true
			case "public":
				continue // a bare public key, not a certificate
			}
		}
		if isKey {
			k, err := ParsePrivateKey(b)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			p := get(stem)
			p.keys = append(p.keys, k)
			p.keyFile = path
			continue
		}
		c, err := ParsePEM(b)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		p := get(stem)
		if p.cert != nil {
			return fmt.Errorf("%s: a second certificate for stem %q", path, stem)
		}
		p.cert = c
	}
	for _, stem := range order {
		p := stems[stem]
		if p.cert == nil {
			continue
		}
		var key *ecdsa.PrivateKey
		for _, k := range p.keys {
			if !KeyMatches(p.cert, k) {
				return fmt.Errorf("%s: %w %s", p.keyFile, ErrKeyMismatch, p.cert)
			}
			key = k
		}
		if err := s.add(p.cert, key, stem); err != nil {
			return err
		}
	}
	return nil
}

// pemKind says what the first interesting PEM block of b is: "cert", "key",
// "public" or "".
func pemKind(b []byte) string {
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return ""
		}
		switch blk.Type {
		case "CERTIFICATE":
			return "cert"
		case "PRIVATE KEY", "EC PRIVATE KEY":
			return "key"
		case "PUBLIC KEY":
			return "public"
		}
	}
}

// keystoreItem is one leaf of the dccboxed-keystore JSON.
type keystoreItem struct {
	Certificate string `json:"certificate"`
	PrivateKey  string `json:"privateKey"`
	Role        *int   `json:"role"`
	Name        string `json:"name"`
}

// LoadKeystoreJSON adds the contents of a dccboxed-keystore keystore.json:
// {eui: {digitalSignature|keyAgreement: {serialDecimal: {certificate,
// privateKey, role, name}}}}. Every entry is cross-checked: the EUI key,
// the serial key, the usage (against keyUsage) and the role must agree with
// the certificate, and the key must match it. Entries are added sorted by
// EUI, usage and name, so the result does not depend on JSON map order.
func (s *Store) LoadKeystoreJSON(data []byte) error {
	var ks map[string]map[string]map[string]keystoreItem
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&ks); err != nil {
		return fmt.Errorf("smki: keystore JSON: %w", err)
	}
	type item struct {
		euiKey, usage, serial string
		it                    keystoreItem
	}
	var items []item
	for ek, usages := range ks {
		for usage, serials := range usages {
			for serial, it := range serials {
				items = append(items, item{ek, usage, serial, it})
			}
		}
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.euiKey != b.euiKey {
			return a.euiKey < b.euiKey
		}
		if a.usage != b.usage {
			return a.usage > b.usage // digitalSignature before keyAgreement
		}
		return a.it.Name < b.it.Name
	})
	for _, x := range items {
		where := fmt.Sprintf("keystore %s/%s/%s", x.euiKey, x.usage, x.serial)
		if x.it.Name != "" {
			where += " (" + x.it.Name + ")"
		}
		e, err := eui.Parse(x.euiKey)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		c, err := ParsePEM([]byte(x.it.Certificate))
		if err != nil {
			return fmt.Errorf("%s: certificate: %w", where, err)
		}
		if c.EUI != e {
			return fmt.Errorf("%s: certificate EUI is %s", where, c.EUI)
		}
		serial, ok := new(big.Int).SetString(x.serial, 10)
		if !ok || serial.Cmp(c.SerialNumber) != 0 {
			return fmt.Errorf("%s: certificate serial is %s", where, c.SerialNumber)
		}
		switch x.usage {
		case "digitalSignature":
			if c.KeyUsage&KeyUsageDigitalSignature == 0 {
				return fmt.Errorf("%s: certificate keyUsage is %s", where, c.KeyUsage)
			}
		case "keyAgreement":
			if c.KeyUsage&KeyUsageKeyAgreement == 0 {
				return fmt.Errorf("%s: certificate keyUsage is %s", where, c.KeyUsage)
			}
		default:
			return fmt.Errorf("%s: unknown usage %q", where, x.usage)
		}
		if x.it.Role != nil && Role(*x.it.Role) != c.Role {
			return fmt.Errorf("%s: role %d, certificate role is %d", where, *x.it.Role, int(c.Role))
		}
		var key *ecdsa.PrivateKey
		if strings.TrimSpace(x.it.PrivateKey) != "" {
			if key, err = ParsePrivateKey([]byte(x.it.PrivateKey)); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if !KeyMatches(c, key) {
				return fmt.Errorf("%s: %w", where, ErrKeyMismatch)
			}
		}
		name := x.it.Name
		if name == "" {
			name = x.serial
		}
		if err := s.add(c, key, name); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}
