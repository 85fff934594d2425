// Package repository is the SMKI Repository interface that DCC Boxed users
// already call: certificate search and certificate retrieval over HTTP
// (DCC Boxed port 8083, SEC Appendix M), plus CRL and ARL download.
//
// The wire format follows the reference client, npm
// @smartdcc/dccboxed-keystore 0.4.2 (certificateSearch.js):
//
//	POST /services/certificatesearch    CertificateSearchRequest  -> CertificateSearchResponse
//	POST /services/retrievecertificate  CertificateDataRequest    -> CertificateDataResponse
//	GET  /crl, /crl/device, /arl        the configured revocation lists, DER
//
// HTTP 402 means nothing was found, 401 a malformed query; see Handler and
// docs/smki-repository.md.
//
// Certificates are looked up through the Index interface. Memory is the
// in-memory Index, filled from smki.Store values (keystore JSON, the built-in
// ZAZ1 set) and certificate folders. A certificate's status (pending, in use,
// not in use, expired, revoked) is computed on every lookup from a clock
// passed in, the revocation lists loaded, and an optional hook.
package repository

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
)

// Usage is a certificate's key usage as the SMKI interface spells it.
type Usage string

// Key usages. A certificate with neither digitalSignature nor keyAgreement
// (a CA certificate) has the empty Usage.
const (
	UsageDigitalSigning Usage = "DS"
	UsageKeyAgreement   Usage = "KA"
)

// UsageOf maps a certificate's keyUsage to the interface's code.
// digitalSignature wins if (non-conformantly) both bits are set.
func UsageOf(c *smki.Certificate) Usage {
	switch {
	case c.KeyUsage&smki.KeyUsageDigitalSignature != 0:
		return UsageDigitalSigning
	case c.KeyUsage&smki.KeyUsageKeyAgreement != 0:
		return UsageKeyAgreement
	}
	return ""
}

// Status is a certificate status code of the SMKI interface.
type Status string

// Certificate statuses.
const (
	StatusPending  Status = "P" // not yet valid (NotBefore in the future)
	StatusInUse    Status = "I"
	StatusNotInUse Status = "N" // only ever set by a StatusFunc hook
	StatusExpired  Status = "E"
	StatusRevoked  Status = "R"
)

func (s Status) valid() bool {
	switch s {
	case StatusPending, StatusInUse, StatusNotInUse, StatusExpired, StatusRevoked:
		return true
	}
	return false
}

// Query is one certificate search. It names either an organisation
// (CertificateSubjectName: organisation and CA certificates whose subject
// x500UniqueIdentifier is EUI) or a device (CertificateSubjectAltName:
// device certificates whose hardwareModuleName hwSerialNum is EUI). The
// other fields narrow the result; their zero values match everything.
type Query struct {
	EUI    eui.EUI64
	Device bool // true: CertificateSubjectAltName; false: CertificateSubjectName

	Usage     Usage     // "" any
	Status    Status    // "" any
	Role      smki.Role // compared only when MatchRole
	MatchRole bool
}

// Record is one certificate as the repository reports it.
type Record struct {
	Certificate *smki.Certificate
	Usage       Usage
	Status      Status
	Source      string // where it was loaded from (import name, file)
}

// Index finds certificates. Implementations must be safe for concurrent use.
type Index interface {
	// Search lists the certificates matching q, in a stable order.
	Search(q Query) []Record
	// BySerial finds a certificate by serial number. When certificates of
	// different issuers share a serial, the first one loaded wins.
	BySerial(serial *big.Int) (Record, bool)
}

// StatusFunc lets the owner of a certificate database decide a status (for
// example "N" for a device certificate that has been replaced, or "P" for one
// not yet installed). It returns false to leave the computed status.
type StatusFunc func(c *smki.Certificate, now time.Time) (Status, bool)

// Source describes where certificates come from.
type Source struct {
	Name string
	// ExpiryAllowance is slack past NotAfter before the certificate counts
	// as expired. The ZAZ1 certificates that DCC Boxed still uses expired in
	// 2025-26, so the CLI gives the built-in dccboxed import five years (as
	// `opendcc duis verify --trust dccboxed` does); OpenDCC's own CA gets none.
	ExpiryAllowance time.Duration
}

// Options configure a Memory index.
type Options struct {
	Now    func() time.Time // the clock; nil means time.Now
	Status StatusFunc       // optional hook, consulted after revocation
}

// Memory is an in-memory Index. Certificates are added once (by DER); the
// zero value is not usable, call NewMemory.
type Memory struct {
	now  func() time.Time
	hook StatusFunc

	mu       sync.RWMutex
	all      []*entry
	byDER    map[string]*entry
	byOrg    map[eui.EUI64][]*entry
	byDevice map[eui.EUI64][]*entry
	bySerial map[string]*entry  // big-endian serial bytes -> first entry
	revoked  map[string]revInfo // issuer DER + serial bytes -> revocation
	crls     []*smki.CRL
}

type entry struct {
	cert      *smki.Certificate
	source    string
	allowance time.Duration
	serialKey string
}

type revInfo struct {
	at  time.Time
	crl *smki.CRL
}

// NewMemory returns an empty in-memory index.
func NewMemory(opts Options) *Memory {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Memory{
		now:      now,
		hook:     opts.Status,
		byDER:    map[string]*entry{},
		byOrg:    map[eui.EUI64][]*entry{},
		byDevice: map[eui.EUI64][]*entry{},
		bySerial: map[string]*entry{},
		revoked:  map[string]revInfo{},
	}
}

func serialKey(n *big.Int) string {
	if n == nil || n.Sign() < 0 {
		return "-" + n.String()
	}
	return string(n.Bytes())
}

// Add indexes c. It reports whether c was new; a certificate already present
// (same DER) keeps its first source and takes the larger expiry allowance.
func (m *Memory) Add(c *smki.Certificate, src Source) bool {
	if c == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.byDER[string(c.Raw)]; ok {
		if src.ExpiryAllowance > e.allowance {
			e.allowance = src.ExpiryAllowance
		}
		return false
	}
	e := &entry{cert: c, source: src.Name, allowance: src.ExpiryAllowance, serialKey: serialKey(c.SerialNumber)}
	m.all = append(m.all, e)
	m.byDER[string(c.Raw)] = e
	switch c.Kind {
	case smki.KindDevice:
		m.byDevice[c.EUI] = append(m.byDevice[c.EUI], e)
	default:
		if !c.EUI.IsZero() {
			m.byOrg[c.EUI] = append(m.byOrg[c.EUI], e)
		}
	}
	if _, ok := m.bySerial[e.serialKey]; !ok {
		m.bySerial[e.serialKey] = e
	}
	return true
}

// AddStore indexes every certificate of s and returns how many were new.
func (m *Memory) AddStore(s *smki.Store, src Source) int {
	n := 0
	for _, c := range s.Certificates() {
		if m.Add(c, src) {
			n++
		}
	}
	return n
}

// AddCRL takes the revocations of l (an Organisation CRL, Device CRL or ARL)
// into account. When l's issuer (a CA certificate whose subject equals l's
// issuer) is in the index, l must verify under it (smki.CRL.CheckSignatureFrom;
// errors wrap smki.ErrCRLSignature); otherwise l is trusted as configured,
// and verified reports false. Revocations are never withdrawn, and a list's
// dates are not checked: a stale list still proves a revocation.
func (m *Memory) AddCRL(l *smki.CRL) (verified bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var issuers []*smki.Certificate
	for _, e := range m.all {
		if e.cert.Kind == smki.KindAuthority && string(e.cert.RawSubject) == string(l.RawIssuer) {
			issuers = append(issuers, e.cert)
		}
	}
	if len(issuers) > 0 {
		var lastErr error
		for _, ca := range issuers {
			if lastErr = l.CheckSignatureFrom(ca); lastErr == nil {
				verified = true
				break
			}
		}
		if !verified {
			return false, lastErr
		}
	}
	for _, r := range l.Revoked {
		k := string(l.RawIssuer) + "\x00" + serialKey(r.SerialNumber)
		if _, ok := m.revoked[k]; !ok {
			m.revoked[k] = revInfo{at: r.RevocationTime, crl: l}
		}
	}
	m.crls = append(m.crls, l)
	return verified, nil
}

// Len is the number of certificates indexed.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.all)
}

// Counts tells how many certificates of each kind are indexed.
func (m *Memory) Counts() map[smki.Kind]int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[smki.Kind]int{}
	for _, e := range m.all {
		out[e.cert.Kind]++
	}
	return out
}

// All lists every record in the order added, with statuses at the index's
// current time.
func (m *Memory) All() []Record {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Record, 0, len(m.all))
	for _, e := range m.all {
		out = append(out, m.record(e, now))
	}
	return out
}

// StatusAt computes c's status at now: R when a loaded revocation list names
// it (issuer and serial); else the StatusFunc hook's answer if it gives one;
// else P before NotBefore, E after NotAfter plus the source's expiry
// allowance, and I otherwise. Certificates not in the index get no allowance.
func (m *Memory) StatusAt(c *smki.Certificate, now time.Time) Status {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var allowance time.Duration
	if e, ok := m.byDER[string(c.Raw)]; ok {
		allowance = e.allowance
	}
	return m.status(c, allowance, now)
}

func (m *Memory) status(c *smki.Certificate, allowance time.Duration, now time.Time) Status {
	if len(m.revoked) > 0 {
		if _, ok := m.revoked[string(c.RawIssuer)+"\x00"+serialKey(c.SerialNumber)]; ok {
			return StatusRevoked
		}
	}
	if m.hook != nil {
		if s, ok := m.hook(c, now); ok && s.valid() {
			return s
		}
	}
	if now.Before(c.NotBefore) {
		return StatusPending
	}
	if now.After(c.NotAfter.Add(allowance)) {
		return StatusExpired
	}
	return StatusInUse
}

func (m *Memory) record(e *entry, now time.Time) Record {
	return Record{
		Certificate: e.cert,
		Usage:       UsageOf(e.cert),
		Status:      m.status(e.cert, e.allowance, now),
		Source:      e.source,
	}
}

// Search implements Index.
func (m *Memory) Search(q Query) []Record {
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	list := m.byOrg[q.EUI]
	if q.Device {
		list = m.byDevice[q.EUI]
	}
	var out []Record
	for _, e := range list {
		c := e.cert
		if q.Usage != "" && UsageOf(c) != q.Usage {
			continue
		}
		if q.MatchRole && (c.Kind != smki.KindOrganisation || c.Role != q.Role) {
			continue
		}
		r := m.record(e, now)
		if q.Status != "" && r.Status != q.Status {
			continue
		}
		out = append(out, r)
	}
	return out
}

// BySerial implements Index.
func (m *Memory) BySerial(serial *big.Int) (Record, bool) {
	if serial == nil {
		return Record{}, false
	}
	now := m.now()
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.bySerial[serialKey(serial)]
	if !ok {
		return Record{}, false
	}
	return m.record(e, now), true
}

// ParseSerial reads a certificate serial as the interface carries it:
// hexadecimal digits, either case (the reference client sends
// BigInt.toString(16), lower case without leading zeros), optionally with a
// 0x prefix, at most 40 significant digits (RFC 5280: 20 octets).
func ParseSerial(s string) (*big.Int, error) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	}
	if s == "" {
		return nil, errors.New("empty serial")
	}
	if len(s) > 128 {
		return nil, fmt.Errorf("serial of %d digits is too long", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return nil, fmt.Errorf("serial %q: not hexadecimal", s)
		}
	}
	t := strings.TrimLeft(s, "0")
	if len(t) > 40 {
		return nil, fmt.Errorf("serial %q: longer than 20 octets", s)
	}
	if t == "" {
		return new(big.Int), nil
	}
	if len(t)%2 == 1 {
		t = "0" + t
	}
	b, err := hex.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("serial %q: %v", s, err)
	}
	return new(big.Int).SetBytes(b), nil
}

// ParseUsage reads DS or KA.
func ParseUsage(s string) (Usage, error) {
	switch u := Usage(strings.TrimSpace(s)); u {
	case UsageDigitalSigning, UsageKeyAgreement:
		return u, nil
	}
	return "", fmt.Errorf("certificate usage %q: want DS or KA", s)
}

// ParseStatus reads P, I, N, E or R.
func ParseStatus(s string) (Status, error) {
	st := Status(strings.TrimSpace(s))
	if !st.valid() {
		return "", fmt.Errorf("certificate status %q: want P, I, N, E or R", s)
	}
	return st, nil
}

// ParseRole reads a CertificateRole: the remote-party role in decimal, as
// the reference client's enum has it ("2" supplier, "135" XML signing).
func ParseRole(s string) (smki.Role, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("certificate role %q: want a decimal role code (0-255)", s)
	}
	return smki.Role(n), nil
}
