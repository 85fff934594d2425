package smki

import (
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// AttributeTypeAndValue is one AVA of a distinguished name.
type AttributeTypeAndValue struct {
	Type asn1.ObjectIdentifier
	Tag  cbasn1.Tag // ASN.1 tag of the value (PrintableString, UTF8String, BIT STRING, …)
	Raw  []byte     // the value's full DER encoding (tag, length, contents)
	Data []byte     // the value's contents
}

// RDN is one relative distinguished name (a SET of AVAs, usually one).
type RDN []AttributeTypeAndValue

// Name is a distinguished name in DER order (most significant RDN first,
// the reverse of the RFC 2253 string).
type Name []RDN

func parseName(der cryptobyte.String) (Name, error) {
	var seq cryptobyte.String
	if !der.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, errors.New("name: not a SEQUENCE")
	}
	var n Name
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) {
			return nil, errors.New("name: RDN is not a SET")
		}
		var rdn RDN
		for !set.Empty() {
			var atv cryptobyte.String
			var a AttributeTypeAndValue
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&a.Type) {
				return nil, errors.New("name: malformed AttributeTypeAndValue")
			}
			var raw, data cryptobyte.String
			if !atv.ReadAnyASN1Element(&raw, &a.Tag) || !atv.Empty() {
				return nil, fmt.Errorf("name: malformed value of %v", a.Type)
			}
			a.Raw = raw
			if !raw.ReadAnyASN1(&data, &a.Tag) {
				return nil, fmt.Errorf("name: malformed value of %v", a.Type)
			}
			a.Data = data
			rdn = append(rdn, a)
		}
		if len(rdn) == 0 {
			return nil, errors.New("name: empty RDN")
		}
		n = append(n, rdn)
	}
	return n, nil
}

// ASN.1 string tags that Java renders as text in RFC 2253 form.
const (
	tagT61String       = cbasn1.Tag(20)
	tagIA5String       = cbasn1.Tag(22)
	tagGeneralString   = cbasn1.Tag(27)
	tagUniversalString = cbasn1.Tag(28)
	tagBMPString       = cbasn1.Tag(30)
)

// StringValue decodes the value when it is one of the ASN.1 string types.
func (a AttributeTypeAndValue) StringValue() (string, bool) {
	switch a.Tag {
	case cbasn1.PrintableString, cbasn1.UTF8String, tagIA5String, tagGeneralString:
		if !utf8.Valid(a.Data) {
			return "", false
		}
		return string(a.Data), true
	case tagT61String: // treated as Latin-1, as Java does
		r := make([]rune, len(a.Data))
		for i, b := range a.Data {
			r[i] = rune(b)
		}
		return string(r), true
	case tagBMPString:
		if len(a.Data)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(a.Data)/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(a.Data[2*i:])
		}
		return string(utf16.Decode(u)), true
	case tagUniversalString:
		if len(a.Data)%4 != 0 {
			return "", false
		}
		r := make([]rune, len(a.Data)/4)
		for i := range r {
			r[i] = rune(binary.BigEndian.Uint32(a.Data[4*i:]))
		}
		return string(r), true
	}
	return "", false
}

// rfc2253Keywords are the attribute keywords Java's RFC 2253 form uses; any
// other type is written as a dotted OID with a #hex value.
var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// String renders the name in RFC 2253 form exactly as Java's
// X500Principal.getName("RFC2253"): RDNs in reverse DER order joined by ",",
// multi-valued RDNs joined by "+", known keywords (CN, OU, …) with escaped
// string values, and any other attribute as "<oid>=#<lower-case hex of the
// DER value>" — so an SMKI organisation subject reads
// "2.5.4.45=#03090090b3d51f30010000,OU=87".
func (n Name) String() string {
	var b strings.Builder
	for i := len(n) - 1; i >= 0; i-- {
		if i != len(n)-1 {
			b.WriteByte(',')
		}
		for j, a := range n[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			writeAVA(&b, a)
		}
	}
	return b.String()
}

func writeAVA(b *strings.Builder, a AttributeTypeAndValue) {
	oid := a.Type.String()
	kw, known := rfc2253Keywords[oid]
	s, isString := a.StringValue()
	if !known || !isString {
		b.WriteString(oid)
		b.WriteString("=#")
		b.WriteString(hex.EncodeToString(a.Raw))
		return
	}
	b.WriteString(kw)
	b.WriteByte('=')
	b.WriteString(escapeRFC2253(s))
}

// escapeRFC2253 escapes like Java's AVA.toRFC2253String: a backslash before
// any of `,=+<>#;"\`, NUL as \00, and leading or trailing spaces.
func escapeRFC2253(s string) string {
	lead := 0
	for lead < len(s) && s[lead] == ' ' {
		lead++
	}
	trail := len(s)
	for trail > lead && s[trail-1] == ' ' {
		trail--
	}
	var b strings.Builder
	b.WriteString(strings.Repeat("\\ ", lead))
	for _, r := range s[lead:trail] {
		switch {
		case strings.ContainsRune(",=+<>#;\"\\", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == 0:
			b.WriteString("\\00")
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(strings.Repeat("\\ ", len(s)-trail))
	return b.String()
}

// ErrBadName is wrapped by NormalizeName for strings it cannot read.
var ErrBadName = errors.New("smki: malformed distinguished name")

// keywordOIDs maps keywords (and a few aliases) to OIDs for normalisation.
var keywordOIDs = map[string]string{
	"CN": "2.5.4.3", "C": "2.5.4.6", "L": "2.5.4.7", "ST": "2.5.4.8", "S": "2.5.4.8",
	"O": "2.5.4.10", "OU": "2.5.4.11", "STREET": "2.5.4.9", "DC": "0.9.2342.19200300.100.1.25",
	"UID": "0.9.2342.19200300.100.1.1", "SERIALNUMBER": "2.5.4.5", "T": "2.5.4.12",
	"X500UNIQUEIDENTIFIER": "2.5.4.45", "EMAILADDRESS": "1.2.840.113549.1.9.1",
}

// NormalizeName brings an RFC 2253 (or RFC 1779-ish) distinguished name
// string into a canonical form for comparison: attribute types as dotted
// OIDs, optional spaces around separators removed, escapes resolved, string
// values lower-cased with inner whitespace runs collapsed, #hex values in
// lower case. "CN=U1, OU=07" and "cn=u1,ou=07" normalise alike.
func NormalizeName(s string) (string, error) {
	var out strings.Builder
	i := 0
	first := true
	for {
		// one AVA: type
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			if first {
				return "", nil // the empty name
			}
			return "", fmt.Errorf("%w: %q: trailing separator", ErrBadName, s)
		}
		j := strings.IndexByte(s[i:], '=')
		if j < 0 {
			return "", fmt.Errorf("%w: %q: missing '=' at offset %d", ErrBadName, s, i)
		}
		typ := strings.ToUpper(strings.TrimSpace(s[i : i+j]))
		typ = strings.TrimPrefix(typ, "OID.")
		if typ == "" {
			return "", fmt.Errorf("%w: %q: empty attribute type at offset %d", ErrBadName, s, i)
		}
		if oid, ok := keywordOIDs[typ]; ok {
			typ = oid
		} else if !isDottedOID(typ) {
			return "", fmt.Errorf("%w: %q: unknown attribute type %q", ErrBadName, s, typ)
		}
		i += j + 1
		for i < len(s) && s[i] == ' ' {
			i++
		}
		// value
		var val string
		if i < len(s) && s[i] == '#' {
			k := i + 1
			for k < len(s) && isHex(s[k]) {
				k++
			}
			if (k-i-1)%2 != 0 || k == i+1 {
				return "", fmt.Errorf("%w: %q: bad #hex value at offset %d", ErrBadName, s, i)
			}
			val = "#" + strings.ToLower(s[i+1:k])
			i = k
			for i < len(s) && s[i] == ' ' {
				i++
			}
		} else {
			var v []byte
			quoted := false
			if i < len(s) && s[i] == '"' {
				quoted = true
				i++
			}
			lastSignificant := 0
			for i < len(s) {
				ch := s[i]
				if quoted && ch == '"' {
					i++
					break
				}
				if !quoted && (ch == ',' || ch == ';' || ch == '+') {
					break
				}
				if ch == '\\' {
					if i+1 >= len(s) {
						return "", fmt.Errorf("%w: %q: dangling escape", ErrBadName, s)
					}
					if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
						bb, _ := hex.DecodeString(s[i+1 : i+3])
						v = append(v, bb[0])
						i += 3
					} else {
						v = append(v, s[i+1])
						i += 2
					}
					lastSignificant = len(v)
					continue
				}
				v = append(v, ch)
				if ch != ' ' || quoted {
					lastSignificant = len(v)
				}
				i++
			}
			if quoted {
				lastSignificant = len(v)
				for i < len(s) && s[i] == ' ' {
					i++
				}
			}
			v = v[:lastSignificant]
			if !utf8.Valid(v) {
				return "", fmt.Errorf("%w: %q: value is not UTF-8", ErrBadName, s)
			}
			val = strings.Join(strings.Fields(strings.ToLower(string(v))), " ")
			val = escapeNormalized(val)
		}
		out.WriteString(typ)
		out.WriteByte('=')
		out.WriteString(val)
		first = false
		if i >= len(s) {
			break
		}
		switch s[i] {
		case ',', ';':
			out.WriteByte(',')
		case '+':
			out.WriteByte('+')
		default:
			return "", fmt.Errorf("%w: %q: unexpected %q at offset %d", ErrBadName, s, s[i], i)
		}
		i++
	}
	return out.String(), nil
}

// escapeNormalized re-escapes separators so the normalised form is unambiguous.
func escapeNormalized(v string) string {
	if !strings.ContainsAny(v, ",+=\\#") {
		return v
	}
	var b strings.Builder
	for _, r := range v {
		if strings.ContainsRune(",+=\\#", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// EqualNames reports whether two distinguished-name strings name the same
// entity after NormalizeName. Unreadable names are never equal.
func EqualNames(a, b string) bool {
	na, err := NormalizeName(a)
	if err != nil {
		return false
	}
	nb, err := NormalizeName(b)
	if err != nil {
		return false
	}
	return na == nb
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDottedOID(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] == '.' && s[i-1] != '.') {
			return false
		}
	}
	return strings.Contains(s, ".")
}
