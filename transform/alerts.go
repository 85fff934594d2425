package transform

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/gbcs"
)

// 6.22 Configure Alert Behaviour on the ESME: the request's choice element
// names the use case and the configuration object (annex).
var alertConfig = []struct {
	elem, useCase, obis string
	prefix              uint16 // alert code = prefix || n; 0: not stated
}{
	{"ElectricitySupplierAlerts", "ECS25a", "0-30:97.98.11.255", 0x8100},
	{"ElectricitySupplierHANAlertSettings", "ECS25a1", "0-30:97.98.12.255", 0x8100},
	{"ElectricitySupplierAlarmSettings", "ECS25a2", "0-30:97.98.13.255", 0},
	{"ElectricitySupplierLoggingSettings", "ECS25a3", "0-30:97.98.14.255", 0},
	{"ElectricityNetworkOperatorAlerts", "ECS25b", "0-33:97.98.11.255", 0x8000},
	{"ElectricityNetworkOperatorLoggingSettings", "ECS25b3", "0-33:97.98.14.255", 0},
}

func init() {
	choosers["6.22"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		if c.dev.Type != ESME {
			names := map[string]bool{}
			for _, u := range cands {
				names[u.Name] = true
			}
			if len(names) == 1 {
				return cands[0].Name, nil
			}
			return "", &UnsupportedError{SRV: c.srv.Variant, UseCase: joinNames(cands), Reason: "no rule to choose the use case by request content"}
		}
		for _, a := range alertConfig {
			if c.has(a.elem) {
				return a.useCase, nil
			}
		}
		return "", c.errf("no ESME alert configuration element")
	}
	for _, a := range alertConfig {
		builders[a.useCase] = func(c *ctx) ([]byte, error) {
			if a.prefix == 0 {
				return nil, c.unsupported("the annex does not state the bit of each event in " + a.obis)
			}
			v, ok := lookup(c.body, a.elem)
			for ok && v.Kind() == reflect.Pointer {
				v = v.Elem()
			}
			if !ok || v.Kind() != reflect.Struct {
				return nil, c.errf("missing %s", a.elem)
			}
			// Annex: Mask || Actions, each 256 bits numbered LSB = 0; bit
			// n is alert prefix || n; mask 1 = change, action 1 = on.
			bits := make([]bool, 512)
			n := 0
			for i := 0; i < v.NumField(); i++ {
				g := v.Field(i)
				if g.Kind() != reflect.Pointer || g.IsNil() {
					continue
				}
				gname := v.Type().Field(i).Name
				// The polyphase groups follow the same annex rule. The RTDS
				// SUCCESS commands contradict it (x81B7 Enable → mask bits
				// 0xC4/0xC5 and no action bit; x8003 Enable → no bit), the
				// RTDS ERROR commands of the same use cases follow it
				// (x81B7 and x8003 at bits 0xB7 and 0x03 of mask and
				// actions): the annex wins, TestRTDS counts those two
				// SUCCESS cases as structural.
				g = g.Elem()
				for j := 0; j < g.NumField(); j++ {
					f := g.Field(j)
					if f.Kind() != reflect.Pointer || f.IsNil() {
						continue
					}
					name := g.Type().Field(j).Name
					code, err := strconv.ParseUint(strings.TrimPrefix(name, "X"), 16, 16)
					if err != nil || uint16(code)&0xFF00 != a.prefix {
						return nil, c.errf("%s/%s: not an alert 0x%02Xnn", gname, name, a.prefix>>8)
					}
					bit := 255 - int(code&0xFF)
					bits[bit] = true
					switch s := strings.TrimSpace(f.Elem().String()); s {
					case "Enable":
						bits[256+bit] = true
					case "Disable":
					default:
						return nil, c.errf("%s/%s: %q", gname, name, s)
					}
					n++
				}
			}
			if n == 0 {
				return nil, c.errf("%s: no alert", a.elem)
			}
			return c.accessRequest(set(1, a.obis, 2, bitString(bits)))
		}
	}
}
