package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/asn"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/smki"
)

// execute dispatches a command by payload format.
func (d *Device) execute(x *exec) ([]byte, error) {
	if asn.IsASN1Code(x.m.MessageCode) {
		return x.execASN1()
	}
	f, err := payload.Detect(x.m.MessageCode, x.m.Content)
	if err != nil {
		return nil, err
	}
	switch f {
	case payload.GBZ:
		return x.execGBZ()
	case payload.DLMS:
		return x.execDLMS()
	}
	return x.execASN1()
}

// join records a device joined to this one (CS03: ESME↔PPMID, GSME↔GPF…).
func (x *exec) join(id eui.EUI64, now time.Time) {
	for _, e := range x.st.deviceLog {
		if e.id == id {
			return
		}
	}
	t := TypeUnknown
	if o, ok := x.d.fleet.Device(id); ok {
		t = o.Type
	}
	x.st.deviceLog = append(x.st.deviceLog, deviceLogEntry{id, t})
	x.st.logEvent(now, AlertJoinResult, id[:])
}

func (x *exec) unjoin(id eui.EUI64) {
	l := x.st.deviceLog[:0]
	for _, e := range x.st.deviceLog {
		if e.id != id {
			l = append(l, e)
		} else if x.d.Type == CHF {
			x.st.removedLog = append(x.st.removedLog, e)
		}
	}
	x.st.deviceLog = l
}

// Joined lists the devices joined to d (for a CHF: its device log).
func (d *Device) Joined() []eui.EUI64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []eui.EUI64
	for _, e := range d.state().deviceLog {
		out = append(out, e.id)
	}
	return out
}

// chfRegister is IC104 register_device: array of {EUI, install code…}
// entries added to the CHF device log; alert 8F12 (CS14) follows.
func (x *exec) chfRegister(arg *tree.Node) (byte, *tree.Node) {
	if x.d.Type != CHF {
		return resUndefined, nil
	}
	n := 0
	arg.Walk(func(c *tree.Node) bool {
		if c.Type == "octet-string" {
			if b, err := c.Octets(); err == nil && len(b) == 8 {
				var id eui.EUI64
				copy(id[:], b)
				x.join(id, x.d.fleet.clock.Now())
				n++
				return false
			}
		}
		return true
	})
	if n == 0 {
		return resOther, nil
	}
	return resSuccess, nil
}

func (x *exec) chfUnregister(arg *tree.Node) (byte, *tree.Node) {
	if x.d.Type != CHF {
		return resUndefined, nil
	}
	arg.Walk(func(c *tree.Node) bool {
		if c.Type == "octet-string" {
			if b, err := c.Octets(); err == nil && len(b) == 8 {
				var id eui.EUI64
				copy(id[:], b)
				x.unjoin(id)
				return false
			}
		}
		return true
	})
	return resSuccess, nil
}

// chfDeviceLog is IC104 attribute 4: array of {EUI, device type}.
func (x *exec) chfDeviceLog() *tree.Node {
	a := array()
	for _, e := range x.st.deviceLog {
		a.Add(structure(octets(e.id[:]), enum(uint8(deviceTypeCode(e.typ)))))
	}
	return a
}

// DeliverFirmware is what the comms hub does with an image the DCC
// distributes (SRV 11.1): the device stores it as pending and answers with
// the Firmware Distribution Receipt alert (8F72) carrying the image hash.
func (d *Device) DeliverFirmware(image []byte, version string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.fleet.clock.Now()
	st := d.state()
	st.firmware.pendingImage = []byte(version)
	st.firmware.pendingHash = sha256.Sum256(image)
	st.firmware.hasPending = true
	h := append([]byte{}, st.firmware.pendingHash[:]...)
	if d.Type.IsGas() || d.Type == PPMID || d.Type == HCALCS { // the ZigBee (GBZ) devices: FDRA-ZigBee
		d.sendAlert(now, AlertFirmwareReceipt, 0x00CF, named("image-hash", "octet-string", hex.EncodeToString(h)))
	} else {
		d.sendAlert(now, AlertFirmwareReceipt, 0x00CE, octets(h))
	}
}

// FirmwareVersion returns the running firmware version.
func (d *Device) FirmwareVersion() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state().firmware.version
}

// activateFirmware is CS06: activate the pending image now or at the
// activation time in the command (future dated: NULL response, then
// 8F66/8F67 at that time).
func (x *exec) activateFirmware(req *tree.Node, now time.Time, faulty bool) *tree.Node {
	var at time.Time
	req.Walk(func(n *tree.Node) bool {
		if n.Type == "GeneralizedTime" {
			s, _ := n.Str()
			if t, err := time.Parse("20060102150405Z", s); err == nil {
				at = t
			}
		}
		return true
	})
	ok := x.st.firmware.hasPending && !faulty
	if !at.IsZero() {
		// future dated (an execution date-time is present): NULL now,
		// activation at that time (at the next clock step when it has
		// passed), reported by the 0x00CA alert; a later future-dated
		// CS06 (e.g. a cancellation dated 9999-12-31) supersedes it
		d, counter := x.d, x.m.OriginatorCounter
		keep := x.st.pending[:0]
		for _, p := range x.st.pending {
			if p.messageCode != x.m.MessageCode {
				keep = append(keep, p)
			}
		}
		x.st.pending = append(keep, futureCommand{at: at, messageCode: x.m.MessageCode, counter: counter,
			asn: func() (bool, uint16, []*tree.Node) {
				fw := &d.st.firmware
				if !fw.hasPending || faulty {
					h := sha256.Sum256([]byte(fw.version))
					return false, 0x00CA, []*tree.Node{aint(int64(counter)), aseq(aint(2), aoct(h[:4]))}
				}
				(&exec{d: d, st: d.st}).commitFirmware(at)
				h := sha256.Sum256([]byte(fw.version))
				return true, 0x00CA, []*tree.Node{aint(int64(counter)), aseq(aint(0), aoct(h[:4]))}
			}})
		return anull()
	}
	if !ok {
		return aseq(aint(1), aoct([]byte(x.st.firmware.version)))
	}
	x.commitFirmware(now)
	h := sha256.Sum256([]byte(x.st.firmware.version))
	return aseq(aint(0), aoct(h[:4]))
}

func (x *exec) commitFirmware(now time.Time) {
	fw := &x.st.firmware
	fw.version = string(fw.pendingImage)
	fw.hasPending = false
	fw.pendingImage = nil
	x.d.raiseEvent(now, AlertFirmwareActivated, []byte(fw.version))
}

// PowerOutage cuts the device's power (for a CHF: the whole premises'
// communications). The CHF sends its last-gasp power outage alert.
func (d *Device) PowerOutage() {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.fleet.clock.Now()
	d.advance(now)
	st := d.state()
	if st.powerLost {
		return
	}
	if d.Type == CHF {
		d.raiseEvent(now, AlertPowerOutage, nil)
	}
	st.powerLost, st.powerLostAt = true, now
}

// PowerRestore brings the power back; the CHF reports the restoration
// with a Supply Outage Restore alert (ECS80 message 0x0067), whose code
// grows with the outage duration: 0x8F35 for under 3 minutes, then one step
// per band (3 min, 1 h, 4 h, 12 h, 24 h, 48 h, 72 h+).
func (d *Device) PowerRestore() {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.fleet.clock.Now()
	st := d.state()
	if !st.powerLost {
		return
	}
	st.powerLost = false
	st.lastAdvance = now // nothing was metered while off
	dur := now.Sub(st.powerLostAt)
	bands := []time.Duration{3 * time.Minute, time.Hour, 4 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour}
	code := AlertSupplyOutageRestore
	for _, b := range bands {
		if dur >= b {
			code++
		}
	}
	st.logEvent(now, code, nil)
	secs := uint32(dur / time.Second)
	d.sendAlert(now, code, 0x0067, u32(secs))
}

// Tamper records a tamper event and raises its alert.
func (d *Device) Tamper() {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.fleet.clock.Now()
	st := d.state()
	st.meter.tamper = true
	d.raiseEvent(now, AlertTamper, nil)
}

// certificateLocked is Certificate for callers holding d.mu (u: 1
// digital signature, 2 key agreement).
func (d *Device) certificateLocked(u int) (*smki.Certificate, error) {
	return d.issue(d.keyMaterial(), gbcs.Usage(u))
}
