package ca

import (
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/opendcc/opendcc/smki"
)

// The published revocation lists.
const (
	listOrg    = "org"    // Organisation CRL, signed by the Organisation CA
	listDevice = "device" // Device CRL, signed by the Device CA
	listARL    = "arl"    // Authority revocation list, signed by the root
)

// Lists names the published lists in the order CRLs returns them, with
// their file (relative to the CA directory) and signing CA.
var Lists = []struct{ Name, File, Issuer string }{
	{listOrg, "crl/org.crl", NameOrg},
	{listDevice, "crl/device.crl", NameDevice},
	{listARL, "crl/arl.crl", NameRoot},
}

func listOf(name string) (file, issuer string) {
	for _, l := range Lists {
		if l.Name == name {
			return l.File, l.Issuer
		}
	}
	return "", ""
}

// listFor names the list that carries a certificate issued by issuer.
func listFor(issuer string) string {
	switch issuer {
	case NameOrg:
		return listOrg
	case NameDevice:
		return listDevice
	}
	return listARL
}

var (
	// ErrAlreadyRevoked: Revoke of a certificate that is revoked.
	ErrAlreadyRevoked = errors.New("ca: certificate already revoked")
	// ErrRevokeRoot: the root is the trust anchor; it is replaced, not revoked.
	ErrRevokeRoot = errors.New("ca: the root certificate cannot be revoked (it is the trust anchor: replace it)")
)

// build makes the CRL of one list from the index, numbered one above the
// last, without writing anything.
func (ca *CA) build(ix *index, list string, now time.Time, key *ecdsa.PrivateKey) (*smki.CRL, int64, error) {
	_, issuer := listOf(list)
	var entries []smki.RevokedCertificate
	for _, e := range ix.Entries {
		if e.Revoked == nil || e.Issuer != issuer {
			continue
		}
		entries = append(entries, smki.RevokedCertificate{SerialNumber: e.SerialNumber(), RevocationTime: e.Revoked.At, Reason: e.Revoked.Reason})
	}
	num := ix.CRLNumbers[list] + 1
	crl, err := smki.CreateCRL(rand.Reader, &smki.CRLTemplate{Number: big.NewInt(num), ThisUpdate: now,
		NextUpdate: now.Add(time.Duration(ca.Config.CRLHours) * time.Hour), Revoked: entries}, ca.authority(issuer), key)
	if err != nil {
		return nil, 0, fmt.Errorf("ca: %s list: %w", list, err)
	}
	return crl, num, nil
}

// buildLists builds the lists and records their new numbers in ix; the
// caller saves ix and then writes the lists (writeLists), so that a number
// is never published without being recorded.
func (ca *CA) buildLists(ix *index, lists []string, now time.Time, keys map[string]*ecdsa.PrivateKey) (map[string]*smki.CRL, error) {
	built := map[string]*smki.CRL{}
	for _, l := range lists {
		_, issuer := listOf(l)
		crl, num, err := ca.build(ix, l, now, keys[issuer])
		if err != nil {
			return nil, err
		}
		built[l] = crl
		ix.CRLNumbers[l] = num
	}
	return built, nil
}

func (ca *CA) writeLists(built map[string]*smki.CRL) error {
	for _, l := range Lists {
		crl, ok := built[l.Name]
		if !ok {
			continue
		}
		if err := writeFileAtomic(filepath.Join(ca.Dir, filepath.FromSlash(l.File)), crl.Raw, 0o644); err != nil {
			return fmt.Errorf("ca: %s not written (%w); run opendcc smki crl", l.File, err)
		}
	}
	return nil
}

// PublishCRLs issues fresh Organisation CRL, Device CRL and ARL
// (thisUpdate now, nextUpdate now + crlHours, next cRLNumber), writes them
// to crl/ and returns them in Lists order. It needs all three CA keys.
func (ca *CA) PublishCRLs(now time.Time, sec Secret) ([]*smki.CRL, error) {
	if now.IsZero() {
		now = time.Now()
	}
	keys := map[string]*ecdsa.PrivateKey{}
	for _, n := range []string{NameRoot, NameOrg, NameDevice} {
		k, err := ca.key(n, sec)
		if err != nil {
			return nil, err
		}
		keys[n] = k
	}
	unlock, err := lock(ca.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ix, err := loadIndex(ca.Dir)
	if err != nil {
		return nil, err
	}
	built, err := ca.buildLists(ix, []string{listOrg, listDevice, listARL}, now, keys)
	if err != nil {
		return nil, err
	}
	if err := ix.save(ca.Dir); err != nil {
		return nil, err
	}
	if err := ca.writeLists(built); err != nil {
		return nil, err
	}
	return []*smki.CRL{built[listOrg], built[listDevice], built[listARL]}, nil
}

// Revoke marks the certificate with serial revoked at now for reason (an
// RFC 5280 CRLReason, smki.ReasonUnspecified for none) and publishes the
// list that carries it: the Organisation CRL for organisation
// certificates, the Device CRL for device certificates, the ARL for the
// issuing CA certificates. Only that list's CA key is needed.
func (ca *CA) Revoke(serial *big.Int, reason int, now time.Time, sec Secret) (Entry, error) {
	if now.IsZero() {
		now = time.Now()
	}
	if reason == smki.ReasonRemoveFromCRL {
		return Entry{}, errors.New("ca: removeFromCRL is for delta CRLs, which this CA does not issue")
	}
	if _, err := smki.ParseReason(smki.ReasonString(reason)); err != nil {
		return Entry{}, err
	}
	unlock, err := lock(ca.Dir)
	if err != nil {
		return Entry{}, err
	}
	defer unlock()
	ix, err := loadIndex(ca.Dir)
	if err != nil {
		return Entry{}, err
	}
	i, ok := ix.find(serial)
	if !ok {
		return Entry{}, fmt.Errorf("%w: %s", ErrUnknownSerial, SerialHex(serial))
	}
	e := &ix.Entries[i]
	if e.Serial == SerialHex(ca.Root.SerialNumber) {
		return Entry{}, ErrRevokeRoot
	}
	if e.Revoked != nil {
		return *e, fmt.Errorf("%w: %s at %s", ErrAlreadyRevoked, e.Serial, e.Revoked.At.Format(time.RFC3339))
	}
	list := listFor(e.Issuer)
	_, signer := listOf(list)
	key, err := ca.key(signer, sec)
	if err != nil {
		return Entry{}, err
	}
	e.Revoked = &Revocation{At: now.UTC().Truncate(time.Second), Reason: reason}
	built, err := ca.buildLists(ix, []string{list}, now, map[string]*ecdsa.PrivateKey{signer: key})
	if err != nil {
		return Entry{}, err
	}
	if err := ix.save(ca.Dir); err != nil {
		return Entry{}, err
	}
	if err := ca.writeLists(built); err != nil {
		return *e, fmt.Errorf("%s is revoked in the index, but: %w", e.Serial, err)
	}
	return *e, nil
}

// CRLs reads the published lists, in Lists order (Organisation CRL, Device
// CRL, ARL).
func (ca *CA) CRLs() ([]*smki.CRL, error) {
	var out []*smki.CRL
	for _, l := range Lists {
		b, err := os.ReadFile(filepath.Join(ca.Dir, filepath.FromSlash(l.File)))
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		crl, err := smki.ParseCRL(b)
		if err != nil {
			return nil, fmt.Errorf("ca: %s: %w", l.File, err)
		}
		out = append(out, crl)
	}
	return out, nil
}

// CRLSet loads the published lists into a smki.CRLSet, each verified
// against its CA and, when now is not zero, current at now (an expired list
// fails with smki.ErrCRLExpired: run opendcc smki crl).
func (ca *CA) CRLSet(now time.Time) (*smki.CRLSet, error) {
	crls, err := ca.CRLs()
	if err != nil {
		return nil, err
	}
	set := smki.NewCRLSet()
	for i, l := range Lists {
		if err := set.Add(crls[i], ca.authority(l.Issuer), now); err != nil {
			return nil, fmt.Errorf("ca: %s: %w", l.File, err)
		}
	}
	return set, nil
}

// Verify verifies cert against this CA: the chain to the root through the
// Organisation or Device CA, validity at now (time.Now() when zero), the
// purpose, and revocation by the published lists, which must be current
// and cover every certificate of the chain (smki.VerifyChain).
func (ca *CA) Verify(cert *smki.Certificate, purpose smki.Purpose, now time.Time) ([]*smki.Certificate, error) {
	if now.IsZero() {
		now = time.Now()
	}
	set, err := ca.CRLSet(now)
	if err != nil {
		return nil, err
	}
	return smki.VerifyChain(cert, smki.ChainOptions{
		Roots: []*smki.Certificate{ca.Root}, Intermediates: []*smki.Certificate{ca.Org, ca.Device},
		Now: now, Purpose: purpose, Revocation: set, RequireRevocationInfo: true,
	})
}
