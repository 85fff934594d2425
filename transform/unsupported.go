package transform

// unsupportedWhy says, for use cases without a builder, why the sources do
// not determine their payload (the reason of the UnsupportedError).
var unsupportedWhy = map[string]string{}

func init() {
	asn := func(sec string) string {
		return "ASN.1 payload: the annex points to GBCS " + sec + ", not among the sources"
	}
	for uc, r := range map[string]string{
		"CS02c":  asn("13.4"),
		"CS04B":  asn("13.7"),
		"ECS03":  "suspend-debt flags: their encoding in IC111 credit_charge_configuration (which entries or collection bits SuspendDebtDisabled / SuspendDebtEmergency change) is GBCS 18.2.1, not among the sources, and no RTDS ECS03 command shows it (ECS26a reads one prepayment configuration without the flags it encodes; ECS02's credit value is mapped)",
		"ECS08":  "the annex on this machine has no DLMS table for this older version (ECS08a has one)",
		"ECS26d": "the annex on this machine has no DLMS table for this older version (ECS26l has one)",
		"ECS26e": "the annex on this machine has no DLMS table for this older version (ECS26m has one)",
		"ECS26i": "the annex on this machine has no DLMS table for this older version (ECS26n has one)",
		"ECS35f": "the annex on this machine has no DLMS table for this older version (ECS35g has one)",
	} {
		unsupportedWhy[uc] = r
		// a reason overrides the builder of the generated annex template,
		// which would only name the first field without a mapping
		delete(builders, uc)
	}
}
