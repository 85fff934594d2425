package asn

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/gbcs/payload/tree/treetest"
)

func unhex(t *testing.T, s string) []byte { t.Helper(); return treetest.Unhex(t, s) }

func roundTrip(t *testing.T, in []byte) *tree.Node {
	t.Helper()
	return treetest.RoundTrip(t, in, func(b []byte) (*tree.Node, error) { return Decode(b, tree.Limits{}) }, Encode)
}

func TestPrimitives(t *testing.T) {
	for _, c := range []struct {
		hex, typ string
		value    any
		text     string
		enc      string
	}{
		{"0101ff", "BOOLEAN", true, "", ""},
		{"010100", "BOOLEAN", false, "", ""},
		{"010101", "BOOLEAN", true, "", "raw:01"},
		{"020100", "INTEGER", int64(0), "", ""},
		{"0201ff", "INTEGER", int64(-1), "", ""},
		{"02020080", "INTEGER", int64(128), "", ""},
		{"0202007f", "INTEGER", int64(127), "", "raw:007f"}, // non-minimal
		{"02090100000000000000ff", "INTEGER", "0100000000000000ff", "18446744073709551871", ""},
		{"0a0102", "ENUMERATED", int64(2), "", ""},
		{"03020780", "BIT STRING", "0780", "1 bits '1'B", ""},
		{"030100", "BIT STRING", "00", "0 bits ''B", ""},
		{"0500", "NULL", nil, "", ""},
		{"06082a8648ce3d040302", "OBJECT IDENTIFIER", "1.2.840.10045.4.3.2", "ecdsa-with-SHA256", ""},
		{"0603550403", "OBJECT IDENTIFIER", "2.5.4.3", "commonName", ""},
		{"0c03616263", "UTF8String", "abc", "", ""},
		{"130445333537", "PrintableString", "E357", "", ""},
		{"170d3136303430363030303030305a", "UTCTime", "160406000000Z", "2016-04-06T00:00:00Z", ""},
		{"180f32303330303131353039303030305a", "GeneralizedTime", "20300115090000Z", "2030-01-15T09:00:00Z", ""},
		{"8001ff", "[0] primitive", "ff", "", ""},
		{"4100", "[APPLICATION 1] primitive", "", "", ""},
		{"c10100", "[PRIVATE 1] primitive", "00", "", ""},
		{"9f2001aa", "[32] primitive", "aa", "", ""},
		{"0c02c328", "UTF8String", "c328", "", "raw:c328"}, // invalid UTF-8
		{"04810100", "OCTET STRING", "00", "", "len:2"},    // non-minimal length
	} {
		n := roundTrip(t, unhex(t, c.hex))
		e := n.Children[0]
		if e.Type != c.typ || e.Value != c.value || e.Text != c.text || e.Enc != c.enc {
			t.Errorf("%s: got %s %#v text %q enc %q", c.hex, e.Type, e.Value, e.Text, e.Enc)
		}
	}
}

func TestConstructed(t *testing.T) {
	// CS07 response shape: SEQUENCE{INTEGER, SEQUENCE{SEQUENCE{OCTET STRING, INTEGER}}}
	n := roundTrip(t, unhex(t, "3012 020100 300d 300b 04060102030405 06 020103"))
	if n.Children[0].Children[1].Children[0].Children[1].Value != int64(3) {
		t.Errorf("tree:\n%s", n)
	}
	// constructed context tags, and an OCTET STRING wrapping DER (view)
	n = roundTrip(t, unhex(t, "a00302010204053003020107"))
	if n.Children[0].Type != "[0] constructed" {
		t.Errorf("context tag:\n%s", n)
	}
	os := n.Children[1]
	if len(os.Children) != 1 || os.Children[0].Type != "SEQUENCE" || os.Children[0].Offset != 0 {
		t.Errorf("nested DER view:\n%s", n)
	}
}

func TestLabels(t *testing.T) {
	alert := "30250203008f66180f32303330303131353039303030305a020203e9300902010004040123abcf"
	n := roundTrip(t, unhex(t, alert))
	Label(n, 0x00ca)
	s := n.Children[0]
	if s.Children[0].Name != "alert-code" || s.Children[0].Text != "0x8F66" || s.Children[1].Name != "alert-time" {
		t.Errorf("alert header:\n%s", n)
	}
	if !strings.HasPrefix(n.Text, "CS06 future-dated alert") {
		t.Errorf("root text %q", n.Text)
	}
	// a minimal certificate shape
	cert := "3040" + "3031" + "a003020102" + "020101" + "300a06082a8648ce3d040302" + "3000" + "3000" + "3000" + "300d3009060355040306020000" + "0300" +
		"300a06082a8648ce3d040302" + "03020000"
	b := unhex(t, cert)
	b[1] = byte(len(b) - 2)
	b[3] = byte(len(b) - 4 - 12 - 4)
	n = roundTrip(t, b)
	Label(n, 0x000b)
	if n.Children[0].Name != "certificate" || n.Children[0].Children[0].Child("subjectPublicKeyInfo") == nil ||
		n.Children[0].Children[0].Child("version") == nil {
		t.Errorf("certificate labels:\n%s", n)
	}
	if UseCase(0x0105) != "CS02b" || !IsASN1Code(0x0129) || IsASN1Code(0x0027) {
		t.Error("use-case table")
	}
}

func TestDecodeErrors(t *testing.T) {
	var b []byte // SEQUENCEs nested 60 deep
	for i := 0; i < 60; i++ {
		b = append([]byte{0x30, byte(len(b))}, b...)
	}
	for _, c := range []struct {
		name   string
		in     []byte
		offset int
		msg    string
	}{
		{"empty", nil, 0, "empty ASN.1 payload"},
		{"truncated", unhex(t, "3005 0201"), 2, "truncated ASN.1 content"},
		{"indefinite", unhex(t, "3080 0000"), 0, "indefinite length"},
		{"end-of-contents", unhex(t, "0000"), 0, "end-of-contents"},
		{"long-form low tag", unhex(t, "1f0500"), 0, "in the long form"},
		{"leading zero tag", unhex(t, "1f8001 00"), 0, "leading zero"},
		{"length too large", unhex(t, "04 85 0000000001"), 1, "not supported"},
		{"too deep", b, 0, "nesting deeper"},
	} {
		_, err := Decode(c.in, tree.Limits{})
		var de *tree.DecodeError
		if !errors.As(err, &de) || !strings.Contains(de.Msg, c.msg) || (c.offset != 0 && de.Offset != c.offset) {
			t.Errorf("%s: got %v, want %q at %d", c.name, err, c.msg, c.offset)
		}
	}
}

func TestEncodeFromEditedTree(t *testing.T) {
	n := roundTrip(t, unhex(t, "3006 020101 0101ff"))
	n.Children[0].Children[0].Value = int64(-129)
	n.Children[0].Children[1].Value = false
	out, err := Encode(n)
	if err != nil || hex.EncodeToString(out) != "30070202ff7f010100" {
		t.Errorf("got %x %v", out, err)
	}
	if _, err := Encode(&tree.Node{Type: "WHATEVER"}); err == nil {
		t.Error("unknown type accepted")
	}
	if _, err := Encode(&tree.Node{Type: "OBJECT IDENTIFIER", Value: "3.1"}); err == nil {
		t.Error("invalid OID accepted")
	}
}
