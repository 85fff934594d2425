package dlms

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/gbcs/payload/tree/treetest"
)

func unhex(t *testing.T, s string) []byte { t.Helper(); return treetest.Unhex(t, s) }

func roundTrip(t *testing.T, in []byte, o Options) *tree.Node {
	t.Helper()
	return treetest.RoundTrip(t, in, func(b []byte) (*tree.Node, error) { return Decode(b, o) }, Encode)
}

// Every A-XDR Data type, in a data-notification body structure.
var allTypes = []struct {
	hex   string
	typ   string
	value any
}{
	{"00", "null-data", nil},
	{"0301", "boolean", true},
	{"0300", "boolean", false},
	{"03ff", "boolean", true}, // non-canonical TRUE kept in Enc
	{"040ba0e0", "bit-string", "10100000111"},
	{"05fffffffe", "double-long", int64(-2)},
	{"0600000010", "double-long-unsigned", uint64(16)},
	{"0903010203", "octet-string", "010203"},
	{"0a03616263", "visible-string", "abc"},
	{"0c02c3a9", "utf8-string", "é"},
	{"0d12", "bcd", int64(0x12)},
	{"0fff", "integer", int64(-1)},
	{"108000", "long", int64(-32768)},
	{"11ff", "unsigned", uint64(255)},
	{"12ffff", "long-unsigned", uint64(65535)},
	{"14fffffffffffffffe", "long64", int64(-2)},
	{"15ffffffffffffffff", "long64-unsigned", uint64(math.MaxUint64)},
	{"1616", "enum", uint64(22)},
	{"173f800000", "float32", 1.0},
	{"18c000000000000000", "float64", -2.0},
	{"177fc00001", "float32", "7fc00001"}, // NaN kept as bits
	{"1907ee010fff090000008000ff", "date-time", "07ee010fff090000008000ff"},
	{"1a07ee010f03", "date", "07ee010f03"},
	{"1b09000000", "time", "09000000"},
	{"1cff", "delta-integer", int64(-1)},
	{"1dfffe", "delta-long", int64(-2)},
	{"1efffffffd", "delta-double-long", int64(-3)},
	{"1f01", "delta-unsigned", uint64(1)},
	{"200002", "delta-long-unsigned", uint64(2)},
	{"2100000003", "delta-double-long-unsigned", uint64(3)},
	{"ff", "dont-care", nil},
	{"09810401020304", "octet-string", "01020304"}, // length in a non-minimal form
}

func TestAllDataTypes(t *testing.T) {
	body := ""
	for _, c := range allTypes {
		body += c.hex
	}
	// structure with a count above 0x7f would need a long form; 32 fits.
	in := unhex(t, "0f 20000001 00 02"+hex.EncodeToString([]byte{byte(len(allTypes))})+body)
	n := roundTrip(t, in, Options{})
	st := n.Children[2]
	if len(st.Children) != len(allTypes) {
		t.Fatalf("%d elements, want %d", len(st.Children), len(allTypes))
	}
	for i, c := range allTypes {
		e := st.Children[i]
		if e.Type != c.typ || e.Value != c.value {
			t.Errorf("%s: got %s %#v, want %s %#v", c.hex, e.Type, e.Value, c.typ, c.value)
		}
		if e.Len != len(c.hex)/2 {
			t.Errorf("%s: Len %d", c.hex, e.Len)
		}
	}
	if st.Children[3].EncLen() != 0 || st.Children[3].Enc != "raw:ff" {
		t.Errorf("boolean 0xff: Enc %q", st.Children[3].Enc)
	}
	if st.Children[len(allTypes)-1].EncLen() != 2 {
		t.Errorf("non-minimal length not recorded: %q", st.Children[len(allTypes)-1].Enc)
	}
	if got := st.Children[21].Text; got != "2030-01-15 09:00:00" {
		t.Errorf("date-time text %q", got)
	}
}

func TestCompactArray(t *testing.T) {
	// structure{long-unsigned, unsigned} × 2, then array[3] of unsigned × 1,
	// then structure{octet-string, double-long-unsigned} (variable width) × 2.
	in := unhex(t, "0f 20000001 00 02 03"+
		"13 02 02 12 11 06 0001 0a 0002 0b"+
		"13 01 0003 11 03 010203"+
		"13 02 02 09 06 0b 01aa 00000001 00 00000002")
	n := roundTrip(t, in, Options{})
	a := n.Children[2].Children[0]
	if a.Type != "compact-array" || len(a.Children[1].Children) != 2 {
		t.Fatalf("compact array:\n%s", a)
	}
	if v := a.Children[1].Children[1].Children[1].Value; v != uint64(0x0b) {
		t.Errorf("element value %v", v)
	}
	b := n.Children[2].Children[1]
	if len(b.Children[1].Children) != 1 || len(b.Children[1].Children[0].Children) != 3 {
		t.Errorf("array description:\n%s", b)
	}
	c := n.Children[2].Children[2]
	if c.Children[1].Children[1].Children[0].Value != "" {
		t.Errorf("empty octet string element:\n%s", c)
	}
}

func TestRequestSpecs(t *testing.T) {
	// get, set, action, get-with-selection (selector 1, structure parameters)
	in := unhex(t, "d9 20000005 00 04"+
		"01 0003 0100020800ff 02"+
		"02 0001 0000600100ff 02"+
		"03 001e 00002b0208ff 01"+
		"04 0007 0000636200ff 02 01 0202 0600000001 0600000002"+
		"04 00 0900 00 00")
	n := roundTrip(t, in, Options{})
	specs := n.Child("request-specs").Children
	want := []string{
		"get IC3 1-0:2.8.0.255 a2",
		"set IC1 0-0:96.1.0.255 a2",
		"action IC30 0-0:43.2.8.255 m1",
		"get-with-selection IC7 0-0:99.98.0.255 a2",
	}
	for i, w := range want {
		if !strings.HasPrefix(specs[i].Text, w) {
			t.Errorf("spec %d: %q, want prefix %q", i, specs[i].Text, w)
		}
	}
	if specs[2].Children[2].Name != "method-id" || specs[3].Child("access-selector") == nil || specs[3].Child("access-parameters").Type != "structure" {
		t.Errorf("spec children:\n%s", n)
	}
	if specs[0].Children[0].Text != "Register" || specs[0].Children[1].Text != "1-0:2.8.0.255" {
		t.Errorf("class / OBIS text:\n%s", specs[0])
	}
	if got := n.Child("data").Children[1].Name; !strings.HasPrefix(got, "set IC1") {
		t.Errorf("data element named %q", got)
	}
	if got := n.Child("invoke-id").Text; got != "invoke-id 5, break-on-error" {
		t.Errorf("invoke-id text %q", got)
	}
}

func TestResponseResults(t *testing.T) {
	in := unhex(t, "da 20000005 00 00 03 00 0900 00 03 0100 0101 03fa")
	n := roundTrip(t, in, Options{})
	var got []string
	for _, r := range n.Child("response-specs").Children {
		got = append(got, r.Text)
	}
	if strings.Join(got, ",") != "get success,get hardware-fault,action other-reason" {
		t.Errorf("results %v", got)
	}
	// echoed request specs (optional present)
	in = unhex(t, "da 20000006 00 01 01 01 0003 0100020800ff 02 01 0600000007 01 0100")
	n = roundTrip(t, in, Options{})
	if !strings.HasPrefix(n.Child("data").Children[0].Name, "get IC3") {
		t.Errorf("echoed spec not used for naming:\n%s", n)
	}
}

func TestDateTimeString(t *testing.T) {
	for _, c := range []struct{ hex, want string }{
		{"000000000000000000 8000 ff", "now"},
		{"ffffffffffffffffff 8000 ff", "never"},
		{"07df 01 01 ff 00 00 00 00 8000 ff", "2015-01-01 00:00:00"},
		{"07df 0c 1f 04 17 3b 3b 63 ffc4 80", "2015-12-31 wd4 23:59:59.99 dev -60 status 0x80"},
		{"ffff fe fd ff ff ff ff ff 8000 ff", "****-DST-begin-2nd-last **:**:**"},
	} {
		if got := DateTimeString(unhex(t, c.hex)); got != c.want {
			t.Errorf("%s: %q, want %q", c.hex, got, c.want)
		}
	}
}

func TestProtectedAttributes(t *testing.T) {
	params := "0101 0202 1602 0205 0909 0400000000000003e8 0908 00db1234567890a0 0908 90b3d51f30010000 0900 0202 1602 0202 090102 0900"
	block := "31 00000000 aabbcc 0102030405060708090a0b0c"
	in := unhex(t, "da 200003e8 00 00 01 0202"+params+"0914"+block+"01 0300")

	n := roundTrip(t, in, Options{})
	p := findNamed(n, "protected-attributes")
	if p == nil || len(p.Children) != 4 || p.Children[2].Value != "aabbcc" || p.Children[3].Offset != p.Offset+2+8 {
		t.Fatalf("protected view:\n%s", n)
	}
	if findNamed(n, "originator-system-title") == nil {
		t.Errorf("protection parameters not named:\n%s", n)
	}

	var seen []byte
	dec := func(b []byte) ([]byte, error) { seen = b; return unhex(t, "0202 0600000001 1101"), nil }
	n = roundTrip(t, in, Options{Decrypt: dec})
	if !bytes.Equal(seen, unhex(t, block)) {
		t.Errorf("Decrypt got %x", seen)
	}
	pt := findNamed(n, "plaintext")
	if pt == nil || !pt.Decrypted || pt.Children[0].Type != "structure" || pt.Children[0].Children[1].Value != uint64(1) {
		t.Fatalf("plaintext:\n%s", n)
	}

	n = roundTrip(t, in, Options{Decrypt: func([]byte) ([]byte, error) { return []byte{0x07}, nil }})
	if pt := findNamed(n, "plaintext"); pt == nil || pt.Value != "07" || !strings.HasPrefix(pt.Text, "not A-XDR") {
		t.Errorf("undecodable plaintext:\n%s", pt)
	}

	boom := errors.New("bad tag")
	if _, err := Decode(in, Options{Decrypt: func([]byte) ([]byte, error) { return nil, boom }}); !errors.Is(err, boom) {
		t.Errorf("decrypt error not returned: %v", err)
	}
}

func findNamed(n *tree.Node, name string) *tree.Node {
	var found *tree.Node
	n.Walk(func(c *tree.Node) bool {
		if found == nil && c.Name == name {
			found = c
		}
		return found == nil
	})
	return found
}

func TestAlertSpecials(t *testing.T) {
	in := unhex(t, "0f 200007d4 00 0203 128f66 090c07ee010fff090000008000ff 0913 0019 00000000000003f0 2328 00005e2c0200 06")
	n := roundTrip(t, in, Options{})
	f := findNamed(n, "future-dated-instruction")
	if f == nil || len(f.Children) != 5 || f.Children[3].Text != "0-0:94.44.2.0" || f.Children[1].Value != uint64(1008) {
		t.Fatalf("future-dated payload:\n%s", n)
	}
	if f.Children[4].Offset != len(in)-1 {
		t.Errorf("attribute offset %d", f.Children[4].Offset)
	}
	n = roundTrip(t, unhex(t, "0f 200007d0 00 0203 1281a0 090c07df0101ff000000008000ff 09020005"), Options{})
	if c := findNamed(n, "integrity-code"); c == nil || c.Text != "code 5" {
		t.Errorf("integrity code:\n%s", n)
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := "0f 20000001 00" + strings.Repeat("0201", 60) + "00"
	for _, c := range []struct {
		name, hex string
		offset    int
		msg       string
	}{
		{"empty", "", 0, "truncated APDU tag"},
		{"unknown APDU", "c4 00", 0, "unknown DLMS APDU tag 0xc4"},
		{"truncated invoke-id", "d9 2000", 1, "truncated invoke-id"},
		{"unknown data tag", "0f 20000001 00 07", 6, "unknown A-XDR data tag 0x07"},
		{"unknown spec choice", "d9 20000001 00 01 09", 7, "unknown access-request specification choice 9"},
		{"oversize array", "0f 20000001 00 01 82ffff 00", 7, "65535 elements cannot fit"},
		{"oversize list", "d9 20000001 00 7f 01", 6, "127 elements cannot fit"},
		{"truncated octet-string", "0f 20000001 00 0905 0102", 8, "truncated octet-string"},
		{"indefinite length", "0f 20000001 00 0980", 7, "indefinite length"},
		{"trailing bytes", "0f 20000001 00 00 00", 7, "1 bytes after the end"},
		{"too deep", deep, 0, "nesting deeper than 48"},
		{"zero-width compact array", "0f 20000001 00 13 00 02 0000", 8, "zero-width elements"},
		{"compact array not a multiple", "0f 20000001 00 13 12 03 000102", 8, "not a multiple"},
		{"empty variable compact elements", "0f 20000001 00 13 01 0000 09 01 00", 0, "zero size"},
		{"response flag", "da 20000001 00 05", 6, "request-specification flag 0x05"},
	} {
		_, err := Decode(unhex(t, c.hex), Options{})
		var de *tree.DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: error %v is not a DecodeError", c.name, err)
			continue
		}
		if !strings.Contains(de.Msg, c.msg) || (c.offset != 0 && de.Offset != c.offset) {
			t.Errorf("%s: got %q at %d, want %q at %d", c.name, de.Msg, de.Offset, c.msg, c.offset)
		}
	}
}

func TestLimits(t *testing.T) {
	in := unhex(t, "0f 20000001 00 0203 00 00 00")
	if _, err := Decode(in, Options{Limits: tree.Limits{MaxNodes: 4}}); err == nil || !strings.Contains(err.Error(), "more than 4 nodes") {
		t.Errorf("node limit: %v", err)
	}
	if _, err := Decode(in, Options{Limits: tree.Limits{MaxDepth: 1}}); err != nil {
		t.Errorf("depth 1 suffices: %v", err)
	}
	if _, err := Decode(unhex(t, "0f 20000001 00 0201 0201 00"), Options{Limits: tree.Limits{MaxDepth: 1}}); err == nil {
		t.Error("depth limit not enforced")
	}
}

func TestEncodeErrors(t *testing.T) {
	n := roundTrip(t, unhex(t, "0f 20000001 00 0202 1101 09020102"), Options{})
	n.Children[2].Children[0].Value = uint64(256)
	if _, err := Encode(n); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("unsigned 256: %v", err)
	}
	n.Children[2].Children[0].Value = uint64(7)
	n.Children[2].Children[1].Value = "zz"
	if _, err := Encode(n); err == nil || !strings.Contains(err.Error(), "not hex") {
		t.Errorf("bad hex: %v", err)
	}
	n.Children[2].Children[1].Value = "0a0b0c"
	out, err := Encode(n)
	if err != nil || hex.EncodeToString(out) != "0f200000010002021107090"+"30a0b0c" {
		t.Errorf("edited tree: %x %v", out, err)
	}
	if _, err := Encode(&tree.Node{Type: "gbz"}); err == nil {
		t.Error("non-DLMS root accepted")
	}
}

func TestNames(t *testing.T) {
	if OBIS(unhex(t, "0000600100ff")) != "0-0:96.1.0.255" {
		t.Error("OBIS")
	}
	if ClassName(30) != "Data Protection" || ClassName(9000) == "" || ClassName(2) != "" {
		t.Error("class names")
	}
	if DataAccessResultName(3) != "read-write-denied" || ActionResultName(250) != "other-reason" || DataAccessResultName(200) != "result-200" {
		t.Error("result names")
	}
	if got := ObjectName(30, unhex(t, "00002b0208ff"), true, 1); got == "" {
		t.Error("annex object name missing for IC30 0-0:43.2.8.255")
	}
}
