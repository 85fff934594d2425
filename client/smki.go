package client

import (
	"context"
	"sync"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/smki/repository"
)

// DefaultSMKI is DCC Boxed's SMKI repository (port 8083), which `opendcc
// serve` also serves: it holds the simulated devices' certificates.
const DefaultSMKI = "http://127.0.0.1:8083"

// Cache lifetimes of SMKIKeyStore lookups.
const (
	DefaultSMKIFoundTTL   = 10 * time.Minute
	DefaultSMKIMissingTTL = 30 * time.Second
	DefaultSMKITimeout    = 5 * time.Second
)

// SMKIKeyStore is a gbcs.KeyStore of device certificates looked up on
// demand in an SMKI repository (DCC Boxed's port 8083, `opendcc serve`,
// `opendcc smki serve`), as DCC Boxed's tooling (dccboxed-keystore's
// BoxedKeyStore) does: a CertificateSearchRequest by
// CertificateSubjectAltName (the device's EUI) and usage (DS for
// signatures, KA for MACs and encrypted payloads), status in use, then a
// retrieval of each certificate found.
//
// It holds no private keys and answers only for device certificates;
// organisation certificates come from the User's own keystore, which it is
// meant to be combined with: gbcs.MultiKeyStore{userKeys, smkiKeys}.
// Answers, including "none" and failures, are cached (FoundTTL, MissingTTL);
// a failure yields no certificate and is reported to Logf. Safe for
// concurrent use; concurrent lookups of one slot share one search.
type SMKIKeyStore struct {
	// URL is the repository's base URL, e.g. http://127.0.0.1:8083.
	URL string
	// Client talks to the repository (nil: repository.DefaultClient).
	Client *repository.Client
	// AnyStatus keeps certificates whatever their status (default: in
	// use, I, only, as BoxedKeyStore asks).
	AnyStatus bool
	// Timeout bounds one lookup (search and retrievals; default
	// DefaultSMKITimeout).
	Timeout time.Duration
	// FoundTTL and MissingTTL are how long a lookup that found
	// certificates, and one that found none or failed, is kept (defaults
	// DefaultSMKIFoundTTL, DefaultSMKIMissingTTL).
	FoundTTL, MissingTTL time.Duration
	// Logf, when set, is told about failed lookups.
	Logf func(format string, a ...any)
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu    sync.Mutex
	cache map[smkiSlot]*smkiEntry
}

type smkiSlot struct {
	id eui.EUI64
	u  repository.Usage
}

type smkiEntry struct {
	done  chan struct{}
	certs []*smki.Certificate
	until time.Time
}

// NewSMKIKeyStore returns an SMKIKeyStore for the repository at url,
// reporting failures to logf (may be nil).
func NewSMKIKeyStore(url string, logf func(format string, a ...any)) *SMKIKeyStore {
	return &SMKIKeyStore{URL: url, Logf: logf}
}

func (s *SMKIKeyStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Certificates implements gbcs.KeyStore: the device certificates of id for
// digital signature or key agreement (prepayment keys are never a
// device's).
func (s *SMKIKeyStore) Certificates(id eui.EUI64, u gbcs.Usage) []*smki.Certificate {
	var ru repository.Usage
	switch u {
	case gbcs.UsageDigitalSignature:
		ru = repository.UsageDigitalSigning
	case gbcs.UsageKeyAgreement:
		ru = repository.UsageKeyAgreement
	default:
		return nil
	}
	if s.URL == "" {
		return nil
	}
	k := smkiSlot{id, ru}
	s.mu.Lock()
	if s.cache == nil {
		s.cache = map[smkiSlot]*smkiEntry{}
	}
	e := s.cache[k]
	if e != nil {
		select {
		case <-e.done:
			if s.now().After(e.until) {
				e = nil // expired: look again
			}
		default: // a lookup is running: wait for it below
		}
	}
	if e == nil {
		e = &smkiEntry{done: make(chan struct{})}
		s.cache[k] = e
		s.mu.Unlock()
		s.lookup(k, e)
	} else {
		s.mu.Unlock()
	}
	<-e.done
	return append([]*smki.Certificate(nil), e.certs...)
}

func (s *SMKIKeyStore) lookup(k smkiSlot, e *smkiEntry) {
	defer close(e.done)
	ctx, cancel := context.WithTimeout(context.Background(), orDuration(s.Timeout, DefaultSMKITimeout))
	defer cancel()
	cl := s.Client
	if cl == nil {
		cl = repository.DefaultClient
	}
	st := repository.StatusInUse
	if s.AnyStatus {
		st = ""
	}
	found, err := cl.FindDevice(ctx, s.URL, k.id, k.u, st)
	for _, r := range found {
		e.certs = append(e.certs, r.Certificate)
	}
	ttl := orDuration(s.FoundTTL, DefaultSMKIFoundTTL)
	if len(e.certs) == 0 || err != nil {
		ttl = orDuration(s.MissingTTL, DefaultSMKIMissingTTL)
	}
	e.until = s.now().Add(ttl)
	if err != nil && s.Logf != nil {
		s.Logf("smki: %s %s certificate of %s: %v", s.URL, k.u, k.id, err)
	}
}

// PrivateKeys implements gbcs.KeyStore: a repository has none.
func (s *SMKIKeyStore) PrivateKeys(eui.EUI64, gbcs.Usage) []gbcs.PrivateKey { return nil }

var _ gbcs.KeyStore = (*SMKIKeyStore)(nil)
