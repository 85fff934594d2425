package sim

import (
	"crypto/ecdsa"
	"sync"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/smki"
)

// Device is one simulated SMETS2 device. It is a small value: the EUI,
// the type and two pointers that stay nil until the device is first used
// (its state) or its keys are first needed. Methods are safe for
// concurrent use.
type Device struct {
	EUI   eui.EUI64
	Type  Type
	fleet *Fleet
	mu    sync.Mutex
	st    *state
	keys  *deviceKeys
}

// state is everything a device remembers once it has been used.
type state struct {
	anchors      *Anchors // shared default until changed (copy on write)
	ownAnchors   bool
	counters     map[eui.EUI64]uint64 // last accepted originator counter per remote party
	ownCounter   uint64               // alerts and Supplementary Originator Counters
	lastAdvance  time.Time
	backfilling  bool                  // Backfill is running the device over its history
	objects      map[objKey]*tree.Node // DLMS attributes written and not modelled
	attrs        map[uint32]*tree.Node // ZCL attributes written and not modelled, cluster<<16|attr
	meter        meter
	eventLog     []logEntry
	securityLog  []logEntry
	profile      []profileEntry // half-hourly import profile
	daily        []profileEntry // daily reads
	dailySnaps   []snapshot     // GSME: daily snapshots (daily read logs)
	otherSnaps   []snapshot     // GSME: billing period, tariff and mode change snapshots
	firmware     firmware
	utrn         gbcs.UTRNCounterCache
	deviceLog    []deviceLogEntry // CHF: HAN whitelist; others: joined devices
	removedLog   []deviceLogEntry // CHF: historic device log (devices removed)
	pending      []futureCommand
	outbox       []Alert
	powerLostAt  time.Time
	powerLost    bool
	netLog       *netDataLog // the Network Data Log session GCS31 started (sampling.go)
	displayed    string
	alertFilter  map[uint16]bool  // alert codes disabled by configuration
	faults       map[uint16]Fault // injected per message code failures (tests of error paths)
	z            map[eui.EUI64][]byte
	certsChanged bool
}

type objKey struct {
	class uint16
	obis  [6]byte
	attr  uint8
}

type logEntry struct {
	t    time.Time
	code uint16
	data []byte
}

// profileEntry is a profile or daily read: 8 bytes (ZCL UTC seconds, Wh
// register modulo 2^32, as the DLMS profiles carry it), 624 half-hours and
// up to 731 days of them per meter.
type profileEntry struct {
	at    uint32
	value uint32
}

func (e profileEntry) time() time.Time { return fromZCLUTC(uint64(e.at)) }

type deviceLogEntry struct {
	id  eui.EUI64
	typ Type
}

type firmware struct {
	version       string
	pendingImage  []byte
	pendingHash   [32]byte
	pendingActive time.Time
	hasPending    bool
}

// Alert is an alert a device raised: the complete GBCS message and its
// alert code.
type Alert struct {
	Code    uint16
	Time    time.Time
	Message []byte
}

// Fleet returns the fleet the device belongs to.
func (d *Device) Fleet() *Fleet { return d.fleet }

func (d *Device) state() *state {
	if d.st == nil {
		f := d.fleet
		now := f.clock.Now()
		d.st = &state{
			anchors:     &f.dir.Defaults,
			counters:    map[eui.EUI64]uint64{},
			lastAdvance: now,
			firmware:    firmware{version: f.firmwareVersion},
			z:           map[eui.EUI64][]byte{},
		}
		d.st.meter.init(d, now)
	}
	return d.st
}

// Reset forgets the device's state (counters, registers, logs, anchors):
// as if it had just been installed. Keys and certificates are kept.
func (d *Device) Reset() {
	d.mu.Lock()
	d.st = nil
	d.mu.Unlock()
}

func (d *Device) keyMaterial() *deviceKeys {
	if d.keys == nil {
		d.keys = &deviceKeys{}
	}
	k := d.keys
	k.once.Do(func() {
		k.ds = DeriveKey(d.fleet.seed, d.EUI, gbcs.UsageDigitalSignature)
		k.ka = DeriveKey(d.fleet.seed, d.EUI, gbcs.UsageKeyAgreement)
		k.dsPriv, _ = gbcs.NewSoftwareKey(k.ds)
		k.kaPriv, _ = gbcs.NewSoftwareKey(k.ka)
	})
	return k
}

// PublicKey returns the device's public key for a usage (digital signature
// or key agreement), deriving the key pair if needed.
func (d *Device) PublicKey(u gbcs.Usage) *ecdsa.PublicKey {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := d.keyMaterial()
	if u == gbcs.UsageDigitalSignature {
		return &k.ds.PublicKey
	}
	return &k.ka.PublicKey
}

// PrivateKey returns the device's private key for a usage (the simulator
// side of a test may need it; the DCC never does).
func (d *Device) PrivateKey(u gbcs.Usage) gbcs.PrivateKey {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := d.keyMaterial()
	if u == gbcs.UsageDigitalSignature {
		return k.dsPriv
	}
	return k.kaPriv
}

// Certificate returns the device's SMKI certificate for a usage, issuing it
// on first request.
func (d *Device) Certificate(u gbcs.Usage) (*smki.Certificate, error) {
	d.mu.Lock()
	k := d.keyMaterial()
	d.mu.Unlock()
	return d.issue(k, u)
}

func (d *Device) issue(k *deviceKeys, u gbcs.Usage) (*smki.Certificate, error) {
	k.certMu.Lock()
	defer k.certMu.Unlock()
	p := &k.kaCert
	pub := &k.ka.PublicKey
	if u == gbcs.UsageDigitalSignature {
		p, pub = &k.dsCert, &k.ds.PublicKey
	}
	if *p == nil {
		c, err := d.fleet.issuer.IssueDevice(d.EUI, u, pub)
		if err != nil {
			return nil, err
		}
		*p = c
	}
	return *p, nil
}

// Anchors returns a copy of the device's current trust anchors.
func (d *Device) Anchors() Anchors {
	d.mu.Lock()
	defer d.mu.Unlock()
	return *d.state().anchors
}

// SetAnchor replaces the anchor of one role (what a CS02 use case does;
// tests and fleet set-up use it directly).
func (d *Device) SetAnchor(r AnchorRole, a Anchor) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setAnchor(r, a)
}

func (d *Device) setAnchor(r AnchorRole, a Anchor) {
	st := d.state()
	if !st.ownAnchors {
		cp := *st.anchors
		st.anchors = &cp
		st.ownAnchors = true
	}
	st.anchors[r] = a
}

// LastCounter returns the last originator counter accepted from a party.
func (d *Device) LastCounter(from eui.EUI64) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state().counters[from]
}

// Fault is an injected failure of one use case (tests of a DCC's error
// paths, as the RTDS ERROR scenarios do).
type Fault struct {
	// Result is the DLMS Data-Access-Result / Action-Result of the failing
	// items (0: hardware fault, 01); for ASN.1 use cases any fault answers
	// the failure code.
	Result byte
	// ZCLStatus is the ZCL status of the failing GBZ components (0:
	// HARDWARE_FAILURE, 0xC0).
	ZCLStatus byte
	// Items are the 0-based DLMS request-spec or GBZ component indices
	// that fail; empty: the last one.
	Items []int
	// Record is the 0-based attribute record of a failing GBZ Read
	// Attributes that answers ZCLStatus (the others are read).
	Record int
}

func (f Fault) fails(i, n int) bool {
	if len(f.Items) == 0 {
		return i == n-1
	}
	for _, it := range f.Items {
		if it == i {
			return true
		}
	}
	return false
}

func (f Fault) dlmsResult() byte {
	if f.Result == 0 {
		return resHardwareFault
	}
	return f.Result
}

func (f Fault) zclStatus() byte {
	if f.ZCLStatus == 0 {
		return zclHardwareFailure
	}
	return f.ZCLStatus
}

// InjectFault makes the next commands with this message code fail on the
// device with result (DLMS result, ZCL HARDWARE_FAILURE, ASN.1 error
// code) on the last item. messageCode 0 clears every fault.
func (d *Device) InjectFault(messageCode uint16, result byte) {
	d.InjectFaultOn(messageCode, Fault{Result: result})
}

// InjectFaultOn makes the commands with this message code fail as f says.
func (d *Device) InjectFaultOn(messageCode uint16, f Fault) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.state()
	if messageCode == 0 {
		st.faults = nil
		return
	}
	if st.faults == nil {
		st.faults = map[uint16]Fault{}
	}
	st.faults[messageCode] = f
}

// TakeAlerts returns and clears the alerts the device raised.
func (d *Device) TakeAlerts() []Alert {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st == nil {
		return nil
	}
	a := d.st.outbox
	d.st.outbox = nil
	return a
}

func (st *state) logEvent(t time.Time, code uint16, data []byte) {
	st.eventLog = appendLog(st.eventLog, logEntry{t, code, data})
}

func (st *state) logSecurity(t time.Time, code uint16, data []byte) {
	st.securityLog = appendLog(st.securityLog, logEntry{t, code, data})
}

// maxLog is the size of the event and security logs (SMETS2: at least 100
// and 100 entries; rolling).
const maxLog = 100

func appendLog(l []logEntry, e logEntry) []logEntry {
	if len(l) >= maxLog {
		copy(l, l[1:])
		l = l[:len(l)-1]
	}
	return append(l, e)
}
