package transform

//go:generate sh -c "python3 gbz_gen.py $DOLLAR{ANNEX:-/work/shared/data/gbcs/spec/gbcs-use-cases-annex.html} CS01b CS10a CS10b CS11 GCS02 GCS03 GCS04 GCS05 GCS06 GCS07 GCS09 GCS11 GCS13a GCS13b GCS13c GCS14 GCS15b GCS15c GCS15d GCS15e GCS16a GCS16b GCS17 GCS18 GCS20 GCS20r GCS21a GCS21b GCS21f GCS21j GCS21k GCS21m GCS23 GCS24a GCS25 GCS25a GCS31 GCS32 GCS33 GCS36 GCS38 GCS39 GCS40a GCS40b GCS40c GCS40d GCS41 GCS44 GCS46 GCS60 GCS61 > gbz_gen.go"

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// GBZ payloads (annex "End-to-End Message Template", command part): profile
// id 0x0109, the number of components, then per component the extended
// header (control, cluster id, length: big-endian) and the ZCL frame (frame
// control, transaction sequence number = the component's position from 0,
// command id, payload: little-endian ZCL fields). A control with bit 0x10
// set carries the template's "From Date Time" (UTCTime) in the extended
// header, after the length and counted in it, big-endian like the rest of
// the header (RTDS GCS05 future-dated: 38 81 88 90 for 2030-01-15T09:00Z).

// gbzComponent is one GBZ use-case-specific component of a template.
type gbzComponent struct {
	control      byte // extended header control without the "last" bit
	cluster      uint16
	frameControl byte
	command      byte
	// repeat: the annex's "(N instances)"; instance i sets the field
	// "Snapshot Offset (UINT8)" to i.
	repeat int
	fields []gbzField
}

// gbzField is one ZCL payload field of a template: the annex's element
// name, its octets, and its constant value (nil: variable).
type gbzField struct {
	name  string
	n     int
	value []byte
}

// gbzResolver fills a variable field; it returns exactly f.n octets.
type gbzResolver func(c *ctx, f gbzField) ([]byte, error)

// gbzFields are resolvers by use case and then by element name; the ""
// use case holds the ones common to all.
var gbzFields = map[string]map[string]gbzResolver{
	"": {
		// "Set = current UTC time" (the DCC's clock).
		"Issuer Event ID (UINT32)": func(c *ctx, f gbzField) ([]byte, error) { return c.nowUTC() },
		"Message ID (UINT32)":      func(c *ctx, f gbzField) ([]byte, error) { return c.nowUTC() },
	},
}

func (c *ctx) nowUTC() ([]byte, error) {
	if c.opts.Now.IsZero() {
		return nil, c.errf("use case %s needs the DCC's current time: Options.Now", c.uc.Name)
	}
	return le32(utcSeconds(c.opts.Now)), nil
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

// gbzBuild fills the template of the chosen use case and encodes it.
func (c *ctx) gbzBuild(tmpl []gbzComponent) ([]byte, error) {
	type inst struct {
		comp *gbzComponent
		i    int
	}
	var all []inst
	for k := range tmpl {
		for i := range max(1, tmpl[k].repeat) {
			all = append(all, inst{&tmpl[k], i})
		}
	}
	if len(all) == 0 || len(all) > 0xFF {
		return nil, fmt.Errorf("transform: GBZ payload with %d components", len(all))
	}
	out := []byte{0x01, 0x09, byte(len(all))}
	for i, in := range all {
		comp := in.comp
		c.gbzComp = i
		var payload, from []byte
		for k, f := range comp.fields {
			v := f.value
			if strings.HasPrefix(f.name, "Snapshot Offset") && comp.repeat > 1 {
				v = []byte{byte(in.i)}
			}
			if v == nil {
				r := gbzFields[c.uc.Name][f.name]
				if r == nil {
					r = gbzFields[""][f.name]
				}
				if r == nil {
					return nil, c.unsupported(fmt.Sprintf("GBZ field %q has no mapping", f.name))
				}
				var err error
				if v, err = r(c, f); err != nil {
					return nil, err
				}
				if len(v) != f.n && f.n > 0 {
					return nil, fmt.Errorf("transform: GBZ field %q: %d octets, want %d", f.name, len(v), f.n)
				}
			}
			if k == 0 && comp.control&0x10 != 0 && strings.HasPrefix(f.name, "From Date Time") && len(v) == 4 {
				// extended header: after the length, counted in it, and
				// big-endian as the rest of the header (RTDS GCS05)
				from = []byte{v[3], v[2], v[1], v[0]}
				continue
			}
			payload = append(payload, v...)
		}
		ctl := comp.control &^ 0x01
		if i == len(all)-1 {
			ctl |= 0x01
		}
		n := len(from) + 3 + len(payload)
		if n > 0xFFFF {
			return nil, fmt.Errorf("transform: GBZ component too long")
		}
		out = append(out, ctl)
		out = binary.BigEndian.AppendUint16(out, comp.cluster)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
		out = append(out, from...)
		out = append(out, comp.frameControl, byte(i), comp.command)
		out = append(out, payload...)
	}
	return out, nil
}

func init() {
	for name, tmpl := range gbzTemplates {
		if _, ok := builders[name]; ok {
			continue // a hand-written mapping
		}
		builders[name] = func(c *ctx) ([]byte, error) { return c.gbzBuild(tmpl) }
	}
}
