package correlate

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs/payload"
)

func init() {
	srvChecks["6.15.1"] = checkUpdateCredentialsKRP
	srvChecks["6.15.2"] = checkUpdateDeviceCertificate
	srvChecks["6.17"] = checkCredentialType("CS02c")
	srvChecks["6.24.2"] = checkCredentialType("CS02e")
	srvChecks["8.7.1"] = checkJoin
	srvChecks["8.8.1"] = checkUnjoin
	srvChecks["11.3"] = checkActivateFirmware
}

// asnWalk visits every node of the ASN.1 tree.
func (c *checker) asnNodes(f func(n *payload.Node)) {
	if c.asn == nil {
		return
	}
	c.asn.Walk(func(n *payload.Node) bool { f(n); return true })
}

// der returns the DER bytes a node covers in the Pre-Command content.
func (c *checker) der(n *payload.Node) []byte {
	if n == nil || n.Offset < 0 || n.Len <= 0 || n.Offset+n.Len > len(c.m.Content) {
		return nil
	}
	return c.m.Content[n.Offset : n.Offset+n.Len]
}

// commandCertificates lists the X.509 certificates the ASN.1 payload holds.
func (c *checker) commandCertificates() [][]byte {
	var out [][]byte
	c.asnNodes(func(n *payload.Node) {
		if n.Name == "certificate" {
			if d := c.der(n); d != nil {
				out = append(out, d)
			}
		}
	})
	return out
}

// certSummary is what a human compares in a certificate.
type certSummary struct {
	serial  string
	subject string
	key     string
}

func (s certSummary) String() string {
	return fmt.Sprintf("serial %s, subject %s, public key %s", s.serial, s.subject, s.key)
}

type tbsCert struct {
	Raw        asn1.RawContent
	Version    int `asn1:"optional,explicit,default:0,tag:0"`
	Serial     *big.Int
	Sig        asn1.RawValue
	Issuer     asn1.RawValue
	Validity   asn1.RawValue
	Subject    asn1.RawValue
	SPKI       spki
	Extensions asn1.RawValue `asn1:"optional,explicit,tag:3"`
}

type spki struct {
	Alg asn1.RawValue
	Key asn1.BitString
}

type x509Cert struct {
	TBS tbsCert
	Alg asn1.RawValue
	Sig asn1.BitString
}

// atvSET is one RelativeDistinguishedName (SET OF AttributeTypeAndValue;
// encoding/asn1 takes a type name ending in SET as a SET).
type atvSET []atv

type atv struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

var (
	oidOU  = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidCN  = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidUID = asn1.ObjectIdentifier{2, 5, 4, 45}
	// DER of id-on-hardwareModuleName 1.3.6.1.5.5.7.8.4 (RFC 4108)
	oidHardwareModuleName = []byte{0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x04}
)

// summarise reads serial, subject (role OU, CN, EUI) and public key of a DER
// certificate. SMKI organisation certificates carry a BIT STRING
// x500UniqueIdentifier that crypto/x509 refuses, hence the manual walk.
func summarise(der []byte) (certSummary, error) {
	var cert x509Cert
	rest, err := asn1.Unmarshal(der, &cert)
	if err != nil {
		return certSummary{}, err
	}
	if len(rest) != 0 {
		return certSummary{}, fmt.Errorf("trailing bytes after certificate")
	}
	s := certSummary{serial: fmt.Sprintf("%X", cert.TBS.Serial)}
	var rdns []atvSET
	var parts []string
	if _, err := asn1.Unmarshal(cert.TBS.Subject.FullBytes, &rdns); err == nil {
		for _, set := range rdns {
			for _, a := range set {
				switch {
				case a.Type.Equal(oidOU):
					parts = append(parts, "OU="+string(a.Value.Bytes))
				case a.Type.Equal(oidCN):
					parts = append(parts, "CN="+string(a.Value.Bytes))
				case a.Type.Equal(oidUID):
					var bs asn1.BitString
					if _, err := asn1.Unmarshal(a.Value.FullBytes, &bs); err == nil && len(bs.Bytes) == 8 {
						var e eui.EUI64
						copy(e[:], bs.Bytes)
						parts = append(parts, "EUI="+e.String())
					}
				}
			}
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "empty")
		// device certificates name the device in subjectAltName
		ext := cert.TBS.Extensions.Bytes
		if i := bytes.Index(ext, oidHardwareModuleName); i >= 0 {
			if j := bytes.Index(ext[i:], []byte{0x04, 0x08}); j >= 0 && i+j+10 <= len(ext) {
				var e eui.EUI64
				copy(e[:], ext[i+j+2:i+j+10])
				parts = append(parts, "(hardwareModuleName "+e.String()+")")
			}
		}
	}
	s.subject = strings.Join(parts, " ")
	k := cert.TBS.SPKI.Key.Bytes
	if len(k) > 9 {
		s.key = hex.EncodeToString(k[:9]) + "…"
	} else {
		s.key = hex.EncodeToString(k)
	}
	return s, nil
}

func decodeCertText(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(s)
}

// compareCertificate looks for the requested certificate among the
// command's; equal DER is a match. Otherwise the command certificate at the
// same position is shown field by field.
func (c *checker) compareCertificate(name, b64 string, cmd [][]byte, pos int, used map[int]bool) {
	want, err := decodeCertText(b64)
	if err != nil {
		c.skip(name, "", "the request's certificate is not base64")
		return
	}
	ws, err := summarise(want)
	if err != nil {
		c.skip(name, "", "the request's certificate is not a DER X.509 certificate: "+err.Error())
		return
	}
	for i, d := range cmd {
		if !used[i] && bytes.Equal(d, want) {
			used[i] = true
			c.eq(name+" (whole DER)", ws.String(), ws.String())
			return
		}
	}
	if pos >= len(cmd) || used[pos] {
		c.absent(name, ws.String(), "no such certificate in the command")
		return
	}
	used[pos] = true
	gs, err := summarise(cmd[pos])
	if err != nil {
		c.add(Field{Name: name, Request: ws.String(), Command: "undecodable certificate", Result: Differ})
		return
	}
	c.eq(name+" serial", ws.serial, gs.serial)
	c.eq(name+" subject", ws.subject, gs.subject)
	c.eq(name+" public key", ws.key, gs.key)
	c.add(Field{Name: name + " (whole DER)", Request: fmt.Sprintf("%d bytes", len(want)), Command: fmt.Sprintf("%d bytes, different", len(cmd[pos])), Result: Differ})
}

// 6.15.1 Update Security Credentials (KRP): CS02b / CS02g. The certificates
// are compared in full; the ASN.1 control fields (replacement mode, role and
// floor sequence numbers) are defined in GBCS 13.3/13.10, which is not among
// the project's sources.
func checkUpdateCredentialsKRP(c *checker, b *xnode) {
	role := b.trimmed1("RemotePartyRole")
	if role == "LoadController" {
		c.wantUseCase("CS02g")
	} else {
		c.wantUseCase("CS02b")
	}
	cmd := c.commandCertificates()
	used := map[int]bool{}
	pos := 0
	rep := b.child("ReplacementCertificates")
	for _, grp := range rep.kids {
		for _, cert := range grp.kids {
			c.compareCertificate("ReplacementCertificates/"+grp.name+"/"+cert.name, cert.trimmed(), cmd, pos, used)
			pos++
		}
		if grp.text != "" && len(grp.kids) == 0 {
			c.compareCertificate("ReplacementCertificates/"+grp.name, grp.trimmed(), cmd, pos, used)
			pos++
		}
	}
	for i, cert := range b.all("CertificationPathCertificates/Certificate") {
		c.compareCertificate(fmt.Sprintf("CertificationPathCertificates/Certificate[%d]", i+1), cert.trimmed(), cmd, pos, used)
		pos++
	}
	for i := range cmd {
		if !used[i] {
			s, _ := summarise(cmd[i])
			c.add(Field{Name: "command certificate not in the request", Request: "absent", Command: s.String(), Result: Differ})
		}
	}
	c.skip("RemotePartyRole", role, "the ASN.1 trust-anchor control fields (GBCS 13.3/13.10) are not among the project's sources")
	for _, f := range []string{"RemotePartyFloorSeqNumber", "RemotePartyPrepaymentTopUpFloorSeqNumber", "ApplyTimeBasedCPVChecks"} {
		if v, ok := b.val(f); ok {
			c.skip(f, v, "the ASN.1 trust-anchor control fields (GBCS 13.3/13.10) are not among the project's sources")
		}
	}
	c.asnExecutionTime()
}

// asnExecutionTime compares the execution date-time with a GeneralizedTime
// that is a direct element of the top-level SEQUENCE (CS02b/g, CS06);
// absent means immediate.
func (c *checker) asnExecutionTime() {
	got := renderNow
	if c.asn != nil {
		for _, k := range kids(c.asn) {
			if k.Type == "GeneralizedTime" {
				got = asnTime(nodeText(k))
			}
		}
	}
	c.eq("execution date-time vs ASN.1 execution time", c.exec.String(), got)
}

// 6.15.2 Update Security Credentials (Device): CS02d carries the device
// certificate.
func checkUpdateDeviceCertificate(c *checker, b *xnode) {
	c.wantUseCase("CS02d")
	c.compareCertificate("DeviceCertificate", b.trimmed1("DeviceCertificate"), c.commandCertificates(), 0, map[int]bool{})
}

// keyUsageBits names the keyUsage bits of a DER BIT STRING (X.509:
// digitalSignature bit 0, keyAgreement bit 4).
func keyUsageBits(n *payload.Node) string {
	b := octets(n)
	if len(b) < 1 {
		return "absent"
	}
	var names []string
	for i, by := range b[1:] {
		for j := 0; j < 8; j++ {
			if by&(0x80>>j) != 0 {
				bit := i*8 + j
				switch bit {
				case 0:
					names = append(names, "Digital Signature")
				case 4:
					names = append(names, "Key Agreement")
				default:
					names = append(names, "bit "+strconv.Itoa(bit))
				}
			}
		}
	}
	return strings.Join(names, "+")
}

// 6.17 Issue Security Credentials (CS02c) and 6.24.2 Retrieve Device
// Security Credentials (CS02e): the credential type is the key usage BIT
// STRING of the payload.
func checkCredentialType(uc string) func(*checker, *xnode) {
	return func(c *checker, b *xnode) {
		c.wantUseCase(uc)
		var bs *payload.Node
		c.asnNodes(func(n *payload.Node) {
			if bs == nil && n.Type == "BIT STRING" {
				bs = n
			}
		})
		if bs == nil {
			c.absent("CredentialType", b.trimmed1("CredentialType"), "key usage BIT STRING")
			return
		}
		c.eq("CredentialType vs key usage", b.trimmed1("CredentialType"), keyUsageBits(bs))
	}
}

// euiOctets finds OCTET STRINGs of 8 bytes in the ASN.1 payload.
func (c *checker) euiOctets() []string {
	var out []string
	c.asnNodes(func(n *payload.Node) {
		if n.Type == "OCTET STRING" {
			if b := octets(n); len(b) == 8 {
				var e eui.EUI64
				copy(e[:], b)
				out = append(out, e.String())
			}
		}
	})
	return out
}

func canonEUI(s string) string {
	e, err := eui.Parse(strings.TrimSpace(s))
	if err != nil {
		return strings.TrimSpace(s)
	}
	return e.String()
}

// 8.7.1 Join Service (critical): CS03A1/CS03A2/CS03C carry the other
// device's EUI-64 as an OCTET STRING.
func checkJoin(c *checker, b *xnode) {
	c.wantUseCase("CS03A1", "CS03A2", "CS03C")
	c.otherDevice(b)
	c.asnNodes(func(n *payload.Node) {
		if n.Type == "INTEGER" {
			c.skip("command INTEGER "+nodeNum(n), "", "set by the DCC from its inventory (device types / join method), not by the request")
		}
	})
}

func (c *checker) otherDevice(b *xnode) {
	want := canonEUI(b.trimmed1("OtherDeviceID"))
	got := c.euiOctets()
	if len(got) == 0 {
		c.absent("OtherDeviceID", want, "8-octet device identifier")
		return
	}
	c.eq("OtherDeviceID", want, strings.Join(got, ", "))
}

// 8.8.1 Unjoin Service (critical): CS04AC carries the other device's EUI-64.
func checkUnjoin(c *checker, b *xnode) {
	c.wantUseCase("CS04AC")
	c.otherDevice(b)
}

// 11.3 Activate Firmware: CS06 SEQUENCE { image hash OCTET STRING,
// INTEGER, [execution GeneralizedTime] }.
func checkActivateFirmware(c *checker, b *xnode) {
	c.wantUseCase("CS06")
	want := strings.ToLower(b.trimmed1("FirmwareHash"))
	var hashes []string
	var ints []*payload.Node
	if c.asn != nil {
		for _, k := range kids(c.asn) {
			switch k.Type {
			case "OCTET STRING":
				hashes = append(hashes, hex.EncodeToString(octets(k)))
			case "INTEGER":
				ints = append(ints, k)
			}
		}
	}
	if len(hashes) == 0 {
		c.absent("FirmwareHash", want, "OCTET STRING")
	} else {
		c.eq("FirmwareHash", want, strings.Join(hashes, ", "))
	}
	for _, n := range ints {
		c.skip("CS06 INTEGER "+nodeNum(n), strconv.FormatUint(c.req.id.Counter, 10), "its meaning is defined in GBCS (CS06), not in the annex; RTDS carries the originator counter here")
	}
	c.asnExecutionTime()
}
