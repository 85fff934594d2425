package transform

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"github.com/opendcc/opendcc/gbcs"
	"strings"
	"time"

	"github.com/opendcc/opendcc/gbcs/asn"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// ASN.1 (DER) payloads of the security and device-management use cases,
// built as gbcs/asn value trees and written with its encoder. The layouts
// are those gbcs/asn decodes from every RTDS command; each field's value
// follows a rule that holds on every RTDS command of the use case
// (docs/transform.md).

func aSeq(c ...*tree.Node) *tree.Node { return &tree.Node{Type: "SEQUENCE", Children: c} }
func aInt(v int64) *tree.Node         { return &tree.Node{Type: "INTEGER", Value: v} }
func aOct(b []byte) *tree.Node        { return &tree.Node{Type: "OCTET STRING", Value: hex.EncodeToString(b)} }
func aNull() *tree.Node               { return &tree.Node{Type: "NULL"} }
func aBits(b []byte) *tree.Node       { return &tree.Node{Type: "BIT STRING", Value: hex.EncodeToString(b)} }
func aGenTime(t time.Time) *tree.Node {
	return &tree.Node{Type: "GeneralizedTime", Value: t.UTC().Format("20060102150405Z")}
}

func asnBytes(n *tree.Node) ([]byte, error) { return asn.EncodeElement(n) }

// X.509 KeyUsage as a DER BIT STRING (unused-bits octet ‖ bits), as the
// RTDS certificates and commands carry it: digitalSignature (bit 0) 07 80,
// keyAgreement (bit 4) 03 08.
var (
	kuDigitalSignature = []byte{0x07, 0x80}
	kuKeyAgreement     = []byte{0x03, 0x08}
)

// credentialKeyUsage maps the DUIS CredentialType onto the KeyUsage bits.
var credentialKeyUsage = map[string][]byte{
	"Digital Signature": kuDigitalSignature,
	"Key Agreement":     kuKeyAgreement,
}

// certificate decodes a DUIS base64 certificate into its gbcs/asn tree
// (one DER SEQUENCE that re-encodes to the same octets).
func (c *ctx) certificate(path string) (*tree.Node, error) {
	s, err := c.need(path)
	if err != nil {
		return nil, err
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, c.errf("%s: %v", path, err)
	}
	root, err := asn.Decode(der, tree.Limits{})
	if err != nil || len(root.Children) != 1 || root.Children[0].Type != "SEQUENCE" {
		return nil, c.errf("%s: not a DER certificate", path)
	}
	n := root.Children[0]
	if b, err := asn.EncodeElement(n); err != nil || string(b) != string(der) {
		return nil, c.errf("%s: not a DER certificate", path)
	}
	return n, nil
}

// isCancel reports the DUIS cancel value 3000-12-31T00:00:00.
func isCancel(t time.Time) bool {
	t = t.UTC()
	return t.Year() == 3000 && t.Month() == 12 && t.Day() == 31 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0
}

// asnNever is the GeneralizedTime RTDS puts for the DUIS cancel value.
var asnNever = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

func init() {
	// 6.15.2 Update Device Certificate: the payload is the certificate
	// itself (RTDS CS02d: the DER of DeviceCertificate, nothing else).
	builders["CS02d"] = func(c *ctx) ([]byte, error) {
		n, err := c.certificate("DeviceCertificate")
		if err != nil {
			return nil, err
		}
		return asnBytes(n)
	}
	// 6.24.2 Retrieve Device Security Credentials (device): SEQUENCE {
	// KeyUsage } of the CredentialType asked for.
	builders["CS02e"] = func(c *ctx) ([]byte, error) {
		s, err := c.need("CredentialType")
		if err != nil {
			return nil, err
		}
		ku, ok := credentialKeyUsage[s]
		if !ok {
			return nil, c.errf("CredentialType %q", s)
		}
		return asnBytes(aSeq(aBits(ku)))
	}
	// 8.8.1 / 8.8.2 Unjoin: the OCTET STRING of the other device's EUI.
	builders["CS04AC"] = func(c *ctx) ([]byte, error) {
		id, err := c.eui("OtherDeviceID")
		if err != nil {
			return nil, err
		}
		return asnBytes(aOct(id[:]))
	}
	// 11.3 Activate Firmware: SEQUENCE { hash OCTET STRING, the command's
	// originator counter INTEGER, execution time GeneralizedTime OPTIONAL }
	// — absent ExecutionDateTime: omitted; the DUIS cancel value:
	// 9999-12-31T23:59:59Z (RTDS CS06 ×3).
	builders["CS06"] = func(c *ctx) ([]byte, error) {
		s, err := c.need("FirmwareHash")
		if err != nil {
			return nil, err
		}
		hash, err := hex.DecodeString(s)
		if err != nil {
			return nil, c.errf("FirmwareHash: %v", err)
		}
		if c.counter > 1<<62 {
			return nil, c.errf("originator counter %d out of range", c.counter)
		}
		seq := aSeq(aOct(hash), aInt(int64(c.counter)))
		if e, ok := c.str("ExecutionDateTime"); ok {
			t, err := parseTime(e)
			if err != nil {
				return nil, c.errf("ExecutionDateTime: %v", err)
			}
			if isCancel(t) {
				t = asnNever
			}
			if t.Nanosecond() != 0 {
				return nil, c.errf("ExecutionDateTime %s: the command carries whole seconds", e)
			}
			seq.Add(aGenTime(t))
		}
		return asnBytes(seq)
	}
	// 11.2 Read PPMID/HCALCS firmware version: NULL (RTDS CS08; the
	// request carries no value).
	builders["CS08"] = func(c *ctx) ([]byte, error) { return asnBytes(aNull()) }
}

// remotePartyRole is the GBCS RemotePartyRole INTEGER of the DUIS
// RemotePartyRole (the codes of the organisation certificates' role, smki:
// RTDS CS02a/f carry supplier 2, networkOperator 3, loadController 8).
var remotePartyRole = map[string]int64{
	"Root": 0, "Recovery": 1, "Supplier": 2, "NetworkOperator": 3, "ACB": 4, "TransCoS": 5, "LoadController": 8,
}

// rpACB is the access control broker's RemotePartyRole.
const rpACB = 4

func init() {
	// 6.24.1 Retrieve Device Security Credentials (KRP): CS02f is the
	// variant that covers the load controller (ESME and SAPC), CS02a the
	// one that covers the transitional CoS party; RTDS sends CS02a for
	// {Supplier, NetworkOperator} and CS02f for {Supplier, LoadController}.
	choosers["6.24.1"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		lc, tc := false, false
		for i := 0; i < c.count("RemotePartyRole"); i++ {
			switch s, _ := c.str(fmt.Sprintf("RemotePartyRole[%d]", i)); s {
			case "LoadController":
				lc = true
			case "TransCoS":
				tc = true
			}
		}
		switch {
		case lc && tc:
			return "", c.errf("RemotePartyRole: LoadController and TransCoS are in different use cases (CS02f, CS02a)")
		case lc || !has(cands, "CS02a"):
			return "CS02f", nil
		}
		return "CS02a", nil
	}
	// CS02a / CS02f: SEQUENCE { authorising trust anchor cell SEQUENCE {
	// RemotePartyRole, KeyUsage }, SEQUENCE OF RemotePartyRole }. The
	// command is non-critical, MACed with the ACB's key-agreement key: the
	// cell is {accessControlBroker, keyAgreement} (both RTDS commands); the
	// roles are the request's, in order.
	credDetails := func(c *ctx) ([]byte, error) {
		roles := aSeq()
		for i := 0; i < c.count("RemotePartyRole"); i++ {
			s, _ := c.str(fmt.Sprintf("RemotePartyRole[%d]", i))
			r, ok := remotePartyRole[s]
			if !ok {
				return nil, c.errf("RemotePartyRole %q", s)
			}
			roles.Add(aInt(r))
		}
		if len(roles.Children) == 0 {
			return nil, c.errf("missing RemotePartyRole")
		}
		return asnBytes(aSeq(aSeq(aInt(rpACB), aBits(kuKeyAgreement)), roles))
	}
	builders["CS02a"] = credDetails
	builders["CS02f"] = credDetails
}

func aCtx(tag int, c ...*tree.Node) *tree.Node {
	return &tree.Node{Type: fmt.Sprintf("[%d] constructed", tag), Children: c}
}

// aCtxInt is an implicitly tagged INTEGER.
func aCtxInt(tag int, v int64) *tree.Node {
	return &tree.Node{Type: fmt.Sprintf("[%d] primitive", tag), Value: hex.EncodeToString(encodeInt(v))}
}

// encodeInt is the minimal two's-complement content of a DER INTEGER.
func encodeInt(v int64) []byte {
	b, _ := asn.EncodeElement(aInt(v))
	return b[2:]
}

// cs02Cell is a trust-anchor cell identifier SEQUENCE { RemotePartyRole,
// KeyUsage }.
func cs02Cell(role int64, ku []byte) *tree.Node { return aSeq(aInt(role), aBits(ku)) }

// krpReplacement describes the RTDS-confirmed CS02b / CS02g replacements
// of 6.15.1 (Update Security Credentials, KRP): the scope INTEGER, the
// authorising party's role, the replaced role.
type krpReplacement struct {
	code            uint16
	scope           int64
	by, role        int64
	floorInSequence bool // CS02g: [6] { SEQUENCE { role, floor } }; CS02b: [4] floor
}

var krpReplacements = map[string]krpReplacement{
	// networkOperatorByNetworkOperator (RTDS CS02bNOByNO)
	"NetworkOperator": {code: 0x0103, scope: 3, by: 3, role: 3},
	// loadControllerBySupplier (RTDS CS02gLoadControllerBySupplier ×3)
	"LoadController": {code: 0x0126, scope: 11, by: 2, role: 8, floorInSequence: true},
}

func init() {
	// 6.15.1 Update Security Credentials (KRP): the replaced role selects
	// the use case and its message code. Only the replacements with an
	// RTDS command are mapped; the control fields of the others (the
	// supplier's prepayment top-up floor, root, recovery, ACB) differ and
	// GBCS 13.3 is not among the sources.
	choosers["6.15.1"] = func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		role, _ := c.str("RemotePartyRole")
		r, ok := krpReplacements[role]
		if !ok {
			return "", &UnsupportedError{SRV: c.srv.Variant, UseCase: joinNames(cands),
				Reason: "replacement of the " + role + " credentials: the control fields (GBCS 13.3) are not among the sources and no RTDS command shows them"}
		}
		name := "CS02b"
		if role == "LoadController" {
			name = "CS02g"
		}
		return fmt.Sprintf("%s#%04X", name, r.code), nil
	}
	// CS02b / CS02g: SEQUENCE {
	//   SEQUENCE { scope INTEGER, [2] IMPLICIT authorising cell {role, digitalSignature},
	//              [3] originator counter, [4] floor | [6] { SEQUENCE { role, floor } } },
	//   SEQUENCE OF SEQUENCE { certificate, cell {replaced role, key usage} },
	//   SEQUENCE OF certification-path certificate,
	//   execution time GeneralizedTime OPTIONAL (cancel: 9999-12-31T23:59:59Z) }
	// (every RTDS 6.15.1 command).
	krp := func(c *ctx) ([]byte, error) {
		var r krpReplacement
		for _, x := range krpReplacements {
			if x.code == c.uc.MessageCode {
				r = x
			}
		}
		if r.code == 0 {
			return nil, c.unsupported("this replacement's control fields are not among the sources")
		}
		floor, err := c.uint("RemotePartyFloorSeqNumber", 62)
		if err != nil {
			return nil, err
		}
		if c.has("RemotePartyPrepaymentTopUpFloorSeqNumber") {
			return nil, c.unsupported("RemotePartyPrepaymentTopUpFloorSeqNumber: its place in the command (GBCS 13.3) is not among the sources")
		}
		if c.counter > 1<<62 {
			return nil, c.errf("originator counter %d out of range", c.counter)
		}
		// [2] IMPLICIT cell: the tag replaces the cell's SEQUENCE tag
		ctl := aSeq(aInt(r.scope), aCtx(2, aInt(r.by), aBits(kuDigitalSignature)), aCtxInt(3, int64(c.counter)))
		if r.floorInSequence {
			ctl.Add(aCtx(6, aSeq(aInt(r.role), aInt(int64(floor)))))
		} else {
			ctl.Add(aCtxInt(4, int64(floor)))
		}
		const rc = "ReplacementCertificates/SupplierOrNetworkOperatorCertificates/"
		if c.has(rc + "KeyAgreementTopUpCertificate") {
			return nil, c.unsupported("KeyAgreementTopUpCertificate is not a credential of the " + fmt.Sprint(r.role) + " role")
		}
		repl := aSeq()
		for _, x := range []struct {
			el string
			ku []byte
		}{{"DigitalSigningCertificate", kuDigitalSignature}, {"KeyAgreementCertificate", kuKeyAgreement}} {
			if !c.has(rc + x.el) {
				continue
			}
			cert, err := c.certificate(rc + x.el)
			if err != nil {
				return nil, err
			}
			repl.Add(aSeq(cert, cs02Cell(r.role, x.ku)))
		}
		if len(repl.Children) == 0 {
			return nil, c.errf("no replacement certificate")
		}
		path, err := c.certificationPath()
		if err != nil {
			return nil, err
		}
		top := aSeq(ctl, repl, path)
		if e, ok := c.str("ExecutionDateTime"); ok {
			t, err := parseTime(e)
			if err != nil {
				return nil, c.errf("ExecutionDateTime: %v", err)
			}
			if isCancel(t) {
				t = asnNever
			}
			if t.Nanosecond() != 0 {
				return nil, c.errf("ExecutionDateTime %s: the command carries whole seconds", e)
			}
			top.Add(aGenTime(t))
		}
		return asnBytes(top)
	}
	builders["CS02b"] = func(c *ctx) ([]byte, error) {
		if c.dccParty != nil {
			return c.cs02bDCC() // 6.21, 6.23 (cs02b.go)
		}
		return krp(c)
	}
	builders["CS02g"] = krp
}

// certificationPath is the SEQUENCE of the request's
// CertificationPathCertificates (CS02b, CS02g).
func (c *ctx) certificationPath() (*tree.Node, error) {
	path := aSeq()
	for i := 0; i < c.count("CertificationPathCertificates/Certificate"); i++ {
		cert, err := c.certificate(fmt.Sprintf("CertificationPathCertificates/Certificate[%d]", i))
		if err != nil {
			return nil, err
		}
		path.Add(cert)
	}
	return path, nil
}
