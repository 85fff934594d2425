package transform

//go:generate sh -c "python3 gbz_gen.py $DOLLAR{ANNEX:-/work/shared/data/gbcs/spec/gbcs-use-cases-annex.html} GCS13a GCS13b GCS14 GCS13c GCS18 GCS20r GCS21a GCS21b GCS21f GCS21j GCS21k GCS21m GCS33 GCS38 GCS46 GCS60 > gbz_gen.go"

import (
	"encoding/binary"
	"fmt"
)

// GBZ payloads (annex "End-to-End Message Template", command part): profile
// id 0x0109, the number of components, then per component the extended
// header (control, cluster id, length: big-endian) and the ZCL frame (frame
// control, transaction sequence number = the component's position from 0,
// command id, payload: little-endian ZCL fields).

// gbzComponent is one GBZ use-case-specific component.
type gbzComponent struct {
	control      byte // extended header control (0x01 last)
	cluster      uint16
	frameControl byte
	command      byte
	payload      []byte
}

// gbzPayload encodes the components.
func gbzPayload(comps []gbzComponent) ([]byte, error) {
	if len(comps) == 0 || len(comps) > 0xFF {
		return nil, fmt.Errorf("transform: GBZ payload with %d components", len(comps))
	}
	out := []byte{0x01, 0x09, byte(len(comps))}
	for i, c := range comps {
		ctl := c.control &^ 0x01
		if i == len(comps)-1 {
			ctl |= 0x01
		}
		n := 3 + len(c.payload)
		if n > 0xFFFF {
			return nil, fmt.Errorf("transform: GBZ component too long")
		}
		out = append(out, ctl)
		out = binary.BigEndian.AppendUint16(out, c.cluster)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
		out = append(out, c.frameControl, byte(i), c.command)
		out = append(out, c.payload...)
	}
	return out, nil
}

// gbzConstant builds a use case whose annex command template is constant.
func gbzConstant(name string) func(c *ctx) ([]byte, error) {
	return func(c *ctx) ([]byte, error) { return gbzPayload(gbzConst[name]) }
}

func init() {
	for name := range gbzConst {
		builders[name] = gbzConstant(name)
	}
}
