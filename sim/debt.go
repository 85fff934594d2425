package sim

import (
	"time"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Debt registers (SMETS2 Time Debt Registers [1..2] and Payment Debt
// Register; ZSE debt types 1, 2 and 3) and their recovery, in prepayment
// mode only:
//
//   - time-based: DebtRecoveryRates[i] (amount per hour or per day, daily at
//     the collection time, minutes after midnight UTC) taken from the meter
//     balance until the register is clear;
//   - payment-based: DebtRecoveryperPayment, a share (in 0.01 %) of each
//     credit added (top-up), recorded in the Billing Data Log (most recent
//     payment-based debt repayments, 10 entries) that GCS15d / ECS20a read
//     (ZSE Get Debt Repayment Log → Publish Debt Log).
type debts struct {
	time        [2]int64 // milli-pence outstanding
	timeRate    [2]int64 // milli-pence per period
	timeDaily   [2]bool  // period: day (else hour)
	timeCollect [2]uint16
	payment     int64  // milli-pence outstanding
	paymentPct  uint16 // 0.01 % of each credit added
	log         []debtRepayment
}

// debtRepayment is a Billing Data Log entry of a payment-based recovery.
type debtRepayment struct {
	t           time.Time
	amount      int64 // milli-pence recovered
	outstanding int64 // Payment Debt Register after it
}

// ZSE debt types.
const (
	debtType1 = 0 // Time Debt Register [1]
	debtType2 = 1 // Time Debt Register [2]
	debtType3 = 2 // Payment Debt Register
)

// maxDebtLog is the number of payment-based repayments the Billing Data Log
// keeps (annex GCS15d / ECS20a: logEntries[1..10]).
const maxDebtLog = 10

// changeDebt executes ZSE Change Debt (GCS04 / ECS07 Manage Debt): debt
// amount type 0/1 Type 1 absolute/incremental, 2/3 Type 2, 4/5 Type 3
// (payment debt); recovery method 0 time-based (amount per frequency,
// 0 hourly 1 daily, at the collection time), 1 payment-based (balance
// percentage).
func (m *meter) changeDebt(pl *tree.Node) {
	amount := childInt(pl, "debt-amount") * 1000
	typ := childUint(pl, "debt-amount-type")
	reg := int(typ / 2)
	if reg > 2 {
		return
	}
	set := func(p *int64) {
		if typ%2 == 0 {
			*p = amount
		} else {
			*p += amount
		}
		*p = max(*p, 0)
	}
	if reg < 2 {
		set(&m.debts.time[reg])
	} else {
		set(&m.debts.payment)
	}
	switch childUint(pl, "debt-recovery-method") {
	case 0:
		if reg < 2 {
			m.debts.timeRate[reg] = childInt(pl, "debt-recovery-amount") * 1000
			m.debts.timeDaily[reg] = childUint(pl, "debt-recovery-frequency") == 1
			m.debts.timeCollect[reg] = uint16(childUint(pl, "debt-recovery-collection-time") % 1440)
		}
	case 1:
		m.debts.paymentPct = uint16(min(childUint(pl, "debt-recovery-balance-percentage"), 10000))
	}
}

// recoverTimeDebt takes the time-based recoveries due in (t, next] from the
// balance (prepayment mode).
func (d *Device) recoverTimeDebt(t, next time.Time) {
	m := &d.st.meter
	if !m.prepayment {
		return
	}
	for i := range m.debts.time {
		if m.debts.time[i] <= 0 || m.debts.timeRate[i] <= 0 {
			continue
		}
		due := next.Truncate(time.Hour)
		if m.debts.timeDaily[i] {
			due = next.Truncate(24 * time.Hour).Add(time.Duration(m.debts.timeCollect[i]) * time.Minute)
		}
		if !t.Before(due) || next.Before(due) {
			continue
		}
		c := min(m.debts.timeRate[i], m.debts.time[i])
		m.debts.time[i] -= c
		d.spend(next, c)
	}
}

// creditAdded applies a top-up (UTRN or consumer credit, milli-pence): in
// prepayment mode the payment-based debt recovery takes its share first and
// is logged, the rest goes to the balance.
func (d *Device) creditAdded(now time.Time, amount int64) {
	m := &d.st.meter
	if m.prepayment && m.debts.payment > 0 && m.debts.paymentPct > 0 && amount > 0 {
		r := min(amount*int64(m.debts.paymentPct)/10000, m.debts.payment)
		m.debts.payment -= r
		amount -= r
		if len(m.debts.log) >= maxDebtLog {
			copy(m.debts.log, m.debts.log[1:])
			m.debts.log = m.debts.log[:len(m.debts.log)-1]
		}
		m.debts.log = append(m.debts.log, debtRepayment{now, r, m.debts.payment})
	}
	d.topUp(now, amount)
}

// publishDebtLog answers Get Debt Repayment Log: the payment-based
// repayments (debt type 2, or 0xFF any) in [from, latest end] (the GBZ
// From Date Time; latest end 0xFFFFFFFE or 0: now), oldest first, at most
// the number asked (the annex: up to 10); NOT_FOUND when none.
func (x *exec) publishDebtLog(cid byte, from uint64, pl *tree.Node) (byte, byte, *tree.Node) {
	to := childUint(pl, "latest-end-time")
	if to == 0 || to >= 0xFFFFFFFE {
		to = zclUTC(x.d.fleet.clock.Now())
	}
	typ := childUint(pl, "debt-type")
	n := int(childUint(pl, "number-of-debts"))
	if n == 0 || n > maxDebtLog {
		n = maxDebtLog
	}
	ents := named("debt-payload", "entries", nil)
	if typ == debtType3 || typ == 0xFF {
		for _, e := range x.st.meter.debts.log {
			if t := zclUTC(e.t); t >= from && t <= to && len(ents.Children) < n {
				ents.Add(nd("entry", nil, named("collection-time", "UTC", t), named("amount-collected", "uint32", uint64(e.amount/1000)),
					named("debt-type", "enum8", uint64(debtType3)), named("outstanding-debt", "uint32", uint64(e.outstanding/1000))))
			}
		}
	}
	if len(ents.Children) == 0 {
		return defaultResponse(cid, zclNotFound)
	}
	return 0x19, 0x06, named("payload", "zcl-payload", nil,
		named("command-index", "uint8", uint64(0)), named("total-number-of-commands", "uint8", uint64(1)), ents)
}

// Commissioning is how an installer commissions a meter (InstallAs): its
// payment mode and, in prepayment, the consumer's first credit and the
// debts the supplier transfers onto it with their recovery. While its
// history is backfilled the consumer of a prepayment meter tops up when the
// credit runs low (TopUp, or a seeded £10–£30).
type Commissioning struct {
	Prepayment         bool
	Credit             int64    // pence: the first top-up (0: seeded £5–£15)
	PaymentDebt        int64    // pence, recovered from each top-up
	PaymentDebtPercent uint16   // 0.01 % of each top-up
	TimeDebt           [2]int64 // pence
	TimeDebtPerDay     [2]int64 // pence a day, collected at midnight
	TopUp              int64    // pence (0: seeded)
}
