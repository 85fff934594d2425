package ca

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/opendcc/opendcc/smki"
)

const indexFormat = "opendcc-smki-index/1"

// ErrDuplicateSerial: a serial number is already in the index.
var ErrDuplicateSerial = errors.New("ca: serial number already issued")

// ErrUnknownSerial: no certificate with this serial in the index.
var ErrUnknownSerial = errors.New("ca: no certificate with this serial number was issued here")

// Entry is one issued certificate in index.json.
type Entry struct {
	Serial    string    `json:"serial"` // upper-case hex
	Issuer    string    `json:"issuer"` // root, org-ca or device-ca
	Kind      string    `json:"kind"`   // organisation, device or authority
	EUI       string    `json:"eui,omitempty"`
	Role      int       `json:"role,omitempty"`
	Usage     string    `json:"usage"` // ds, ka or ca
	Subject   string    `json:"subject"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	IssuedAt  time.Time `json:"issuedAt"`
	// KeyHash is the SHA-256 of the SubjectPublicKeyInfo (hex).
	KeyHash string      `json:"keyHash"`
	File    string      `json:"file"` // certs/<SERIAL>.pem, relative to the CA directory
	Revoked *Revocation `json:"revoked,omitempty"`
}

// Revocation records when and why a certificate was revoked.
type Revocation struct {
	At     time.Time `json:"at"`
	Reason int       `json:"reason"` // RFC 5280 CRLReason
}

// SerialNumber parses Entry.Serial.
func (e Entry) SerialNumber() *big.Int {
	n, _ := new(big.Int).SetString(e.Serial, 16)
	return n
}

type index struct {
	Format string `json:"format"`
	// CRLNumbers are the last cRLNumber published per list (org, device, arl).
	CRLNumbers map[string]int64 `json:"crlNumbers"`
	Entries    []Entry          `json:"entries"`
}

func loadIndex(dir string) (*index, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	ix := &index{}
	if err := json.Unmarshal(b, ix); err != nil {
		return nil, fmt.Errorf("ca: index.json: %w", err)
	}
	if ix.Format != indexFormat {
		return nil, fmt.Errorf("ca: index.json: format %q not supported", ix.Format)
	}
	if ix.CRLNumbers == nil {
		ix.CRLNumbers = map[string]int64{}
	}
	seen := map[string]bool{}
	for _, e := range ix.Entries {
		if e.SerialNumber() == nil || seen[e.Serial] {
			return nil, fmt.Errorf("ca: index.json: bad or repeated serial %q", e.Serial)
		}
		seen[e.Serial] = true
	}
	return ix, nil
}

func (ix *index) save(dir string) error {
	sort.SliceStable(ix.Entries, func(i, j int) bool { return ix.Entries[i].IssuedAt.Before(ix.Entries[j].IssuedAt) })
	b, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "index.json"), append(b, '\n'), 0o644)
}

func (ix *index) find(serial *big.Int) (int, bool) {
	s := SerialHex(serial)
	for i, e := range ix.Entries {
		if e.Serial == s {
			return i, true
		}
	}
	return -1, false
}

func keyHash(c *smki.Certificate) string {
	h := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(h[:])
}

func usageName(ku smki.KeyUsage) string {
	switch ku {
	case smki.KeyUsageDigitalSignature:
		return "ds"
	case smki.KeyUsageKeyAgreement:
		return "ka"
	}
	return "ca"
}

// add records c, refusing a serial that is already in the index.
func (ix *index) add(c *smki.Certificate, issuer string, now time.Time) (Entry, error) {
	if _, dup := ix.find(c.SerialNumber); dup {
		return Entry{}, fmt.Errorf("%w: %s", ErrDuplicateSerial, c.SerialHex())
	}
	e := Entry{Serial: SerialHex(c.SerialNumber), Issuer: issuer, Kind: c.Kind.String(), Usage: usageName(c.KeyUsage),
		Subject: c.Subject, NotBefore: c.NotBefore, NotAfter: c.NotAfter, IssuedAt: now.UTC().Truncate(time.Second),
		KeyHash: keyHash(c), File: filepath.ToSlash(filepath.Join("certs", SerialHex(c.SerialNumber)+".pem"))}
	if c.Kind != smki.KindAuthority {
		e.EUI = c.EUI.String()
		e.Role = int(c.Role)
	}
	ix.Entries = append(ix.Entries, e)
	return e, nil
}

// Index lists the certificates issued, oldest first.
func (ca *CA) Index() ([]Entry, error) {
	ix, err := loadIndex(ca.Dir)
	if err != nil {
		return nil, err
	}
	return ix.Entries, nil
}

// Lookup finds an issued certificate by serial.
func (ca *CA) Lookup(serial *big.Int) (Entry, error) {
	ix, err := loadIndex(ca.Dir)
	if err != nil {
		return Entry{}, err
	}
	i, ok := ix.find(serial)
	if !ok {
		return Entry{}, fmt.Errorf("%w: %s", ErrUnknownSerial, SerialHex(serial))
	}
	return ix.Entries[i], nil
}

// Certificate loads an issued certificate by serial.
func (ca *CA) Certificate(serial *big.Int) (*smki.Certificate, error) {
	e, err := ca.Lookup(serial)
	if err != nil {
		return nil, err
	}
	return smki.LoadCertificateFile(filepath.Join(ca.Dir, filepath.FromSlash(e.File)))
}
