package sim

import (
	"time"

	"github.com/opendcc/opendcc/gbcs/dlms"
	"github.com/opendcc/opendcc/gbcs/gbz"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Future-dated DLMS and GBZ instructions (GBCS §1.10, gbcs.md §6.1): a
// command whose instructions carry an execution (activation) time in the
// future is answered at once; each such instruction is queued and executed
// when the device's clock reaches its time, followed by its 8F66 (success)
// or 8F67 (failure) alert, 0x00CC (DLMS) / 0x00CD (GBZ), one per
// instruction. A cancellation (DLMS date-time "never" or a year from 3000,
// ZCL time 0xFFFFFFFE/0xFFFFFFFF) removes the pending instructions of that
// kind; a newer future-dated instruction of the same kind supersedes them.

// execution-time kinds of an instruction.
const (
	whenNow = iota
	whenFuture
	whenCancel
)

// dlmsWhen classifies a DLMS activation date-time: all zero (or a time not
// after now) is now, FF… or a year from 3000 a cancellation.
func dlmsWhen(v *tree.Node, now time.Time) (int, time.Time) {
	if v == nil || v.Type != "octet-string" {
		return whenNow, time.Time{}
	}
	b, err := v.Octets()
	if err != nil || len(b) != 12 {
		return whenNow, time.Time{}
	}
	y := int(b[0])<<8 | int(b[1])
	if y == 0xFFFF || y >= 3000 {
		return whenCancel, time.Time{}
	}
	t, ok := parseDLMSTime(b)
	if !ok || !t.After(now) {
		return whenNow, time.Time{}
	}
	return whenFuture, t
}

// zclWhen classifies a ZCL UTC execution time: 0 or not after now is now,
// 0xFFFFFFFE/0xFFFFFFFF a cancellation.
func zclWhen(v uint64, now time.Time) (int, time.Time) {
	if v >= 0xFFFFFFFE {
		return whenCancel, time.Time{}
	}
	if v == 0 {
		return whenNow, time.Time{}
	}
	t := fromZCLUTC(v)
	if !t.After(now) {
		return whenNow, time.Time{}
	}
	return whenFuture, t
}

// isActivationTime: the DLMS attributes that carry an activation time
// (Blue Book / GBCS): Activity Calendar activate_passive_calendar_time
// (IC20 a10), Charge unit_charge_activation_time (IC113 a7), GBCS Extended
// Data activate_passive_value_time (IC9000 a6), Account
// account_activation_time (IC111 a13).
func isActivationTime(k objKey) bool {
	switch k.class {
	case 20:
		return k.attr == 10
	case 113:
		return k.attr == 7
	case 9000:
		return k.attr == 6
	case 111:
		return k.attr == 13
	}
	return false
}

// governingActivation is the activation-time attribute whose time a
// passive attribute takes effect at: the object's own (IC20 passive
// season/week/day tables, IC113 passive unit charge, IC9000 passive value,
// IC111 account mode and credit/charge configuration), or, for the tables
// that have no passive copy, the GBCS Extended Data object the annex pairs
// them with (special days tables, the non-disablement and auxiliary
// controller calendars, the tariff threshold matrix).
func governingActivation(k objKey) (objKey, bool) {
	o := k.obis
	switch k.class {
	case 20:
		if k.attr >= 7 && k.attr <= 9 {
			return objKey{20, o, 10}, true
		}
	case 113:
		if k.attr == 6 {
			return objKey{113, o, 7}, true
		}
	case 9000:
		if k.attr == 4 || k.attr == 5 {
			return objKey{9000, o, 6}, true
		}
	case 111:
		if k.attr == 2 || k.attr == 11 {
			return objKey{111, o, 13}, true
		}
	case 11: // Special Days Table 0-1:11.0.n.255
		if k.attr == 2 && o[0] == 0 && o[1] == 1 && o[2] == 11 && o[3] == 0 {
			switch o[4] {
			case 0: // TOU tariff
				return key(9000, "0-0:94.44.128.29", 6), true
			case 1: // secondary element tariff
				return key(9000, "0-0:94.44.128.30", 6), true
			case 2: // non-disablement calendar
				return key(9000, "0-0:94.44.128.31", 6), true
			case 3: // auxiliary controller calendar
				return key(9000, "0-0:94.44.128.35", 6), true
			}
		}
	case 10: // Schedule 0-1:12.0.n.255
		if k.attr == 2 && o[0] == 0 && o[1] == 1 && o[2] == 12 && o[3] == 0 {
			switch o[4] {
			case 1: // non-disablement calendar
				return key(9000, "0-0:94.44.128.28", 6), true
			case 2: // auxiliary controller calendar
				return key(9000, "0-0:94.44.128.26", 6), true
			}
		}
	case 21: // Register Monitor thresholds 0-0:16.1.11–18.255 (block thresholds per TOU)
		if k.attr == 2 && o[0] == 0 && o[1] == 0 && o[2] == 16 && o[3] == 1 && o[4] >= 11 && o[4] <= 18 {
			return key(9000, "0-0:63.1.1.255", 6), true
		}
	}
	return objKey{}, false
}

type heldSet struct {
	k objKey
	v *tree.Node
}

// dlmsActivation is an activation-time attribute a DLMS command sets.
type dlmsActivation struct {
	when int
	at   time.Time
	held []heldSet // passive values that take effect at that time
	ok   bool      // the activation time was set
}

// scanActivations finds the activation times a DLMS access-request sets.
func scanActivations(specs, data *tree.Node, now time.Time) map[objKey]*dlmsActivation {
	var acts map[objKey]*dlmsActivation
	for i, sp := range specs.Children {
		choice, _ := sp.Uint()
		if choice != 2 && choice != 5 || sp.Child("method-id") != nil {
			continue
		}
		k := specKey(sp)
		if !isActivationTime(k) {
			continue
		}
		w, at := dlmsWhen(data.Children[i], now)
		if acts == nil {
			acts = map[objKey]*dlmsActivation{}
		}
		acts[k] = &dlmsActivation{when: w, at: at}
	}
	return acts
}

func specKey(sp *tree.Node) objKey {
	var o [6]byte
	ob, _ := sp.Child("instance-id").Octets()
	copy(o[:], ob)
	return objKey{uint16(childUint(sp, "class-id")), o, uint8(childUint(sp, "attribute-id"))}
}

// deferredSet handles a Set under a future-dated or cancelled activation of
// the same command; handled is false when the Set runs as usual.
func (x *exec) deferredSet(acts map[objKey]*dlmsActivation, k objKey, v *tree.Node) (res byte, handled bool) {
	if len(acts) == 0 {
		return 0, false
	}
	if a, ok := acts[k]; ok {
		if a.when == whenNow {
			return 0, false
		}
		// the activation time itself: recorded (it reads back)
		x.objects()[k] = stripNames(v)
		a.ok = true
		return resSuccess, true
	}
	g, ok := governingActivation(k)
	if !ok {
		return 0, false
	}
	a, ok := acts[g]
	if !ok || a.when == whenNow {
		return 0, false
	}
	if !dlms.IsDataType(v.Type) {
		return resOther, true
	}
	sv := stripNames(v)
	if g.class == k.class && g.obis == k.obis {
		// a passive attribute of the object: it reads back as written
		x.objects()[k] = sv
	}
	if a.when == whenFuture {
		a.held = append(a.held, heldSet{k, sv})
	}
	return resSuccess, true
}

// queueActivations queues the future-dated activations of a DLMS command
// (in the order the command sets them, as RTDS numbers their alerts),
// removes the pending ones a cancellation names and activates the "now"
// ones.
func (x *exec) queueActivations(specs *tree.Node, acts map[objKey]*dlmsActivation) {
	done := map[objKey]bool{}
	for _, sp := range specs.Children {
		k := specKey(sp)
		a, ok := acts[k]
		if !ok || done[k] {
			continue
		}
		done[k] = true
		switch a.when {
		case whenNow:
			x.activate(k)
		case whenCancel:
			if a.ok {
				x.st.dropPending(false, k.class, k.obis, k.attr, 0)
			}
		case whenFuture:
			if !a.ok {
				continue
			}
			x.st.dropPending(false, k.class, k.obis, k.attr, 0)
			d, m, held, k := x.d, x.m, a.held, k
			x.st.pending = append(x.st.pending, futureCommand{at: a.at, messageCode: m.MessageCode, counter: m.OriginatorCounter,
				class: k.class, obis: k.obis, attr: k.attr,
				run: func() bool {
					y := &exec{d: d, st: d.st, m: m}
					ok := true
					for _, h := range held {
						if y.dlmsSet(h.k, h.v) != resSuccess {
							ok = false
						}
					}
					if ok {
						y.activate(k)
					}
					return ok
				}})
		}
	}
}

// activate makes an object's passive values active (Blue Book): Activity
// Calendar passive season/week/day tables (a7–a9) → active (a3–a5), Charge
// unit_charge_passive (a6) → unit_charge_active (a5), GBCS Extended Data
// value_passive (a4, a5) → value_active (a2, a3).
func (x *exec) activate(k objKey) {
	obj := x.st.objects
	if obj == nil {
		return
	}
	cp := func(from, to uint8) {
		if v, ok := obj[objKey{k.class, k.obis, from}]; ok {
			obj[objKey{k.class, k.obis, to}] = v
		}
	}
	switch k.class {
	case 20:
		cp(7, 3)
		cp(8, 4)
		cp(9, 5)
	case 113:
		cp(6, 5)
	case 9000:
		cp(4, 2)
		cp(5, 3)
	}
}

// dropPending removes the pending future-dated instructions of a kind:
// DLMS (class, OBIS, attribute) or GBZ (cluster, command).
func (st *state) dropPending(isGBZ bool, class uint16, o [6]byte, attr uint8, cmd byte) {
	keep := st.pending[:0]
	for _, p := range st.pending {
		if p.asn == nil && p.gbz == isGBZ && p.class == class &&
			(isGBZ && p.cmd == cmd || !isGBZ && p.obis == o && p.attr == attr) {
			continue
		}
		keep = append(keep, p)
	}
	st.pending = keep
}

// gbzExecutionTime is a GBZ component's execution time: its GBZ From Date
// Time header, else the start-time / implementation-date-time (UTC) of
// its payload, for the commands that configure the meter (the Get
// commands' times select records and are not execution times).
func gbzExecutionTime(c *tree.Node, cluster uint16, fc, cid byte, pl *tree.Node) (uint64, bool) {
	switch {
	case cluster == gbz.ClusterEvents,
		cluster == gbz.ClusterMetering && (cid == 0x06 || cid == 0x07 || cid == 0x08),
		cluster == gbz.ClusterPrepayment && (cid == 0x07 || cid == 0x0A),
		cluster == gbz.ClusterPrice && fc&0x08 == 0,
		cluster == gbz.ClusterCalendar && fc&0x08 == 0:
		return 0, false
	}
	if f := c.Child("from-date-time"); f != nil {
		v, _ := f.Uint()
		return v, true
	}
	if pl == nil {
		return 0, false
	}
	for _, n := range pl.Children {
		if (n.Name == "start-time" || n.Name == "implementation-date-time") && n.Type == "UTC" {
			v, _ := n.Uint()
			return v, true
		}
	}
	return 0, false
}

// gbzHeld is a GBZ component kept for its execution time.
type gbzHeld struct {
	cluster uint16
	fc, cid byte
	from    uint64
	pl      *tree.Node
}

// gbzDeferral tracks a GBZ command's future-dated and cancelled
// components; the Publish Day / Week Profile and Seasons components
// (which carry no time) follow the Publish Calendar of their calendar.
type gbzDeferral struct {
	calendars map[uint64]*gbzPending // issuer calendar id → its Publish Calendar
}

type gbzPending struct {
	when int
	held []gbzHeld
}

// deferGBZ decides whether a cluster-specific component runs now; if not,
// it returns the immediate response (the command is accepted: Default
// Response SUCCESS, or the Change Payment Mode Response of the current
// configuration) and queues or cancels the instruction.
func (x *exec) deferGBZ(df *gbzDeferral, c *tree.Node, cluster uint16, fc, cid byte, pl *tree.Node) (byte, byte, *tree.Node, bool) {
	now := x.d.fleet.clock.Now()
	if cluster == gbz.ClusterCalendar && fc&0x08 != 0 && cid >= 0x01 && cid <= 0x03 && df.calendars != nil {
		if p, ok := df.calendars[childUint(pl, "issuer-calendar-id")]; ok {
			if p.when == whenFuture {
				p.held = append(p.held, gbzHeld{cluster, fc, cid, 0, pl})
			}
			a, b, r := defaultResponse(cid, zclSuccess)
			return a, b, r, true
		}
	}
	v, ok := gbzExecutionTime(c, cluster, fc, cid, pl)
	if !ok {
		return 0, 0, nil, false
	}
	w, at := zclWhen(v, now)
	if w == whenNow {
		return 0, 0, nil, false
	}
	x.st.dropPending(true, cluster, [6]byte{}, 0, cid)
	p := &gbzPending{when: w}
	if cluster == gbz.ClusterCalendar && cid == 0x00 {
		if df.calendars == nil {
			df.calendars = map[uint64]*gbzPending{}
		}
		df.calendars[childUint(pl, "issuer-calendar-id")] = p
	}
	if w == whenFuture {
		p.held = append(p.held, gbzHeld{cluster, fc, cid, childUint(c, "from-date-time"), pl})
		d, m := x.d, x.m
		x.st.pending = append(x.st.pending, futureCommand{at: at, messageCode: m.MessageCode, counter: m.OriginatorCounter,
			gbz: true, class: cluster, fc: fc, cmd: cid,
			run: func() bool {
				y := &exec{d: d, st: d.st, m: m}
				ok := true
				for _, h := range p.held {
					y.zclFC, y.zclFrom = h.fc, 0
					rfc, rcid, rp := y.zclCluster(h.cluster, h.cid, h.pl)
					if rfc&0x03 == 0 && rcid == gbz.CmdDefaultResponse && childUint(rp, "status") != zclSuccess {
						ok = false
					}
				}
				return ok
			}})
	}
	if cluster == gbz.ClusterPrepayment && cid == 0x06 {
		a, b, r := x.changePaymentModeResponse()
		return a, b, r, true
	}
	a, b, r := defaultResponse(cid, zclSuccess)
	return a, b, r, true
}

// changePaymentModeResponse is the Change Payment Mode Response of the
// meter's configuration.
func (x *exec) changePaymentModeResponse() (byte, byte, *tree.Node) {
	m := &x.st.meter
	return 0x19, 0x02, named("payload", "zcl-payload", nil,
		named("friendly-credit", "bitmap8", uint64(0)), named("friendly-credit-calendar-id", "uint32", uint64(0)),
		named("emergency-credit-limit", "uint32", uint64(m.ecLimit/1000)), named("emergency-credit-threshold", "uint32", uint64(0)))
}

func (x *exec) objects() map[objKey]*tree.Node {
	if x.st.objects == nil {
		x.st.objects = map[objKey]*tree.Node{}
	}
	return x.st.objects
}
