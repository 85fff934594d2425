package asn

import (
	"fmt"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// useCases: the message codes GBCS carries as ASN.1 DER (project notes
// §1.7), with their use case.
var useCases = map[uint16]string{
	0x0008: "CS02a", 0x000a: "CS02c", 0x000b: "CS02d", 0x000c: "CS02e",
	0x000d: "CS03A1", 0x00ab: "CS03A2", 0x000e: "CS03B", 0x00af: "CS03C",
	0x000f: "CS04AC", 0x0010: "CS04B", 0x0012: "CS06", 0x0013: "CS07",
	0x007f: "GCS28", 0x008c: "GCS59", 0x00b2: "GCS62 alert",
	0x00ca: "CS06 future-dated alert", 0x00cb: "CS02b future-dated alert",
	0x011b: "CS02f", 0x0124: "CS02g", 0x0125: "CS02g", 0x0126: "CS02g",
	0x0128: "CCS08 alert", 0x0129: "CS08", 0x012b: "CS09 alert",
}

// UseCase returns the use case of an ASN.1 message code, or "".
func UseCase(code uint16) string {
	if code >= 0x0100 && code <= 0x0109 {
		return "CS02b"
	}
	return useCases[code]
}

// IsASN1Code reports whether GBCS carries the message code's payload as
// ASN.1 DER (project notes §1.7, including the newer CS02f/CS02g/CS09 codes).
func IsASN1Code(code uint16) bool { return UseCase(code) != "" }

// Label names what is certain in a decoded ASN.1 payload: the use case of
// the message code (root Text), X.509 certificates (RFC 5280 names) and the
// alert code / alert time that open ASN.1 alerts.
func Label(root *tree.Node, code uint16) {
	if root == nil {
		return
	}
	if uc := UseCase(code); uc != "" {
		root.Text = fmt.Sprintf("%s (message code 0x%04X)", uc, code)
	}
	if len(root.Children) == 1 {
		labelAlert(root.Children[0])
	}
	root.Walk(func(n *tree.Node) bool {
		if isCertificate(n) {
			labelCertificate(n)
			return false
		}
		return true
	})
}

func labelAlert(n *tree.Node) {
	if n.Type != "SEQUENCE" || len(n.Children) < 2 || n.Children[0].Type != "INTEGER" || n.Children[1].Type != "GeneralizedTime" {
		return
	}
	code, err := n.Children[0].Int()
	if err != nil || code < 0x8000 || code > 0x8fff {
		return
	}
	n.Children[0].Name = "alert-code"
	n.Children[0].Text = fmt.Sprintf("0x%04X", code)
	n.Children[1].Name = "alert-time"
}

func isCertificate(n *tree.Node) bool {
	if n.Type != "SEQUENCE" || len(n.Children) != 3 {
		return false
	}
	tbs, alg, sig := n.Children[0], n.Children[1], n.Children[2]
	if tbs.Type != "SEQUENCE" || alg.Type != "SEQUENCE" || sig.Type != "BIT STRING" || len(tbs.Children) < 6 {
		return false
	}
	i := 0
	if tbs.Children[0].Type == "[0] constructed" {
		i = 1
	}
	if len(tbs.Children) < i+6 {
		return false
	}
	want := []string{"INTEGER", "SEQUENCE", "SEQUENCE", "SEQUENCE", "SEQUENCE", "SEQUENCE"}
	for k, w := range want {
		if tbs.Children[i+k].Type != w {
			return false
		}
	}
	return len(alg.Children) >= 1 && alg.Children[0].Type == "OBJECT IDENTIFIER"
}

func labelCertificate(n *tree.Node) {
	n.Name = "certificate"
	n.Children[0].Name = "tbsCertificate"
	n.Children[1].Name = "signatureAlgorithm"
	n.Children[2].Name = "signatureValue"
	tbs := n.Children[0]
	names := []string{"serialNumber", "signature", "issuer", "validity", "subject", "subjectPublicKeyInfo"}
	i := 0
	if tbs.Children[0].Type == "[0] constructed" {
		tbs.Children[0].Name = "version"
		i = 1
	}
	for k, nm := range names {
		tbs.Children[i+k].Name = nm
	}
	for _, c := range tbs.Children[i+len(names):] {
		switch c.Type {
		case "[1] primitive":
			c.Name = "issuerUniqueID"
		case "[2] primitive":
			c.Name = "subjectUniqueID"
		case "[3] constructed":
			c.Name = "extensions"
		}
	}
	if v := tbs.Children[i+3]; len(v.Children) == 2 {
		v.Children[0].Name = "notBefore"
		v.Children[1].Name = "notAfter"
	}
}
