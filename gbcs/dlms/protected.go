package dlms

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Security control byte of GBCS payload encryption (GCM, encryption only,
// suite 1) that starts every protected block.
const SecurityControlEncrypted = 0x31

// ProtectedOverhead is the security header (5) plus the GCM tag (12).
const ProtectedOverhead = 5 + 12

// IsProtected reports whether octets have the GBCS protected-block shape
// `31 ‖ invocation counter (4) ‖ ciphertext ‖ 12-byte tag`.
func IsProtected(b []byte) bool {
	return len(b) >= ProtectedOverhead && b[0] == SecurityControlEncrypted
}

// isProtectionParams reports whether n has the shape of IC 30 protection
// parameters: an array of, or a single, structure{enum, structure(5)}.
func isProtectionParams(n *tree.Node) bool {
	elems := []*tree.Node{n}
	if n.Type == "array" {
		if len(n.Children) == 0 {
			return false
		}
		elems = n.Children
	}
	for _, e := range elems {
		if e.Type != "structure" || len(e.Children) != 2 || e.Children[0].Type != "enum" ||
			e.Children[1].Type != "structure" || len(e.Children[1].Children) != 5 {
			return false
		}
	}
	return true
}

// ProtectedView builds the view children of a protected block at offset
// off: security-control, invocation-counter, ciphertext, tag.
func ProtectedView(b []byte, off int) []*tree.Node {
	ct := b[5 : len(b)-12]
	return []*tree.Node{
		{Name: "security-control", Type: "u8", Value: uint64(b[0]), Text: "encryption, suite 1", Offset: off, Len: 1},
		{Name: "invocation-counter", Type: "u32", Value: tree.BE(b[1:5]), Offset: off + 1, Len: 4},
		{Name: "ciphertext", Type: "bytes", Value: tree.Hex(ct), Offset: off + 5, Len: len(ct)},
		{Name: "tag", Type: "bytes", Value: tree.Hex(b[len(b)-12:]), Offset: off + 5 + len(ct), Len: 12},
	}
}

// protected finds protected octet-strings under n (responses and alerts),
// adds their views and, with a Decrypt function, the decoded plaintext.
func (d *decoder) protected(n *tree.Node) error {
	var found []*tree.Node
	n.Walk(func(c *tree.Node) bool {
		if c.Type != "structure" {
			return true
		}
		for i := 1; i < len(c.Children); i++ {
			prev, cur := c.Children[i-1], c.Children[i]
			if cur.Type != "octet-string" || !isProtectionParams(prev) {
				continue
			}
			if b, err := cur.Octets(); err == nil && IsProtected(b) {
				nameProtectionParams(prev)
				prev.Name = "protection-parameters"
				cur.Name = "protected-attributes"
				found = append(found, cur)
			}
		}
		return true
	})
	for _, p := range found {
		b, _ := p.Octets()
		// the content starts after the tag and the length field
		off := p.Offset + p.Len - len(b)
		p.Children = ProtectedView(b, off)
		if d.opts.Decrypt == nil {
			continue
		}
		plain, err := d.opts.Decrypt(b)
		if err != nil {
			return fmt.Errorf("dlms: decrypting protected attributes at offset %d: %w", p.Offset, err)
		}
		pn := &tree.Node{Name: "plaintext", Type: "plaintext", Decrypted: true, Len: len(plain)}
		kids, derr := d.decodePlain(plain)
		if derr != nil {
			pn.Value = tree.Hex(plain)
			pn.Text = "not A-XDR: " + derr.Error()
		} else {
			pn.Children = kids
		}
		p.Add(pn)
	}
	return nil
}

// decodePlain decodes a decrypted block as a sequence of Data elements.
func (d *decoder) decodePlain(plain []byte) ([]*tree.Node, error) {
	r := tree.NewReader(plain, 0, d.opts.Limits)
	var out []*tree.Node
	for !r.Done() {
		c, err := d.decodeData(r, "")
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty plaintext")
	}
	return out, nil
}

// nameProtectionParams names the protection parameter structures of IC 30
// (GBCS §1.8 of the project notes): {protection type, {transaction-id,
// originator-system-title, recipient-system-title, other-information,
// key-info}}.
func nameProtectionParams(p *tree.Node) {
	var elems []*tree.Node
	switch p.Type {
	case "array":
		elems = p.Children
	case "structure":
		elems = []*tree.Node{p}
	}
	for _, e := range elems {
		if e.Type != "structure" || len(e.Children) != 2 {
			continue
		}
		e.Children[0].Name = "protection-type"
		opts := e.Children[1]
		opts.Name = "protection-options"
		names := []string{"transaction-id", "originator-system-title", "recipient-system-title", "other-information", "key-info"}
		if opts.Type == "structure" && len(opts.Children) == len(names) {
			for i, c := range opts.Children {
				c.Name = names[i]
			}
		}
	}
	if p.Type == "structure" {
		p.Name = "protection-parameters"
	}
}

// nameProtectionRequest names the request data of IC 30 method 1
// (get_protected_attributes): structure{object list, protection parameters}.
func nameProtectionRequest(specs, data *tree.Node) {
	if len(specs.Children) != len(data.Children) {
		return
	}
	for i, s := range specs.Children {
		if len(s.Children) < 3 || s.Value != uint64(3) || s.Children[0].Value != uint64(30) || s.Children[2].Value != uint64(1) {
			continue
		}
		st := data.Children[i]
		if st.Type != "structure" || len(st.Children) != 2 {
			continue
		}
		st.Children[0].Name = "object-list"
		st.Children[1].Name = "protection-parameters"
		nameProtectionParams(st.Children[1])
		for _, o := range st.Children[0].Children {
			if o.Type == "structure" && len(o.Children) >= 3 {
				o.Children[0].Name = "class-id"
				o.Children[1].Name = "instance-id"
				o.Children[2].Name = "attribute-id"
				if len(o.Children) >= 4 {
					o.Children[3].Name = "data-index"
				}
				if b, err := o.Children[1].Octets(); err == nil && len(b) == 6 {
					o.Children[1].Text = OBIS(b)
					if c, err := o.Children[0].Uint(); err == nil {
						if a, err := o.Children[2].Int(); err == nil {
							o.Text = strings.TrimSpace(fmt.Sprintf("IC%d %s a%d %s", c, OBIS(b), a, ObjectName(uint16(c), b, false, uint8(a))))
						}
					}
				}
			}
		}
	}
}

// Alert codes with a payload the project notes describe (§1.10).
const (
	AlertFutureDatedSuccess = 0x8f66
	AlertFutureDatedFailure = 0x8f67
	AlertFirmwareReceiptA   = 0x8f1c
	AlertFirmwareReceiptB   = 0x8f72
	AlertMeterIntegrity     = 0x81a0
)

// nameAlert names the parts of a GBCS DLMS alert body: structure{alert code
// (long-unsigned), alert time (octet-string 12), [payload]}, and splits the
// payloads of §1.10.
func nameAlert(body *tree.Node) {
	if body.Type != "structure" || len(body.Children) < 2 || body.Children[0].Type != "long-unsigned" {
		return
	}
	codeN := body.Children[0]
	codeN.Name = "alert-code"
	code, _ := codeN.Uint()
	codeN.Text = fmt.Sprintf("0x%04X", code)
	if name := alertNames[uint16(code)]; name != "" {
		codeN.Text += " " + name
	}
	body.Children[1].Name = "alert-time"
	if len(body.Children) < 3 {
		return
	}
	p := body.Children[2]
	p.Name = "alert-payload"
	b, err := p.Octets()
	if p.Type != "octet-string" || err != nil {
		return
	}
	off := p.Offset + p.Len - len(b)
	switch {
	case (code == AlertFutureDatedSuccess || code == AlertFutureDatedFailure) && len(b) == 19:
		p.Name = "future-dated-instruction"
		p.Children = []*tree.Node{
			{Name: "message-code", Type: "u16", Value: tree.BE(b[0:2]), Offset: off, Len: 2},
			{Name: "originator-counter", Type: "u64", Value: tree.BE(b[2:10]), Offset: off + 2, Len: 8},
			{Name: "class-id", Type: "u16", Value: tree.BE(b[10:12]), Text: ClassName(uint16(tree.BE(b[10:12]))), Offset: off + 10, Len: 2},
			{Name: "instance-id", Type: "obis", Value: hex.EncodeToString(b[12:18]), Text: OBIS(b[12:18]), Offset: off + 12, Len: 6},
			{Name: "attribute-id", Type: "u8", Value: uint64(b[18]), Offset: off + 18, Len: 1},
		}
		p.Text = fmt.Sprintf("message 0x%04X counter %d IC%d %s a%d", tree.BE(b[0:2]), tree.BE(b[2:10]), tree.BE(b[10:12]), OBIS(b[12:18]), b[18])
	case (code == AlertFirmwareReceiptA || code == AlertFirmwareReceiptB) && len(b) == 32:
		p.Name = "image-hash"
	case code == AlertMeterIntegrity && len(b) == 2:
		p.Name = "integrity-code"
		p.Text = fmt.Sprintf("code %d", tree.BE(b))
	}
}

// alertNames: alert codes named in the project notes (§1.10, §2.5) and the
// use-case annex.
var alertNames = map[uint16]string{
	0x8f66: "Future dated execution of instruction: success",
	0x8f67: "Future dated execution of instruction: failure",
	0x8f1c: "Firmware distribution receipt",
	0x8f72: "Firmware distribution receipt",
	0x81a0: "Meter integrity issue warning",
	0x8f0a: "Critical sensitive alert (billing data log)",
	0x8f12: "Device addition to / removal from HAN whitelist",
	0x8f35: "Supply outage restore",
}
