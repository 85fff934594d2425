// Package transform is the DCC's message mapping of DUIS Service Requests
// onto GBCS use cases: given a decoded request and the target device, Build
// returns the GBCS message the DCC sends to the device (Grouping Header with
// the use case's DLMS, GBZ or ASN.1 payload). For a critical Service Request
// the result is the Pre-Command (no signature field) the User signs; for a
// non-critical one it is the command with an empty signature field, ready for
// gbcs.Security.WrapMAC with the Access Control Broker's key.
//
// The package is pure: values in, bytes out. It reads no clock; the values a
// request does not carry come in through Options (see docs/transform.md).
// Mappings follow the GBCS use-case annex (DLMS object tables, GBZ message
// templates) and the DUIS schema; where the annex only points to a GBCS
// section that is not among the project's sources, the rule follows what the
// RTDS corpus shows consistently and is marked so in docs/transform.md. A
// use case whose payload the sources do not determine gives an error that
// wraps ErrUnsupported — never a guess.
package transform

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/smki"
)

// Errors wrapped by Build.
var (
	// ErrUnsupported: the payload of this SRV / use case cannot be
	// determined from the project's sources (see UnsupportedError).
	ErrUnsupported = errors.New("transform: mapping not supported")
	// ErrNonDevice: the SRV is a non-device service (no GBCS command).
	ErrNonDevice = errors.New("transform: non-device service request")
	// ErrDeviceType: the SRV does not apply to the device type.
	ErrDeviceType = errors.New("transform: service request not applicable to device type")
	// ErrRequest: the request is malformed or missing a value the mapping needs.
	ErrRequest = errors.New("transform: invalid service request")
)

// UnsupportedError names the SRV and use case that cannot be mapped and why.
type UnsupportedError struct {
	SRV, UseCase, Reason string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("transform: SRV %s use case %s not supported: %s", e.SRV, e.UseCase, e.Reason)
}

// Unwrap makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// DeviceType is the DCC inventory device type of the target.
type DeviceType string

// Device types.
const (
	ESME   DeviceType = "ESME"
	GSME   DeviceType = "GSME"
	GPF    DeviceType = "GPF"
	CHF    DeviceType = "CHF"
	PPMID  DeviceType = "PPMID"
	HCALCS DeviceType = "HCALCS"
	IHD    DeviceType = "IHD"
	CAD    DeviceType = "CAD"
)

// ESMEVariant distinguishes the ESME variants (SMETS2 single element,
// twin element, polyphase). It selects among variant use cases where the
// annex has one per variant (e.g. ECS23 / ECS23b, ECS29c / ECS29d).
type ESMEVariant string

// ESME variants.
const (
	SinglePhase ESMEVariant = ""
	TwinElement ESMEVariant = "twin"
	Polyphase   ESMEVariant = "polyphase"
)

// DeviceInfo is what the DCC's inventory says about the target device.
type DeviceInfo struct {
	Type    DeviceType
	Variant ESMEVariant // ESME only
	// ID, when set, must equal the RequestID's target (the recipient).
	ID eui.EUI64
	// UseCases, when the inventory knows them, are the version variants
	// of use cases the device supports (e.g. "ECS26l" rather than
	// "ECS26d"); they settle choices the request cannot (ErrAmbiguous).
	UseCases []string
}

// Options carries what the DCC supplies itself.
type Options struct {
	// ACB is the Access Control Broker's EUI. It MACs every non-critical
	// command; it is the business originator only of the commands the ACB
	// sends on a User's behalf (see OnBehalf).
	ACB eui.EUI64
	// ACBCounter is the ACB's originator counter for a command it
	// originates on a User's behalf (the DCC's own, strictly increasing).
	ACBCounter uint64
	// UserRole is the requesting User's role from the DCC's user registry.
	// When set and the use case does not list that role among its remote
	// parties, the ACB sends the command on the User's behalf.
	UserRole duis.Role
	// OtherDeviceType gives the inventory type of a device the command
	// names other than its target: for 8.11 Add (CCS01) the device being
	// added to the CHF device log (the request's DeviceID), whose type the
	// command carries; for 8.7 Join Service (CS03) the device to join
	// (OtherDeviceID), whose type chooses the join method and is carried
	// too. ok false: the device is not in the inventory. Only
	// the use cases that need it call it; nil is fine for the others.
	OtherDeviceType func(id eui.EUI64) (t DeviceType, ok bool)
	// OtherDeviceCertificate gives the DER of the Key Agreement device
	// certificate of a device the command names other than its target, from
	// the SMKI repository: for 8.7 Join Service by Method C (CS03C) the
	// other device's. ok false: no such certificate. Only CS03C calls it.
	OtherDeviceCertificate func(id eui.EUI64) (der []byte, ok bool)
	// TransCoS is the EUI of the DCC's Transitional Change of Supplier
	// party and TransCoSCounter its next originator counter (the DCC's
	// own, strictly increasing): the originator of 6.23 Update Security
	// Credentials (CoS), CS02b supplierByTransCoS (cs02b.go).
	TransCoS        eui.EUI64
	TransCoSCounter uint64
	// HANBackup gives the DCC's record of a CHF's HAN — its extended PAN
	// ID and the hashed Trust Centre link keys of the devices on it — for
	// 8.12.1 Restore HAN Device Log (CCS03) of the old CHF; ok false: no
	// record (ccs03.go).
	HANBackup func(chf eui.EUI64) (b HANBackup, ok bool)
	// GPFDeviceLog gives the devices the DCC's inventory holds joined to a
	// GPF, for 8.12.2 Restore GPF Device Log (GCS59) of the old GPF; ok
	// false: the GPF is not in the inventory (gcs59.go).
	GPFDeviceLog func(gpf eui.EUI64) (log []LogDevice, ok bool)
	// CustomerIdentificationNumber is the 4-digit CIN the DCC generates
	// for 9.1 Request Customer Identification Number (ECS50 / GCS36).
	CustomerIdentificationNumber string
	// Now is the DCC's current time, for the GBZ fields the annex sets to
	// the current UTC time (Issuer Event ID, Message ID).
	Now time.Time
}

// roleParty maps DCC User roles to the GBCS remote-party roles of the
// annex (gbcs.UseCase.RemotePartyRoles).
var roleParty = map[duis.Role]string{
	duis.RoleIS: "Supplier", duis.RoleGS: "Supplier",
	duis.RoleED: "Network Operator", duis.RoleGT: "Network Operator",
}

// onBehalf reports whether the ACB originates the command for the User:
// the use case names the ACB as its only remote party, the User's role is
// not a remote party of the use case, or the request carries an unknown
// remote party's KA credentials (URP).
func (c *ctx) onBehalf() bool {
	roles := c.uc.RemotePartyRoles
	if len(roles) == 1 && roles[0] == "Access Control Broker" {
		return true
	}
	if c.has("KAPublicSecurityCredentials") {
		return true
	}
	if c.opts.UserRole != "" {
		p, ok := roleParty[c.opts.UserRole]
		if !ok {
			return true
		}
		for _, r := range roles {
			if r == p {
				return false
			}
		}
		return true
	}
	return false
}

// Result is what Build returns besides the message: the chosen use case.
type Result struct {
	Message *gbcs.Message
	UseCase *gbcs.UseCase
	SRV     *duis.SRV
}

// Build maps req onto the GBCS message for dev. See the package comment.
func Build(req *duis.Request, dev DeviceInfo, opts Options) (*gbcs.Message, error) {
	r, err := BuildResult(req, dev, opts)
	if err != nil {
		return nil, err
	}
	return r.Message, nil
}

// BuildResult is Build returning the chosen use case and SRV as well.
// Buildable reports whether OpenDCC has a mapping for the GBCS use case
// (by name, e.g. "GCS60"): where the device's version variant is unknown,
// the DCC picks among those it can build (dcc.ambiguousChoice).
func Buildable(useCase string) bool {
	_, ok := builders[useCase]
	return ok
}

func BuildResult(req *duis.Request, dev DeviceInfo, opts Options) (*Result, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil request", ErrRequest)
	}
	srv, ok := duis.LookupSRV(strings.TrimSpace(req.Header.ServiceReferenceVariant))
	if !ok {
		return nil, fmt.Errorf("%w: unknown ServiceReferenceVariant %q", ErrRequest, req.Header.ServiceReferenceVariant)
	}
	if srv.NonDevice {
		return nil, fmt.Errorf("%w: %s %s", ErrNonDevice, srv.Variant, srv.Name)
	}
	rid, err := duis.ParseRequestID(strings.TrimSpace(req.Header.RequestID))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	if dev.ID != (eui.EUI64{}) && dev.ID != rid.Target {
		return nil, fmt.Errorf("%w: RequestID target %s is not the device %s", ErrRequest, rid.Target, dev.ID)
	}
	body, err := bodyOf(req, srv)
	if err != nil {
		return nil, err
	}
	c := &ctx{req: req, srv: srv, dev: dev, opts: opts, rid: rid, body: body}
	uc, err := c.chooseUseCase()
	if err != nil {
		return nil, err
	}
	c.uc = uc
	c.originator, c.counter = rid.Originator, rid.Counter
	behalf := !srv.Critical && c.dccParty == nil && c.onBehalf()
	if c.dccParty != nil {
		// a DCC party's own command (cs02b.go): no supplementary remote party
		if c.originator, c.counter, err = c.dccParty(c); err != nil {
			return nil, err
		}
	}
	if behalf {
		if opts.ACB == (eui.EUI64{}) {
			return nil, c.errf("use case %s is sent by the ACB on the User's behalf: Options.ACB is needed", uc.Name)
		}
		c.originator, c.counter = opts.ACB, opts.ACBCounter
	}
	b, ok := builders[uc.Name]
	if !ok {
		if why, ok := unsupportedWhy[uc.Name]; ok {
			return nil, c.unsupported(why)
		}
		return nil, c.unsupported("no mapping implemented for this use case")
	}
	content, err := b(c)
	if err != nil {
		return nil, err
	}
	m := &gbcs.Message{
		CRA:               gbcs.CRACommand,
		OriginatorCounter: c.counter,
		Originator:        c.originator,
		Recipient:         rid.Target,
		DateTime:          c.headerDateTime,
		MessageCode:       uc.MessageCode,
		Content:           content,
	}
	if behalf {
		m.HasSupplementaryRemoteParty = true
		m.SupplementaryRemoteParty = rid.Originator
		m.HasSupplementaryRemotePartyCounter = true
		m.SupplementaryRemotePartyCounter = rid.Counter
		if s, ok := c.str("KAPublicSecurityCredentials"); ok {
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
			if err != nil {
				return nil, c.errf("KAPublicSecurityCredentials: %v", err)
			}
			// The device encrypts its answer to this key: a value that is
			// not a key-agreement certificate would be sent for a device
			// that cannot answer it (the request would end in E21).
			cert, err := smki.ParseCertificate(der)
			if err != nil {
				return nil, c.errf("KAPublicSecurityCredentials: not an SMKI certificate: %v", err)
			}
			if cert.KeyUsage&smki.KeyUsageKeyAgreement == 0 {
				return nil, c.errf("KAPublicSecurityCredentials: the certificate's keyUsage has no keyAgreement")
			}
			m.SupplementaryRemotePartyCertificate = der
		}
	}
	if !srv.Critical {
		// Non-critical: empty signature field; the MAC Header is added by
		// gbcs.Security.WrapMAC with the ACB key.
		m.SignatureField = true
		m.Signature = nil
	}
	return &Result{Message: m, UseCase: uc, SRV: srv}, nil
}

// ctx is one transformation in progress.
type ctx struct {
	req  *duis.Request
	srv  *duis.SRV
	dev  DeviceInfo
	opts Options
	rid  duis.RequestID
	body reflect.Value // the sr:Body child (struct value, possibly zero-field)
	uc   *gbcs.UseCase

	headerDateTime []byte
	// gbzComp is the position of the GBZ component being filled.
	gbzComp int
	// originator and counter of the command: the User's, or the ACB's when
	// it sends the command on the User's behalf.
	originator eui.EUI64
	counter    uint64
	// join is the 8.7 Join Service plan the chooser settled on.
	join *joinPlan
	// dccParty, set by a chooser, makes the command a DCC party's own
	// (6.21 the ACB, 6.23 the Transitional CoS party): it gives the
	// originator and counter from Options.
	dccParty func(c *ctx) (eui.EUI64, uint64, error)
}

func (c *ctx) unsupported(reason string) error {
	name := ""
	if c.uc != nil {
		name = c.uc.Name
	}
	return &UnsupportedError{SRV: c.srv.Variant, UseCase: name, Reason: reason}
}

func (c *ctx) errf(format string, a ...any) error {
	return fmt.Errorf("%w: SRV %s: %s", ErrRequest, c.srv.Variant, fmt.Sprintf(format, a...))
}

// bodyOf finds the sr:Body child that the SRV names.
func bodyOf(req *duis.Request, srv *duis.SRV) (reflect.Value, error) {
	v := reflect.ValueOf(&req.Body).Elem()
	f := v.FieldByName(srv.BodyElement)
	if !f.IsValid() {
		return reflect.Value{}, fmt.Errorf("%w: no body element %s in the schema types", ErrRequest, srv.BodyElement)
	}
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return reflect.Value{}, fmt.Errorf("%w: SRV %s needs body element %s", ErrRequest, srv.Variant, srv.BodyElement)
		}
		f = f.Elem()
	}
	return f, nil
}
