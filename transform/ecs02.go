package transform

// 1.6 Update Payment Mode to Credit on the ESME (ECS02, annex table of
// 0x001A): IC111 Account 0-1:19.0.0.255 a2 account_mode_and_status
// {payment_mode 1 credit, account_status 1}, a11 credit_charge_configuration,
// a13 account_activation_time.
//
// credit_charge_configuration is EXCEPTIONAL in the annex ("see GBCS 18.2.1
// for the 5 values allowed"), and GBCS 18.2.1 is not among the sources. The
// rule used here is inferred from every RTDS ECS02 command (SINGLE and TWIN)
// and the ESME's prepayment configuration as RTDS ECS26a reads it:
//
//   - the array is the Blue Book {credit_reference, charge_reference,
//     collection_configuration bit-string(3)} per charge that accrues in
//     credit mode, all against the meter balance 0-0:19.10.0.255;
//   - the charges are the primary price matrix 0-0:19.20.0.255 and the
//     standing charge 0-0:19.20.4.255, then on a twin-element ESME the
//     secondary price matrix 0-0:19.20.5.255 (RTDS SINGLE: 2 entries, TWIN:
//     3 — the device variant decides, the request has no value for it);
//   - collection_configuration 111 (Blue Book: collect when disconnected, in
//     load limiting and in friendly-credit periods), as every RTDS entry: the
//     suspend-debt flags are prepayment settings (DUIS carries them only
//     under Prepayment, and 18.2.1 has one credit value — GCS02's single
//     credit Payment Control Configuration), and no debt charge is in the
//     credit-mode array for them to act on.
var ecs02Charges = []string{"0-0:19.20.0.255", "0-0:19.20.4.255"}

// ecs02Secondary is the twin element's secondary price matrix.
const ecs02Secondary = "0-0:19.20.5.255"

// meterBalance is the IC112 credit every credit-mode charge is paid from.
const meterBalance = "0-0:19.10.0.255"

func init() {
	builders["ECS02"] = func(c *ctx) ([]byte, error) {
		if !c.has("Credit") {
			return nil, c.errf("ECS02 needs Credit")
		}
		charges := ecs02Charges
		if c.dev.Variant == TwinElement {
			charges = append(charges[:len(charges):len(charges)], ecs02Secondary)
		}
		var cfg []data
		for _, ch := range charges {
			cfg = append(cfg, structure(octets(obis(meterBalance)), octets(obis(ch)), bitString([]bool{true, true, true})))
		}
		at, err := c.activation()
		if err != nil {
			return nil, err
		}
		const acct = "0-1:19.0.0.255"
		return c.accessRequest(
			set(111, acct, 2, structure(enum(1), enum(1))),
			set(111, acct, 11, array(cfg...)),
			set(111, acct, 13, octets(at)))
	}
}
