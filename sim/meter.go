package sim

import (
	"encoding/binary"
	"time"
)

// Supply states (DLMS IC70 control_state; ZCL SupplyStatus uses the same
// numbers: 0 off/disconnected, 1 on/connected, 2 armed/ready).
const (
	SupplyDisabled = 0
	SupplyEnabled  = 1
	SupplyArmed    = 2
)

// maxTiers is the number of TOU tiers a register set keeps (SMETS2 ESME:
// 48 TOU registers; the simulator keeps 8) and maxBlocks the block counters.
const (
	maxTiers  = 8
	maxBlocks = 4
)

// meter is the metrology and billing state of a meter (ESME or GSME; the
// GPF mirrors the GSME it serves).
type meter struct {
	rateWh      uint32 // average consumption, Wh per hour (gas: dm3 per hour)
	fracMilliWh uint64 // sub-Wh remainder carried between steps
	importWh    uint64 // total active import
	exportWh    uint64
	reactiveWh  uint64
	secondaryWh uint64 // twin element
	tierWh      [maxTiers]uint64
	blockWh     [maxBlocks]uint64

	// Tariff: TOU switching times (minutes after midnight → tier, sorted),
	// prices per tier in 1/1000 pence per kWh, standing charge pence/day,
	// block thresholds (kWh in the billing period).
	touStart   []uint16
	touTier    []uint8
	calendars  [2]*calendar // delivered (TOU) and friendly credit calendars (calendars.go)
	price      [maxTiers]uint32
	blockPrice [maxBlocks]uint32
	thresholds [maxBlocks - 1]uint32
	standing   uint32
	blockMode  bool
	periodWh   uint64 // consumption in the current billing period (blocks)

	// Billing period (Publish Billing Period): start, duration and
	// duration type (ZCL: low nibble timebase 0 minutes, 1 days, 2 weeks,
	// 3 months; high nibble control); unset: monthly from the 1st.
	billStart    time.Time
	billDuration uint32
	billType     uint8

	prepayment        bool
	balance           int64 // pence × 1000 (milli-pence), meter balance
	debt              int64 // accumulated debt (emergency credit in use)
	debts             debts // time and payment debt registers and recovery (debt.go)
	consumerTopUp     int64 // milli-pence a consumer tops up by in backfilled history (0: none)
	emergencyCredit   int64 // available emergency credit (milli-pence)
	ecLimit           int64
	ecInUse           bool
	lowCreditWarning  int64
	lowCreditAlerted  bool
	supply            uint8
	loadLimitW        uint32
	loadLimitCounter  uint32
	auxLoads          [5]bool
	billToDate        int64
	standingAccrued   time.Time
	mpxn              string
	lastDaily         time.Time
	dailyReadAt       time.Duration // gas: time of day (UTC) of the daily read snapshot
	lastProfile       time.Time
	tamper            bool
	powerQualityVolts uint16
}

// GasDailyReadTime is the time of day (UTC) at which a gas meter (GSME, and
// the GPF mirroring it) takes its daily read: the Daily Read Log and
// Prepayment Daily Read Log entries (ZSE daily snapshots, cause General).
// Neither the annex nor the project's GBCS notes give the time; the RTDS
// reference GSME takes them at 09:00 (its GCS16a/GCS16b answers: 12-29,
// 12-30, 12-31 at 09:00:00) where its ESME's daily reads (ECS21a/b) are at
// midnight. Device.SetDailyReadTime changes it per device.
const GasDailyReadTime = 9 * time.Hour

// SetDailyReadTime sets the time of day (UTC, from midnight) of a gas
// meter's daily read snapshot.
func (d *Device) SetDailyReadTime(at time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state().meter.dailyReadAt = at % (24 * time.Hour)
}

func (m *meter) init(d *Device, now time.Time) {
	var b [8]byte
	copy(b[:], d.EUI[:])
	h := binary.BigEndian.Uint64(b[:]) ^ d.fleet.seed
	m.rateWh = 150 + uint32(h%700) // 150..850 W average
	m.supply = SupplyEnabled
	m.price[0] = 25000 // 25 p/kWh
	m.standing = 45
	m.balance = 10_000_00 * 10 // £100.00 in milli-pence
	m.ecLimit = 5_00 * 1000    // £5
	m.emergencyCredit = m.ecLimit
	m.lowCreditWarning = 2_00 * 1000
	m.standingAccrued = now
	m.lastDaily = now.Truncate(24 * time.Hour)
	m.lastProfile = now.Truncate(30 * time.Minute)
	m.powerQualityVolts = 2300
	if d.Type.IsGas() {
		m.dailyReadAt = GasDailyReadTime
	}
	m.importWh = uint64(h % 10_000_000)
	m.tierWh[0] = m.importWh
}

// tierAt returns the TOU tier active at t.
func (m *meter) tierAt(t time.Time) int {
	if len(m.touStart) == 0 {
		// the TOU calendar's day profile in force (tiers from 1)
		if c := m.tou(); c != nil {
			if d := c.dayAt(t); d != nil && len(d.start) > 0 {
				now := uint16(t.Hour()*60 + t.Minute())
				tier := int(d.value[0])
				for i, s := range d.start {
					if s <= now {
						tier = int(d.value[i])
					}
				}
				return min(max(tier-1, 0), maxTiers-1)
			}
		}
		return 0
	}
	min := uint16(t.Hour()*60 + t.Minute())
	tier := int(m.touTier[len(m.touTier)-1])
	for i, s := range m.touStart {
		if s <= min {
			tier = int(m.touTier[i])
		}
	}
	if tier >= maxTiers {
		tier = maxTiers - 1
	}
	return tier
}

func (m *meter) blockIndex() int {
	if !m.blockMode {
		return 0
	}
	kwh := uint32(m.periodWh / 1000)
	i := 0
	for i < len(m.thresholds) && m.thresholds[i] != 0 && kwh >= m.thresholds[i] {
		i++
	}
	return i
}

// advance runs the meter from st.lastAdvance to now: consumption while
// supply is on and the power is present, tier and block registers, the
// balance in prepayment mode, half-hourly profile and daily reads, the
// low-credit and credit-exhausted behaviour.
func (d *Device) advance(now time.Time) {
	st := d.state()
	if !now.After(st.lastAdvance) {
		return
	}
	// future-dated instructions run at their time: the meter is advanced
	// to it first, so that what they change counts from then on
	for len(st.pending) > 0 {
		at, ok := st.nextDue(now)
		if !ok {
			break
		}
		d.advanceMeter(at)
		d.runPending(at)
	}
	d.advanceMeter(now)
}

// nextDue is the earliest time of a pending instruction due by now.
func (st *state) nextDue(now time.Time) (time.Time, bool) {
	var at time.Time
	found := false
	for _, p := range st.pending {
		if !p.at.After(now) && (!found || p.at.Before(at)) {
			at, found = p.at, true
		}
	}
	return at, found
}

func (d *Device) advanceMeter(now time.Time) {
	st := d.st
	if !now.After(st.lastAdvance) {
		return
	}
	m := &st.meter
	metering := d.Type.IsESME() || d.Type == GSME || d.Type == GPF
	t := st.lastAdvance
	for t.Before(now) {
		next := t.Truncate(30 * time.Minute).Add(30 * time.Minute)
		if next.After(now) {
			next = now
		}
		dt := next.Sub(t)
		if metering && m.supply == SupplyEnabled && !st.powerLost {
			mwh := uint64(m.rateWh)*uint64(dt/time.Millisecond)/3600 + m.fracMilliWh
			wh := mwh / 1000
			m.fracMilliWh = mwh % 1000
			tier := m.tierAt(t)
			blk := m.blockIndex()
			m.importWh += wh
			m.tierWh[tier] += wh
			m.blockWh[blk] += wh
			m.periodWh += wh
			m.reactiveWh += wh / 10
			if d.Type == ESMETwin {
				m.secondaryWh += wh / 4
			}
			price := m.price[tier]
			if m.blockMode {
				price = m.blockPrice[blk]
			}
			cost := int64(wh) * int64(price) / 1000 // milli-pence
			m.billToDate += cost
			if m.prepayment {
				d.spend(now, cost)
			}
		}
		if metering {
			d.recoverTimeDebt(t, next)
			if st.backfilling && m.prepayment && m.consumerTopUp > 0 {
				// the consumer tops up when the credit runs low
				for i := 0; i < 4 && m.balance < m.lowCreditWarning; i++ {
					d.creditAdded(next, m.consumerTopUp)
				}
			}
		}
		if metering {
			d.ongoingEvents(t, next)
		}
		if next.Equal(next.Truncate(30*time.Minute)) && metering {
			st.profile = appendProfile(st.profile, profileEntry{uint32(zclUTC(next)), uint32(m.importWh)}, 48*13)
		}
		// the gas daily read (Daily Read Log and Prepayment Daily Read
		// Log snapshots) at its time of day
		if b := next.Truncate(24 * time.Hour).Add(m.dailyReadAt); metering && t.Before(b) && !next.Before(b) {
			d.takeSnapshot(b, snapGeneral)
		}
		if next.Equal(next.Truncate(24*time.Hour)) && metering {
			st.daily = appendProfile(st.daily, profileEntry{uint32(zclUTC(next)), uint32(m.importWh)}, 731)
			if next.Day() == 1 {
				d.takeSnapshot(next, snapBillingPeriod)
			}
			m.billToDate += int64(m.standing) * 1000
			if m.prepayment {
				d.spend(now, int64(m.standing)*1000)
			}
		}
		t = next
	}
	st.lastAdvance = now
}

func appendProfile(l []profileEntry, e profileEntry, max int) []profileEntry {
	if len(l) >= max {
		copy(l, l[1:])
		l = l[:len(l)-1]
	}
	return append(l, e)
}

// spend takes cost from the balance; on low credit it raises the low
// credit alert once, and when credit and emergency credit are exhausted
// it disables the supply (with the supply-state alert).
func (d *Device) spend(now time.Time, cost int64) {
	m := &d.st.meter
	m.balance -= cost
	if m.balance < m.lowCreditWarning && !m.lowCreditAlerted {
		m.lowCreditAlerted = true
		d.raiseEvent(now, AlertLowCredit, nil)
	}
	if m.balance <= 0 && m.ecInUse {
		m.emergencyCredit += m.balance
		m.balance = 0
	}
	if m.balance <= 0 && (!m.ecInUse || m.emergencyCredit <= 0) && m.supply == SupplyEnabled {
		m.supply = SupplyDisabled
		d.raiseEvent(now, AlertSupplyDisabledCredit, nil)
	}
}

// topUp adds credit (milli-pence) and re-arms the supply if credit came
// back (SMETS2: the consumer then enables it).
func (d *Device) topUp(now time.Time, amount int64) {
	m := &d.st.meter
	m.balance += amount
	if m.balance >= m.lowCreditWarning {
		m.lowCreditAlerted = false
	}
	if m.supply == SupplyDisabled && m.balance > 0 && m.prepayment {
		m.supply = SupplyArmed
		d.raiseEvent(now, AlertSupplyArmed, nil)
	}
}
