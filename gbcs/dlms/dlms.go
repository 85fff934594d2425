// Package dlms decodes and encodes the DLMS/COSEM A-XDR payloads of GBCS
// messages — access-request (0xD9), access-response (0xDA) and
// data-notification (0x0F, alerts) — to and from a tree.Node, byte-exactly.
//
// Tree shape (node Types in brackets):
//
//	[access-request]     invoke-id [u32], date-time [octets],
//	                     request-specs [list] of [request-spec], data [list] of Data
//	[access-response]    invoke-id [u32], date-time [octets],
//	                     request-specs [optional], data [list] of Data,
//	                     response-specs [list] of [response-spec]
//	[data-notification]  invoke-id [u32], date-time [octets], body Data
//
// A [request-spec] has Value = the choice (1 get, 2 set, 3 action,
// 4 get-with-selection, 5 set-with-selection) and children class-id [u16],
// instance-id [obis] and attribute-id or method-id [u8] (plus access-selector
// [u8] and access-parameters Data with selection). A [response-spec] has the
// choice as Value and a result [u8] child. Data elements take their A-XDR type
// name as Type ("structure", "long-unsigned", "octet-string", …).
//
// The protected-attributes octet-string of IC 30 get_protected_attributes
// responses and of sensitive alerts (`31 00000000 ‖ ciphertext ‖ tag`) gets
// view children exposing the security header, ciphertext and tag; with
// Options.Decrypt the plaintext is decoded below it (marked Decrypted).
package dlms

import (
	"fmt"
	"strconv"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// APDU tags.
const (
	TagAccessRequest    = 0xd9
	TagAccessResponse   = 0xda
	TagDataNotification = 0x0f
)

// Node Types of the three APDUs.
const (
	TypeAccessRequest    = "access-request"
	TypeAccessResponse   = "access-response"
	TypeDataNotification = "data-notification"
)

// Options control decoding.
type Options struct {
	// Decrypt, when set, is called with each protected block
	// (`31 ‖ invocation counter (4) ‖ ciphertext ‖ 12-byte tag`, the whole
	// octet-string content) and returns the plaintext, which is decoded as
	// A-XDR Data below the block.
	Decrypt func(protected []byte) ([]byte, error)
	Limits  tree.Limits
}

type decoder struct {
	opts Options
}

// Decode parses a DLMS APDU.
func Decode(b []byte, o Options) (*tree.Node, error) {
	d := &decoder{opts: o}
	r := tree.NewReader(b, 0, o.Limits)
	n, err := d.decodeAPDU(r)
	if err != nil {
		return nil, err
	}
	if !r.Done() {
		return nil, r.Errorf("%d bytes after the end of the %s", r.Len(), n.Type)
	}
	return n, nil
}

func (d *decoder) decodeAPDU(r *tree.Reader) (*tree.Node, error) {
	start := r.Pos()
	tag, err := r.U8("APDU tag")
	if err != nil {
		return nil, err
	}
	var typ string
	switch tag {
	case TagAccessRequest:
		typ = TypeAccessRequest
	case TagAccessResponse:
		typ = TypeAccessResponse
	case TagDataNotification:
		typ = TypeDataNotification
	default:
		return nil, tree.Errorf(start, "unknown DLMS APDU tag 0x%02x", tag)
	}
	n, err := r.Node("dlms", typ, start)
	if err != nil {
		return nil, err
	}
	inv, err := d.fixed(r, "invoke-id", "u32", 4)
	if err != nil {
		return nil, err
	}
	inv.Text = invokeIDText(inv.Value.(uint64))
	dt, err := d.octets(r, "date-time")
	if err != nil {
		return nil, err
	}
	n.Add(inv, dt)

	switch tag {
	case TagAccessRequest:
		specs, err := d.list(r, "request-specs", 1, d.decodeRequestSpec)
		if err != nil {
			return nil, err
		}
		data, err := d.list(r, "data", 1, func(r *tree.Reader) (*tree.Node, error) { return d.decodeData(r, "") })
		if err != nil {
			return nil, err
		}
		n.Add(specs, data)
		labelData(specs, data)
		nameProtectionRequest(specs, data)
	case TagAccessResponse:
		os := r.Pos()
		flag, err := r.U8("access-response request-specification flag")
		if err != nil {
			return nil, err
		}
		opt, err := r.Node("request-specs", "optional", os)
		if err != nil {
			return nil, err
		}
		switch flag {
		case 0:
			opt.Value = false
		case 1:
			opt.Value = true
			specs, err := d.list(r, "request-specs", 1, d.decodeRequestSpec)
			if err != nil {
				return nil, err
			}
			opt.Add(specs)
		default:
			return nil, tree.Errorf(os, "access-response request-specification flag 0x%02x (want 00 or 01)", flag)
		}
		r.End(opt)
		data, err := d.list(r, "data", 1, func(r *tree.Reader) (*tree.Node, error) { return d.decodeData(r, "") })
		if err != nil {
			return nil, err
		}
		results, err := d.list(r, "response-specs", 2, d.decodeResponseSpec)
		if err != nil {
			return nil, err
		}
		n.Add(opt, data, results)
		if opt.Value == true {
			labelData(opt.Children[0], data)
		}
		if err := d.protected(data); err != nil {
			return nil, err
		}
	case TagDataNotification:
		body, err := d.decodeData(r, "body")
		if err != nil {
			return nil, err
		}
		n.Add(body)
		nameAlert(body)
		if err := d.protected(body); err != nil {
			return nil, err
		}
	}
	return r.End(n), nil
}

// invokeIDText explains Long-Invoke-Id-And-Priority.
func invokeIDText(v uint64) string {
	s := fmt.Sprintf("invoke-id %d", v&0xffffff)
	if v&(1<<31) != 0 {
		s += ", high priority"
	}
	if v&(1<<30) != 0 {
		s += ", confirmed"
	}
	if v&(1<<29) != 0 {
		s += ", break-on-error"
	}
	if v&(1<<28) != 0 {
		s += ", self-descriptive"
	}
	return s
}

func (d *decoder) fixed(r *tree.Reader, name, typ string, width int) (*tree.Node, error) {
	start := r.Pos()
	v, err := r.UintBE(width, name)
	if err != nil {
		return nil, err
	}
	n, err := r.Node(name, typ, start)
	if err != nil {
		return nil, err
	}
	n.Value = v
	return r.End(n), nil
}

// octets reads an A-XDR OCTET STRING without a Data tag (length ‖ bytes).
func (d *decoder) octets(r *tree.Reader, name string) (*tree.Node, error) {
	start := r.Pos()
	l, nonMin, err := r.BERLength(name + " length")
	if err != nil {
		return nil, err
	}
	b, err := r.Bytes(l, name)
	if err != nil {
		return nil, err
	}
	n, err := r.Node(name, "octets", start)
	if err != nil {
		return nil, err
	}
	if nonMin > 0 {
		n.SetEnc("len", strconv.Itoa(nonMin))
	}
	n.Value = tree.Hex(b)
	if len(b) == 12 {
		n.Text = DateTimeString(b)
	}
	return r.End(n), nil
}

// list reads an A-XDR SEQUENCE OF: a count then the elements.
func (d *decoder) list(r *tree.Reader, name string, minSize int, elem func(*tree.Reader) (*tree.Node, error)) (*tree.Node, error) {
	start := r.Pos()
	count, nonMin, err := r.BERLength(name + " count")
	if err != nil {
		return nil, err
	}
	if err := r.CheckCount(count, minSize, name, start); err != nil {
		return nil, err
	}
	n, err := r.Node(name, "list", start)
	if err != nil {
		return nil, err
	}
	if nonMin > 0 {
		n.SetEnc("len", strconv.Itoa(nonMin))
	}
	if err := r.Enter(); err != nil {
		return nil, err
	}
	n.Children = make([]*tree.Node, 0, count)
	for i := 0; i < count; i++ {
		c, err := elem(r)
		if err != nil {
			return nil, err
		}
		n.Children = append(n.Children, c)
	}
	r.Leave()
	return r.End(n), nil
}

// Request-spec choices.
var requestChoices = map[uint64]string{1: "get", 2: "set", 3: "action", 4: "get-with-selection", 5: "set-with-selection"}

func (d *decoder) decodeRequestSpec(r *tree.Reader) (*tree.Node, error) {
	start := r.Pos()
	choice, err := r.U8("request-spec choice")
	if err != nil {
		return nil, err
	}
	cname, ok := requestChoices[uint64(choice)]
	if !ok {
		return nil, tree.Errorf(start, "unknown access-request specification choice %d", choice)
	}
	n, err := r.Node("spec", "request-spec", start)
	if err != nil {
		return nil, err
	}
	n.Value = uint64(choice)
	class, err := d.fixed(r, "class-id", "u16", 2)
	if err != nil {
		return nil, err
	}
	class.Text = ClassName(uint16(class.Value.(uint64)))
	os := r.Pos()
	ob, err := r.Bytes(6, "instance-id")
	if err != nil {
		return nil, err
	}
	inst, err := r.Node("instance-id", "obis", os)
	if err != nil {
		return nil, err
	}
	inst.Value = tree.Hex(ob)
	inst.Text = OBIS(ob)
	r.End(inst)
	idName := "attribute-id"
	if choice == 3 {
		idName = "method-id"
	}
	id, err := d.fixed(r, idName, "u8", 1)
	if err != nil {
		return nil, err
	}
	n.Add(class, inst, id)
	if choice == 4 || choice == 5 {
		sel, err := d.fixed(r, "access-selector", "u8", 1)
		if err != nil {
			return nil, err
		}
		params, err := d.decodeData(r, "access-parameters")
		if err != nil {
			return nil, err
		}
		n.Add(sel, params)
	}
	n.Text = specText(cname, uint16(class.Value.(uint64)), ob, choice == 3, uint8(id.Value.(uint64)))
	return r.End(n), nil
}

func specText(choice string, class uint16, obis []byte, method bool, id uint8) string {
	s := fmt.Sprintf("%s IC%d %s ", choice, class, OBIS(obis))
	if method {
		s += "m" + strconv.Itoa(int(id))
	} else {
		s += "a" + strconv.Itoa(int(id))
	}
	if name := ObjectName(class, obis, method, id); name != "" {
		s += " " + name
	}
	return s
}

var responseChoices = map[uint64]string{1: "get", 2: "set", 3: "action"}

func (d *decoder) decodeResponseSpec(r *tree.Reader) (*tree.Node, error) {
	start := r.Pos()
	choice, err := r.U8("response-spec choice")
	if err != nil {
		return nil, err
	}
	cname, ok := responseChoices[uint64(choice)]
	if !ok {
		return nil, tree.Errorf(start, "unknown access-response specification choice %d", choice)
	}
	n, err := r.Node("result", "response-spec", start)
	if err != nil {
		return nil, err
	}
	n.Value = uint64(choice)
	res, err := d.fixed(r, "result", "u8", 1)
	if err != nil {
		return nil, err
	}
	rv := uint8(res.Value.(uint64))
	if choice == 3 {
		res.Text = ActionResultName(rv)
	} else {
		res.Text = DataAccessResultName(rv)
	}
	n.Text = cname + " " + res.Text
	n.Add(res)
	return r.End(n), nil
}

// labelData names each data element after the request spec it belongs to.
func labelData(specs, data *tree.Node) {
	if len(specs.Children) != len(data.Children) {
		return
	}
	for i, s := range specs.Children {
		if data.Children[i].Name == "" {
			data.Children[i].Name = s.Text
		}
	}
}
