package gbz

import (
	"fmt"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// ZCL profile-wide ("general") command ids.
const (
	CmdReadAttributes          = 0x00
	CmdReadAttributesResponse  = 0x01
	CmdWriteAttributes         = 0x02
	CmdWriteAttributesUndiv    = 0x03
	CmdWriteAttributesResponse = 0x04
	CmdWriteAttributesNoResp   = 0x05
	CmdReportAttributes        = 0x0a
	CmdDefaultResponse         = 0x0b
	CmdDiscoverAttributes      = 0x0c
	CmdDiscoverAttributesResp  = 0x0d
)

var generalCommands = map[byte]string{
	0x00: "Read Attributes", 0x01: "Read Attributes Response", 0x02: "Write Attributes",
	0x03: "Write Attributes Undivided", 0x04: "Write Attributes Response", 0x05: "Write Attributes No Response",
	0x06: "Configure Reporting", 0x07: "Configure Reporting Response", 0x08: "Read Reporting Configuration",
	0x09: "Read Reporting Configuration Response", 0x0a: "Report Attributes", 0x0b: "Default Response",
	0x0c: "Discover Attributes", 0x0d: "Discover Attributes Response",
}

// structured decodes a payload by its command; errors mean "layout
// unknown or not matching" and make the caller keep the payload raw.
func (d *decoder) structured(r *tree.Reader, cluster uint16, fc, cid byte) (*tree.Node, error) {
	name := CommandName(cluster, fc, cid)
	n, err := r.Node("payload", "zcl-payload", r.Pos())
	if err != nil {
		return nil, err
	}
	n.Text = name
	switch fc & 0x03 {
	case 0: // profile-wide
		if err := d.general(r, n, cluster, cid); err != nil {
			return nil, err
		}
	case FrameClusterSpecific:
		if fc&FrameManufacturer != 0 {
			return nil, r.Errorf("manufacturer-specific command layouts are not known")
		}
		c, ok := clusterCommands[cmdKey{cluster, fc&FrameServerToClient != 0, cid}]
		if !ok {
			return nil, r.Errorf("no layout for %s command 0x%02x (%s)", ClusterName(cluster), cid, directionText(fc))
		}
		if err := d.decodeFields(r, n, c.fields); err != nil {
			return nil, err
		}
	default:
		return nil, r.Errorf("reserved ZCL frame type %d", fc&0x03)
	}
	return r.End(n), nil
}

func directionText(fc byte) string {
	if fc&FrameServerToClient != 0 {
		return "server-to-client"
	}
	return "client-to-server"
}

func (d *decoder) general(r *tree.Reader, n *tree.Node, cluster uint16, cid byte) error {
	attr := zclByName["attribId"]
	attrNode := func() (*tree.Node, error) {
		a, err := decodeZCL(r, "attribute", attr)
		if err != nil {
			return nil, err
		}
		a.Text = AttributeName(cluster, uint16(a.Value.(uint64)))
		return a, nil
	}
	switch cid {
	case CmdReadAttributes:
		for !r.Done() {
			a, err := attrNode()
			if err != nil {
				return err
			}
			n.Add(a)
		}
	case CmdReadAttributesResponse:
		for !r.Done() {
			rec, err := r.Node("record", "attribute-record", r.Pos())
			if err != nil {
				return err
			}
			a, err := attrNode()
			if err != nil {
				return err
			}
			st, err := decodeZCL(r, "status", zclByName["enum8"])
			if err != nil {
				return err
			}
			st.Text = StatusName(byte(st.Value.(uint64)))
			rec.Add(a, st)
			if st.Value.(uint64) == 0 {
				v, err := decodeTyped(r, "value")
				if err != nil {
					return err
				}
				rec.Add(v)
			}
			rec.Text = a.Text
			n.Add(r.End(rec))
		}
	case CmdWriteAttributes, CmdWriteAttributesUndiv, CmdWriteAttributesNoResp, CmdReportAttributes:
		for !r.Done() {
			rec, err := r.Node("record", "write-record", r.Pos())
			if err != nil {
				return err
			}
			a, err := attrNode()
			if err != nil {
				return err
			}
			v, err := decodeTyped(r, "value")
			if err != nil {
				return err
			}
			rec.Add(a, v)
			rec.Text = a.Text
			n.Add(r.End(rec))
		}
	case CmdWriteAttributesResponse:
		if r.Len() == 1 {
			st, err := decodeZCL(r, "status", zclByName["enum8"])
			if err != nil {
				return err
			}
			st.Text = StatusName(byte(st.Value.(uint64)))
			n.Add(st)
			break
		}
		for !r.Done() {
			rec, err := r.Node("record", "entry", r.Pos())
			if err != nil {
				return err
			}
			st, err := decodeZCL(r, "status", zclByName["enum8"])
			if err != nil {
				return err
			}
			st.Text = StatusName(byte(st.Value.(uint64)))
			a, err := attrNode()
			if err != nil {
				return err
			}
			rec.Add(st, a)
			n.Add(r.End(rec))
		}
	case CmdDefaultResponse:
		c, err := decodeZCL(r, "command-id", zclByName["uint8"])
		if err != nil {
			return err
		}
		st, err := decodeZCL(r, "status", zclByName["enum8"])
		if err != nil {
			return err
		}
		st.Text = StatusName(byte(st.Value.(uint64)))
		n.Add(c, st)
		n.Text = fmt.Sprintf("Default Response to 0x%02x: %s", c.Value, st.Text)
	case CmdDiscoverAttributes:
		a, err := decodeZCL(r, "start-attribute", attr)
		if err != nil {
			return err
		}
		m, err := decodeZCL(r, "maximum-attribute-ids", zclByName["uint8"])
		if err != nil {
			return err
		}
		n.Add(a, m)
	case CmdDiscoverAttributesResp:
		dc, err := decodeZCL(r, "discovery-complete", zclByName["bool"])
		if err != nil {
			return err
		}
		n.Add(dc)
		e, err := d.decodeEntries(r, "attributes", []field{f("attribute", "attribId"), f("data-type", "uint8")})
		if err != nil {
			return err
		}
		n.Add(e)
	default:
		return r.Errorf("general command 0x%02x layout not decoded", cid)
	}
	return nil
}

// ZCL status codes (ZCL specification, status enumeration).
var statusNames = map[byte]string{
	0x00: "SUCCESS", 0x01: "FAILURE", 0x7e: "NOT_AUTHORIZED", 0x7f: "RESERVED_FIELD_NOT_ZERO",
	0x80: "MALFORMED_COMMAND", 0x81: "UNSUP_CLUSTER_COMMAND", 0x82: "UNSUP_GENERAL_COMMAND",
	0x83: "UNSUP_MANUF_CLUSTER_COMMAND", 0x84: "UNSUP_MANUF_GENERAL_COMMAND", 0x85: "INVALID_FIELD",
	0x86: "UNSUPPORTED_ATTRIBUTE", 0x87: "INVALID_VALUE", 0x88: "READ_ONLY", 0x89: "INSUFFICIENT_SPACE",
	0x8a: "DUPLICATE_EXISTS", 0x8b: "NOT_FOUND", 0x8c: "UNREPORTABLE_ATTRIBUTE", 0x8d: "INVALID_DATA_TYPE",
	0x8e: "INVALID_SELECTOR", 0x8f: "WRITE_ONLY", 0x90: "INCONSISTENT_STARTUP_STATE", 0x91: "DEFINED_OUT_OF_BAND",
	0x92: "INCONSISTENT", 0x93: "ACTION_DENIED", 0x94: "TIMEOUT", 0x95: "ABORT", 0x96: "INVALID_IMAGE",
	0x97: "WAIT_FOR_DATA", 0x98: "NO_IMAGE_AVAILABLE", 0x99: "REQUIRE_MORE_IMAGE", 0x9a: "NOTIFICATION_PENDING",
	0xc0: "HARDWARE_FAILURE", 0xc1: "SOFTWARE_FAILURE", 0xc2: "CALIBRATION_ERROR", 0xc3: "UNSUPPORTED_CLUSTER",
}

// StatusName names a ZCL status code.
func StatusName(s byte) string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status 0x%02x", s)
}

var clusterNames = map[uint16]string{
	0x0000: "Basic", 0x0019: "OTA Upgrade", 0x0700: "Price", 0x0701: "Demand Response and Load Control",
	0x0702: "Metering", 0x0703: "Messaging", 0x0704: "Tunneling", 0x0705: "Prepayment",
	0x0706: "Energy Management", 0x0707: "Calendar", 0x0708: "Device Management", 0x0709: "Events",
	0x070a: "MDU Pairing", 0x0800: "Key Establishment",
}

// ClusterName names a ZCL cluster.
func ClusterName(id uint16) string {
	if n, ok := clusterNames[id]; ok {
		return n
	}
	return fmt.Sprintf("cluster 0x%04X", id)
}

// CommandName names a ZCL command given its cluster and frame control.
func CommandName(cluster uint16, fc, cid byte) string {
	if fc&0x03 == 0 {
		if n, ok := generalCommands[cid]; ok {
			return n
		}
		return fmt.Sprintf("general command 0x%02X", cid)
	}
	if c, ok := clusterCommands[cmdKey{cluster, fc&FrameServerToClient != 0, cid}]; ok {
		return c.name
	}
	return fmt.Sprintf("%s command 0x%02X (%s)", ClusterName(cluster), cid, directionText(fc))
}

// AttributeName names an attribute of a cluster, as the GBCS annex does
// ("" when the annex does not list it).
func AttributeName(cluster, attr uint16) string {
	return attributeNames[uint32(cluster)<<16|uint32(attr)]
}

// alertNames: GBZ alert codes named in the project notes (§1.10).
var alertNames = map[uint16]string{
	0x8f66: "Future dated execution of instruction: success",
	0x8f67: "Future dated execution of instruction: failure",
	0x8f1c: "Firmware distribution receipt",
	0x8f72: "Firmware distribution receipt",
	0x81a0: "Meter integrity issue warning",
	0x8f0a: "Critical sensitive alert (billing data log)",
}
