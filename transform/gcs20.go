package transform

import (
	"reflect"
	"strconv"
	"strings"
)

// 6.22 Configure Alert Behaviour on the GSME (GCS20, annex template of
// 0x00AD): one Set Event Configuration (Device Management 0x0708, command
// 0x04) per distinct Event Configuration value — "Configuration Control
// 0x00 = Apply by List: command will need to be applied multiple times
// for each eventList with a different value" (annex row 1487).
//
// Event Configuration (BITMAP8, annex template): bits 0–2 0b011 for
// EventLog Enable (0b000 Disable), bit 3 WANAlert, bit 4 HANAlert, bit 6
// Alarm, bits 5 and 7 zero (RTDS: 0x5B, 0x08, 0x4B, 0x43). Payload: the
// 'Apply by List' sub-payload, number of events (UINT8) then the Event IDs
// (UINT16) — the alert codes of the request's element names.
//
// Order (the annex does not fix it): the commands in the order in which
// their value first appears in the request, the Event IDs of each in
// request order; the request lists the events in the DUIS schema's order
// (ascending alert code). The one RTDS command orders its four commands
// otherwise (0x5B, 0x08, 0x4B, 0x43 — no rule of the sources gives that
// order), so TestRTDS counts it structural (same components, other order).
func init() {
	builders["GCS20"] = func(c *ctx) ([]byte, error) {
		const elem = "GasSupplierAlertEventSettings"
		v, ok := lookup(c.body, elem)
		for ok && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				ok = false
				break
			}
			v = v.Elem()
		}
		if !ok || v.Kind() != reflect.Struct {
			return nil, c.errf("missing %s", elem)
		}
		var order []byte // values in order of first appearance
		events := map[byte][]uint16{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if f.Kind() != reflect.Pointer || f.IsNil() {
				continue
			}
			name := v.Type().Field(i).Name
			code, err := strconv.ParseUint(strings.TrimPrefix(name, "X"), 16, 16)
			if err != nil {
				return nil, c.errf("%s/%s: not an alert code", elem, name)
			}
			cfg, err := eventConfiguration(c, name, f.Elem())
			if err != nil {
				return nil, err
			}
			if _, seen := events[cfg]; !seen {
				order = append(order, cfg)
			}
			events[cfg] = append(events[cfg], uint16(code))
		}
		if len(order) == 0 {
			return nil, c.errf("%s: no event", elem)
		}
		tmpl := gbzTemplates["GCS20"][0]
		var comps []gbzComponent
		for _, cfg := range order {
			ids := events[cfg]
			if len(ids) > 0xFF {
				return nil, c.errf("%d events with one configuration", len(ids))
			}
			list := []byte{byte(len(ids))}
			for _, id := range ids {
				list = append(list, le16(id)...)
			}
			comp := tmpl
			comp.fields = append([]gbzField(nil), tmpl.fields...)
			for k, fl := range comp.fields {
				switch {
				case strings.HasPrefix(fl.name, "Event Configuration (BITMAP8)"):
					comp.fields[k].value = []byte{cfg}
				case strings.HasPrefix(fl.name, "Event Configuration Payload"):
					comp.fields[k].value = list
				}
			}
			comps = append(comps, comp)
		}
		return c.gbzBuild(comps)
	}
}

// eventConfiguration is the Event Configuration bitmap of one event's
// WANHANEventLogAlarm settings (annex GCS20 template).
func eventConfiguration(c *ctx, name string, s reflect.Value) (byte, error) {
	var cfg byte
	for _, b := range []struct {
		field string
		bits  byte
	}{{"WANAlert", 0x08}, {"HANAlert", 0x10}, {"EventLog", 0x03}, {"Alarm", 0x40}} {
		f := s.FieldByName(b.field)
		if !f.IsValid() || f.Kind() != reflect.String {
			return 0, c.errf("%s: no %s", name, b.field)
		}
		switch strings.TrimSpace(f.String()) {
		case "Enable":
			cfg |= b.bits
		case "Disable":
		default:
			return 0, c.errf("%s/%s: %q", name, b.field, f.String())
		}
	}
	return cfg, nil
}
