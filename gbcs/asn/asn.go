// Package asn decodes and encodes the ASN.1 DER payloads of the GBCS
// security and device-management use cases (CS02x, CS03x, CS04x, CS06, CS07,
// CS08, CS09, GCS28, GCS59, GCS62 and their alerts) as a generic tree of
// TLVs, byte-exactly.
//
// Every TLV becomes a tree.Node. Universal types in their usual form are
// named ("SEQUENCE", "INTEGER", "OBJECT IDENTIFIER", …); other tags are
// written "[N] constructed", "[APPLICATION N] primitive" and so on. Values:
// INTEGER/ENUMERATED int64 (hex of the content when longer than 8 bytes),
// BOOLEAN bool, OBJECT IDENTIFIER dotted text (Text: the name when known),
// strings and times as text, OCTET/BIT STRING and anything else as hex.
// Content that the value form cannot reproduce (non-minimal INTEGER, BOOLEAN
// other than 00/FF, invalid UTF-8…) is kept verbatim in Enc "raw:", and a
// length written in a longer form than DER's in Enc "len:", so Encode always
// gives back the input. Indefinite lengths are rejected.
//
// The GBCS use-case annex on file does not carry the ASN.1 modules of the CS
// use cases (it refers to GBCS sections 11 and 13), so element names are only
// given where the structure is certain: X.509 certificates (RFC 5280 field
// names) and the alert-code / alert-time header of ASN.1 alerts.
package asn

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Type of the root node Decode returns; its children are the top-level TLVs.
const RootType = "asn1"

// Decode parses b as a sequence of DER TLVs (GBCS payloads hold exactly one).
func Decode(b []byte, l tree.Limits) (*tree.Node, error) {
	r := tree.NewReader(b, 0, l)
	root, err := r.Node("asn1", RootType, 0)
	if err != nil {
		return nil, err
	}
	if r.Done() {
		return nil, r.Errorf("empty ASN.1 payload")
	}
	for !r.Done() {
		n, err := decodeTLV(r)
		if err != nil {
			return nil, err
		}
		root.Add(n)
	}
	r.End(root)
	return root, nil
}

// DecodeElement parses exactly one TLV from r (used by callers that embed
// DER in other payloads).
func DecodeElement(r *tree.Reader) (*tree.Node, error) { return decodeTLV(r) }

const (
	classUniversal   = 0
	classApplication = 1
	classContext     = 2
	classPrivate     = 3
)

var universalNames = map[int]string{
	1: "BOOLEAN", 2: "INTEGER", 3: "BIT STRING", 4: "OCTET STRING", 5: "NULL",
	6: "OBJECT IDENTIFIER", 7: "ObjectDescriptor", 8: "EXTERNAL", 9: "REAL",
	10: "ENUMERATED", 11: "EMBEDDED PDV", 12: "UTF8String", 13: "RELATIVE-OID",
	16: "SEQUENCE", 17: "SET", 18: "NumericString", 19: "PrintableString",
	20: "T61String", 21: "VideotexString", 22: "IA5String", 23: "UTCTime",
	24: "GeneralizedTime", 25: "GraphicString", 26: "VisibleString",
	27: "GeneralString", 28: "UniversalString", 30: "BMPString",
}

var universalByName = func() map[string]int {
	m := make(map[string]int, len(universalNames))
	for k, v := range universalNames {
		m[v] = k
	}
	return m
}()

func isConstructedType(tag int) bool { return tag == 16 || tag == 17 || tag == 8 || tag == 11 }

// typeName gives the Type string of a tag.
func typeName(class, number int, constructed bool) string {
	if class == classUniversal {
		if name, ok := universalNames[number]; ok && constructed == isConstructedType(number) {
			return name
		}
	}
	var b strings.Builder
	b.WriteByte('[')
	switch class {
	case classUniversal:
		b.WriteString("UNIVERSAL ")
	case classApplication:
		b.WriteString("APPLICATION ")
	case classPrivate:
		b.WriteString("PRIVATE ")
	}
	b.WriteString(strconv.Itoa(number))
	b.WriteByte(']')
	if constructed {
		b.WriteString(" constructed")
	} else {
		b.WriteString(" primitive")
	}
	return b.String()
}

// parseType inverts typeName.
func parseType(s string) (class, number int, constructed bool, err error) {
	if n, ok := universalByName[s]; ok {
		return classUniversal, n, isConstructedType(n), nil
	}
	rest, ok := strings.CutPrefix(s, "[")
	if !ok {
		return 0, 0, false, fmt.Errorf("unknown ASN.1 type %q", s)
	}
	inner, form, ok := strings.Cut(rest, "] ")
	if !ok {
		return 0, 0, false, fmt.Errorf("unknown ASN.1 type %q", s)
	}
	switch form {
	case "constructed":
		constructed = true
	case "primitive":
	default:
		return 0, 0, false, fmt.Errorf("unknown ASN.1 form in %q", s)
	}
	class = classContext
	for p, c := range map[string]int{"UNIVERSAL ": classUniversal, "APPLICATION ": classApplication, "PRIVATE ": classPrivate} {
		if v, ok := strings.CutPrefix(inner, p); ok {
			inner, class = v, c
			break
		}
	}
	number, err = strconv.Atoi(inner)
	if err != nil || number < 0 {
		return 0, 0, false, fmt.Errorf("bad tag number in %q", s)
	}
	return class, number, constructed, nil
}

func decodeTLV(r *tree.Reader) (*tree.Node, error) {
	start := r.Pos()
	id, err := r.U8("ASN.1 tag")
	if err != nil {
		return nil, err
	}
	class := int(id >> 6)
	constructed := id&0x20 != 0
	number := int(id & 0x1f)
	if number == 0x1f {
		number = 0
		for i := 0; ; i++ {
			c, err := r.U8("ASN.1 high tag number")
			if err != nil {
				return nil, err
			}
			if i == 0 && c == 0x80 {
				return nil, tree.Errorf(start, "ASN.1 tag number with a leading zero byte")
			}
			if i >= 3 {
				return nil, tree.Errorf(start, "ASN.1 tag number too large")
			}
			number = number<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
		if number < 0x1f {
			return nil, tree.Errorf(start, "ASN.1 tag number %d in the long form", number)
		}
	}
	if class == classUniversal && number == 0 {
		return nil, tree.Errorf(start, "ASN.1 tag 0 (end-of-contents) outside an indefinite length")
	}
	length, nonMin, err := r.BERLength("ASN.1 length")
	if err != nil {
		return nil, err
	}
	n, err := r.Node("", typeName(class, number, constructed), start)
	if err != nil {
		return nil, err
	}
	if nonMin > 0 {
		n.SetEnc("len", strconv.Itoa(nonMin))
	}
	body, err := r.Sub(length, "ASN.1 content of "+n.Type)
	if err != nil {
		return nil, err
	}
	if constructed {
		if err := r.Enter(); err != nil {
			return nil, err
		}
		for !body.Done() {
			c, err := decodeTLV(body)
			if err != nil {
				return nil, err
			}
			n.Add(c)
		}
		r.Leave()
	} else {
		content, _ := body.Bytes(length, "")
		if err := setPrimitive(r, n, class, number, content, start); err != nil {
			return nil, err
		}
	}
	return r.End(n), nil
}

// setPrimitive fills Value/Text for a primitive TLV and records the content
// verbatim when the value form would not reproduce it.
func setPrimitive(r *tree.Reader, n *tree.Node, class, number int, content []byte, start int) error {
	if class != classUniversal {
		n.Value = tree.Hex(content)
		return nil
	}
	switch number {
	case 1: // BOOLEAN
		if len(content) == 1 && (content[0] == 0 || content[0] == 0xff) {
			n.Value = content[0] == 0xff
		} else {
			n.Value = len(content) > 0 && content[0] != 0
			n.SetEnc("raw", tree.Hex(content))
		}
	case 2, 10: // INTEGER, ENUMERATED
		if len(content) == 0 {
			n.SetEnc("raw", "")
			return nil
		}
		v := new(big.Int).SetBytes(content)
		if content[0]&0x80 != 0 {
			v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(content))))
		}
		if v.IsInt64() {
			n.Value = v.Int64()
			if !bytesEqual(encodeInt(v.Int64()), content) {
				n.SetEnc("raw", tree.Hex(content))
			}
		} else {
			n.Value = tree.Hex(content)
			n.Text = v.String()
		}
	case 3: // BIT STRING
		n.Value = tree.Hex(content)
		if len(content) == 0 || content[0] > 7 || (len(content) == 1 && content[0] != 0) {
			break
		}
		if bits := (len(content)-1)*8 - int(content[0]); bits <= 64 {
			var sb strings.Builder
			for i := 0; i < bits; i++ {
				if content[1+i/8]&(0x80>>uint(i%8)) != 0 {
					sb.WriteByte('1')
				} else {
					sb.WriteByte('0')
				}
			}
			n.Text = fmt.Sprintf("%d bits '%s'B", bits, sb.String())
		}
	case 4: // OCTET STRING
		n.Value = tree.Hex(content)
		addNestedView(r, n, content)
	case 5: // NULL
		if len(content) != 0 {
			n.SetEnc("raw", tree.Hex(content))
		}
	case 6: // OBJECT IDENTIFIER
		oid, ok := decodeOID(content)
		if !ok {
			n.Value = tree.Hex(content)
			n.SetEnc("raw", tree.Hex(content))
			break
		}
		n.Value = oid
		n.Text = oidNames[oid]
		if enc, err := encodeOID(oid); err != nil || !bytesEqual(enc, content) {
			n.SetEnc("raw", tree.Hex(content))
		}
	case 12, 18, 19, 20, 21, 22, 25, 26, 27, 7:
		if utf8.Valid(content) {
			n.Value = string(content)
		} else {
			n.Value = tree.Hex(content)
			n.SetEnc("raw", tree.Hex(content))
		}
	case 23, 24: // UTCTime, GeneralizedTime
		if utf8.Valid(content) {
			n.Value = string(content)
			n.Text = renderTime(number, string(content))
		} else {
			n.Value = tree.Hex(content)
			n.SetEnc("raw", tree.Hex(content))
		}
	default:
		n.Value = tree.Hex(content)
	}
	return nil
}

// addNestedView decodes an OCTET STRING that wraps DER (certificate
// extension values) into view children; content that is not DER is left.
func addNestedView(r *tree.Reader, n *tree.Node, content []byte) {
	if len(content) < 2 || content[0]&0x20 == 0 {
		return
	}
	sub := r.Fork(content)
	depth := r.Depth()
	var kids []*tree.Node
	for !sub.Done() {
		c, err := decodeTLV(sub)
		if err != nil {
			r.SetDepth(depth)
			return
		}
		kids = append(kids, c)
	}
	// offsets of the view are relative to the octet string content
	n.Children = kids
}

func renderTime(tag int, s string) string {
	layouts := []string{"060102150405Z0700", "0601021504Z0700"}
	if tag == 24 {
		layouts = []string{"20060102150405Z0700", "20060102150405.999999999Z0700", "200601021504Z0700"}
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	return ""
}

func decodeOID(b []byte) (string, bool) {
	if len(b) == 0 || b[len(b)-1]&0x80 != 0 {
		return "", false
	}
	var parts []uint64
	var v uint64
	for i, c := range b {
		if v == 0 && c == 0x80 {
			return "", false // non-minimal sub-identifier
		}
		if v > 1<<56 {
			return "", false
		}
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 == 0 {
			if len(parts) == 0 {
				switch {
				case v < 40:
					parts = append(parts, 0, v)
				case v < 80:
					parts = append(parts, 1, v-40)
				default:
					parts = append(parts, 2, v-80)
				}
			} else {
				parts = append(parts, v)
			}
			v = 0
		}
		_ = i
	}
	s := make([]string, len(parts))
	for i, p := range parts {
		s[i] = strconv.FormatUint(p, 10)
	}
	return strings.Join(s, "."), true
}

func encodeOID(s string) ([]byte, error) {
	fields := strings.Split(s, ".")
	if len(fields) < 2 {
		return nil, fmt.Errorf("OID %q has fewer than two arcs", s)
	}
	arcs := make([]uint64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("OID %q: %v", s, err)
		}
		arcs[i] = v
	}
	if arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40) {
		return nil, fmt.Errorf("OID %q: invalid first arcs", s)
	}
	first := arcs[0]*40 + arcs[1]
	if first < arcs[1] {
		return nil, fmt.Errorf("OID %q: arc overflow", s)
	}
	out := appendBase128(nil, first)
	for _, a := range arcs[2:] {
		out = appendBase128(out, a)
	}
	return out, nil
}

func appendBase128(dst []byte, v uint64) []byte {
	var tmp [10]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	return append(dst, tmp[i:]...)
}

// encodeInt is the minimal two's-complement encoding of v.
func encodeInt(v int64) []byte {
	n := 1
	for n < 8 {
		lo := int64(-1) << (8*uint(n) - 1)
		hi := -lo - 1
		if v >= lo && v <= hi {
			break
		}
		n++
	}
	out := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = byte(v)
		v >>= 8
	}
	return out
}

func bytesEqual(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// oidNames names the object identifiers that occur in GBCS payloads (the
// SMKI certificate profile: algorithms, curve, X.520 and X.509 extension ids).
var oidNames = map[string]string{
	"1.2.840.10045.2.1":   "id-ecPublicKey",
	"1.2.840.10045.3.1.7": "prime256v1",
	"1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
	"2.5.4.3":             "commonName",
	"2.5.4.10":            "organizationName",
	"2.5.4.11":            "organizationalUnitName",
	"2.5.4.45":            "x500UniqueIdentifier",
	"2.5.29.14":           "subjectKeyIdentifier",
	"2.5.29.15":           "keyUsage",
	"2.5.29.17":           "subjectAltName",
	"2.5.29.19":           "basicConstraints",
	"2.5.29.32":           "certificatePolicies",
	"2.5.29.35":           "authorityKeyIdentifier",
	"1.3.6.1.5.5.7.8.4":   "id-on-hardwareModuleName",
}
