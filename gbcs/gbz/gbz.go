// Package gbz decodes and encodes GBCS GBZ payloads — the ZigBee Smart
// Energy profile wrapper of use-case components — and the ZCL frames inside
// them, to and from a tree.Node, byte-exactly.
//
// Tree shape (node Types in brackets; "u8/u16/u32" are big-endian GBZ header
// fields, ZCL values take their ZCL type name and are little-endian):
//
//	[gbz]  profile-id [u16], component-count [u8],
//	       alerts only: alert-code [u16], alert-time [u32],
//	       then [component]s, or for the alert specials of GBCS:
//	       future-dated-instruction [octets8], image-hash [octet-string]
//	       or integrity-code [u16]
//	[component]  control [u8], cluster-id [u16], length [len16],
//	       from-date-time [u32] (control bit 4), additional-header-control
//	       [u8] and frame-counter [u8] (encrypted components, bit 1), zcl [zcl]
//	[zcl]  frame-control [u8], manufacturer-code [uint16] (if flagged),
//	       sequence [u8], command-id [u8], then one of
//	       [zcl-payload] the decoded fields of the command,
//	       [ciphered] 2-byte length ‖ `31 00000000 ‖ ciphertext ‖ tag`,
//	       [raw] payload bytes whose layout is not known.
//
// The length fields ([len16], component-count) are recomputed on encode.
package gbz

import (
	"errors"
	"fmt"
	"strings"

	"github.com/opendcc/opendcc/gbcs/dlms"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// ProfileSmartEnergy is the ZigBee Smart Energy profile id that starts every
// GBZ payload.
const ProfileSmartEnergy = 0x0109

// Extended header control bits.
const (
	ControlLast         = 0x01
	ControlEncrypted    = 0x02
	ControlFromDateTime = 0x10
)

// Options control decoding.
type Options struct {
	// Alert: the payload is an alert (its header carries an alert code and
	// time). GBCS gives no in-band marker for it.
	Alert bool
	// Decrypt, when set, is called with each protected block of an
	// encrypted component (`31 ‖ invocation counter (4) ‖ ciphertext ‖
	// 12-byte tag`) and returns the ZCL payload plaintext, decoded below it.
	Decrypt func(protected []byte) ([]byte, error)
	Limits  tree.Limits
}

type decoder struct {
	opts Options
}

// Decode parses a GBZ payload.
func Decode(b []byte, o Options) (*tree.Node, error) {
	d := &decoder{opts: o}
	r := tree.NewReader(b, 0, o.Limits)
	root, err := r.Node("gbz", "gbz", 0)
	if err != nil {
		return nil, err
	}
	pid, err := fixedBE(r, "profile-id", "u16", 2)
	if err != nil {
		return nil, err
	}
	if pid.Value.(uint64) != ProfileSmartEnergy {
		return nil, tree.Errorf(0, "GBZ profile id 0x%04x, want 0x0109", pid.Value)
	}
	pid.Text = "ZigBee Smart Energy"
	count, err := fixedBE(r, "component-count", "u8", 1)
	if err != nil {
		return nil, err
	}
	root.Add(pid, count)
	var alertCode uint64
	if o.Alert {
		ac, err := fixedBE(r, "alert-code", "u16", 2)
		if err != nil {
			return nil, err
		}
		alertCode = ac.Value.(uint64)
		ac.Text = fmt.Sprintf("0x%04X", alertCode)
		if name := alertNames[uint16(alertCode)]; name != "" {
			ac.Text += " " + name
		}
		at, err := fixedBE(r, "alert-time", "u32", 4)
		if err != nil {
			return nil, err
		}
		at.Text = UTCText(uint32(at.Value.(uint64)))
		root.Add(ac, at)
		special, err := d.alertSpecial(r, alertCode)
		if err != nil {
			return nil, err
		}
		if special != nil {
			root.Add(special)
			if !r.Done() {
				return nil, r.Errorf("%d bytes after the alert payload", r.Len())
			}
			return r.End(root), nil
		}
	}
	mark, kept, depth := r.Pos(), len(root.Children), r.Depth()
	if err := d.components(r, root, int(count.Value.(uint64))); err != nil {
		var de *tree.DecodeError
		if !o.Alert || !errors.As(err, &de) {
			return nil, err
		}
		// An alert payload of a shape the notes do not describe: keep it
		// raw rather than fail.
		root.Children = root.Children[:kept]
		r.SetDepth(depth)
		if err := r.Seek(mark); err != nil {
			return nil, err
		}
		raw, err := r.Node("alert-payload", "raw", mark)
		if err != nil {
			return nil, err
		}
		b, _ := r.Bytes(r.Len(), "")
		raw.Value = tree.Hex(b)
		raw.Text = "alert payload not decoded: " + de.Error()
		root.Add(r.End(raw))
	}
	return r.End(root), nil
}

func (d *decoder) components(r *tree.Reader, root *tree.Node, n int) error {
	if err := r.CheckCount(n, 8, "GBZ components", 2); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		c, err := d.component(r)
		if err != nil {
			return err
		}
		root.Add(c)
	}
	if !r.Done() {
		return r.Errorf("%d bytes after the %d GBZ components", r.Len(), n)
	}
	return nil
}

func fixedBE(r *tree.Reader, name, typ string, width int) (*tree.Node, error) {
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

// alertSpecial decodes the non-component alert payloads of GBCS (project
// notes §1.10): future-dated execution (8F66/8F67), firmware distribution
// receipt (8F1C/8F72) and meter integrity (81A0). It returns nil when the
// payload does not have the special shape.
func (d *decoder) alertSpecial(r *tree.Reader, code uint64) (*tree.Node, error) {
	rest := r.Rest()
	start := r.Pos()
	switch {
	case (code == 0x8f66 || code == 0x8f67) && len(rest) == 15 && rest[0] == 14:
		b, _ := r.Bytes(15, "")
		n, err := r.Node("future-dated-instruction", "octets8", start)
		if err != nil {
			return nil, err
		}
		n.Value = tree.Hex(b[1:])
		o := start + 1
		n.Children = []*tree.Node{
			{Name: "message-code", Type: "u16", Value: tree.BE(b[1:3]), Offset: o, Len: 2},
			{Name: "originator-counter", Type: "u64", Value: tree.BE(b[3:11]), Offset: o + 2, Len: 8},
			{Name: "cluster-id", Type: "u16", Value: tree.BE(b[11:13]), Text: ClusterName(uint16(tree.BE(b[11:13]))), Offset: o + 10, Len: 2},
			{Name: "frame-control", Type: "u8", Value: uint64(b[13]), Text: frameControlText(b[13]), Offset: o + 12, Len: 1},
			{Name: "command-id", Type: "u8", Value: uint64(b[14]), Text: CommandName(uint16(tree.BE(b[11:13])), b[13], b[14]), Offset: o + 13, Len: 1},
		}
		n.Text = fmt.Sprintf("message 0x%04X counter %d %s", tree.BE(b[1:3]), tree.BE(b[3:11]), n.Children[4].Text)
		return r.End(n), nil
	case (code == 0x8f1c || code == 0x8f72) && len(rest) == 34 && rest[0] == 0x09 && rest[1] == 32:
		b, _ := r.Bytes(34, "")
		n, err := r.Node("image-hash", "octet-string", start)
		if err != nil {
			return nil, err
		}
		n.Value = tree.Hex(b[2:])
		return r.End(n), nil
	case code == 0x81a0 && len(rest) == 2:
		n, err := fixedBE(r, "integrity-code", "u16", 2)
		if err != nil {
			return nil, err
		}
		n.Text = fmt.Sprintf("code %d", n.Value)
		return n, nil
	}
	return nil, nil
}

func (d *decoder) component(r *tree.Reader) (*tree.Node, error) {
	start := r.Pos()
	n, err := r.Node("component", "component", start)
	if err != nil {
		return nil, err
	}
	ctl, err := fixedBE(r, "control", "u8", 1)
	if err != nil {
		return nil, err
	}
	cv := byte(ctl.Value.(uint64))
	ctl.Text = controlText(cv)
	cl, err := fixedBE(r, "cluster-id", "u16", 2)
	if err != nil {
		return nil, err
	}
	cluster := uint16(cl.Value.(uint64))
	cl.Text = ClusterName(cluster)
	ln, err := fixedBE(r, "length", "len16", 2)
	if err != nil {
		return nil, err
	}
	ln.Text = "GBZ command length"
	n.Add(ctl, cl, ln)
	body, err := r.Sub(int(ln.Value.(uint64)), "GBZ component")
	if err != nil {
		return nil, err
	}
	if cv&ControlFromDateTime != 0 {
		fd, err := fixedBE(body, "from-date-time", "u32", 4)
		if err != nil {
			return nil, err
		}
		fd.Text = UTCText(uint32(fd.Value.(uint64)))
		n.Add(fd)
	}
	encrypted := cv&ControlEncrypted != 0
	if encrypted {
		ah, err := fixedBE(body, "additional-header-control", "u8", 1)
		if err != nil {
			return nil, err
		}
		fc, err := fixedBE(body, "frame-counter", "u8", 1)
		if err != nil {
			return nil, err
		}
		n.Add(ah, fc)
	}
	z, err := d.zcl(body, cluster, encrypted)
	if err != nil {
		return nil, err
	}
	n.Add(z)
	n.Text = ClusterName(cluster) + ": " + z.Text
	return r.End(n), nil
}

func controlText(c byte) string {
	var parts []string
	if c&ControlLast != 0 {
		parts = append(parts, "last")
	}
	if c&ControlEncrypted != 0 {
		parts = append(parts, "encrypted")
	}
	if c&ControlFromDateTime != 0 {
		parts = append(parts, "from-date-time")
	}
	if other := c &^ (ControlLast | ControlEncrypted | ControlFromDateTime); other != 0 {
		parts = append(parts, fmt.Sprintf("other bits 0x%02x", other))
	}
	return strings.Join(parts, ", ")
}

// ZCL frame control bits.
const (
	FrameClusterSpecific = 0x01
	FrameManufacturer    = 0x04
	FrameServerToClient  = 0x08
	FrameDisableDefault  = 0x10
)

func frameControlText(fc byte) string {
	parts := []string{"profile-wide"}
	if fc&0x03 == FrameClusterSpecific {
		parts[0] = "cluster-specific"
	} else if fc&0x03 != 0 {
		parts[0] = fmt.Sprintf("frame type %d", fc&0x03)
	}
	if fc&FrameManufacturer != 0 {
		parts = append(parts, "manufacturer-specific")
	}
	if fc&FrameServerToClient != 0 {
		parts = append(parts, "server-to-client")
	} else {
		parts = append(parts, "client-to-server")
	}
	if fc&FrameDisableDefault != 0 {
		parts = append(parts, "disable-default-response")
	}
	return strings.Join(parts, ", ")
}

func (d *decoder) zcl(r *tree.Reader, cluster uint16, encrypted bool) (*tree.Node, error) {
	n, err := r.Node("zcl", "zcl", r.Pos())
	if err != nil {
		return nil, err
	}
	fcN, err := fixedBE(r, "frame-control", "u8", 1)
	if err != nil {
		return nil, err
	}
	fc := byte(fcN.Value.(uint64))
	fcN.Text = frameControlText(fc)
	n.Add(fcN)
	if fc&FrameManufacturer != 0 {
		mc, err := decodeZCL(r, "manufacturer-code", zclByName["uint16"])
		if err != nil {
			return nil, err
		}
		n.Add(mc)
	}
	seq, err := fixedBE(r, "sequence", "u8", 1)
	if err != nil {
		return nil, err
	}
	cmd, err := fixedBE(r, "command-id", "u8", 1)
	if err != nil {
		return nil, err
	}
	cid := byte(cmd.Value.(uint64))
	cmd.Text = CommandName(cluster, fc, cid)
	n.Add(seq, cmd)
	n.Text = cmd.Text
	if encrypted {
		c, err := d.ciphered(r, cluster, fc, cid)
		if err != nil {
			return nil, err
		}
		n.Add(c)
	} else {
		p, err := d.payload(r, cluster, fc, cid, r.Rest())
		if err != nil {
			return nil, err
		}
		n.Add(p)
	}
	if !r.Done() {
		return nil, r.Errorf("%d bytes after the ZCL frame", r.Len())
	}
	return r.End(n), nil
}

// ciphered reads an encrypted ZCL payload: length (2, BE) ‖ protected block.
// Bytes that do not have that shape are kept raw.
func (d *decoder) ciphered(r *tree.Reader, cluster uint16, fc, cid byte) (*tree.Node, error) {
	start := r.Pos()
	rest := r.Rest()
	if len(rest) < 2 || int(tree.BE(rest[:2])) != len(rest)-2 || !dlms.IsProtected(rest[2:]) {
		b, _ := r.Bytes(len(rest), "")
		n, err := r.Node("payload", "raw", start)
		if err != nil {
			return nil, err
		}
		n.Value = tree.Hex(b)
		n.Text = "encrypted component without the ciphered-information shape (2-byte length, 31, counter, ciphertext, 12-byte tag)"
		return r.End(n), nil
	}
	r.Bytes(2, "")
	b, _ := r.Bytes(len(rest)-2, "")
	n, err := r.Node("ciphered-payload", "ciphered", start)
	if err != nil {
		return nil, err
	}
	n.Value = tree.Hex(b)
	n.Children = dlms.ProtectedView(b, start+2)
	if d.opts.Decrypt != nil {
		plain, err := d.opts.Decrypt(b)
		if err != nil {
			return nil, fmt.Errorf("gbz: decrypting the component at offset %d: %w", start, err)
		}
		pr := r.Fork(plain)
		p, err := d.payload(pr, cluster, fc, cid, plain)
		if err != nil {
			return nil, err
		}
		pn := &tree.Node{Name: "plaintext", Type: "plaintext", Decrypted: true, Len: len(plain)}
		pn.Add(p)
		n.Add(pn)
	}
	return r.End(n), nil
}

// payload decodes a ZCL payload with the layout of its command, or keeps it
// raw when the layout is unknown or does not fit.
func (d *decoder) payload(r *tree.Reader, cluster uint16, fc, cid byte, b []byte) (*tree.Node, error) {
	start := r.Pos()
	sub := r.Fork(b)
	depth := r.Depth()
	n, perr := d.structured(sub, cluster, fc, cid)
	if perr == nil && !sub.Done() {
		perr = sub.Errorf("%d bytes left after the fields", sub.Len())
	}
	if perr == nil {
		shift(n, start)
		r.Bytes(len(b), "")
		return n, nil
	}
	if _, isDec := perr.(*tree.DecodeError); !isDec {
		return nil, perr
	}
	r.SetDepth(depth)
	raw, err := r.Node("payload", "raw", start)
	if err != nil {
		return nil, err
	}
	r.Bytes(len(b), "")
	raw.Value = tree.Hex(b)
	raw.Text = "layout not decoded: " + perr.Error()
	return r.End(raw), nil
}

// shift moves offsets of a subtree decoded from a forked reader.
func shift(n *tree.Node, by int) {
	n.Walk(func(c *tree.Node) bool {
		if c.Decrypted {
			return false
		}
		c.Offset += by
		return true
	})
}
