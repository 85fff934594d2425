package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// EventCredentialsUpdated is the security log entry of a trust anchor
// replacement (CS02b/g executed; the installer's supplier and network
// operator credentials at commissioning). Provisional: GBCS Table 16 is not
// among the project's sources (see alerts.go).
const EventCredentialsUpdated uint16 = 0x8F20

// homeSlots are the device types of a home (AddPremises) other than the CHF.
var homeSlots = []Type{GPF, ESME, GSME, PPMID, IHD}

// joinsWith reports whether a device of type a holds one of type b of its
// home in its device log: the CHF every device of its HAN (its whitelist);
// the others the devices they are joined with (CS03): a GSME with its GPF;
// the PPMID and the IHD with the meters; the GPF with what the GSME is
// joined to (it mirrors it); the HCALCS with the ESME. The CHF is in no
// device's log (joining its network is not a CS03 join).
func joinsWith(a, b Type) bool {
	ga, gb := a.IsGas(), b.IsGas()
	switch {
	case a == CHF:
		return b != CHF
	case b == CHF:
		return false
	case a == GSME && b == GPF, a == GPF && b == GSME:
		return true
	case a == PPMID || a == IHD:
		return isMeter(b)
	case b == PPMID || b == IHD:
		return isMeter(a)
	case a == HCALCS:
		return !gb && isMeter(b)
	case b == HCALCS:
		return !ga && isMeter(a)
	}
	return false
}

func isMeter(t Type) bool {
	switch t {
	case ESME, ESMETwin, ESMEPoly, GSME, GPF:
		return true
	}
	return false
}

func slotOf(t Type) Type {
	switch t {
	case ESMETwin, ESMEPoly:
		return ESME
	}
	return t
}

// home returns the devices of d's home: d's comms hub and the devices it
// serves. A device that has none is given a home: the CHF and the other
// devices of AddPremises are created around it.
func (f *Fleet) home(d *Device) []*Device {
	hub, ok := f.Hub(d)
	if d.Type == CHF {
		hub, ok = d, true
	}
	if !ok {
		hub = f.Add(CHF)
		for _, t := range homeSlots {
			if t == slotOf(d.Type) {
				continue
			}
			f.Attach(f.Add(t), hub)
		}
		f.Attach(d, hub)
	}
	f.mu.RLock()
	hi := f.index[hub.EUI]
	var idx []int32
	for i, h := range f.hubOf {
		if h == hi {
			idx = append(idx, i)
		}
	}
	f.mu.RUnlock()
	out := []*Device{hub}
	for _, i := range idx {
		out = append(out, f.At(int(i)))
	}
	return out
}

// Install commissions d as an installer does, age before now: it is put in
// a home (one is created around a device that has none), joined on the
// HAN with the devices it works with (its device log; a join event each),
// given the supplier's and network operator's credentials (a security log
// entry each) and, for a meter, run over the period since (Backfill:
// registers, profiles, daily and billing logs, snapshots). Only a device
// with no history is installed.
func (d *Device) Install(age time.Duration) { d.InstallAs(age, Commissioning{}) }

// InstallAs installs d as Install does, commissioned as c says: a meter
// commissioned in prepayment mode (a change-of-mode snapshot at its
// installation) gets the debts c transfers onto it with their recovery and
// the consumer's first credit (the first top-up, from which payment-based
// debt recovery takes its share); over the backfilled history the consumer
// tops up whenever the credit falls below the low-credit level.
func (d *Device) InstallAs(age time.Duration, c Commissioning) {
	peers := d.fleet.home(d)
	d.mu.Lock()
	st := d.state()
	if len(st.deviceLog) > 0 || len(st.eventLog) > 0 || len(st.profile) > 0 {
		d.mu.Unlock()
		return
	}
	at := d.fleet.clock.Now().Add(-age)
	st.logSecurity(at, EventCredentialsUpdated, []byte{byte(AnchorSupplier)})
	if d.Type != GSME && d.Type != IHD {
		st.logSecurity(at.Add(time.Minute), EventCredentialsUpdated, []byte{byte(AnchorNetworkOperator)})
	}
	for i, p := range peers {
		if p == d || !joinsWith(d.Type, p.Type) {
			continue
		}
		st.deviceLog = append(st.deviceLog, deviceLogEntry{p.EUI, p.Type})
		st.logEvent(at.Add(time.Duration(5+i)*time.Minute), AlertJoinResult, p.EUI[:])
	}
	if c.Prepayment && (d.Type.IsESME() || d.Type == GSME) {
		h := mix64(d.deviceHash())
		m := &st.meter
		m.prepayment = true
		d.takeSnapshot(at, snapChangeOfMode)
		m.debts.payment = c.PaymentDebt * 1000
		m.debts.paymentPct = min(c.PaymentDebtPercent, 10000)
		for i := range c.TimeDebt {
			m.debts.time[i] = c.TimeDebt[i] * 1000
			m.debts.timeRate[i] = c.TimeDebtPerDay[i] * 1000
			m.debts.timeDaily[i] = true
		}
		credit := c.Credit
		if credit <= 0 {
			credit = 500 + int64(h%1001) // £5–£15
		}
		m.balance = 0
		d.creditAdded(at.Add(30*time.Minute), credit*1000)
		m.consumerTopUp = c.TopUp * 1000
		if m.consumerTopUp <= 0 {
			m.consumerTopUp = (10 + int64(h>>32%3)*10) * 100_000 // £10, £20 or £30
		}
	}
	d.mu.Unlock()
	if isMeter(d.Type) {
		d.Backfill(age)
	}
}

// linkKey is the ZigBee link key the CHF holds for a joined device
// (derived from the fleet seed and the two EUIs: the install-code key).
func (d *Device) linkKey(id eui.EUI64) []byte {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], d.fleet.seed)
	h := sha256.Sum256(append(append(append([]byte("opendcc-sim-link-key"), s[:]...), d.EUI[:]...), id[:]...))
	return h[:16]
}

// backupPAN is IC104 m4 backup_PAN of the CHF device log (0-0:30.3.0.255)
// or the historic device log (0-0:30.3.1.255, the devices removed):
// structure {backup date-time, extended PAN id, array of {EUI, link key}}.
func (x *exec) backupPAN(historic bool) (byte, *tree.Node) {
	if x.d.Type != CHF {
		return resUndefined, nil
	}
	l := x.st.deviceLog
	if historic {
		l = x.st.removedLog
	}
	a := array()
	for _, e := range l {
		a.Add(structure(octets(e.id[:]), octets(x.d.linkKey(e.id))))
	}
	pan := x.d.EUI
	pan[0] ^= 0x02 // the extended PAN id: the hub's EUI, locally administered
	return resSuccess, structure(octets(dlmsTime(x.d.fleet.clock.Now())), octets(pan[:]), a)
}
