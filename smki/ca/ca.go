// Package ca is an SMKI certificate authority kept in a directory: a root
// CA, an Organisation CA and a Device CA, their encrypted private keys, the
// certificates they issued (an index), and the revocation lists they
// publish. The certificate, CSR and CRL formats and all checks are those of
// package smki; this package adds storage, key protection and the clock.
//
// Directory layout (docs/smki.md):
//
//	ca.json              configuration (names, policy OIDs, hwType, validities)
//	root.pem             Root CA certificate (self-signed; the trust anchor)
//	org-ca.pem           Organisation CA certificate (signed by the root)
//	device-ca.pem        Device CA certificate (signed by the root)
//	private/<name>.key   the three private keys, AES-256-GCM encrypted (0600)
//	certs/<SERIAL>.pem   every certificate issued, CA certificates included
//	index.json           what was issued and revoked, and the CRL numbers
//	crl/org.crl          Organisation CRL (DER), signed by the Organisation CA
//	crl/device.crl       Device CRL (DER), signed by the Device CA
//	crl/arl.crl          Authority revocation list (DER), signed by the root
//
// Writes take an exclusive lock on the directory and replace files
// atomically (write to a temporary file, sync, rename).
package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opendcc/opendcc/smki"
)

// Names of the three authorities (file stems and index issuer names).
const (
	NameRoot   = "root"
	NameOrg    = "org-ca"
	NameDevice = "device-ca"
)

const configFormat = "opendcc-smki-ca/1"

// Config is ca.json.
type Config struct {
	Format  string    `json:"format"`
	Created time.Time `json:"created"`
	// Policy OIDs (dotted) put into issued certificates, and the device hwType.
	OrganisationPolicy string `json:"organisationPolicy"`
	DevicePolicy       string `json:"devicePolicy"`
	HardwareType       string `json:"hardwareType"`
	// OrganisationYears is the default validity of organisation certificates.
	OrganisationYears int `json:"organisationYears"`
	// CRLHours is the time from thisUpdate to nextUpdate of published CRLs.
	CRLHours int `json:"crlHours"`
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("OID %q: too short", s)
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("OID %q: bad arc %q", s, p)
		}
		oid = append(oid, n)
	}
	return oid, nil
}

// InitOptions configure Init. Zero fields take the defaults shown.
type InitOptions struct {
	RootName   string // "OR1": Root CA subject CN
	OrgName    string // "OZ1": Organisation CA subject OU=07, CN=OrgName
	DeviceName string // "OE1": Device CA subject CN

	OrganisationPolicy asn1.ObjectIdentifier // smki.OIDPolicyOrganisation
	DevicePolicy       asn1.ObjectIdentifier // smki.OIDPolicyDevice
	HardwareType       asn1.ObjectIdentifier // smki.OIDHardwareTypeDevice

	RootYears, IssuingYears, OrganisationYears int // 25, 20, 10
	CRLHours                                   int // 168 (7 days)

	Now  time.Time // time.Now()
	Rand io.Reader // crypto/rand
}

// CA is an opened CA directory. The CA certificates are loaded; private
// keys are decrypted only for the operation that needs them.
type CA struct {
	Dir    string
	Config Config
	Root   *smki.Certificate
	Org    *smki.Certificate
	Device *smki.Certificate

	orgPolicy, devicePolicy, hwType asn1.ObjectIdentifier
}

var (
	// ErrNotCA: the directory is not a CA directory.
	ErrNotCA = errors.New("ca: not a CA directory (no ca.json); run opendcc smki init")
	// ErrExists: Init was pointed at a directory that is not empty.
	ErrExists = errors.New("ca: directory exists and is not empty")
)

// Init creates a CA in dir (which must not exist or be empty): three P-256
// key pairs, the self-signed root (CN=RootName; keyUsage keyCertSign and
// cRLSign, basicConstraints cA without pathLen, anyPolicy), the
// Organisation CA (OU=07, CN=OrgName; pathLen 0; the organisation policy)
// and the Device CA (CN=DeviceName; pathLen 0; the device policy), the
// encrypted keys, the index and empty CRLs and ARL.
func Init(dir string, o InitOptions, sec Secret) (*CA, error) {
	if sec.IsZero() {
		return nil, ErrNoSecret
	}
	if len(sec.KEK) == 0 && len(sec.Passphrase) < MinPassphrase {
		return nil, fmt.Errorf("%w: the passphrase must be at least %d bytes", ErrBadSecret, MinPassphrase)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrExists, dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	defOID := func(p *asn1.ObjectIdentifier, v asn1.ObjectIdentifier) {
		if len(*p) == 0 {
			*p = v
		}
	}
	def(&o.RootName, "OR1")
	def(&o.OrgName, "OZ1")
	def(&o.DeviceName, "OE1")
	defOID(&o.OrganisationPolicy, smki.OIDPolicyOrganisation)
	defOID(&o.DevicePolicy, smki.OIDPolicyDevice)
	defOID(&o.HardwareType, smki.OIDHardwareTypeDevice)
	defInt(&o.RootYears, 25)
	defInt(&o.IssuingYears, 20)
	defInt(&o.OrganisationYears, 10)
	defInt(&o.CRLHours, 168)
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.IssuingYears > o.RootYears {
		return nil, errors.New("ca: issuing CAs cannot outlive the root")
	}

	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		return nil, err
	}
	for _, sub := range []string{"certs", "crl"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	unlock, err := lock(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	ca := &CA{Dir: dir, Config: Config{Format: configFormat, Created: o.Now.UTC().Truncate(time.Second),
		OrganisationPolicy: o.OrganisationPolicy.String(), DevicePolicy: o.DevicePolicy.String(), HardwareType: o.HardwareType.String(),
		OrganisationYears: o.OrganisationYears, CRLHours: o.CRLHours},
		orgPolicy: o.OrganisationPolicy, devicePolicy: o.DevicePolicy, hwType: o.HardwareType}
	day := startOfDay(o.Now)
	type auth struct {
		name   string
		tmpl   *smki.Template
		key    *ecdsa.PrivateKey
		cert   **smki.Certificate
		parent **smki.Certificate
	}
	newKey := func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), o.Rand) }
	keys := make([]*ecdsa.PrivateKey, 3)
	for i := range keys {
		if keys[i], err = newKey(); err != nil {
			return nil, err
		}
	}
	ix := &index{Format: indexFormat, CRLNumbers: map[string]int64{}}
	auths := []auth{
		{NameRoot, &smki.Template{Kind: smki.KindAuthority, CommonName: o.RootName, NotAfter: day.AddDate(o.RootYears, 0, 0).Add(-time.Second),
			Policies: []asn1.ObjectIdentifier{smki.OIDAnyPolicy}, MaxPathLen: -1}, keys[0], &ca.Root, nil},
		{NameOrg, &smki.Template{Kind: smki.KindAuthority, OrgUnit: "07", CommonName: o.OrgName, NotAfter: day.AddDate(o.IssuingYears, 0, 0).Add(-time.Second),
			Policies: []asn1.ObjectIdentifier{o.OrganisationPolicy}, MaxPathLen: 0}, keys[1], &ca.Org, &ca.Root},
		{NameDevice, &smki.Template{Kind: smki.KindAuthority, CommonName: o.DeviceName, NotAfter: day.AddDate(o.IssuingYears, 0, 0).Add(-time.Second),
			Policies: []asn1.ObjectIdentifier{o.DevicePolicy}, MaxPathLen: 0}, keys[2], &ca.Device, &ca.Root},
	}
	for _, a := range auths {
		serial, err := smki.NewSerial(o.Rand)
		if err != nil {
			return nil, err
		}
		a.tmpl.KeyUsage = smki.KeyUsageCertSign | smki.KeyUsageCRLSign
		a.tmpl.PublicKey = &a.key.PublicKey
		a.tmpl.SerialNumber = serial
		a.tmpl.NotBefore = day
		var parent *smki.Certificate
		signer := a.key
		if a.parent != nil {
			parent, signer = *a.parent, keys[0]
		}
		c, err := smki.CreateCertificate(o.Rand, a.tmpl, parent, signer)
		if err != nil {
			return nil, fmt.Errorf("ca: %s certificate: %w", a.name, err)
		}
		*a.cert = c
		sealed, err := sealKey(a.name, a.key, sec)
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(filepath.Join(dir, "private", a.name+".key"), sealed, 0o600); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(filepath.Join(dir, a.name+".pem"), pemCert(c), 0o644); err != nil {
			return nil, err
		}
		e, err := ix.add(c, NameRoot, o.Now)
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(filepath.Join(dir, e.File), pemCert(c), 0o644); err != nil {
			return nil, err
		}
	}
	built, err := ca.buildLists(ix, []string{listOrg, listDevice, listARL}, o.Now, map[string]*ecdsa.PrivateKey{
		NameRoot: keys[0], NameOrg: keys[1], NameDevice: keys[2]})
	if err != nil {
		return nil, err
	}
	if err := ix.save(dir); err != nil {
		return nil, err
	}
	if err := ca.writeLists(built); err != nil {
		return nil, err
	}
	cfg, err := json.MarshalIndent(ca.Config, "", "  ")
	if err != nil {
		return nil, err
	}
	// ca.json last: its presence marks a complete CA directory.
	if err := writeFileAtomic(filepath.Join(dir, "ca.json"), append(cfg, '\n'), 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

// Open loads the CA in dir: configuration and the three CA certificates,
// checked to form a hierarchy (each issuing CA verifies under the root).
func Open(dir string) (*CA, error) {
	b, err := os.ReadFile(filepath.Join(dir, "ca.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotCA, dir)
	}
	if err != nil {
		return nil, err
	}
	ca := &CA{Dir: dir}
	if err := json.Unmarshal(b, &ca.Config); err != nil {
		return nil, fmt.Errorf("ca: %s: %w", filepath.Join(dir, "ca.json"), err)
	}
	if ca.Config.Format != configFormat {
		return nil, fmt.Errorf("ca: %s: format %q not supported", filepath.Join(dir, "ca.json"), ca.Config.Format)
	}
	if ca.orgPolicy, err = parseOID(ca.Config.OrganisationPolicy); err != nil {
		return nil, fmt.Errorf("ca: organisationPolicy: %w", err)
	}
	if ca.devicePolicy, err = parseOID(ca.Config.DevicePolicy); err != nil {
		return nil, fmt.Errorf("ca: devicePolicy: %w", err)
	}
	if ca.hwType, err = parseOID(ca.Config.HardwareType); err != nil {
		return nil, fmt.Errorf("ca: hardwareType: %w", err)
	}
	if ca.Config.OrganisationYears <= 0 || ca.Config.CRLHours <= 0 {
		return nil, errors.New("ca: ca.json: organisationYears and crlHours must be positive")
	}
	for _, x := range []struct {
		name string
		c    **smki.Certificate
	}{{NameRoot, &ca.Root}, {NameOrg, &ca.Org}, {NameDevice, &ca.Device}} {
		c, err := smki.LoadCertificateFile(filepath.Join(dir, x.name+".pem"))
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		*x.c = c
	}
	opts := smki.ChainOptions{Roots: []*smki.Certificate{ca.Root}}
	for _, c := range []*smki.Certificate{ca.Root, ca.Org, ca.Device} {
		if _, err := smki.VerifyChain(c, opts); err != nil {
			return nil, fmt.Errorf("ca: %s: CA certificates do not form a hierarchy: %w", dir, err)
		}
	}
	return ca, nil
}

// Certificates returns the root, Organisation CA and Device CA certificates.
func (ca *CA) Certificates() []*smki.Certificate {
	return []*smki.Certificate{ca.Root, ca.Org, ca.Device}
}

// authority returns the certificate of a CA by name.
func (ca *CA) authority(name string) *smki.Certificate {
	switch name {
	case NameRoot:
		return ca.Root
	case NameOrg:
		return ca.Org
	case NameDevice:
		return ca.Device
	}
	return nil
}

// key decrypts the private key of the named CA and checks it against the
// CA certificate.
func (ca *CA) key(name string, sec Secret) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(filepath.Join(ca.Dir, "private", name+".key"))
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	k, err := openKey(name, b, sec)
	if err != nil {
		return nil, err
	}
	if !smki.KeyMatches(ca.authority(name), k) {
		return nil, fmt.Errorf("ca: private/%s.key does not belong to %s.pem", name, name)
	}
	return k, nil
}

func startOfDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func pemCert(c *smki.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// SerialHex is the index and file-name form of a serial.
func SerialHex(s *big.Int) string { return strings.ToUpper(s.Text(16)) }

// writeFileAtomic writes data to a temporary file in path's directory,
// syncs it and renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}
