package ca

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"path/filepath"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
)

// ErrRequest is wrapped when an issuance request is refused.
var ErrRequest = errors.New("ca: request refused")

// Request asks for an organisation or a device certificate. The subject
// key comes from exactly one of CSR (PEM or DER PKCS#10, whose signature
// must verify) or PublicKey.
type Request struct {
	Kind smki.Kind // smki.KindOrganisation or smki.KindDevice
	EUI  eui.EUI64
	// Role and CommonName: organisation certificates only (CN optional).
	Role       smki.Role
	CommonName string
	// Usage is smki.KeyUsageDigitalSignature or smki.KeyUsageKeyAgreement.
	Usage smki.KeyUsage

	CSR       []byte
	PublicKey *ecdsa.PublicKey

	// Serial, when set, is used instead of a random one (and refused if
	// already issued).
	Serial *big.Int
	// Years overrides the configured organisation certificate validity.
	Years int
	Now   time.Time // time.Now()
	Rand  io.Reader // crypto/rand
}

// subjectKey returns the request's public key, checking a CSR's signature
// and that its subject (if it names an EUI or role) agrees with the request.
func (r *Request) subjectKey() (*ecdsa.PublicKey, error) {
	switch {
	case len(r.CSR) > 0 && r.PublicKey != nil:
		return nil, fmt.Errorf("%w: give a CSR or a public key, not both", ErrRequest)
	case r.PublicKey != nil:
		if _, err := smki.MarshalPublicKey(r.PublicKey); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRequest, err)
		}
		return r.PublicKey, nil
	case len(r.CSR) == 0:
		return nil, fmt.Errorf("%w: no CSR or public key", ErrRequest)
	}
	csr, err := smki.ParseCSR(r.CSR)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if csr.HasEUI && csr.EUI != r.EUI {
		return nil, fmt.Errorf("%w: the CSR subject names EUI %s, the request %s", ErrRequest, csr.EUI, r.EUI)
	}
	if csr.HasRole && (r.Kind != smki.KindOrganisation || csr.Role != r.Role) {
		return nil, fmt.Errorf("%w: the CSR subject names role %d, the request is for a %s certificate with role %d",
			ErrRequest, int(csr.Role), r.Kind, int(r.Role))
	}
	return csr.PublicKey, nil
}

// Issue issues, stores and indexes a certificate: an organisation
// certificate signed by the Organisation CA, or a device certificate signed
// by the Device CA, following the reference profiles (smki.Template). The
// issuing CA's key is decrypted with sec. Refused: RSA and non-P-256 keys,
// a CSR whose signature does not verify or whose subject disagrees with
// the request, usage other than exactly ds or ka, a public key already
// certified here for the other usage (GBCS keeps signing and key-agreement
// key pairs apart), a serial already issued, an organisation certificate
// that would outlive the Organisation CA.
func (ca *CA) Issue(r Request, sec Secret) (*smki.Certificate, error) {
	pub, err := r.subjectKey()
	if err != nil {
		return nil, err
	}
	if r.Usage != smki.KeyUsageDigitalSignature && r.Usage != smki.KeyUsageKeyAgreement {
		return nil, fmt.Errorf("%w: usage %q, want digitalSignature or keyAgreement", ErrRequest, r.Usage)
	}
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	if r.Rand == nil {
		r.Rand = rand.Reader
	}
	notBefore := startOfDay(r.Now)
	t := &smki.Template{Kind: r.Kind, EUI: r.EUI, KeyUsage: r.Usage, PublicKey: pub, NotBefore: notBefore}
	var issuerName string
	switch r.Kind {
	case smki.KindOrganisation:
		years := r.Years
		if years <= 0 {
			years = ca.Config.OrganisationYears
		}
		t.Role, t.CommonName = r.Role, r.CommonName
		t.NotAfter = notBefore.AddDate(years, 0, 0).Add(-time.Second)
		t.Policies = []asn1.ObjectIdentifier{ca.orgPolicy}
		if t.NotAfter.After(ca.Org.NotAfter) {
			return nil, fmt.Errorf("%w: the certificate would end %s, after the Organisation CA (%s)", ErrRequest,
				t.NotAfter.Format(time.RFC3339), ca.Org.NotAfter.Format(time.RFC3339))
		}
		issuerName = NameOrg
	case smki.KindDevice:
		if r.Role != 0 || r.CommonName != "" {
			return nil, fmt.Errorf("%w: a device certificate has no role or common name", ErrRequest)
		}
		t.NotAfter = smki.DeviceNotAfter
		t.Policies = []asn1.ObjectIdentifier{ca.devicePolicy}
		t.HardwareType = ca.hwType
		issuerName = NameDevice
	default:
		return nil, fmt.Errorf("%w: kind %v (organisation or device)", ErrRequest, r.Kind)
	}
	if r.Now.Before(ca.authority(issuerName).NotBefore) || r.Now.After(ca.authority(issuerName).NotAfter) {
		return nil, fmt.Errorf("%w: the %s is not valid at %s", ErrRequest, issuerName, r.Now.UTC().Format(time.RFC3339))
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
	if r.Serial != nil {
		t.SerialNumber = r.Serial
	} else if t.SerialNumber, err = smki.NewSerial(r.Rand); err != nil {
		return nil, err
	}
	if _, dup := ix.find(t.SerialNumber); dup {
		return nil, fmt.Errorf("%w: %s", ErrDuplicateSerial, SerialHex(t.SerialNumber))
	}
	spki, err := smki.MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	kh := keyHash(&smki.Certificate{RawSubjectPublicKeyInfo: spki})
	for _, e := range ix.Entries {
		if e.KeyHash == kh && e.Usage != usageName(r.Usage) {
			return nil, fmt.Errorf("%w: this public key is already certified for %s (serial %s); use a separate key pair per usage",
				ErrRequest, e.Usage, e.Serial)
		}
	}
	key, err := ca.key(issuerName, sec)
	if err != nil {
		return nil, err
	}
	c, err := smki.CreateCertificate(r.Rand, t, ca.authority(issuerName), key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	e, err := ix.add(c, issuerName, r.Now)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(ca.Dir, filepath.FromSlash(e.File)), pemCert(c), 0o644); err != nil {
		return nil, err
	}
	if err := ix.save(ca.Dir); err != nil {
		return nil, err
	}
	return c, nil
}
