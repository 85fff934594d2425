package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs/asn"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/smki"
)

// ASN.1 response codes of the security and device-management use cases
// (values seen in RTDS: 0 success, 1/2/3 failures).
const (
	asnSuccess = 0
	asnFailure = 3
)

func aseq(c ...*tree.Node) *tree.Node { return &tree.Node{Type: "SEQUENCE", Children: c} }
func aint(v int64) *tree.Node         { return &tree.Node{Type: "INTEGER", Value: v} }
func aoct(b []byte) *tree.Node        { return &tree.Node{Type: "OCTET STRING", Value: hex.EncodeToString(b)} }
func anull() *tree.Node               { return &tree.Node{Type: "NULL"} }
func agt(t time.Time) *tree.Node {
	return &tree.Node{Type: "GeneralizedTime", Value: t.UTC().Format("20060102150405Z")}
}

// execASN1 runs the ASN.1 use cases.
func (x *exec) execASN1() ([]byte, error) {
	req, err := payload.Decode(x.m.MessageCode, x.m.Content, payload.Options{})
	if err != nil {
		return nil, err
	}
	now := x.d.fleet.clock.Now()
	_, faulty := x.st.faults[x.m.MessageCode]
	var out *tree.Node
	switch c := x.m.MessageCode; {
	case c == 0x000B: // CS02d update device certificate
		out = aint(x.code(faulty))
	case c == 0x000C: // CS02e provide device certificate
		if faulty {
			out = aint(asnFailure)
			break
		}
		cert, err := x.d.certificateLocked(gbcsUsageFromRequest(req))
		if err != nil {
			out = aint(asnFailure)
			break
		}
		n, err := asn.Decode(cert.Raw, tree.Limits{})
		if err != nil || len(n.Children) == 0 {
			out = aint(asnFailure)
			break
		}
		out = n.Children[0]
	case c == 0x000D || c == 0x000E || c == 0x00AB || c == 0x00AF: // CS03 join
		if !faulty {
			if id, ok := firstEUI(req); ok {
				x.join(id, now)
			}
		}
		out = aint(x.code(faulty))
	case c == 0x000F || c == 0x0010: // CS04 unjoin
		if !faulty {
			if id, ok := firstEUI(req); ok {
				x.unjoin(id)
			}
		}
		out = aint(x.code(faulty))
	case c == 0x0012: // CS06 activate firmware
		out = x.activateFirmware(req, now, faulty)
	case c == 0x0013: // CS07 read device join details
		if faulty { // a failure carries the response code alone
			out = aseq(aint(asnFailure))
			break
		}
		l := aseq()
		for _, e := range x.st.deviceLog {
			// an entry whose type has no demonstrated ASN.1 value is
			// left out rather than given an invented one
			if v, ok := asnDeviceTypeCode(e.typ); ok {
				l.Add(aseq(aoct(e.id[:]), aint(int64(v))))
			}
		}
		out = aseq(aint(x.code(faulty)), l)
	case c == 0x0129: // CS08 activate PPMID/HCALCS firmware
		if faulty || !x.st.firmware.hasPending {
			out = aseq(aoct([]byte{0, 0, 0, 0}), aint(1))
		} else {
			x.commitFirmware(now)
			h := sha256.Sum256([]byte(x.st.firmware.version))
			out = aseq(aoct(h[:4]), aint(0))
		}
	case c == 0x007F: // GCS28 set time
		out = aseq(agt(now), aint(x.code(faulty)))
	case c == 0x008C: // GCS59 restore GPF device log
		l := aseq()
		req.Walk(func(n *tree.Node) bool {
			if n.Type == "SEQUENCE" && len(n.Children) == 2 && n.Children[0].Type == "OCTET STRING" && n.Children[1].Type == "INTEGER" {
				b, _ := n.Children[0].Octets()
				t, _ := n.Children[1].Int()
				if len(b) == 8 {
					var id eui.EUI64
					copy(id[:], b)
					x.st.deviceLog = append(x.st.deviceLog, deviceLogEntry{id, typeFromCode(int(t))})
					l.Add(aseq(aseq(aoct(b), aint(t)), aint(0)))
				}
				return false
			}
			return true
		})
		out = aseq(l)
	case c == 0x0008 || c == 0x011B: // CS02a, CS02f provide security credentials details
		out = x.provideCredentials(req, faulty)
	case c >= 0x0100 && c <= 0x0109 || c == 0x0125 || c == 0x0126: // CS02b, CS02g
		out = x.updateCredentials(req, now, faulty)
	default:
		// CS02c and others: the certificates in the command replace the
		// anchors of their roles; the response is the ASN.1 response code.
		if !faulty {
			x.replaceAnchors(req)
		}
		out = aint(x.code(faulty))
	}
	return asn.Encode(out)
}

func (x *exec) code(faulty bool) int64 {
	if faulty {
		return asnFailure
	}
	return asnSuccess
}

func gbcsUsageFromRequest(req *tree.Node) int {
	// CS02e asks for one of the device's certificates; the request names
	// the usage (0 digital signature, 1 key agreement).
	u := 1
	req.Walk(func(n *tree.Node) bool {
		if n.Type == "ENUMERATED" || n.Type == "INTEGER" {
			v, _ := n.Int()
			if v == 0 {
				u = 1
			} else {
				u = 2
			}
			return false
		}
		return true
	})
	return u
}

func firstEUI(req *tree.Node) (eui.EUI64, bool) {
	var id eui.EUI64
	found := false
	req.Walk(func(n *tree.Node) bool {
		if found {
			return false
		}
		if n.Type == "OCTET STRING" {
			if b, err := n.Octets(); err == nil && len(b) == 8 {
				copy(id[:], b)
				found = true
				return false
			}
		}
		return true
	})
	return id, found
}

// replaceAnchors installs every organisation certificate found in a CS02
// command as the anchor of its role.
func (x *exec) replaceAnchors(req *tree.Node) {
	req.Walk(func(n *tree.Node) bool {
		if n.Type != "SEQUENCE" || len(n.Children) != 3 || n.Children[0].Type != "SEQUENCE" {
			return true
		}
		der, err := asn.EncodeElement(n)
		if err != nil {
			return true
		}
		c, err := smki.ParseCertificate(der)
		if err != nil || c.Kind != smki.KindOrganisation {
			return true
		}
		r, ok := AnchorRoleOf(c.Role)
		if !ok {
			return false
		}
		a := x.st.anchors[r]
		if a.EUI != c.EUI {
			a = Anchor{EUI: c.EUI}
		}
		if c.KeyUsage&smki.KeyUsageDigitalSignature != 0 {
			a.DS = c
		} else {
			a.KA = c
		}
		x.d.setAnchor(r, a)
		delete(x.st.z, c.EUI)
		return false
	})
}

// Two device-type code tables, as the sources give them:
//
// deviceTypeCode is the CHF device log's deviceType (DLMS IC104, read by
// chfDeviceLog): the annex's CCS01 register_device.device_type values
// (row 1001: 0 ESME, 1 GSME, 13 HCALCS, 128 IHD, 130 CAD, 132 PPMID; 254
// GPF "the CHF shall support the value 254 for GPF"). The annex gives none
// for a CHF or an unknown device: 255 marks those (the simulator's marker,
// not a code of any source; chfDeviceLog needs a value).
//
// asnDeviceTypeCode is the ASN.1 device type INTEGER of the join use cases
// (CS03 other device type, CS07 join details, GCS62/GCS59 GPF device log),
// as RTDS 4.5.0 shows it (transform.joinDeviceType gives the evidence):
// 0 GSME, 1 ESME, 3 GPF, 4 HCALCS, 5 PPMID, 6 Type 2 device (IHD). No
// RTDS value is a CHF's (2 never occurs): a CHF or an unknown device has
// none (ok false).
func deviceTypeCode(t Type) int {
	switch t {
	case ESME, ESMETwin, ESMEPoly:
		return 0
	case GSME:
		return 1
	case HCALCS:
		return 13
	case IHD:
		return 128
	case PPMID:
		return 132
	case GPF:
		return 254
	}
	return 255
}

func asnDeviceTypeCode(t Type) (int, bool) {
	switch t {
	case GSME:
		return 0, true
	case ESME, ESMETwin, ESMEPoly:
		return 1, true
	case GPF:
		return 3, true
	case HCALCS:
		return 4, true
	case PPMID:
		return 5, true
	case IHD:
		return 6, true
	}
	return 0, false
}

// typeFromCode reads an ASN.1 device type INTEGER (GCS59); a value without
// a demonstrated type is TypeUnknown.
func typeFromCode(c int) Type {
	for _, t := range []Type{GSME, ESME, GPF, HCALCS, PPMID, IHD} {
		if v, _ := asnDeviceTypeCode(t); v == c {
			return t
		}
	}
	return TypeUnknown
}

func asnEncode(n *tree.Node) ([]byte, error) { return asn.Encode(n) }
