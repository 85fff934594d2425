package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/smki"
)

// DeriveKey derives a P-256 private key deterministically from a fleet seed,
// an EUI and a usage: d = SHA-256("opendcc-sim-key" ‖ seed ‖ eui ‖ usage ‖
// i), the first i for which d is a valid scalar. The same seed always gives
// the same device keys, so a fleet stores no key material: keys are made
// when a device first needs them.
func DeriveKey(seed uint64, id eui.EUI64, u gbcs.Usage) *ecdsa.PrivateKey {
	var in [15 + 8 + 8 + 1 + 4]byte
	copy(in[:], "opendcc-sim-key")
	binary.BigEndian.PutUint64(in[15:], seed)
	copy(in[23:], id[:])
	in[31] = byte(u)
	for i := uint32(0); ; i++ {
		binary.BigEndian.PutUint32(in[32:], i)
		d := sha256.Sum256(in[:])
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
		if err == nil {
			return k
		}
	}
}

// CertIssuer issues SMKI device certificates for simulated devices. The
// default is a fleet-local Device CA built with smki.CreateCertificate;
// a real SMKI (smki/ca) can be plugged in here.
type CertIssuer interface {
	IssueDevice(id eui.EUI64, u gbcs.Usage, pub *ecdsa.PublicKey) (*smki.Certificate, error)
	// Authority is the issuing CA's certificate (nil if not known).
	Authority() *smki.Certificate
}

// LocalCA is a self-contained device issuing authority: a self-signed
// authority certificate with a key derived from the fleet seed, issuing
// device certificates in the SMKI device profile (empty subject, critical
// SAN hardwareModuleName {hwType, EUI}, P-256, NotAfter 9999-12-31).
type LocalCA struct {
	key  *ecdsa.PrivateKey
	cert *smki.Certificate
}

// caEUI is the identity the local CA's key is derived under.
var caEUI = eui.EUI64{0xFF, 0xFF, 0xFF, 0xFF, 0x0D, 0xCA, 0x51, 0x00}

// NewLocalCA creates the fleet's device CA from the seed.
func NewLocalCA(seed uint64) (*LocalCA, error) {
	key := DeriveKey(seed, caEUI, gbcs.UsageDigitalSignature)
	t := &smki.Template{
		Kind: smki.KindAuthority,
		// the SMKI Device CA's name is a single commonName RDN (the
		// issuer of RTDS device certificates: CN=E357)
		CommonName:   fmt.Sprintf("OpenDCC Sim DCA %016X", seed),
		KeyUsage:     smki.KeyUsageCertSign | smki.KeyUsageCRLSign,
		PublicKey:    &key.PublicKey,
		SerialNumber: new(big.Int).SetUint64(seed | 1),
		NotBefore:    time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     smki.DeviceNotAfter,
		Policies:     []asn1.ObjectIdentifier{smki.OIDPolicyDevice},
		MaxPathLen:   0,
	}
	cert, err := smki.CreateCertificate(rand.Reader, t, nil, key)
	if err != nil {
		return nil, fmt.Errorf("sim: local CA: %w", err)
	}
	return &LocalCA{key: key, cert: cert}, nil
}

// Authority implements CertIssuer.
func (ca *LocalCA) Authority() *smki.Certificate { return ca.cert }

// IssueDevice implements CertIssuer.
func (ca *LocalCA) IssueDevice(id eui.EUI64, u gbcs.Usage, pub *ecdsa.PublicKey) (*smki.Certificate, error) {
	ku := smki.KeyUsageDigitalSignature
	if u != gbcs.UsageDigitalSignature {
		ku = smki.KeyUsageKeyAgreement
	}
	serial := new(big.Int).SetBytes(append(append([]byte{0x51}, id[:]...), byte(u)))
	t := &smki.Template{
		Kind:         smki.KindDevice,
		EUI:          id,
		KeyUsage:     ku,
		PublicKey:    pub,
		SerialNumber: serial,
		NotBefore:    time.Date(2016, 4, 6, 0, 0, 0, 0, time.UTC),
		NotAfter:     smki.DeviceNotAfter,
		Policies:     []asn1.ObjectIdentifier{smki.OIDPolicyDevice},
		HardwareType: smki.OIDHardwareTypeDevice,
		MaxPathLen:   -1,
	}
	return smki.CreateCertificate(rand.Reader, t, ca.cert, ca.key)
}

// deviceKeys is the key material of one device, made on first use.
type deviceKeys struct {
	ds, ka         *ecdsa.PrivateKey
	dsPriv, kaPriv gbcs.PrivateKey
	once           sync.Once
	certMu         sync.Mutex
	dsCert, kaCert *smki.Certificate
}
