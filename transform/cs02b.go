package transform

import (
	"fmt"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// CS02b sent by a party of the DCC itself: 6.21 Request Handover of DCC
// Controlled Device and 6.23 Update Security Credentials (CoS). Both are
// non-critical SRVs whose use case is critical: the DCC's party originates
// the command with its own counter and signs it (dcc pipeline), and the ACB
// MACs it as every command. RTDS (6.21 ×2, 6.23 ×3) shows them so, with no
// supplementary remote party:
//
//	6.21  originator the ACB (…30-00-00-02), the holder of the supplier and
//	      network operator cells of a DCC controlled device: it hands them
//	      over to the User's certificates (authorising cell = the replaced
//	      role's, as in KRP replacements)
//	6.23  originator the Transitional CoS party (…30-00-00-04), which
//	      replaces the supplier cells (authorising cell transitionalCoS 5)
//
// The party's EUI and counter come from Options (ACB / ACBCounter,
// TransCoS / TransCoSCounter): the DCC's configuration and its durable
// counter space for the party, never the request's.
//
// Payload (the CS02b layout of asn1.go's krp):
//
//	SEQUENCE {
//	  SEQUENCE { mode INTEGER, [2] {authorising role, digitalSignature},
//	             [3] originator counter, <sequence-number changes> },
//	  SEQUENCE OF { certificate, cell {replaced role, key usage [, 1]} },
//	  SEQUENCE OF certification-path certificate,
//	  execution time GeneralizedTime OPTIONAL }
//
// mode, authorising and replaced role are those of the message code
// (mode = the code's low octet in every RTDS CS02b): 0x0102
// supplierBySupplier {2, 2, 2}, 0x0103 networkOperatorByNetworkOperator
// {3, 3, 3}, 0x0107 supplierByTransCoS {7, 5, 2}. The replacement cells are
// the request's certificates in DUIS order: DigitalSigningCertificate
// {role, digitalSignature}, KeyAgreementCertificate {role, keyAgreement},
// KeyAgreementTopUpCertificate {role, keyAgreement, 1} (the prepayment
// top-up cell, cell usage 1; RTDS 6.21 supplier and 6.23).
//
// Sequence-number changes (GBCS 13.3 is not among the sources; inferred
// from RTDS):
//
//	6.21 network operator  [4] floor
//	6.21 supplier          [4] floor, [5] { SEQUENCE { x, y } }
//	6.23                   [6] { SEQUENCE { 2, floor, SEQUENCE { SEQUENCE { x, y } } } }
//	6.23 cancellation      none (RTDS 6.23 CANCELLATION carries no [6])
//
// floor is the request's RemotePartyFloorSeqNumber / SupplierFloorSeqNumber.
// Every RTDS x and y is 0, as are both request floors, so the sources
// cannot tell which value each is; the rule chosen is the request's two
// floors in DUIS order, x = the floor, y = the prepayment top-up floor
// (RemotePartyPrepaymentTopUpFloorSeqNumber /
// SupplierPrepaymentTopUpFloorSeqNumber). The top-up floor is required
// where the pair is carried (supplier replacements) and refused for the
// network operator, which has no top-up cell. The 6.23 cancellation
// (ExecutionDateTime 3000-12-31, sent as 9999-12-31T23:59:59Z) only
// supersedes the pending replacement: RTDS carries no change there, unlike
// CS02g, whose cancellation keeps its [6] (RTDS CS02g CANCELLATION); the
// rule follows each use case's own RTDS commands. 6.21's ExecutionDateTime
// is DSP-pattern future dating: the DCC holds the request, the command
// carries no time (RTDS 6.21).
type dccReplacement struct {
	mode, by, role int64
	// floor, topUp, certs: the request's element paths (topUp "": the
	// request has none)
	floor, topUp, certs string
	// changes: "4" [4] floor; "45" [4] and [5]; "6" [6]
	changes string
}

var dccReplacements = map[uint16]dccReplacement{
	0x0102: {mode: 2, by: 2, role: 2, floor: "RemotePartyFloorSeqNumber", topUp: "RemotePartyPrepaymentTopUpFloorSeqNumber",
		certs: "ReplacementCertificates/", changes: "45"},
	0x0103: {mode: 3, by: 3, role: 3, floor: "RemotePartyFloorSeqNumber", topUp: "RemotePartyPrepaymentTopUpFloorSeqNumber",
		certs: "ReplacementCertificates/", changes: "4"},
	0x0107: {mode: 7, by: remotePartyRole["TransCoS"], role: 2, floor: "SupplierFloorSeqNumber", topUp: "SupplierPrepaymentTopUpFloorSeqNumber",
		certs: "SupplierReplacementCertificates/", changes: "6"},
	// 8.5 Service Opt Out: accessControlBrokerByACB. No RTDS command is
	// among the sources; built as the network operator's, the other
	// replacement of a single cell set without a top-up: mode, authorising
	// and replaced role the code's low octet (4, the ACB's remote party
	// role), [4] the request's ACBFloorSeqNumber.
	0x0104: {mode: 4, by: rpACB, role: rpACB, floor: "ACBFloorSeqNumber", certs: "ReplacementCertificates/", changes: "4"},
}

// acbParty: the ACB originates the command with Options.ACBCounter.
func acbParty(c *ctx) (eui.EUI64, uint64, error) {
	if c.opts.ACB == (eui.EUI64{}) {
		return eui.EUI64{}, 0, c.errf("%s is the ACB's own command: Options.ACB is needed", c.uc.Name)
	}
	return c.opts.ACB, c.opts.ACBCounter, nil
}

// transCoSParty: the DCC's Transitional CoS party originates the command
// with Options.TransCoSCounter.
func transCoSParty(c *ctx) (eui.EUI64, uint64, error) {
	if c.opts.TransCoS == (eui.EUI64{}) {
		return eui.EUI64{}, 0, c.errf("%s is the Transitional CoS party's own command: Options.TransCoS is needed", c.uc.Name)
	}
	return c.opts.TransCoS, c.opts.TransCoSCounter, nil
}

func init() {
	// 6.21: the replaced role selects the variant (RTDS
	// CS02bSupplierBySupplierHandover 0x0102, CS02bNOByNOHandover 0x0103).
	choosers["6.21"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		role, _ := c.str("RemotePartyRole")
		code := map[string]uint16{"Supplier": 0x0102, "NetworkOperator": 0x0103}[role]
		if code == 0 {
			return "", &UnsupportedError{SRV: c.srv.Variant, UseCase: "CS02b",
				Reason: "handover of the " + role + " credentials: a DCC controlled device's handover replaces the supplier or network operator cells (RTDS); no source shows another role's"}
		}
		c.dccParty = acbParty
		return fmt.Sprintf("CS02b#%04X", code), nil
	}
	// 8.5 Service Opt Out: the ACB replaces its own cells
	// (accessControlBrokerByACB 0x0104, the one code the catalogue gives
	// 8.5); DSP-pattern future dated, as 6.21, so the command carries no
	// time.
	choosers["8.5"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		c.dccParty = acbParty
		return "CS02b#0104", nil
	}
	// 6.23: supplierByTransCoS (RTDS CS02bSupplierByTransCoS 0x0107).
	choosers["6.23"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		c.dccParty = transCoSParty
		return "CS02b#0107", nil
	}
}

// cs02bDCC builds the CS02b payload of 6.21 / 6.23 / 8.5 (see dccReplacement).
func (c *ctx) cs02bDCC() ([]byte, error) {
	r, ok := dccReplacements[c.uc.MessageCode]
	if !ok {
		return nil, c.unsupported(fmt.Sprintf("message code %04X is not a DCC party's replacement", c.uc.MessageCode))
	}
	if c.counter > 1<<62 {
		return nil, c.errf("originator counter %d out of range", c.counter)
	}
	floor, err := c.uint(r.floor, 62)
	if err != nil {
		return nil, err
	}
	var topUp uint64
	switch {
	case r.changes == "4" && r.topUp != "" && c.has(r.topUp):
		return nil, c.errf("%s: the replaced party has no prepayment top-up cell", r.topUp)
	case r.changes != "4":
		if topUp, err = c.uint(r.topUp, 62); err != nil {
			return nil, err
		}
	}
	var when *tree.Node
	cancel := false
	if e, ok := c.str("ExecutionDateTime"); ok && c.srv.Variant == "6.23" {
		t, err := parseTime(e)
		if err != nil {
			return nil, c.errf("ExecutionDateTime: %v", err)
		}
		if cancel = isCancel(t); cancel {
			t = asnNever
		}
		if t.Nanosecond() != 0 {
			return nil, c.errf("ExecutionDateTime %s: the command carries whole seconds", e)
		}
		when = aGenTime(t)
	}
	pair := aSeq(aInt(int64(floor)), aInt(int64(topUp)))
	ctl := aSeq(aInt(r.mode), aCtx(2, aInt(r.by), aBits(kuDigitalSignature)), aCtxInt(3, int64(c.counter)))
	switch r.changes {
	case "4":
		ctl.Add(aCtxInt(4, int64(floor)))
	case "45":
		ctl.Add(aCtxInt(4, int64(floor)), aCtx(5, pair))
	case "6":
		if !cancel {
			ctl.Add(aCtx(6, aSeq(aInt(r.role), aInt(int64(floor)), aSeq(pair))))
		}
	}
	repl := aSeq()
	for _, x := range []struct {
		el    string
		ku    []byte
		topUp bool
	}{{"DigitalSigningCertificate", kuDigitalSignature, false}, {"KeyAgreementCertificate", kuKeyAgreement, false},
		{"KeyAgreementTopUpCertificate", kuKeyAgreement, true}} {
		if !c.has(r.certs + x.el) {
			continue
		}
		if x.topUp && r.changes == "4" {
			return nil, c.errf("%s%s: the replaced party has no prepayment top-up cell", r.certs, x.el)
		}
		cert, err := c.certificate(r.certs + x.el)
		if err != nil {
			return nil, err
		}
		cell := cs02Cell(r.role, x.ku)
		if x.topUp {
			cell.Add(aInt(1))
		}
		repl.Add(aSeq(cert, cell))
	}
	if len(repl.Children) == 0 {
		return nil, c.errf("no replacement certificate")
	}
	path, err := c.certificationPath()
	if err != nil {
		return nil, err
	}
	top := aSeq(ctl, repl, path)
	if when != nil {
		top.Add(when)
	}
	return asnBytes(top)
}
