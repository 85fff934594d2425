package transform

import (
	"fmt"
	"strconv"
)

// Auxiliary load / controller state commands: ECS47 (7.5 activate, 7.6
// deactivate, 7.8 reset an ALCS / HCALCS), ECS47a (7.13 set auxiliary
// controller [n] state) and ECS47e (7.16 limit APC [n] level).
//
// All three end in the action IC9 0-0:10.0.103.255 m1 (ECS47e: the APC
// script table 0-0:10.0.107.255) whose long-unsigned parameter is the script
// selector "controllerNumberAndCommandedState" of GBCS 7.3.6.1. That
// section is not among the sources; the encodings below are inferred from
// the annex and every RTDS command of the family (docs/transform.md,
// "Auxiliary controllers").

// auxScriptTable is the auxiliary controller script table of ECS47 / ECS47a
// and of the auxiliary controller calendar's entries (annex ECS46d row 783,
// constant 0x00000A0067FF); auxAPCScriptTable is ECS47e's (row 1993).
const (
	auxScriptTable    = "0-0:10.0.103.255"
	auxAPCScriptTable = "0-0:10.0.107.255"
)

// auxObis is controller n's IC1 object 0-0:94.44.(116+n).e (annex ECS47a
// rows 50–64: e 1 setting period start, 2 end; ECS47e rows 1983–1992: 3
// limit period start, 4 end).
func auxObis(n, e int) string { return fmt.Sprintf("0-0:94.44.%d.%d", 116+n, e) }

// auxController reads the auxiliaryControllerN / index attribute at path
// (sr:range_1_5).
func (c *ctx) auxController(path string) (int, error) {
	s, err := c.need(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 5 {
		return 0, c.errf("%s %q is not 1..5", path, s)
	}
	return n, nil
}

// auxSelector is controllerNumberAndCommandedState of the newer auxiliary
// controller use cases (ECS47a, ECS47e, and with bit 7 set ECS46d): high
// octet direction nibble ‖ controller number nibble, direction 1 output, 2
// input (InputFromControlledLoad present); low octet the commanded level
// 0..100. The nibbles are the annex's own rule for the apcDirectionAndNumber
// octet of the ECS101 alert ("0x1 (indicating output), or 0x2 (indicating
// input) and the least significant shall be 0xn"), the level is its
// resultingLevel 'p' / 'q' of GBCS 7.3.6.1; RTDS: controller 5 at 100
// output 0x1564, controller 1 at 0 output 0x1100, controller 3 at 50 input
// 0x2332 (six ECS47a, three ECS47e commands). p is the path prefix of the action
// ("" or "…/AuxiliaryControllerAction/").
func (c *ctx) auxSelector(p string) (uint16, error) {
	n, err := c.auxController(p + "AuxiliaryControllerN")
	if err != nil {
		return 0, err
	}
	lv, err := c.uint(p+"CommandedStateLevel", 8)
	if err != nil {
		return 0, err
	}
	if lv > 100 {
		return 0, c.errf("%sCommandedStateLevel %d is not 0..100", p, lv)
	}
	dir := 1
	if c.has(p + "InputFromControlledLoad") {
		dir = 2
	}
	return uint16(dir<<12 | n<<8 | int(lv)), nil
}

// auxState is ECS47a / ECS47e: the controller's period start and end
// date-times (only controller n's rows: the annex's "always present where
// the 'controllerNumber' … is n and never present otherwise"), start before
// end as the annex orders them, then the script selector.
func (c *ctx) auxState(eStart int, table string) ([]byte, error) {
	n, err := c.auxController("AuxiliaryControllerN")
	if err != nil {
		return nil, err
	}
	var items []item
	for i, f := range []string{"StartDateTime", "EndDateTime"} {
		s, err := c.need(f)
		if err != nil {
			return nil, err
		}
		t, err := parseTime(s)
		if err != nil {
			return nil, c.errf("%s: %v", f, err)
		}
		items = append(items, set(1, auxObis(n, eStart+i), 2, octets(dlmsDateTime(t))))
	}
	sel, err := c.auxSelector("")
	if err != nil {
		return nil, err
	}
	return c.accessRequest(append(items, action(9, table, 1, longU(sel)))...)
}

// ecs47Actions are the low octets of the older ECS47 selector (high octet:
// the switch number, no direction nibble) and the E group of the duration
// object 0-0:94.44.(116+n).E, per SRV. No annex table on this machine;
// inferred from RTDS (7.5 switch 1 → …117.1 and 0x0111, 7.6 switch 3 →
// …119.2 and 0x0312, 7.8 switch 5 → 0x0520, each repeated in the SRV's
// ERROR command). The activate / deactivate codes are the ECS46c calendar's
// 1 / 2 with 0x10 set; reset carries no duration.
var ecs47Actions = map[string]struct {
	elem   string
	code   uint16
	durE   int
	hasDur bool
}{
	"7.5": {"ActivateALCSHCALCS", 0x11, 1, true},
	"7.6": {"DeactivateALCSHCALCS", 0x12, 2, true},
	"7.8": {"ResetALCSHCALCS", 0x20, 0, false},
}

func init() {
	// 7.5 / 7.6: set the switch's duration (long-unsigned, the request's
	// xs:unsignedShort), then the script; 7.8: the script only.
	builders["ECS47"] = func(c *ctx) ([]byte, error) {
		a, ok := ecs47Actions[c.srv.Variant]
		if !ok {
			return nil, c.unsupported("ECS47 for SRV " + c.srv.Variant)
		}
		n, err := c.auxController(a.elem + "/Index")
		if err != nil {
			return nil, err
		}
		var items []item
		if a.hasDur {
			d, err := c.uint(a.elem+"/Duration", 16)
			if err != nil {
				return nil, err
			}
			items = append(items, set(1, auxObis(n, a.durE), 2, longU(uint16(d))))
		}
		return c.accessRequest(append(items, action(9, auxScriptTable, 1, longU(uint16(n)<<8|a.code)))...)
	}
	builders["ECS47a"] = func(c *ctx) ([]byte, error) { return c.auxState(1, auxScriptTable) }
	builders["ECS47e"] = func(c *ctx) ([]byte, error) { return c.auxState(3, auxAPCScriptTable) }
}
