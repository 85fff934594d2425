package sim

import (
	"fmt"
	"strings"
)

// Type is a kind of simulated SMETS2 device.
type Type uint8

// Device types. ESME comes in three variants; the IHD is a HAN-only device
// (it has no GBCS identity of its own that the DCC addresses).
const (
	TypeUnknown Type = iota
	ESME             // single element electricity meter
	ESMETwin         // twin element ESME
	ESMEPoly         // polyphase ESME
	GSME             // gas meter
	CHF              // communications hub function
	GPF              // gas proxy function
	PPMID            // prepayment interface device
	HCALCS           // HAN-connected auxiliary load control switch
	IHD              // in-home display (HAN only)
	numTypes
)

var typeNames = [numTypes]string{"unknown", "ESME", "ESME-twin", "ESME-poly", "GSME", "CHF", "GPF", "PPMID", "HCALCS", "IHD"}

// String returns the type's name.
func (t Type) String() string {
	if t < numTypes {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", t)
}

// Types lists the device types, in order.
func Types() []Type {
	return []Type{ESME, ESMETwin, ESMEPoly, GSME, CHF, GPF, PPMID, HCALCS, IHD}
}

// ParseType reads a type name (case-insensitive; "twin" and "poly" are
// accepted for the ESME variants).
func ParseType(s string) (Type, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for t := ESME; t < numTypes; t++ {
		if strings.ToLower(typeNames[t]) == s {
			return t, nil
		}
	}
	switch s {
	case "twin", "esme_twin", "esmetwin":
		return ESMETwin, nil
	case "poly", "polyphase", "esme_poly", "esmepoly":
		return ESMEPoly, nil
	}
	return TypeUnknown, fmt.Errorf("sim: unknown device type %q", s)
}

// IsESME reports whether t is one of the ESME variants.
func (t Type) IsESME() bool { return t == ESME || t == ESMETwin || t == ESMEPoly }

// IsGas reports whether t speaks GBZ (GSME and GPF).
func (t Type) IsGas() bool { return t == GSME || t == GPF }

// HANOnly reports whether the DCC never addresses t over the WAN.
func (t Type) HANOnly() bool { return t == IHD }

// Elements is the number of measuring elements (twin: 2, polyphase: 3).
func (t Type) Elements() int {
	switch t {
	case ESMETwin:
		return 2
	case ESMEPoly:
		return 3
	}
	return 1
}

// Matches reports whether the annex's target text names a device of type t
// ("ESME", "GPF (primary…); GSME (Supplier only)", "rtds:CHF; ESME", "All",
// "ZigBee Device", "SAPC…").
func (t Type) Matches(target string) bool {
	up := strings.ToUpper(target)
	switch {
	case strings.Contains(up, "ALL"):
		return true
	case strings.Contains(up, "ZIGBEE DEVICE"):
		return t != CHF
	}
	name := strings.ToUpper(t.String())
	if t.IsESME() {
		name = "ESME"
	}
	return strings.Contains(up, name)
}
