package sim

import (
	"time"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// ZCL snapshot causes (SE 1.2 Metering / Prepayment SnapshotCause bits)
// the simulator's GSME takes snapshots for.
const (
	snapGeneral       uint32 = 1 << 0 // daily (GSME daily read log, prepayment daily read log)
	snapBillingPeriod uint32 = 1 << 1 // end of billing period (billing data log)
	snapPriceMatrix   uint32 = 1 << 3 // change of tariff (Publish Price Matrix)
	snapChangeOfMode  uint32 = 1 << 13
)

// GSME register matrix sizes (SMETS2: four TOU tiers, one tier of four
// blocks).
const (
	gasTiers  = 4
	gasBlocks = 4
)

// snapshot is one GSME snapshot: the registers a Publish Snapshot (payload
// type 6) and a Publish Prepay Snapshot (type 0, debt/credit status) carry.
type snapshot struct {
	t       uint32 // seconds since 2000-01-01
	cause   uint32
	imp     uint64
	tier    [gasTiers]uint64
	block   [gasBlocks]uint64
	debt    int32 // pence
	debts   [3]int32
	ec      int32
	balance int32
}

// Snapshot log sizes: the daily read logs keep 731 days, the billing data
// log 12 periods, tariff and mode changes 12.
const (
	maxDailySnaps = 731
	maxOtherSnaps = 24
)

// takeSnapshot records the registers at t for cause.
func (d *Device) takeSnapshot(t time.Time, cause uint32) {
	if !d.Type.IsGas() {
		return
	}
	st := d.st
	m := &st.meter
	s := snapshot{t: uint32(zclUTC(t)), cause: cause, imp: m.importWh,
		debt: int32(m.debt / 1000), ec: int32(m.emergencyCredit / 1000), balance: int32(m.balance / 1000)}
	s.debts = [3]int32{int32(m.debts.time[0] / 1000), int32(m.debts.time[1] / 1000), int32(m.debts.payment / 1000)}
	copy(s.tier[:], m.tierWh[:gasTiers])
	copy(s.block[:], m.blockWh[:gasBlocks])
	if cause == snapGeneral {
		if len(st.dailySnaps) >= maxDailySnaps {
			copy(st.dailySnaps, st.dailySnaps[1:])
			st.dailySnaps = st.dailySnaps[:len(st.dailySnaps)-1]
		}
		st.dailySnaps = append(st.dailySnaps, s)
		return
	}
	if len(st.otherSnaps) >= maxOtherSnaps {
		copy(st.otherSnaps, st.otherSnaps[1:])
		st.otherSnaps = st.otherSnaps[:len(st.otherSnaps)-1]
	}
	st.otherSnaps = append(st.otherSnaps, s)
}

// findSnapshots returns the snapshots in [earliest, latest] with a cause in
// mask, most recent first (snapshot offset 0 = the latest).
func (st *state) findSnapshots(earliest, latest uint64, mask uint32) []snapshot {
	var out []snapshot
	for _, l := range [][]snapshot{st.otherSnaps, st.dailySnaps} {
		for i := len(l) - 1; i >= 0; i-- {
			s := l[i]
			if uint64(s.t) >= earliest && uint64(s.t) <= latest && s.cause&mask != 0 {
				out = append(out, s)
			}
		}
	}
	// most recent first across both logs
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].t > out[j-1].t; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// publishSnapshot answers Get Snapshot (Metering) or Get Prepay Snapshot
// (Prepayment): the snapshot at the requested offset among those in the
// time range with a requested cause, or NOT_FOUND.
func (x *exec) publishSnapshot(prepay bool, cid byte, pl *tree.Node) (byte, byte, *tree.Node) {
	found := x.st.findSnapshots(childUint(pl, "earliest-start-time"), childUint(pl, "latest-end-time"), uint32(childUint(pl, "snapshot-cause")))
	off := int(childUint(pl, "snapshot-offset"))
	if off >= len(found) {
		return defaultResponse(cid, zclNotFound)
	}
	s := found[off]
	p := named("payload", "zcl-payload", nil,
		named("snapshot-id", "uint32", uint64(off)), named("snapshot-time", "UTC", uint64(s.t)),
		named("total-snapshots-found", "uint8", uint64(min(len(found), 255))), named("command-index", "uint8", uint64(0)),
		named("total-number-of-commands", "uint8", uint64(1)), named("snapshot-cause", "bitmap32", uint64(s.cause)))
	if prepay {
		p.Add(named("snapshot-payload-type", "enum8", uint64(0)), named("snapshot-payload", "sub-payload", nil,
			named("accumulated-debt", "int32", int64(s.debt)), named("type-1-debt-remaining", "uint32", uint64(max(s.debts[0], 0))),
			named("type-2-debt-remaining", "uint32", uint64(max(s.debts[1], 0))), named("type-3-debt-remaining", "uint32", uint64(max(s.debts[2], 0))),
			named("emergency-credit-remaining", "int32", int64(s.ec)), named("credit-remaining", "int32", int64(s.balance))))
		return 0x19, 0x01, p
	}
	sp := named("snapshot-sub-payload", "sub-payload", nil,
		named("current-summation-delivered", "uint48", s.imp), named("number-of-tiers-in-use", "uint8", uint64(gasTiers)))
	for _, v := range s.tier {
		sp.Add(named("tier-summation", "uint48", v))
	}
	sp.Add(named("number-of-tiers-and-block-thresholds-in-use", "uint8", uint64(1<<4|gasBlocks)))
	for _, v := range s.block {
		sp.Add(named("tier-block-summation", "uint48", v))
	}
	p.Add(named("snapshot-payload-type", "enum8", uint64(6)), sp)
	return 0x19, 0x06, p
}

// Backfill runs the device's meter over the period before now, as if it had
// been installed then: registers, profiles, daily and billing logs and
// snapshots have history. Only a device with no history is backfilled.
func (d *Device) Backfill(period time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.state()
	if len(st.profile) > 0 || len(st.daily) > 0 {
		return
	}
	st.lastAdvance = st.lastAdvance.Add(-period)
	st.backfilling = true
	d.advance(d.fleet.clock.Now())
	st.backfilling = false
}
