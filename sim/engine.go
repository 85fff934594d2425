package sim

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/smki"
)

// Reject says why a device gave no response to a message. A real SMETS2
// device answers nothing to a message that fails its checks (GBCS §4: it
// is discarded; the device records a security event where the check is a
// cryptographic one), so Handle returns no bytes with a *RejectError.
type Reject uint8

// Rejection reasons.
const (
	RejectMalformed         Reject = iota + 1 // not a GBCS message
	RejectNotAddressed                        // Business Target ID is not this device
	RejectNotCommand                          // CRA flag is not 01
	RejectUnknownUseCase                      // message code not in the catalogue
	RejectWrongDeviceType                     // use case does not target this device type
	RejectNoMAC                               // no MAC Header where one is required
	RejectBadMAC                              // MAC does not verify (ACB KA ↔ device KA)
	RejectNoSignature                         // critical use case without a signature
	RejectBadSignature                        // signature does not verify against the anchor
	RejectUnknownOriginator                   // no trust anchor for the originator
	RejectReplay                              // counter not greater than the last accepted
	RejectPowerLost                           // the device (or its comms hub) has no power
)

var rejectNames = map[Reject]string{
	RejectMalformed: "malformed", RejectNotAddressed: "not addressed to this device", RejectNotCommand: "not a command",
	RejectUnknownUseCase: "unknown message code", RejectWrongDeviceType: "use case does not target this device type",
	RejectNoMAC: "no MAC", RejectBadMAC: "MAC invalid", RejectNoSignature: "signature missing",
	RejectBadSignature: "signature invalid", RejectUnknownOriginator: "no trust anchor for originator",
	RejectReplay: "originator counter not greater than the last accepted", RejectPowerLost: "no power",
}

func (r Reject) String() string {
	if s, ok := rejectNames[r]; ok {
		return s
	}
	return fmt.Sprintf("Reject(%d)", r)
}

// RejectError is returned by Handle when the device stays silent.
type RejectError struct {
	Reason Reject
	Err    error
}

func (e *RejectError) Error() string {
	if e.Err != nil {
		return "sim: command rejected: " + e.Reason.String() + ": " + e.Err.Error()
	}
	return "sim: command rejected: " + e.Reason.String()
}

func (e *RejectError) Unwrap() error { return e.Err }

func reject(r Reject, err error) error { return &RejectError{Reason: r, Err: err} }

// ReasonOf returns the rejection reason of an error from Handle (0 if it
// is not a rejection).
func ReasonOf(err error) Reject {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return 0
}

// Security events written to the security log on rejected commands.
// The GBCS event codes for these are in GBCS Table 16.2, which the
// project's sources do not carry; these values are provisional.
const (
	EventAuthenticationFailure uint16 = 0x8F1D // provisional
	EventReplayDetected        uint16 = 0x8F1E // provisional
	EventUnauthorisedCommand   uint16 = 0x8F1F // provisional
)

// exec is one command being executed.
type exec struct {
	d   *Device
	st  *state
	m   *gbcs.Message
	uc  *gbcs.UseCase
	urp *smki.Certificate // the unknown remote party's KA certificate (URP)
	// encryption parameters of the response (filled before handlers run)
	encFor     eui.EUI64
	encCounter uint64
	respSOC    uint64 // Supplementary Originator Counter of the response
	hasSOC     bool
	future     bool   // the command is future dated and was deferred
	zclFC      byte   // frame control of the GBZ component being executed
	zclFrom    uint64 // the component's GBZ From Date Time (0: none)
}

// Handle executes one GBCS command on the device and returns the response
// message, or no bytes and a *RejectError where a real device stays silent.
// Alerts the command causes are queued (TakeAlerts).
func (d *Device) Handle(raw []byte) ([]byte, error) {
	m, err := gbcs.Parse(raw)
	if err != nil {
		return nil, reject(RejectMalformed, err)
	}
	return d.HandleMessage(m)
}

// HandleMessage is Handle for a parsed message.
func (d *Device) HandleMessage(m *gbcs.Message) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.fleet.clock.Now()
	st := d.state()
	d.advance(now)
	if m.Recipient != d.EUI {
		return nil, reject(RejectNotAddressed, nil)
	}
	if st.powerLost || d.fleet.chfDown(d) {
		return nil, reject(RejectPowerLost, nil)
	}
	if m.CRA != gbcs.CRACommand {
		return nil, reject(RejectNotCommand, nil)
	}
	uc, ok := gbcs.LookupMessageCode(m.MessageCode)
	if !ok || uc.Alert() {
		return nil, reject(RejectUnknownUseCase, fmt.Errorf("message code 0x%04X", m.MessageCode))
	}
	target := uc.TargetDevices
	if strings.EqualFold(target, "None") {
		// the annex gives no target (e.g. GCS25 "Set Billing Calendar on
		// the GSME"): the device type its title names
		target = uc.Title
	}
	if target != "" && !d.Type.Matches(target) {
		return nil, reject(RejectWrongDeviceType, fmt.Errorf("%s targets %q", uc.Name, uc.TargetDevices))
	}
	if err := d.checkSecurity(now, m, uc); err != nil {
		return nil, err
	}
	x := &exec{d: d, st: st, m: m, uc: uc}
	if len(m.SupplementaryRemotePartyCertificate) > 0 {
		c, err := smki.ParseCertificate(m.SupplementaryRemotePartyCertificate)
		if err == nil {
			x.urp = c
		}
	}
	x.encFor, x.encCounter = m.Originator, m.OriginatorCounter
	if m.HasSupplementaryRemoteParty {
		x.encFor = m.SupplementaryRemoteParty
	}
	if x.urp != nil {
		st.ownCounter = d.nextCounter(now)
		x.respSOC, x.hasSOC = st.ownCounter, true
		x.encCounter = x.respSOC
	}
	content, err := d.execute(x)
	if err != nil {
		return nil, err
	}
	return d.respond(x, content)
}

// checkSecurity applies the GBCS acceptance checks in the order a device
// does: MAC (when present or required), signature for critical use cases,
// then the replay counter. Failures are logged in the security log.
func (d *Device) checkSecurity(now timeT, m *gbcs.Message, uc *gbcs.UseCase) error {
	st := d.st
	k := d.keyMaterial()
	sigOnly := isSignatureOnly(m)
	if !m.MACHeader {
		if !sigOnly {
			st.logSecurity(now, EventAuthenticationFailure, nil)
			return reject(RejectNoMAC, nil)
		}
	} else if !uc.DeviceToDevice {
		acb := st.anchors[AnchorACB]
		if acb.KA == nil {
			return reject(RejectUnknownOriginator, errors.New("no ACB key-agreement anchor"))
		}
		key, err := d.key(k, acb.EUI, acb.KA, gbcs.CRACommand, m.OriginatorCounter, m.Originator, m.Recipient)
		if err != nil {
			return reject(RejectBadMAC, err)
		}
		if err := gbcs.CheckMAC(key, m); err != nil {
			st.logSecurity(now, EventAuthenticationFailure, nil)
			return reject(RejectBadMAC, err)
		}
	}
	critical := uc.Critical == gbcs.FlagYes || sigOnly
	if m.MACHeader && !m.Signed() && (m.MessageCode == 0x0008 || m.MessageCode == 0x011B) {
		critical = false // CS02a/CS02f "MAC" variants: authenticated by the ACB's MAC only
	}
	if critical || m.Signed() {
		if !m.Signed() {
			st.logSecurity(now, EventAuthenticationFailure, nil)
			return reject(RejectNoSignature, nil)
		}
		_, an, ok := st.anchors.Lookup(m.Originator)
		if !ok || an.DS == nil {
			st.logSecurity(now, EventUnauthorisedCommand, m.Originator[:])
			return reject(RejectUnknownOriginator, fmt.Errorf("originator %s", m.Originator))
		}
		if err := gbcs.CheckSignature(m, an.DS.PublicKey); err != nil {
			st.logSecurity(now, EventAuthenticationFailure, nil)
			return reject(RejectBadSignature, err)
		}
	}
	if uc.ReplayProtection == gbcs.FlagYes || critical {
		if last, seen := st.counters[m.Originator]; seen && m.OriginatorCounter <= last {
			st.logSecurity(now, EventReplayDetected, nil)
			return reject(RejectReplay, fmt.Errorf("counter %d, last %d", m.OriginatorCounter, last))
		}
	}
	if m.OriginatorCounter > st.counters[m.Originator] {
		st.counters[m.Originator] = m.OriginatorCounter
	}
	return nil
}

// isSignatureOnly: the CS02 variants a device accepts signed but without a
// MAC Header (CS02a/CS02f "Signature", CS02b by the recovery or other
// anchor holders outside the ACB path).
func isSignatureOnly(m *gbcs.Message) bool {
	if m.MACHeader || !m.Signed() {
		return false
	}
	c := m.MessageCode
	return c == 0x0008 || c == 0x011B || (c >= 0x0100 && c <= 0x0109) || (c >= 0x0124 && c <= 0x0126)
}

// key derives a KDF key between the device's KA key and a party's KA
// certificate, caching the shared secret per party.
func (d *Device) key(k *deviceKeys, party eui.EUI64, cert *smki.Certificate, cra gbcs.CRA, counter uint64, orig, recip eui.EUI64) ([]byte, error) {
	z := d.st.z[party]
	if z == nil || len(z) != 32 || cert == nil {
		if cert == nil {
			return nil, fmt.Errorf("no key-agreement certificate for %s", party)
		}
		pub, err := cert.PublicKey.ECDH()
		if err != nil {
			return nil, err
		}
		z, err = k.kaPriv.ECDH(pub)
		if err != nil {
			return nil, err
		}
		if d.st.z == nil {
			d.st.z = map[eui.EUI64][]byte{}
		}
		d.st.z[party] = z
	}
	kk := gbcs.DeriveKey(z, cra, counter, orig, recip)
	return kk[:], nil
}

// nextCounter returns a fresh originator counter for a device-originated
// message (alerts, Supplementary Originator Counter): strictly increasing,
// and never below the clock in seconds × 2^16 so it survives restarts.
func (d *Device) nextCounter(now timeT) uint64 {
	st := d.st
	c := st.ownCounter + 1
	if t := uint64(now.Unix()) << 16; t > c {
		c = t
	}
	st.ownCounter = c
	return c
}

// encrypt protects sensitive response data for the party the command asks
// (the Supplementary Remote Party when present, the URP certificate for an
// unknown remote party, else the originator).
func (x *exec) encrypt(plain []byte) ([]byte, error) {
	d := x.d
	cert := x.urp
	if cert == nil || x.encFor != cert.EUI && cert.EUI != (eui.EUI64{}) {
		cert = d.fleet.dir.KACertificate(x.st.anchors, x.encFor)
	}
	if x.urp != nil {
		cert = x.urp
	}
	key, err := d.key(d.keyMaterial(), x.encFor, cert, gbcs.CRAEncryption, x.encCounter, d.EUI, x.encFor)
	if err != nil {
		return nil, err
	}
	if x.urp != nil {
		delete(x.st.z, x.encFor) // the URP secret is not kept
	}
	return gbcs.EncryptPayload(key, d.EUI, plain)
}

// respond frames the response: CRA 02, echoed counter, swapped identities,
// same message code and supplementary fields; signed by the device when the
// command was signed (critical use cases, CS02x), MACed otherwise.
func (d *Device) respond(x *exec, content []byte) ([]byte, error) {
	m := x.m
	r := &gbcs.Message{
		CRA:                                gbcs.CRAResponse,
		OriginatorCounter:                  m.OriginatorCounter,
		Originator:                         d.EUI,
		Recipient:                          m.Originator,
		MessageCode:                        m.MessageCode,
		HasSupplementaryRemoteParty:        m.HasSupplementaryRemoteParty,
		SupplementaryRemoteParty:           m.SupplementaryRemoteParty,
		HasSupplementaryRemotePartyCounter: m.HasSupplementaryRemotePartyCounter,
		SupplementaryRemotePartyCounter:    m.SupplementaryRemotePartyCounter,
		HasSupplementaryOriginatorCounter:  x.hasSOC,
		SupplementaryOriginatorCounter:     x.respSOC,
		Content:                            content,
		SignatureField:                     true,
	}
	if x.hasSOC && !r.HasSupplementaryRemotePartyCounter {
		r.HasSupplementaryRemotePartyCounter = true
	}
	k := d.keyMaterial()
	if m.Signed() {
		if err := gbcs.SignMessage(r, k.dsPriv, rand.Reader); err != nil {
			return nil, err
		}
		return r.Marshal()
	}
	cert := d.fleet.dir.KACertificate(x.st.anchors, r.Recipient)
	key, err := d.key(k, r.Recipient, cert, gbcs.CRAResponse, r.OriginatorCounter, r.Originator, r.Recipient)
	if err != nil {
		return nil, err
	}
	if err := gbcs.SetMAC(key, r); err != nil {
		return nil, err
	}
	return r.Marshal()
}
