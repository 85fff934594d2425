package dlms

import (
	"fmt"
	"strconv"
)

// OBIS renders a 6-byte COSEM logical name as a-b:c.d.e.f.
func OBIS(b []byte) string {
	if len(b) != 6 {
		return ""
	}
	// fmt.Sprintf's output, without its reflection (the simulated
	// devices name every attribute they decode).
	out := make([]byte, 0, 23)
	for i, sep := range [6]byte{'-', ':', '.', '.', '.', 0} {
		out = strconv.AppendUint(out, uint64(b[i]), 10)
		if sep != 0 {
			out = append(out, sep)
		}
	}
	return string(out)
}

// classNames are the DLMS/COSEM interface classes GBCS uses (Blue Book
// names; 9000 is the GBCS-specific Extended Data class).
var classNames = map[uint16]string{
	1:    "Data",
	3:    "Register",
	4:    "Extended Register",
	5:    "Demand Register",
	7:    "Profile Generic",
	8:    "Clock",
	9:    "Script Table",
	10:   "Schedule",
	11:   "Special Days Table",
	15:   "Association LN",
	20:   "Activity Calendar",
	21:   "Register Monitor",
	22:   "Single Action Schedule",
	30:   "Data Protection",
	64:   "Security Setup",
	70:   "Disconnect Control",
	71:   "Limiter",
	104:  "ZigBee Network Control",
	111:  "Account",
	112:  "Credit",
	113:  "Charge",
	115:  "Token Gateway",
	9000: "Extended Data (GBCS)",
}

// ClassName names a COSEM interface class ("" if unknown).
func ClassName(id uint16) string { return classNames[id] }

// Data-Access-Result values (get and set results).
var dataAccessResults = map[uint8]string{
	0:   "success",
	1:   "hardware-fault",
	2:   "temporary-failure",
	3:   "read-write-denied",
	4:   "object-undefined",
	9:   "object-class-inconsistent",
	11:  "object-unavailable",
	12:  "type-unmatched",
	13:  "scope-of-access-violated",
	14:  "data-block-unavailable",
	15:  "long-get-aborted",
	16:  "no-long-get-in-progress",
	17:  "long-set-aborted",
	18:  "no-long-set-in-progress",
	19:  "data-block-number-invalid",
	250: "other-reason",
}

// Action-Result values.
var actionResults = map[uint8]string{
	0:   "success",
	1:   "hardware-fault",
	2:   "temporary-failure",
	3:   "read-write-denied",
	4:   "object-undefined",
	9:   "object-class-inconsistent",
	11:  "object-unavailable",
	12:  "type-unmatched",
	13:  "scope-of-access-violated",
	14:  "data-block-unavailable",
	15:  "long-action-aborted",
	16:  "no-long-action-in-progress",
	250: "other-reason",
}

// DataAccessResultName names a get/set result code.
func DataAccessResultName(v uint8) string {
	if s, ok := dataAccessResults[v]; ok {
		return s
	}
	return fmt.Sprintf("result-%d", v)
}

// ActionResultName names an action result code.
func ActionResultName(v uint8) string {
	if s, ok := actionResults[v]; ok {
		return s
	}
	return fmt.Sprintf("result-%d", v)
}

type objectKey struct {
	class uint16
	obis  [6]byte
	kind  byte // 'A' attribute, 'M' method, 0 the object itself
	id    uint8
}

// ObjectName names a COSEM object, and its attribute or method when the
// GBCS use-case annex lists it: "ImportRegisterCollection", or
// "TariffSwitchingTable.calendar_name_passive". Empty when unknown.
func ObjectName(class uint16, obis []byte, method bool, id uint8) string {
	if len(obis) != 6 {
		return ""
	}
	k := objectKey{class: class}
	copy(k.obis[:], obis)
	obj := objectNames[k]
	k.kind, k.id = 'A', id
	if method {
		k.kind = 'M'
	}
	member := objectNames[k]
	switch {
	case obj == "":
		return ""
	case member == "":
		return obj
	default:
		return obj + "." + member
	}
}
