package transform

import "fmt"

func init() {
	// 2.3 manage debt on the ESME (annex ECS07, IC113 Account-style
	// charges 0-0:19.20.1/2/3.255): the two time-debt recovery rates as
	// unit_charge_passive {{0, price scale}, {0, 00…00, 0}, [{"", rate}]},
	// the debt recovery per payment proportion, the rates' period in
	// seconds (HOURLY 3600, DAILY 86400), activate_passive_unit_charge(0) on
	// both, then update_total_amount_remaining of payment debt, time debt
	// 1 and time debt 2.
	builders["ECS07"] = func(c *ctx) ([]byte, error) {
		const g = "ElecDebtRecovery1Group/ElecDebtRecovery"
		var charges, periods []item
		for i := 1; i <= 2; i++ {
			p := fmt.Sprintf("%s%d/", g, i)
			o := fmt.Sprintf("0-0:19.20.%d.255", i)
			rate, err := c.sint(p+"DebtRecoveryRate", 16)
			if err != nil {
				return nil, err
			}
			scale, err := c.sint(p+"DebtRecoveryRatePriceScale", 8)
			if err != nil {
				return nil, err
			}
			per, err := c.need(p + "DebtRecoveryRatePeriod")
			if err != nil {
				return nil, err
			}
			secs, ok := map[string]uint32{"HOURLY": 3600, "DAILY": 86400}[per]
			if !ok {
				return nil, c.errf("%sDebtRecoveryRatePeriod %q", p, per)
			}
			charges = append(charges, set(113, o, 6, structure(
				structure(integer(0), integer(int8(scale))),
				structure(longU(0), octets(make([]byte, 6)), integer(0)),
				array(structure(octets(nil), long(int16(rate)))))))
			periods = append(periods, set(113, o, 8, dlu(secs)))
		}
		prop, err := c.uint("DebtRecoveryPerPayment", 16)
		if err != nil {
			return nil, err
		}
		items := append(charges, set(113, "0-0:19.20.3.255", 13, longU(uint16(prop))))
		items = append(items, periods...)
		items = append(items, action(113, "0-0:19.20.1.255", 2, integer(0)), action(113, "0-0:19.20.2.255", 2, integer(0)))
		for _, r := range []struct{ field, obis string }{
			{"PaymentDebtRegister", "0-0:19.20.3.255"}, {"TimeDebtRegister1", "0-0:19.20.1.255"}, {"TimeDebtRegister2", "0-0:19.20.2.255"},
		} {
			v, err := c.sint(r.field, 32)
			if err != nil {
				return nil, err
			}
			items = append(items, action(113, r.obis, 4, doubleLong(int32(v))))
		}
		return c.accessRequest(items...)
	}
}
