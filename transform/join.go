package transform

import (
	"fmt"
	"slices"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/asn"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/smki"
)

// 8.7.1 / 8.7.2 Join Service (CS03A1, CS03A2, CS03B, CS03C). The RTDS
// commands carry
//
//	SEQUENCE { join method INTEGER, other device EUI OCTET STRING(8),
//	           other device type INTEGER [, other device certificate] }
//
// The request names only the other device (OtherDeviceID): its type comes
// from the DCC's inventory (Options.OtherDeviceType), its certificate
// (CS03C) from the SMKI repository (Options.OtherDeviceCertificate).
// docs/transform.md "Join Service" gives the evidence of each value.

// joinDeviceType is the ASN.1 other-device-type INTEGER of CS03 (and of the
// device logs of CS07 Read Device Join Details, GCS62 Backup and GCS59
// Restore GPF Device Log, which carry the same {EUI, INTEGER} pairs). It is
// not the CHF device log's deviceType (chfLogDeviceType, annex CCS01 row
// 1001: 0 ESME, 1 GSME, 13 HCALCS, 132 PPMID, 254 GPF): RTDS CS03C gives
// 0 with the certificate of the GSME …A1, and 3, 4, 5, 6 are not in that
// table. Evidence (RTDS 4.5.0):
//
//	0 GSME    CS03C on the PPMID …A4 carries device …A1's (the GSME's) Key
//	          Agreement certificate as the other device's, with type 0
//	1 ESME    CS03A2 on the HCALCS …A5 and the PPMID …A4: the other device
//	          of the non-meter side of Method A is the meter of CS03A1, an
//	          ESME (…A0; the GSME is 0)
//	3 GPF     CS03B (Method B) on the GSME …A1; CS07, the GSME's join
//	          details, lists 3 (twice) and 5; the GPF's own logs (GCS62,
//	          GCS59) never list 3
//	4 HCALCS  CS03A1 on the ESME …A0 (the other device is a Method A non-
//	5 PPMID   meter, the CS03A2 targets HCALCS and PPMID) has 4 and 5; 5 is
//	          the one in the gas-side logs (CS07 of the GSME, GCS62 and
//	          GCS59 of the GPF), where a PPMID joins (CS03C) and no source
//	          joins an HCALCS
//	6 Type 2  (IHD, CAD) the value of the GPF's logs (GCS62, GCS59) other
//	          than the PPMID's 5: the devices a GPF logs besides PPMIDs
//
// The values agree, position for position, with the device-log type list
// of /work/shared/docs/sec-rules.md §3.1 (gSME, eSME, CHF, GPF, type1
// HCALCS, type1 PPMID, type2), which corroborates 3 and 6. No RTDS value
// is a CHF's (2 never occurs): a CHF is unsupported. No RTDS command joins
// a Type 2 device, so no join method is shown for one (joinUseCase).
var joinDeviceType = map[DeviceType]int64{
	GSME: 0, ESME: 1, GPF: 3, HCALCS: 4, PPMID: 5, IHD: 6, CAD: 6,
}

// Join method INTEGER by use case: the value of every RTDS command of the
// use case (CS03A1 ×2 0, CS03A2 ×2 1, CS03B ×2 2, CS03C ×2 3).
const (
	joinMethodA1 = 0
	joinMethodA2 = 1
	joinMethodB  = 2
	joinMethodC  = 3
)

// joinUseCase is the join of a target of type t with a device of type o:
// the use case, its method INTEGER and whether it carries the other
// device's certificate. The pairs are the RTDS ones:
//
//	CS03A1 "Method A Join (Meter)"      ESME   with HCALCS or PPMID
//	CS03A2 "Method A Join (non Meter)"  HCALCS or PPMID with ESME
//	CS03B  "Method B Join"              GSME   with GPF
//	CS03C  "Method C Join"              PPMID  with GSME (+ its certificate)
//
// CS03C also targets the GSME (annex), but every RTDS CS03C is on a PPMID:
// its method INTEGER on the GSME is not shown, so that side is unsupported.
func joinUseCase(t, o DeviceType) (uc string, method int64, cert bool, why string) {
	switch {
	case t == ESME && (o == HCALCS || o == PPMID):
		return "CS03A1", joinMethodA1, false, ""
	case (t == HCALCS || t == PPMID) && o == ESME:
		return "CS03A2", joinMethodA2, false, ""
	case t == GSME && o == GPF:
		return "CS03B", joinMethodB, false, ""
	case t == PPMID && o == GSME:
		return "CS03C", joinMethodC, true, ""
	case t == GSME && o == PPMID:
		return "", 0, false, "Method C Join on the GSME: every RTDS CS03C is on the PPMID (method 3); no source gives the GSME side's method INTEGER"
	}
	return "", 0, false, fmt.Sprintf("no source gives a join method for a %s with a %s (RTDS joins ESME–HCALCS/PPMID by Method A, GSME–GPF by Method B, PPMID–GSME by Method C)", t, o)
}

// joinPlan is the join the chooser settled on, for the builder.
type joinPlan struct {
	other  eui.EUI64
	otherT DeviceType
	method int64
	cert   bool
}

func init() {
	join := func(c *ctx, cands []*gbcs.UseCase) (string, error) {
		other, err := c.eui("OtherDeviceID")
		if err != nil {
			return "", err
		}
		if other == c.rid.Target {
			return "", c.errf("OtherDeviceID %s is the target itself", other)
		}
		ot, err := c.otherDeviceType(other)
		if err != nil {
			return "", err
		}
		if _, ok := joinDeviceType[ot]; !ok {
			return "", &UnsupportedError{SRV: c.srv.Variant, UseCase: joinNames(cands),
				Reason: fmt.Sprintf("device %s is a %q in the inventory: no source shows the join other-device-type INTEGER of a %s (RTDS shows GSME 0, ESME 1, GPF 3, HCALCS 4, PPMID 5, Type 2 6)", other, ot, ot)}
		}
		uc, method, cert, why := joinUseCase(c.dev.Type, ot)
		if why != "" {
			return "", &UnsupportedError{SRV: c.srv.Variant, UseCase: joinNames(cands), Reason: why}
		}
		if !has(cands, uc) {
			var in []string
			for _, v := range []string{"8.7.1", "8.7.2"} {
				if s, ok := duis.LookupSRV(v); ok && slices.Contains(s.GBCSUseCases, uc) {
					in = append(in, v)
				}
			}
			return "", fmt.Errorf("%w: SRV %s: joining a %s with a %s is %s, which SRV %s does not carry (SRV %v does)",
				ErrDeviceType, c.srv.Variant, c.dev.Type, ot, uc, c.srv.Variant, in)
		}
		c.join = &joinPlan{other: other, otherT: ot, method: method, cert: cert}
		return uc, nil
	}
	choosers["8.7.1"] = join
	choosers["8.7.2"] = join
	for _, uc := range []string{"CS03A1", "CS03A2", "CS03B", "CS03C"} {
		builders[uc] = func(c *ctx) ([]byte, error) { return c.cs03() }
	}
}

func (c *ctx) cs03() ([]byte, error) {
	j := c.join
	if j == nil {
		return nil, c.errf("join: no plan (the 8.7 chooser sets it)")
	}
	seq := aSeq(aInt(j.method), aOct(j.other[:]), aInt(joinDeviceType[j.otherT]))
	if j.cert {
		n, err := c.otherCertificate(j.other)
		if err != nil {
			return nil, err
		}
		seq.Add(n)
	}
	return asnBytes(seq)
}

// otherCertificate is the other device's Key Agreement certificate (the
// RTDS CS03C certificate has keyUsage keyAgreement and the device's EUI in
// its subjectAltName) from Options.OtherDeviceCertificate.
func (c *ctx) otherCertificate(id eui.EUI64) (*tree.Node, error) {
	if c.opts.OtherDeviceCertificate == nil {
		return nil, c.errf("%s joins with device %s's certificate from the SMKI repository: Options.OtherDeviceCertificate is needed", c.uc.Name, id)
	}
	der, ok := c.opts.OtherDeviceCertificate(id)
	if !ok {
		return nil, c.errf("no Key Agreement certificate of device %s (Options.OtherDeviceCertificate)", id)
	}
	cert, err := smki.ParseCertificate(der)
	if err != nil {
		return nil, c.errf("certificate of device %s: %v", id, err)
	}
	if cert.Kind != smki.KindDevice || cert.EUI != id || cert.KeyUsage&smki.KeyUsageKeyAgreement == 0 {
		return nil, c.errf("certificate of device %s: not its Key Agreement device certificate (kind %v, EUI %s, keyUsage %v)", id, cert.Kind, cert.EUI, cert.KeyUsage)
	}
	root, err := asn.Decode(der, tree.Limits{})
	if err != nil || len(root.Children) != 1 {
		return nil, c.errf("certificate of device %s: not one DER element", id)
	}
	n := root.Children[0]
	if b, err := asn.EncodeElement(n); err != nil || string(b) != string(der) {
		return nil, c.errf("certificate of device %s: does not re-encode to the same DER", id)
	}
	return n, nil
}
