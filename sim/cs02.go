package sim

import (
	"encoding/hex"
	"time"

	"github.com/opendcc/opendcc/gbcs/asn"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/smki"
)

// GBCS §13 remote party roles (RemotePartyRole), as the CS02 commands and
// responses number them.
const (
	rpRoot             = 0
	rpRecovery         = 1
	rpSupplier         = 2
	rpNetworkOperator  = 3
	rpACB              = 4
	rpTransitionalCoS  = 5
	rpWANProvider      = 6
	rpIssuingAuthority = 7
	rpLoadController   = 8
)

// CS02 statuses (ENUMERATED). 0 success; 10: a credential not replaced
// (CS02b/g failure); 25: the device holds no credentials for the role;
// 127: other (a role the use case does not cover).
const (
	cs02Success      = 0
	cs02NotReplaced  = 10
	cs02RoleNotHeld  = 25
	cs02OtherFailure = 127
)

var rpAnchor = map[int64]AnchorRole{
	rpRoot: AnchorRoot, rpRecovery: AnchorRecovery, rpSupplier: AnchorSupplier, rpNetworkOperator: AnchorNetworkOperator,
	rpACB: AnchorACB, rpTransitionalCoS: AnchorTransitionalCoS, rpWANProvider: AnchorWANProvider, rpLoadController: AnchorLoadController,
}

// holdsRole reports whether a device type holds trust anchors for a role
// (GBCS §4.3): the CHF holds the WAN provider but no supplier or network
// operator; the GSME, PPMID and HCALCS no network operator; only the CHF
// the WAN provider; the ESME and HCALCS the load controller.
func (t Type) holdsRole(r AnchorRole) bool {
	esme := t == ESME || t == ESMETwin || t == ESMEPoly
	switch r {
	case AnchorRoot, AnchorRecovery, AnchorACB:
		return true
	case AnchorSupplier, AnchorTransitionalCoS:
		return t != CHF
	case AnchorNetworkOperator:
		return esme || t == GPF
	case AnchorWANProvider:
		return t == CHF
	case AnchorLoadController:
		return esme || t == HCALCS
	}
	return false
}

// holdsCell reports whether a device type holds a role's cell: the GSME
// holds the access control broker's key-agreement cell only (as the RTDS
// GSME reports it); otherwise every cell of a held role.
func (t Type) holdsCell(r AnchorRole, ku smki.KeyUsage) bool {
	if t == GSME && r == AnchorACB {
		return ku&smki.KeyUsageDigitalSignature == 0
	}
	return t.holdsRole(r)
}

// asnTop returns the top-level SEQUENCE of a decoded ASN.1 payload.
func asnTop(req *tree.Node) *tree.Node {
	for req != nil && req.Type != "SEQUENCE" && len(req.Children) == 1 {
		req = req.Children[0]
	}
	return req
}

func aenum(v int64) *tree.Node { return &tree.Node{Type: "ENUMERATED", Value: v} }

// keyUsageBits encodes keyUsage bits as a DER BIT STRING value (first byte:
// unused bits), as the trust anchor cell identifiers carry them.
func keyUsageBits(ku smki.KeyUsage) *tree.Node {
	hi := -1
	for i := 0; i < 16; i++ {
		if ku&(1<<i) != 0 {
			hi = i
		}
	}
	if hi < 0 {
		return &tree.Node{Type: "BIT STRING", Value: "00"}
	}
	n := hi/8 + 1
	b := make([]byte, 1+n)
	b[0] = byte(8*n - (hi + 1))
	for i := 0; i <= hi; i++ {
		if ku&(1<<i) != 0 {
			b[1+i/8] |= 0x80 >> (i % 8)
		}
	}
	return &tree.Node{Type: "BIT STRING", Value: hex.EncodeToString(b)}
}

// bitsKeyUsage decodes a BIT STRING value node into keyUsage bits.
func bitsKeyUsage(n *tree.Node) smki.KeyUsage {
	b, err := n.Octets()
	if err != nil || len(b) < 2 {
		return 0
	}
	var ku smki.KeyUsage
	for i := 0; i < 8*(len(b)-1); i++ {
		if b[1+i/8]&(0x80>>(i%8)) != 0 {
			ku |= 1 << i
		}
	}
	return ku
}

// cellID is a TrustAnchorCellIdentifier: role, key usage, cell usage
// (1: the supplier's prepayment key-agreement cell).
type cellID struct {
	role      int64
	ku        smki.KeyUsage
	cellUsage int64
}

func parseCellID(n *tree.Node) (cellID, bool) {
	if n == nil || n.Type != "SEQUENCE" || len(n.Children) < 2 || n.Children[0].Type != "INTEGER" || n.Children[1].Type != "BIT STRING" {
		return cellID{}, false
	}
	var c cellID
	c.role, _ = n.Children[0].Int()
	c.ku = bitsKeyUsage(n.Children[1])
	if len(n.Children) > 2 {
		c.cellUsage, _ = n.Children[2].Int()
	}
	return c, true
}

// cell returns the anchor certificate of a cell.
func (a *Anchor) cell(ku smki.KeyUsage, cellUsage int64) *smki.Certificate {
	switch {
	case ku&smki.KeyUsageDigitalSignature != 0:
		return a.DS
	case cellUsage == 1:
		return a.PP
	case ku&smki.KeyUsageKeyAgreement != 0:
		return a.KA
	}
	if a.DS != nil {
		return a.DS
	}
	return a.KA
}

func (a *Anchor) setCell(ku smki.KeyUsage, cellUsage int64, c *smki.Certificate) {
	switch {
	case ku&smki.KeyUsageDigitalSignature != 0:
		a.DS = c
	case cellUsage == 1:
		a.PP = c
	default:
		a.KA = c
	}
}

func certIDs(c *smki.Certificate) (id, ski []byte) {
	if c == nil {
		return make([]byte, 8), make([]byte, 8)
	}
	ski = c.SubjectKeyID
	if len(ski) == 0 {
		ski = make([]byte, 8)
	}
	return c.EUI[:], ski
}

// provideCredentials is CS02a / CS02f: for each role the command lists,
// the role's sequence number and trust anchor cells (key usage, cell usage
// for the prepayment cell, subject EUI, subject key identifier), or the
// role with a failure status.
func (x *exec) provideCredentials(req *tree.Node, faulty bool) *tree.Node {
	top := asnTop(req)
	out := aseq()
	if top == nil || len(top.Children) < 2 {
		return out
	}
	roles := top.Children[1].Children
	cs02f := x.m.MessageCode == 0x011B
	for i, rn := range roles {
		role, _ := rn.Int()
		ar, known := rpAnchor[role]
		status := int64(cs02Success)
		switch {
		case !known || cs02f && ar == AnchorTransitionalCoS || !cs02f && ar == AnchorLoadController:
			status = cs02OtherFailure
		case !x.d.Type.holdsRole(ar):
			status = cs02RoleNotHeld
		case faulty && i == len(roles)-1:
			status = cs02OtherFailure
		}
		if status != cs02Success {
			out.Add(aseq(aint(role), aenum(status)))
			continue
		}
		a := &x.st.anchors[ar]
		cells := aseq()
		for _, cl := range []struct {
			c   *smki.Certificate
			ku  smki.KeyUsage
			use int64
		}{{a.DS, smki.KeyUsageDigitalSignature, 0}, {a.KA, smki.KeyUsageKeyAgreement, 0}, {a.PP, smki.KeyUsageKeyAgreement, 1}} {
			if cl.c == nil || !x.d.Type.holdsCell(ar, cl.ku) {
				continue
			}
			id, ski := certIDs(cl.c)
			cell := aseq(keyUsageBits(cl.ku))
			if cl.use != 0 {
				cell.Add(aint(cl.use))
			}
			cell.Add(aoct(id), aoct(ski))
			cells.Add(cell)
		}
		out.Add(aseq(aint(role), aenum(cs02Success), aint(int64(a.Seq)), cells))
	}
	return out
}

// contextField returns the child of a header with the context tag [n].
func contextField(h *tree.Node, tag string) *tree.Node {
	for _, c := range h.Children {
		if len(c.Type) > len(tag) && c.Type[:len(tag)] == tag && c.Type[len(tag)] == ' ' {
			return c
		}
	}
	return nil
}

func contextInt(n *tree.Node) int64 {
	if n == nil {
		return 0
	}
	b, err := n.Octets()
	if err != nil {
		v, _ := n.Int()
		return v
	}
	var v int64
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	return v
}

// updateCredentials is CS02b / CS02g: the certificates of the command
// replace the trust anchor cells they name. The response carries the
// command sequence number, the credentials replacement mode, the remote
// party sequence number changes and, per cell, the outcome with the
// existing and replacing subject EUI and key identifier. With an execution
// date-time the command is future dated: the response is NULL alone and
// the replacement happens at that time, reported by alert (0x00CB, CS02g
// 0x0124); a later future-dated command (e.g. a cancellation dated
// 9999-12-31) supersedes the pending one.
func (x *exec) updateCredentials(req *tree.Node, now time.Time, faulty bool) *tree.Node {
	top := asnTop(req)
	if top == nil || len(top.Children) < 2 || top.Children[0].Type != "SEQUENCE" {
		if !faulty {
			x.replaceAnchors(req)
		}
		return aint(x.code(faulty))
	}
	var at time.Time
	for _, c := range top.Children[2:] {
		if c.Type == "GeneralizedTime" {
			s, _ := c.Str()
			at, _ = time.Parse("20060102150405Z", s)
		}
	}
	if !at.IsZero() {
		d, code := x.d, x.m.MessageCode
		alertCode := uint16(0x00CB)
		if code == 0x0125 || code == 0x0126 {
			alertCode = 0x0124
		}
		keep := x.st.pending[:0]
		for _, p := range x.st.pending {
			if p.messageCode != code {
				keep = append(keep, p)
			}
		}
		x.st.pending = append(keep, futureCommand{at: at, messageCode: code, counter: x.m.OriginatorCounter,
			asn: func() (bool, uint16, []*tree.Node) {
				body, ok := (&exec{d: d, st: d.st, m: x.m}).replaceCredentials(top, faulty)
				return ok, alertCode, []*tree.Node{body}
			}})
		return aseq(anull())
	}
	body, _ := x.replaceCredentials(top, faulty)
	return aseq(anull(), body)
}

// replaceCredentials executes a CS02b/g command and builds its response
// body.
func (x *exec) replaceCredentials(top *tree.Node, faulty bool) (*tree.Node, bool) {
	h := top.Children[0]
	var mode int64
	if len(h.Children) > 0 {
		mode, _ = h.Children[0].Int()
	}
	seq := contextInt(contextField(h, "[3]"))
	type entry struct {
		id   cellID
		node *tree.Node
		cert *smki.Certificate
	}
	var entries []entry
	for _, e := range top.Children[1].Children {
		if e.Type != "SEQUENCE" || len(e.Children) < 2 {
			continue
		}
		id, ok := parseCellID(e.Children[1])
		if !ok {
			continue
		}
		der, err := asn.EncodeElement(e.Children[0])
		if err != nil {
			continue
		}
		c, err := smki.ParseCertificate(der)
		if err != nil {
			continue
		}
		entries = append(entries, entry{id, e.Children[1], c})
	}
	// remote party sequence number changes
	changes := aseq()
	if f := contextField(h, "[6]"); f != nil {
		for _, c := range f.Children {
			changes.Add(c)
		}
	} else if f := contextField(h, "[4]"); f != nil && len(entries) > 0 {
		ch := aseq(aint(entries[0].id.role), aint(contextInt(f)))
		if f5 := contextField(h, "[5]"); f5 != nil {
			ch.Add(aseq(f5.Children...))
		}
		changes.Add(ch)
	}
	ok := !faulty
	for _, e := range entries {
		ar, known := rpAnchor[e.id.role]
		if !known || !x.d.Type.holdsRole(ar) {
			ok = false
		}
	}
	outcomes := aseq()
	for _, e := range entries {
		ar := rpAnchor[e.id.role]
		old := x.st.anchors[ar].cell(e.id.ku, e.id.cellUsage)
		oid, oski := certIDs(old)
		status := int64(cs02Success)
		nid, nski := certIDs(e.cert)
		if !ok {
			status, nid, nski = cs02NotReplaced, oid, oski
		}
		outcomes.Add(aseq(e.node, aenum(status), aoct(oid), aoct(oski), aoct(nid), aoct(nski)))
	}
	if ok {
		for _, e := range entries {
			ar := rpAnchor[e.id.role]
			a := x.st.anchors[ar]
			if a.EUI != e.cert.EUI {
				a = Anchor{EUI: e.cert.EUI, Seq: a.Seq}
			}
			a.setCell(e.id.ku, e.id.cellUsage, e.cert)
			x.d.setAnchor(ar, a)
			delete(x.st.z, e.cert.EUI)
		}
		for _, c := range changes.Children {
			if len(c.Children) >= 2 {
				r, _ := c.Children[0].Int()
				v, _ := c.Children[1].Int()
				if ar, known := rpAnchor[r]; known {
					a := x.st.anchors[ar]
					a.Seq = uint64(v)
					x.d.setAnchor(ar, a)
				}
			}
		}
	}
	return aseq(aint(seq), aint(mode), changes, outcomes), ok
}
