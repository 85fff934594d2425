package transform

import (
	"errors"
	"fmt"
	"slices"

	"github.com/opendcc/opendcc/gbcs"
)

// ErrAmbiguous is wrapped when the SRV has several use cases for the device
// type that differ only by the device's GBCS version (e.g. ECS26d and
// ECS26l), which the request does not show: the DCC's inventory must name
// the one the device supports in DeviceInfo.UseCases.
var ErrAmbiguous = errors.New("transform: use case depends on the device's GBCS version")

func has(cands []*gbcs.UseCase, name string) bool {
	for _, u := range cands {
		if u.Name == name {
			return true
		}
	}
	return false
}

// versioned picks among version variants of one use case with the device's
// supported list.
func (c *ctx) versioned(cands []*gbcs.UseCase, names ...string) (string, error) {
	var avail []string
	for _, n := range names {
		if has(cands, n) {
			avail = append(avail, n)
		}
	}
	if len(avail) == 1 {
		return avail[0], nil
	}
	// newest first: a device that lists several variants (the DCC's
	// default, docs/processing.md) gets the one of the latest GBCS version
	for i := len(avail) - 1; i >= 0; i-- {
		if slices.Contains(c.dev.UseCases, avail[i]) {
			return avail[i], nil
		}
	}
	if len(avail) == 0 {
		return "", fmt.Errorf("%w: SRV %s: none of %v applies to %s", ErrDeviceType, c.srv.Variant, names, c.dev.Type)
	}
	return "", fmt.Errorf("%w: SRV %s: one of %v (set DeviceInfo.UseCases)", ErrAmbiguous, c.srv.Variant, avail)
}

func (c *ctx) poly() bool { return c.dev.Variant == Polyphase }

func init() {
	// 1.5 Update Meter Balance: adjust or reset, prepayment or credit mode
	// (the GCS40x titles; correlate's mapping).
	choosers["1.5"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		adjust := c.has("PrepaymentMode/AdjustMeterBalance") || c.has("CreditMode/AdjustMeterBalance")
		credit := c.has("CreditMode")
		if c.dev.Type == ESME {
			if adjust {
				return "ECS04a", nil
			}
			return "ECS04b", nil
		}
		switch {
		case !credit && adjust:
			return "GCS40a", nil
		case !credit:
			return "GCS40b", nil
		case adjust:
			return "GCS40c", nil
		}
		return "GCS40d", nil
	}
	// 1.6 Update Payment Mode: Credit → ECS02/GCS02, Prepayment → ECS03/GCS03.
	choosers["1.6"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		p := "E"
		if c.dev.Type != ESME {
			p = "G"
		}
		if c.has("Credit") {
			return p + "CS02", nil
		}
		return p + "CS03", nil
	}
	choosers["2.1"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.dev.Type == ESME {
			return c.versioned(cands, "ECS08", "ECS08a")
		}
		return "GCS05", nil
	}
	// 3.3 Clear Event Log: ESMEEventLogType ESME / ALCS; ZigBee devices CS11.
	choosers["3.3"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.dev.Type != ESME {
			return "CS11", nil
		}
		if s, _ := c.str("ESMEEventLogType"); s == "ALCS" {
			return "ECS15c", nil
		}
		return "ECS15a", nil
	}
	choosers["4.10"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.dev.Type != ESME {
			return "GCS18", nil
		}
		if c.poly() {
			return "ECS23b", nil
		}
		return "ECS23", nil
	}
	choosers["4.18"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.dev.Type == ESME {
			return "ECS82", nil
		}
		return c.versioned(cands, "GCS60", "GCS60a")
	}
	// 8.8.2 Unjoin (non-critical) on a GSME: CS04B is Method B, the
	// GSME–GPF pairing (as Join Method B, CS03B, in join.go); every other
	// device is unjoined from a GSME by CS04AC (Method A or C), as from
	// the other device types, whose only candidate it is. A device the
	// inventory does not know is not the GSME's GPF: CS04AC.
	choosers["8.8.2"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.dev.Type == GSME && has(cands, "CS04B") {
			other, err := c.eui("OtherDeviceID")
			if err != nil {
				return "", err
			}
			if c.opts.OtherDeviceType != nil {
				if t, ok := c.opts.OtherDeviceType(other); ok && t == GPF {
					return "CS04B", nil
				}
			}
		}
		return "CS04AC", nil
	}
	choosers["6.2.1"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.poly() {
			return "ECS26k", nil
		}
		return "ECS26b", nil
	}
	choosers["6.2.3"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.dev.Type == ESME {
			return c.versioned(cands, "ECS26d", "ECS26l")
		}
		return c.versioned(cands, "GCS21d", "GCS21k")
	}
	choosers["6.2.4"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		switch c.dev.Type {
		case ESME:
			return c.versioned(cands, "ECS26e", "ECS26m")
		case CHF:
			return c.versioned(cands, "ECS26i", "ECS26n")
		}
		return c.versioned(cands, "GCS21e", "GCS21m")
	}
	// 6.2.10: the ESME has one read per remote party (ECS25r1 Supplier,
	// ECS25r2 Network Operator): chosen by the User's role.
	choosers["6.2.10"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.dev.Type != ESME {
			return "GCS20r", nil
		}
		switch roleParty[c.opts.UserRole] {
		case "Supplier":
			return "ECS25r1", nil
		case "Network Operator":
			return "ECS25r2", nil
		}
		return "", fmt.Errorf("%w: SRV 6.2.10 on an ESME: Options.UserRole (Supplier or Network Operator) chooses ECS25r1 / ECS25r2", ErrAmbiguous)
	}
	// 6.5: with or without counter reset is not in the request; the
	// polyphase variant by device.
	choosers["6.5"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.poly() || c.has("PolyPhaseVoltageSettings") {
			return c.versioned(cands, "ECS29b", "ECS29d")
		}
		return c.versioned(cands, "ECS29a", "ECS29c")
	}
	choosers["6.27"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.poly() {
			return "ECS29f", nil
		}
		return "ECS29e", nil
	}
	choosers["6.7"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.has("UncontrolledGasFlowRateDecimal") {
			return "GCS24a", nil
		}
		return "GCS24", nil
	}
	choosers["6.8"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.dev.Type == ESME {
			return c.versioned(cands, "ECS30", "ECS30a")
		}
		return c.versioned(cands, "GCS25", "GCS25a")
	}
	// 6.13: LogToRead and the device type.
	choosers["6.13"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		log, _ := c.str("LogToRead")
		switch c.dev.Type {
		case ESME:
			switch log {
			case "Event":
				return "ECS35a", nil
			case "Security":
				return "ECS35b", nil
			case "PowerEvent":
				return "ECS35e", nil
			case "ALCSEvent":
				return c.versioned(cands, "ECS35f", "ECS35g")
			}
		case CHF:
			switch log {
			case "Event":
				return "ECS35c", nil
			case "Security":
				return "ECS35d", nil
			}
		default:
			switch log {
			case "Event":
				return "CS10a", nil
			case "Security":
				return "CS10b", nil
			}
		}
		return "", fmt.Errorf("%w: SRV 6.13: LogToRead %q does not apply to %s", ErrDeviceType, log, c.dev.Type)
	}
	// 8.9 Read Device Log: CHF with ReadSecurityDetails → CCS07, else
	// CCS06 (or CCS05/CCS04 on devices of that version); GSME → CS07.
	choosers["8.9"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.dev.Type != CHF {
			return "CS07", nil
		}
		if c.has("ReadSecurityDetails") {
			return "CCS07", nil
		}
		return c.versioned(cands, "CCS06", "CCS05/CCS04")
	}
	// 8.11 Update HAN Device Log: RequestType Add → CCS01, Remove → CCS02.
	choosers["8.11"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if s, _ := c.str("RequestType"); s == "Remove" {
			return "CCS02", nil
		}
		return "CCS01", nil
	}
}
