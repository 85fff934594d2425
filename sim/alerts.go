package sim

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/asn"
	"github.com/opendcc/opendcc/gbcs/dlms"
	"github.com/opendcc/opendcc/gbcs/gbz"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Alert codes the simulator raises. Those marked "catalogue" are in the
// gbcs alert catalogue (GBCS annex, RTDS); the others are GBCS Table 16
// codes that the project's sources do not carry, kept here in one place as
// provisional values until the table is available.
const (
	AlertFutureDatedSuccess   uint16 = 0x8F66 // catalogue
	AlertFutureDatedFailure   uint16 = 0x8F67 // catalogue
	AlertFirmwareReceipt      uint16 = 0x8F72 // catalogue
	AlertCHFDeviceLogChanged  uint16 = 0x8F12 // catalogue (CS14)
	AlertSupplyOutageRestore  uint16 = 0x8F35 // catalogue (ECS80, 0x8F35–0x8F3C by outage length)
	AlertLowCredit            uint16 = 0x8F0E // provisional
	AlertSupplyDisabledCredit uint16 = 0x8F0F // provisional
	AlertSupplyArmed          uint16 = 0x8F10 // provisional
	AlertSupplyEnabled        uint16 = 0x8F11 // provisional
	AlertSupplyDisabled       uint16 = 0x8F13 // provisional
	AlertTamper               uint16 = 0x8F14 // provisional
	AlertPowerOutage          uint16 = 0x8F15 // provisional (CHF "last gasp")
	AlertFirmwareActivated    uint16 = 0x8F16 // provisional
	AlertJoinResult           uint16 = 0x8F17 // provisional
)

// criticalAlerts are sent signed in a Generic Critical Alert (0x1000), the
// others MACed in a Generic Non-Critical Alert (0x1001).
var criticalAlerts = map[uint16]bool{
	AlertSupplyDisabledCredit: true, AlertSupplyArmed: true, AlertSupplyEnabled: true, AlertSupplyDisabled: true,
	AlertTamper: true, AlertFirmwareActivated: true,
}

// raiseEvent logs an event and raises its alert (unless configured off).
func (d *Device) raiseEvent(now time.Time, code uint16, data []byte) {
	st := d.state()
	st.logEvent(now, code, data)
	if st.alertFilter[code] || st.backfilling {
		// backfilled history: its alerts were sent at the time
		return
	}
	mc := uint16(0x1001)
	if criticalAlerts[code] {
		mc = 0x1000
	}
	d.sendAlert(now, code, mc, nil)
}

// sendAlert builds, protects and queues an alert. extra is the use-case
// data of DLMS alerts (a Data node) or, for GBZ, the future-dated
// instruction / image hash octets.
func (d *Device) sendAlert(now time.Time, code, messageCode uint16, extra *tree.Node) {
	counter := d.nextCounter(now)
	var content []byte
	var err error
	if d.Type.IsGas() || d.Type == PPMID || d.Type == HCALCS {
		root := &tree.Node{Name: "gbz", Type: "gbz"}
		root.Add(named("profile-id", "u16", uint64(gbz.ProfileSmartEnergy)), named("component-count", "u8", uint64(0)),
			named("alert-code", "u16", uint64(code)), named("alert-time", "u32", zclUTC(now)))
		if extra != nil {
			root.Add(extra)
		}
		content, err = gbz.Encode(root)
	} else {
		body := structure(named("alert-code", "long-unsigned", uint64(code)), named("alert-time", "octet-string", hex.EncodeToString(dlmsTime(now))))
		if extra != nil {
			body.Add(extra)
		}
		root := &tree.Node{Name: "dlms", Type: dlms.TypeDataNotification}
		root.Add(named("invoke-id", "u32", uint64(0x20000000|uint32(counter)&0xFFFFFF)), named("date-time", "octets", ""), body)
		content, err = dlms.Encode(root)
	}
	if err != nil {
		return
	}
	d.sendAlertContent(now, code, messageCode, counter, content)
}

// sendASNAlert sends an ASN.1 alert (the future-dated CS02b/g and CS06
// alerts): SEQUENCE {alert code, alert time, tail...}.
func (d *Device) sendASNAlert(now time.Time, code, messageCode uint16, tail ...*tree.Node) {
	counter := d.nextCounter(now)
	body := aseq(aint(int64(code)), agt(now))
	body.Add(tail...)
	content, err := asn.Encode(body)
	if err != nil {
		return
	}
	d.sendAlertContent(now, code, messageCode, counter, content)
}

func (d *Device) sendAlertContent(now time.Time, code, messageCode uint16, counter uint64, content []byte) {
	st := d.state()
	var err error
	to := st.anchors[AnchorSupplier].EUI
	m := &gbcs.Message{CRA: gbcs.CRAAlert, OriginatorCounter: counter, Originator: d.EUI, Recipient: to,
		MessageCode: messageCode, Content: content, SignatureField: true}
	k := d.keyMaterial()
	signed := messageCode != 0x1001 && messageCode != 0x0018 && messageCode != 0x00F0 && messageCode != 0x00F2
	if signed {
		err = gbcs.SignMessage(m, k.dsPriv, rand.Reader)
	} else {
		var key []byte
		key, err = d.key(k, to, d.fleet.dir.KACertificate(st.anchors, to), gbcs.CRAAlert, counter, d.EUI, to)
		if err == nil {
			err = gbcs.SetMAC(key, m)
		}
	}
	if err != nil {
		return
	}
	raw, err := m.Marshal()
	if err != nil {
		return
	}
	a := Alert{Code: code, Time: now, Message: raw}
	if d.fleet.sink != nil {
		d.fleet.sink(d, a)
		return
	}
	st.outbox = append(st.outbox, a)
	if len(st.outbox) > 1000 {
		st.outbox = st.outbox[len(st.outbox)-1000:]
	}
}

// futureCommand is a future-dated instruction waiting for its time.
type futureCommand struct {
	at          time.Time
	messageCode uint16
	counter     uint64
	gbz         bool
	class       uint16 // DLMS object / GBZ cluster
	obis        [6]byte
	attr        uint8
	fc, cmd     byte
	run         func() bool
	// asn executes an ASN.1 future-dated command and returns its outcome,
	// the alert's message code and the alert payload after code and time.
	asn func() (ok bool, messageCode uint16, tail []*tree.Node)
}

// runPending executes the future-dated instructions that are due, each
// followed by its 8F66 (success) or 8F67 (failure) alert.
func (d *Device) runPending(now time.Time) {
	st := d.st
	keep := st.pending[:0]
	var due []futureCommand
	for _, p := range st.pending {
		if !p.at.After(now) {
			due = append(due, p)
		} else {
			keep = append(keep, p)
		}
	}
	st.pending = keep
	for _, p := range due {
		if p.asn != nil {
			ok, mc, tail := p.asn()
			code := AlertFutureDatedSuccess
			if !ok {
				code = AlertFutureDatedFailure
			}
			d.sendASNAlert(p.at, code, mc, tail...)
			continue
		}
		ok := p.run()
		code := AlertFutureDatedSuccess
		if !ok {
			code = AlertFutureDatedFailure
		}
		if p.gbz {
			b := make([]byte, 14)
			binary.BigEndian.PutUint16(b, p.messageCode)
			binary.BigEndian.PutUint64(b[2:], p.counter)
			binary.BigEndian.PutUint16(b[10:], p.class)
			b[12], b[13] = p.fc, p.cmd
			d.sendAlert(p.at, code, 0x00CD, named("future-dated-instruction", "octets8", hex.EncodeToString(b)))
		} else {
			b := make([]byte, 19)
			binary.BigEndian.PutUint16(b, p.messageCode)
			binary.BigEndian.PutUint64(b[2:], p.counter)
			binary.BigEndian.PutUint16(b[10:], p.class)
			copy(b[12:], p.obis[:])
			b[18] = p.attr
			d.sendAlert(p.at, code, 0x00CC, octets(b))
		}
	}
}

// Pending is the number of future-dated instructions waiting.
func (d *Device) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.state().pending)
}

// Tick advances the device to the fleet clock's time: consumption,
// profiles, future-dated instructions, credit alerts.
func (d *Device) Tick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.advance(d.fleet.clock.Now())
}
