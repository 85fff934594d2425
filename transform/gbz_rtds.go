package transform

import "slices"

// GBZ use cases the annex on this machine has no message template for
// (older versions of mapped use cases): their payload is the newer
// sibling's annex template, changed only where every RTDS command of the
// use case shows it ("rules taken from RTDS", docs/transform.md).
//
//   - GCS21d (6.2.3, 0x009D): GCS21k's Get Billing Period, unchanged (RTDS
//     GCS21d equals RTDS GCS21k but for the message code).
//   - GCS21e (6.2.4, 0x009E): GCS21m's two Read Attributes with a third
//     Basic attribute 0x0003 after ManufacturerName 0x0004 and
//     ModelIdentifier 0x0005 (RTDS GCS21e: Basic 4, 5, 3; Metering 0x0608,
//     0x0607).
//   - GCS24 (6.7, 0x007D, the integer UncontrolledGasFlowRate): GCS24a's
//     Set Uncontrolled Flow Threshold and Set Supply Status with Divisor 1
//     instead of 10000 and the threshold the request's integer (RTDS GCS24:
//     61680 → F0F0, divisor 0x0001; otherwise equal to RTDS GCS24a).
func init() {
	clone := func(name string) []gbzComponent {
		src, ok := gbzTemplates[name]
		if !ok {
			panic("transform: no annex template " + name)
		}
		out := make([]gbzComponent, len(src))
		for i, c := range src {
			c.fields = slices.Clone(c.fields)
			out[i] = c
		}
		return out
	}
	build := func(tmpl []gbzComponent) func(c *ctx) ([]byte, error) {
		return func(c *ctx) ([]byte, error) { return c.gbzBuild(tmpl) }
	}

	builders["GCS21d"] = build(clone("GCS21k"))

	e := clone("GCS21m")
	if len(e) != 2 || e[0].cluster != 0x0000 || len(e[0].fields) != 2 {
		panic("transform: GCS21m template changed")
	}
	e[0].fields = append(e[0].fields, gbzField{"Attribute Identifier (ENUM16)", 2, []byte{0x03, 0x00}})
	builders["GCS21e"] = build(e)

	g := clone("GCS24a")
	n := 0
	for i := range g {
		for j, f := range g[i].fields {
			if f.name == "Divisor (UINT16)" {
				g[i].fields[j].value = []byte{0x01, 0x00}
				n++
			}
		}
	}
	if n != 1 {
		panic("transform: GCS24a template changed")
	}
	builders["GCS24"] = build(g)
	gbzFields["GCS24"] = map[string]gbzResolver{}
	for k, v := range gbzFields["GCS24a"] {
		gbzFields["GCS24"][k] = v
	}
	gbzFields["GCS24"]["Uncontrolled Flow Threshold (UINT16)"] = uintAt("UncontrolledGasFlowRate", 2)
}
