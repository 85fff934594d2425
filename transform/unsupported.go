package transform

// unsupportedWhy says, for use cases without a builder, why the sources do
// not determine their payload (the reason of the UnsupportedError).
var unsupportedWhy = map[string]string{}

func init() {
	asn := func(sec string) string {
		return "ASN.1 payload: the annex points to GBCS " + sec + ", not among the sources"
	}
	// CS03: SEQUENCE { join method INTEGER, other device EUI, other device
	// type INTEGER [, certificate] } (RTDS). The other device's type is an
	// inventory fact not in the request, and its INTEGER codes are not in
	// the sources (RTDS shows 0 for a GSME, 1 for an ESME, 3 for a Type 2
	// device, 4 for a PPMID or HCALCS; the simulator's table differs); on a
	// PPMID or GSME the method (A2/C, B/C) depends on that type too.
	join := "ASN.1 payload: the other device type INTEGER (GBCS 13.7) needs the other device's inventory type and the code table, not among the sources"
	for uc, r := range map[string]string{
		"CS02c":  asn("13.4"),
		"CS03A1": join + "; RTDS joins 00-DB-12-34-56-78-90-9A with 4, and no source says whether it is a PPMID or an HCALCS",
		"CS03A2": join, "CS03B": join,
		"CS03C":  join + "; the command also carries the other device's certificate, which the request does not (RTDS carries device 00-DB-12-34-56-78-90-A1's certificate to join 00-DB-12-34-56-78-90-94)",
		"CS04B":  asn("13.7"),
		"GCS59":  "ASN.1 payload: SEQUENCE OF {EUI, device type INTEGER} of the old GPF's device log — neither the log nor the device-type codes are in the request or the sources (RTDS: 00112233… 5, 8899AABB… 6)",
		"ECS02":  "suspend-debt flags (IC111 credit_charge_configuration) are GBCS 18.2.1, not among the sources",
		"ECS03":  "suspend-debt flags (IC111 credit_charge_configuration) are GBCS 18.2.1, not among the sources",
		"ECS08":  "non-disablement calendar: START/STOP script selectors and the debt-recovery cap period are not in the sources",
		"ECS08a": "non-disablement calendar: START/STOP script selectors and the debt-recovery cap period are not in the sources",
		"ECS46c": "the annex on this machine has no DLMS table for ECS46c",
		"ECS46d": "auxiliary controller calendar: script selectors are GBCS 7.3.6.1, not among the sources",
		"ECS47":  "controllerNumberAndCommandedState is GBCS 7.3.6.1, not among the sources",
		"ECS47a": "controllerNumberAndCommandedState is GBCS 7.3.6.1, not among the sources",
		"ECS47e": "controllerNumberAndCommandedState is GBCS 7.3.6.1, not among the sources",
		"ECS61a": "the annex on this machine has no DLMS table for ECS61a",
		"ECS26d": "the annex on this machine has no DLMS table for this older version (ECS26l has one)",
		"ECS26e": "the annex on this machine has no DLMS table for this older version (ECS26m has one)",
		"ECS26i": "the annex on this machine has no DLMS table for this older version (ECS26n has one)",
		"ECS35f": "the annex on this machine has no DLMS table for this older version (ECS35g has one)",
		"CCS03":  "restore_PAN: the request names only the old CHF; extended PAN ID and hashed TC link keys are not in it",
		"GCS21d": "the annex template is not found under this name (older version; GCS21k has one)",
		"GCS21e": "the annex template is not found under this name (older version; GCS21m has one)",
		"GCS24":  "the annex template is not found under this name (GCS24a has one)",
	} {
		unsupportedWhy[uc] = r
	}
}
