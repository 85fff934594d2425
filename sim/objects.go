package sim

import (
	"time"

	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// The DLMS objects whose value comes from the device's behaviour rather
// than from what was last written (OBIS codes and types from the GBCS
// use-case annex).
func init() {
	g := func(class uint16, o string, a uint8, f getter) { dlmsGetters[key(class, o, a)] = f }
	// ECS17b import register collection: active, {scaler, Wh}, reactive,
	// {scaler, varh} [, secondary active for twin elements].
	g(1, "0-0:94.44.34.10", 2, func(x *exec) *tree.Node {
		m := &x.st.meter
		s := structure(u32(uint32(m.importWh)), scalerUnit(0, unitWh), u32(uint32(m.reactiveWh)), scalerUnit(0, unitVarh))
		if x.d.Type == ESMETwin {
			s.Add(u32(uint32(m.secondaryWh)))
		}
		return s
	})
	reg := func(o string, v func(m *meter) uint64, unit uint8) {
		g(3, o, 2, func(x *exec) *tree.Node { return u32(uint32(v(&x.st.meter))) })
		g(3, o, 3, func(x *exec) *tree.Node { return scalerUnit(0, unit) })
	}
	reg("1-0:1.8.0.255", func(m *meter) uint64 { return m.importWh }, unitWh)
	reg("1-0:2.8.0.255", func(m *meter) uint64 { return m.exportWh }, unitWh)
	reg("1-0:3.8.0.255", func(m *meter) uint64 { return m.reactiveWh }, unitVarh)
	reg("1-0:4.8.0.255", func(m *meter) uint64 { return 0 }, unitVarh)
	for t := 1; t <= maxTiers; t++ {
		t := t
		reg("1-0:1.8."+itoa(t)+".255", func(m *meter) uint64 { return m.tierWh[t-1] }, unitWh)
	}
	// Clock.
	for a := uint8(2); a <= 9; a++ {
		a := a
		g(8, "0-0:1.0.0.255", a, func(x *exec) *tree.Node { return clockAttr(x, a) })
	}
	// Supply: disconnect control.
	for a := uint8(2); a <= 4; a++ {
		a := a
		g(70, "0-0:96.3.10.255", a, func(x *exec) *tree.Node { return disconnectAttr(x, a) })
	}
	// Meter balance (ECS82) and account.
	g(112, "0-0:19.10.0.255", 2, func(x *exec) *tree.Node { return i32(int32(x.st.meter.balance / 1000)) })
	g(111, "0-0:19.0.0.255", 2, func(x *exec) *tree.Node {
		if x.st.meter.prepayment {
			return structure(enum(1), enum(2))
		}
		return structure(enum(1), enum(1))
	})
	// Firmware version (ECS52, CHF and ESME).
	g(1, "0-0:0.2.1.255", 2, func(x *exec) *tree.Node { return octets([]byte(x.st.firmware.version)) })
	// Event and security logs.
	g(7, "0-0:99.98.0.255", 2, func(x *exec) *tree.Node { return logBuffer(x.st.eventLog) })
	g(7, "0-0:99.98.1.255", 2, func(x *exec) *tree.Node { return logBuffer(x.st.securityLog) })
	// Profile data (half-hourly) and daily reads.
	g(7, "0-0:99.1.1.255", 2, func(x *exec) *tree.Node { return profileBuffer(x.st.profile) })
	g(7, "0-0:98.1.4.255", 2, func(x *exec) *tree.Node { return profileBuffer(x.st.daily) })

	// Writes with behaviour.
	s := func(class uint16, o string, a uint8, f setter) { dlmsSetters[key(class, o, a)] = f }
	s(8, "0-0:1.0.0.255", 2, func(x *exec, v *tree.Node) byte { return resSuccess })
	s(70, "0-0:96.3.10.255", 4, func(x *exec, v *tree.Node) byte { x.store(70, "0-0:96.3.10.255", 4, v); return resSuccess })
	// Tariff: the TOU day profile (IC20 passive day profile table a9) and
	// prices are taken when written; they become active at once or at
	// the passive calendar's activation time (a10).
	s(20, "0-0:13.0.0.255", 9, func(x *exec, v *tree.Node) byte {
		x.store(20, "0-0:13.0.0.255", 9, v)
		x.st.meter.setDayProfile(v)
		return resSuccess
	})

	// Account mode and status (ECS02/ECS03 payment mode): {status,
	// mode}, mode 2 prepayment, 1 credit (as the getter answers).
	for _, o := range []string{"0-0:19.0.0.255", "0-1:19.0.0.255"} {
		o := o
		s(111, o, 2, func(x *exec, v *tree.Node) byte {
			x.store(111, o, 2, v)
			if len(v.Children) == 2 {
				if mode, err := v.Children[1].Uint(); err == nil && (mode == 1 || mode == 2) {
					x.st.meter.prepayment = mode == 2
				}
			}
			return resSuccess
		})
	}

	// Methods.
	mth := func(class uint16, o string, id uint8, f method) { dlmsMethods[key(class, o, id)] = f }
	// Supply control script table: script 51 disable (ECS42), 52 arm
	// (ECS43), 53/54 enable (ECS44); any other id is refused.
	mth(9, "0-0:10.0.106.255", 1, func(x *exec, arg *tree.Node) (byte, *tree.Node) {
		id, _ := arg.Uint()
		return x.supplyScript(id), nil
	})
	// Top up (CS01a): UTRN validated with the supplier's prepayment key.
	mth(115, "0-0:19.40.0.255", 1, func(x *exec, arg *tree.Node) (byte, *tree.Node) {
		b, err := arg.Octets()
		if err != nil {
			return resOther, nil
		}
		return x.applyUTRN(string(b)), nil
	})
	// CHF ZigBee network control: register (m1) / unregister (m2) devices.
	mth(104, "0-0:30.3.0.255", 1, func(x *exec, arg *tree.Node) (byte, *tree.Node) { return x.chfRegister(arg) })
	mth(104, "0-0:30.3.0.255", 2, func(x *exec, arg *tree.Node) (byte, *tree.Node) { return x.chfUnregister(arg) })
	// backup_PAN (m4) of the device log and the historic device log (CCS07)
	mth(104, "0-0:30.3.0.255", 4, func(x *exec, arg *tree.Node) (byte, *tree.Node) { return x.backupPAN(false) })
	mth(104, "0-0:30.3.1.255", 4, func(x *exec, arg *tree.Node) (byte, *tree.Node) { return x.backupPAN(true) })
	g(104, "0-0:30.3.0.255", 4, func(x *exec) *tree.Node { return x.chfDeviceLog() })
	g(104, "0-0:30.3.0.255", 3, func(x *exec) *tree.Node { return octets(x.d.EUI[:]) })
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func (x *exec) store(class uint16, o string, a uint8, v *tree.Node) {
	if x.st.objects == nil {
		x.st.objects = map[objKey]*tree.Node{}
	}
	x.st.objects[key(class, o, a)] = stripNames(v)
}

func clockAttr(x *exec, a uint8) *tree.Node {
	now := x.d.fleet.clock.Now()
	switch a {
	case 2:
		return octets(dlmsTime(now))
	case 3:
		return i16(0)
	case 4:
		return u8(0)
	case 5, 6:
		return octets(dlmsTime(now))
	case 7:
		return i8(60)
	case 8:
		return boolean(true)
	case 9:
		return enum(1)
	}
	return nil
}

func disconnectAttr(x *exec, a uint8) *tree.Node {
	m := &x.st.meter
	switch a {
	case 2:
		return boolean(m.supply == SupplyEnabled)
	case 3:
		return enum(m.supply)
	case 4:
		if v, ok := x.st.objects[key(70, "0-0:96.3.10.255", 4)]; ok {
			return v
		}
		return enum(4)
	}
	return nil
}

func logBuffer(l []logEntry) *tree.Node {
	a := array()
	for _, e := range l {
		a.Add(structure(octets(dlmsTime(e.t)), u16(e.code)))
	}
	return a
}

func profileBuffer(l []profileEntry) *tree.Node {
	a := array()
	for _, e := range l {
		a.Add(structure(octets(dlmsTime(e.time())), u32(e.value)))
	}
	return a
}

// bufferRows builds a Profile Generic buffer from the device's logs: the
// event and security logs (0-0:99.98.x), half-hourly profiles
// (0-0:99.1.x) and daily / billing logs (0-0:98.1.x); other buffers are
// empty.
func (x *exec) bufferRows(k objKey, elem *dtype) *tree.Node {
	a := array()
	o := k.obis
	switch {
	case o[2] == 99 && o[3] == 98:
		l := x.st.eventLog
		if o[4] == 1 {
			l = x.st.securityLog
		}
		for _, e := range l {
			a.Add(elem.row(x, zclUTC(e.t), e.code, 0))
		}
	case o[2] == 99 && o[3] == 1:
		for _, e := range x.st.profile {
			a.Add(elem.row(x, uint64(e.at), 0, uint64(e.value)))
		}
	case o[2] == 98 && o[3] == 1:
		for _, e := range x.st.daily {
			a.Add(elem.row(x, uint64(e.at), 0, uint64(e.value)))
		}
	}
	return a
}

// selectRows applies a range selection (access selector 1: from/to values
// in the parameters, date-times or double-long-unsigned seconds since
// 2000) to a buffer whose rows start with their time.
func (x *exec) selectRows(k objKey, v *tree.Node, arg *tree.Node) *tree.Node {
	if v.Type != "array" || arg == nil {
		return v
	}
	var bounds []time.Time
	arg.Walk(func(n *tree.Node) bool {
		if t, ok := nodeTime(n); ok && len(bounds) < 2 {
			bounds = append(bounds, t)
		}
		return true
	})
	if len(bounds) < 2 {
		return v
	}
	out := array()
	for _, row := range v.Children {
		if len(row.Children) == 0 {
			continue
		}
		t, ok := nodeTime(row.Children[0])
		if ok && (t.Before(bounds[0]) || t.After(bounds[1])) {
			continue
		}
		out.Add(row)
	}
	return out
}

// nodeTime reads a DLMS date-time octet-string or a double-long-unsigned
// UTC time (seconds since 2000-01-01).
func nodeTime(n *tree.Node) (time.Time, bool) {
	switch n.Type {
	case "octet-string":
		if b, err := n.Octets(); err == nil && len(b) == 12 {
			return parseDLMSTime(b)
		}
	case "double-long-unsigned":
		if v, err := n.Uint(); err == nil {
			return fromZCLUTC(v), true
		}
	}
	return time.Time{}, false
}

// supplyScript runs the supply-control script: 51 disable, 52 arm,
// 53/54 enable.
func (x *exec) supplyScript(id uint64) byte {
	now := x.d.fleet.clock.Now()
	m := &x.st.meter
	switch id {
	case 51:
		m.supply = SupplyDisabled
		x.d.raiseEvent(now, AlertSupplyDisabled, nil)
	case 52:
		m.supply = SupplyArmed
		x.d.raiseEvent(now, AlertSupplyArmed, nil)
	case 53, 54:
		if m.prepayment && m.balance <= 0 && (!m.ecInUse || m.emergencyCredit <= 0) {
			return resOther // no credit: stays disabled
		}
		m.supply = SupplyEnabled
		x.d.raiseEvent(now, AlertSupplyEnabled, nil)
	default:
		return resOther
	}
	return resSuccess
}

// applyUTRN validates a UTRN with the supplier's prepayment KA anchor and
// the counter cache, and credits the balance.
func (x *exec) applyUTRN(utrn string) byte {
	an := x.st.anchors[AnchorSupplier]
	if an.PP == nil {
		return resDenied
	}
	k := x.d.keyMaterial()
	pub, err := an.PP.PublicKey.ECDH()
	if err != nil {
		return resOther
	}
	z, err := k.kaPriv.ECDH(pub)
	if err != nil {
		return resOther
	}
	t, err := gbcs.ValidateUTRN(z, an.EUI, x.d.EUI, utrn, &x.st.utrn)
	if err != nil {
		return resOther
	}
	amount := int64(t.Value) * 1000
	if t.Class == gbcs.ValuePounds {
		amount *= 100
	}
	x.d.creditAdded(x.d.fleet.clock.Now(), amount)
	return resSuccess
}

// setDayProfile reads a DLMS day profile table (array of day_profile
// {day_id, array of {start_time octet-string(4), script_logical_name,
// script_selector}}) into TOU switching times; the script selector is the
// tier (1-based).
func (m *meter) setDayProfile(v *tree.Node) {
	if v == nil || len(v.Children) == 0 {
		return
	}
	day := v.Children[0]
	if len(day.Children) < 2 {
		return
	}
	m.touStart, m.touTier = nil, nil
	for _, act := range day.Children[1].Children {
		if len(act.Children) < 3 {
			continue
		}
		b, _ := act.Children[0].Octets()
		sel, _ := act.Children[2].Uint()
		if len(b) < 2 || sel == 0 {
			continue
		}
		h, mi := int(b[0]), int(b[1])
		if h == 0xFF {
			h = 0
		}
		if mi == 0xFF {
			mi = 0
		}
		m.touStart = append(m.touStart, uint16(h*60+mi))
		m.touTier = append(m.touTier, uint8(sel-1))
	}
}

// SetTOU sets the TOU switching times (minutes after midnight → tier,
// 0-based) and tier prices (1/1000 pence per kWh).
func (d *Device) SetTOU(starts []uint16, tiers []uint8, prices []uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.advance(d.fleet.clock.Now())
	m := &d.state().meter
	m.touStart, m.touTier = append([]uint16(nil), starts...), append([]uint8(nil), tiers...)
	for i, p := range prices {
		if i < maxTiers {
			m.price[i] = p
		}
	}
}
