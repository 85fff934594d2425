package sim

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/gbcs/dlms"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// DLMS Data-Access-Result / Action-Result values.
const (
	resSuccess       = 0x00
	resHardwareFault = 0x01
	resTempFailure   = 0x02
	resDenied        = 0x03
	resUndefined     = 0x04
	resOther         = 0xFA
)

// obis parses "a-b:c.d.e.f".
func obis(s string) [6]byte {
	var o [6]byte
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == ':' || r == '.' })
	for i := 0; i < 6 && i < len(f); i++ {
		v, _ := strconv.Atoi(f[i])
		o[i] = byte(v)
	}
	return o
}

func key(class uint16, o string, attr uint8) objKey { return objKey{class, obis(o), attr} }

// getter reads a modelled attribute; nil means "not modelled here".
type getter func(x *exec) *tree.Node

// setter writes a modelled attribute and returns the result.
type setter func(x *exec, v *tree.Node) byte

// method runs a modelled method; it returns the result and optional return
// data.
type method func(x *exec, arg *tree.Node) (byte, *tree.Node)

var (
	dlmsGetters = map[objKey]getter{}
	dlmsSetters = map[objKey]setter{}
	dlmsMethods = map[objKey]method{}
)

// execDLMS runs a DLMS access-request: every request-spec in order, with
// the modelled objects' behaviour, the written store for the others, and
// per-item results. IC 30 get_protected_attributes answers with the
// requested objects encrypted for the requester (GBCS §8.5).
func (x *exec) execDLMS() ([]byte, error) {
	req, err := payload.Decode(x.m.MessageCode, x.m.Content, payload.Options{})
	if err != nil || req.Type != dlms.TypeAccessRequest {
		return nil, fmt.Errorf("sim: DLMS request: %v", err)
	}
	specs := req.Child("request-specs")
	data := req.Child("data")
	if specs == nil || data == nil || len(specs.Children) != len(data.Children) {
		return nil, fmt.Errorf("sim: DLMS request without specs/data")
	}
	fault, faulty := x.st.faults[x.m.MessageCode]
	out := &tree.Node{Name: "dlms", Type: dlms.TypeAccessResponse}
	out.Add(named("invoke-id", "u32", childUint(req, "invoke-id")),
		named("date-time", "octets", ""),
		named("request-specs", "optional", false))
	dl := named("data", "list", nil)
	rl := named("response-specs", "list", nil)
	// Break-on-error (Long-Invoke-Id-And-Priority bit 29): after a failed
	// item the others are not executed and answer other-reason.
	breakOnError := childUint(req, "invoke-id")&(1<<29) != 0
	broken := false
	// future-dated activation times: the passive values they govern take
	// effect then (futuredated.go)
	acts := scanActivations(specs, data, x.d.fleet.clock.Now())
	for i, sp := range specs.Children {
		choice, _ := sp.Uint()
		class := uint16(childUint(sp, "class-id"))
		ob, _ := sp.Child("instance-id").Octets()
		var o [6]byte
		copy(o[:], ob)
		id := uint8(childUint(sp, "attribute-id"))
		if sp.Child("method-id") != nil {
			id = uint8(childUint(sp, "method-id"))
		}
		k := objKey{class, o, id}
		var v *tree.Node
		res := byte(resSuccess)
		switch {
		case broken:
			res = resOther
		case faulty && fault.fails(i, len(specs.Children)):
			res = fault.dlmsResult()
		case choice == 1 || choice == 4: // get, get-with-selection
			v, res = x.dlmsGet(k, data.Children[i], choice == 4)
		case choice == 2 || choice == 5:
			var deferred bool
			if res, deferred = x.deferredSet(acts, k, data.Children[i]); !deferred {
				res = x.dlmsSet(k, data.Children[i])
			}
		case choice == 3:
			res, v = x.dlmsAction(k, data.Children[i])
		default:
			res = resOther
		}
		if res != resSuccess && breakOnError {
			broken = true
		}
		if v == nil || res != resSuccess {
			v = null()
		}
		dl.Add(v)
		respChoice := choice
		if choice == 4 {
			respChoice = 1
		} else if choice == 5 {
			respChoice = 2
		}
		rl.Add(nd("response-spec", respChoice, named("result", "u8", uint64(res))))
	}
	out.Add(dl, rl)
	if acts != nil {
		x.queueActivations(specs, acts)
	}
	return dlms.Encode(out)
}

func (x *exec) dlmsGet(k objKey, arg *tree.Node, selective bool) (*tree.Node, byte) {
	// Profile generic buffers: rows of the annex's entry type from the
	// device's logs, answered as a compact-array.
	if k.class == 7 && k.attr == 2 {
		if t := annexType(k); t != nil && t.typ == "array" {
			rows := x.bufferRows(k, t.elems[0])
			if selective {
				rows = x.selectRows(k, rows, arg)
			}
			return compact(x, t.elems[0], rows), resSuccess
		}
	}
	if g, ok := dlmsGetters[k]; ok {
		if v := g(x); v != nil {
			if selective {
				v = x.selectRows(k, v, arg)
			}
			return v, resSuccess
		}
	}
	if v, ok := x.st.objects[k]; ok {
		return v, resSuccess
	}
	if t := annexType(k); t != nil {
		return t.zero(x), resSuccess
	}
	if v := classDefault(x, k); v != nil {
		return v, resSuccess
	}
	return nil, resUndefined
}

func (x *exec) dlmsSet(k objKey, v *tree.Node) byte {
	if s, ok := dlmsSetters[k]; ok {
		return s(x, v)
	}
	if !dlms.IsDataType(v.Type) {
		return resOther
	}
	if x.st.objects == nil {
		x.st.objects = map[objKey]*tree.Node{}
	}
	x.st.objects[k] = stripNames(v)
	return resSuccess
}

func (x *exec) dlmsAction(k objKey, arg *tree.Node) (byte, *tree.Node) {
	if k.class == 30 && k.attr == 1 {
		return x.protectedAttributes(arg)
	}
	if m, ok := dlmsMethods[k]; ok {
		return m(x, arg)
	}
	switch k.class {
	case 9: // Script Table execute
		return resSuccess, nil
	case 7: // Profile generic reset / capture
		return resSuccess, nil
	}
	// An action on an object the device has not modelled: accepted (the
	// command is stored in the generic store as a record of it).
	return resSuccess, nil
}

// protectedAttributes answers IC30 get_protected_attributes: the values of
// the object list, A-XDR encoded as one structure, encrypted (CRA 04) for
// the requesting party, with the protection parameters mirrored.
func (x *exec) protectedAttributes(arg *tree.Node) (byte, *tree.Node) {
	if arg == nil || len(arg.Children) < 2 {
		return resOther, nil
	}
	list := arg.Children[0]
	vals := structure()
	for _, od := range list.Children {
		if len(od.Children) < 3 {
			return resOther, nil
		}
		class, _ := od.Children[0].Uint()
		ob, _ := od.Children[1].Octets()
		attr, _ := od.Children[2].Int()
		var o [6]byte
		copy(o[:], ob)
		v, res := x.dlmsGet(objKey{uint16(class), o, uint8(attr)}, nil, false)
		if res != resSuccess {
			return res, nil
		}
		vals.Add(v)
	}
	plain, err := dlms.AppendNode(nil, vals)
	if err != nil {
		return resOther, nil
	}
	prot, err := x.encrypt(plain)
	if err != nil {
		return resOther, nil
	}
	d := x.d
	tid := make([]byte, 9)
	tid[0] = 0x04
	for i := 0; i < 8; i++ {
		tid[1+i] = byte(x.encCounter >> (56 - 8*i))
	}
	pp := named("protection-parameters", "array", nil,
		structure(named("protection-type", "enum", uint64(2)),
			named("protection-options", "structure", nil,
				named("transaction-id", "octet-string", hex.EncodeToString(tid)),
				named("originator-system-title", "octet-string", hex.EncodeToString(d.EUI[:])),
				named("recipient-system-title", "octet-string", hex.EncodeToString(x.encFor[:])),
				named("other-information", "octet-string", ""),
				named("key-info", "structure", nil, enum(2), structure(octets([]byte{2}), octets(nil))))))
	return resSuccess, structure(pp, named("protected-attributes", "octet-string", hex.EncodeToString(prot)))
}

// stripNames copies a request data node for storage (names and offsets of
// the request are dropped).
func stripNames(n *tree.Node) *tree.Node {
	c := &tree.Node{Type: n.Type, Value: n.Value, Enc: n.Enc}
	if dlms.IsDataType(n.Type) && (n.Type == "structure" || n.Type == "array" || n.Type == "compact-array") {
		for _, ch := range n.Children {
			c.Children = append(c.Children, stripNames(ch))
		}
	} else if n.Type == "structure" || n.Type == "array" {
		for _, ch := range n.Children {
			c.Children = append(c.Children, stripNames(ch))
		}
	}
	return c
}

// classDefault is what an unwritten attribute of a known interface class
// reads as on a freshly installed device (Blue Book attribute types).
func classDefault(x *exec, k objKey) *tree.Node {
	switch k.class {
	case 1: // Data: value of unknown type — an empty octet-string
		if k.attr == 2 {
			return octets(nil)
		}
	case 3, 4: // Register, Extended register
		switch k.attr {
		case 2:
			return u32(0)
		case 3:
			return scalerUnit(0, unitWh)
		case 5:
			return octets(dlmsTime(x.d.fleet.clock.Now()))
		}
	case 7: // Profile generic
		switch k.attr {
		case 2:
			return array()
		case 3:
			return array()
		case 4:
			return u32(1800)
		case 7, 8:
			return u32(0)
		}
	case 8: // Clock
		return clockAttr(x, k.attr)
	case 9:
		if k.attr == 2 {
			return array()
		}
	case 11, 20, 21, 22:
		if k.attr >= 2 {
			return array()
		}
	case 70: // Disconnect control
		return disconnectAttr(x, k.attr)
	case 111, 112, 113, 115:
		if k.attr >= 2 {
			return u32(0)
		}
	case 9000:
		if k.attr >= 2 {
			return octets(nil)
		}
	}
	return nil
}
