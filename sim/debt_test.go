package sim

import (
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
)

func TestDebtRecovery(t *testing.T) {
	clock := NewManualClock(time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC))
	f, err := NewFleet(Options{Seed: 1, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.AddWithEUI(eui.MustParse("00-DB-12-34-56-78-90-A1"), GSME)
	if err != nil {
		t.Fatal(err)
	}
	d.InstallAs(40*24*time.Hour, Commissioning{Prepayment: true, Credit: 10_00, PaymentDebt: 100_00, PaymentDebtPercent: 1000,
		TimeDebt: [2]int64{50_00}, TimeDebtPerDay: [2]int64{1_00}, TopUp: 20_00})
	m := &d.st.meter
	// time debt 1: £1 a day at midnight for 40 days
	if got := m.debts.time[0]; got != (50_00-40_00)*1000 {
		t.Errorf("time debt 1 = %d milli-pence, want %d", got, (50_00-40_00)*1000)
	}
	// payment debt: 10 % of the first credit (£10) and of each £20 top-up
	l := m.debts.log
	if len(l) < 2 || l[0].amount != 1_00*1000 || l[1].amount != 2_00*1000 {
		t.Fatalf("debt log %+v", l)
	}
	for i := 1; i < len(l); i++ {
		if l[i].t.Before(l[i-1].t) || l[i].outstanding != l[i-1].outstanding-l[i].amount {
			t.Fatalf("debt log entry %d: %+v after %+v", i, l[i], l[i-1])
		}
	}
	if len(d.TakeAlerts()) != 0 {
		t.Errorf("backfilled history raised alerts")
	}
	// Change Debt: Type 3 incremental, Type 1 absolute
	m.changeDebt(named("payload", "zcl-payload", nil, named("debt-amount", "int32", int64(5_00)), named("debt-recovery-method", "enum8", uint64(1)),
		named("debt-amount-type", "enum8", uint64(5)), named("debt-recovery-balance-percentage", "uint16", uint64(2500))))
	if m.debts.payment != l[len(l)-1].outstanding+5_00*1000 || m.debts.paymentPct != 2500 {
		t.Errorf("payment debt %d pct %d", m.debts.payment, m.debts.paymentPct)
	}
	m.changeDebt(named("payload", "zcl-payload", nil, named("debt-amount", "int32", int64(7_00)), named("debt-amount-type", "enum8", uint64(0)),
		named("debt-recovery-amount", "int32", int64(10)), named("debt-recovery-frequency", "enum8", uint64(0))))
	if m.debts.time[0] != 7_00*1000 || m.debts.timeRate[0] != 10*1000 || m.debts.timeDaily[0] {
		t.Errorf("time debt 1 %d rate %d daily %v", m.debts.time[0], m.debts.timeRate[0], m.debts.timeDaily[0])
	}
}
