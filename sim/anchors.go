package sim

import (
	"fmt"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/smki"
)

// AnchorRole is a remote-party role for which a device holds trust anchors
// (GBCS §4.3: the Device Security Credentials).
type AnchorRole uint8

// Anchor roles.
const (
	AnchorRoot AnchorRole = iota
	AnchorRecovery
	AnchorSupplier
	AnchorNetworkOperator
	AnchorACB
	AnchorWANProvider
	AnchorTransitionalCoS
	AnchorLoadController
	numAnchorRoles
)

var anchorNames = [numAnchorRoles]string{"root", "recovery", "supplier", "networkOperator", "accessControlBroker", "wanProvider", "transitionalCoS", "loadController"}

func (r AnchorRole) String() string {
	if r < numAnchorRoles {
		return anchorNames[r]
	}
	return fmt.Sprintf("AnchorRole(%d)", r)
}

// AnchorRoleOf maps an SMKI organisation role to the anchor role.
func AnchorRoleOf(r smki.Role) (AnchorRole, bool) {
	switch r {
	case smki.RoleRecovery:
		return AnchorRecovery, true
	case smki.RoleSupplier:
		return AnchorSupplier, true
	case smki.RoleNetworkOperator:
		return AnchorNetworkOperator, true
	case smki.RoleAccessControlBroker:
		return AnchorACB, true
	case smki.RoleWANProvider:
		return AnchorWANProvider, true
	case smki.RoleTransitionalCoS:
		return AnchorTransitionalCoS, true
	case smki.RoleLoadController:
		return AnchorLoadController, true
	case smki.RoleIssuingAuthority:
		return AnchorRoot, true
	}
	return 0, false
}

// Anchor is what a device trusts for one role: the party's EUI and its
// digital-signing and key-agreement certificates (either may be nil), plus,
// for the supplier, its prepayment key-agreement certificate (UTRNs).
type Anchor struct {
	EUI eui.EUI64
	DS  *smki.Certificate
	KA  *smki.Certificate
	PP  *smki.Certificate
	// Seq is the remote party's sequence number (the floor the CS02b/g
	// commands set), reported by CS02a/f.
	Seq uint64
}

// Anchors is a device's set of trust anchors. Devices share one default
// set until a CS02 use case changes theirs (copy on write).
type Anchors [numAnchorRoles]Anchor

// Lookup returns the role whose anchor has the EUI id.
func (a *Anchors) Lookup(id eui.EUI64) (AnchorRole, *Anchor, bool) {
	for r := range a {
		if a[r].EUI == id && (a[r].DS != nil || a[r].KA != nil) {
			return AnchorRole(r), &a[r], true
		}
	}
	return 0, nil, false
}

// Directory is the set of remote parties a fleet knows: their certificates
// and, for the DCC side of tests and tools, their private keys. It is seeded
// from the ZAZ1 keystore of DCC Boxed.
type Directory struct {
	Keyring *gbcs.Keyring
	// Defaults are the anchors installed in new devices.
	Defaults Anchors
}

// ZAZ1 remote parties (GBCS test PKI).
var (
	EUISupplier        = eui.MustParse("90-B3-D5-1F-30-01-00-00")
	EUISupplier2       = eui.MustParse("90-B3-D5-1F-30-03-00-00")
	EUINetworkOperator = eui.MustParse("90-B3-D5-1F-30-02-00-00")
	EUIACB             = eui.MustParse("90-B3-D5-1F-30-00-00-02")
	EUIRecovery        = eui.MustParse("90-B3-D5-1F-30-00-00-01")
	EUITransitionalCoS = eui.MustParse("90-B3-D5-1F-30-00-00-04")
	EUIWANProvider     = eui.MustParse("90-B3-D5-1F-30-00-00-07")
	EUILoadController  = eui.MustParse("90-B3-D5-1F-30-01-00-08")
)

// NewZAZ1Directory loads the DCC Boxed ZAZ1 keystore and makes its
// organisation certificates the default anchors (first generation, Z1-).
func NewZAZ1Directory() (*Directory, error) {
	kr := gbcs.NewKeyring()
	if err := kr.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		return nil, fmt.Errorf("sim: ZAZ1 keystore: %w", err)
	}
	d := &Directory{Keyring: kr}
	for _, p := range []struct {
		r  AnchorRole
		id eui.EUI64
	}{
		{AnchorRecovery, EUIRecovery}, {AnchorSupplier, EUISupplier}, {AnchorNetworkOperator, EUINetworkOperator},
		{AnchorACB, EUIACB}, {AnchorWANProvider, EUIWANProvider}, {AnchorTransitionalCoS, EUITransitionalCoS},
		{AnchorLoadController, EUILoadController},
	} {
		d.Defaults[p.r] = d.AnchorFor(p.id)
	}
	return d, nil
}

// AnchorFor builds an anchor for party id from the directory's certificates.
func (d *Directory) AnchorFor(id eui.EUI64) Anchor {
	a := Anchor{EUI: id}
	if c := d.Keyring.Certificates(id, gbcs.UsageDigitalSignature); len(c) > 0 {
		a.DS = c[0]
	}
	if c := d.Keyring.Certificates(id, gbcs.UsageKeyAgreement); len(c) > 0 {
		a.KA = c[0]
	}
	if c := d.Keyring.Certificates(id, gbcs.UsagePrepayment); len(c) > 0 {
		a.PP = c[0]
	}
	return a
}

// KACertificate returns a key-agreement certificate for a party the device
// must MAC or encrypt for, from the anchors first, then the directory.
func (d *Directory) KACertificate(a *Anchors, id eui.EUI64) *smki.Certificate {
	if _, an, ok := a.Lookup(id); ok && an.KA != nil {
		return an.KA
	}
	if c := d.Keyring.Certificates(id, gbcs.UsageKeyAgreement); len(c) > 0 {
		return c[0]
	}
	return nil
}
