package gbz

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
	"github.com/opendcc/opendcc/gbcs/payload/tree/treetest"
)

func unhex(t *testing.T, s string) []byte { t.Helper(); return treetest.Unhex(t, s) }

// component builds one GBZ component around a ZCL frame (hex).
func component(ctl byte, cluster uint16, frame string) string {
	b, _ := hex.DecodeString(strings.ReplaceAll(frame, " ", ""))
	return fmt.Sprintf("%02x%04x%04x%x", ctl, cluster, len(b), b)
}

func gbzHex(comps ...string) string {
	return fmt.Sprintf("0109%02x", len(comps)) + strings.Join(comps, "")
}

func roundTrip(t *testing.T, in []byte, o Options) *tree.Node {
	t.Helper()
	return treetest.RoundTrip(t, in, func(b []byte) (*tree.Node, error) { return Decode(b, o) }, Encode)
}

func payloadOf(n *tree.Node, i int) *tree.Node {
	var comps []*tree.Node
	for _, c := range n.Children {
		if c.Type == "component" {
			comps = append(comps, c)
		}
	}
	return comps[i].Child("zcl").Children[len(comps[i].Child("zcl").Children)-1]
}

func TestReadAttributes(t *testing.T) {
	in := unhex(t, gbzHex(component(0x01, 0x0702, "00 00 00 0203 0103 0003 0001")))
	n := roundTrip(t, in, Options{})
	p := payloadOf(n, 0)
	if p.Type != "zcl-payload" || len(p.Children) != 4 || p.Children[0].Value != uint64(0x0302) || p.Children[0].Text != "Divisor" {
		t.Fatalf("read attributes:\n%s", n)
	}
	if p.Children[0].Offset != 11 {
		t.Errorf("attribute offset %d", p.Children[0].Offset)
	}
}

// Every ZCL data type, in a Read Attributes Response.
var zclValues = []struct {
	hex, typ string
	value    any
}{
	{"10 01", "bool", true},
	{"10 ff", "bool", "ff"},
	{"08 aa", "data8", uint64(0xaa)},
	{"18 50", "bitmap8", uint64(0x50)},
	{"19 9400", "bitmap16", uint64(0x94)},
	{"1b 00180000", "bitmap32", uint64(0x1800)},
	{"1f 0100000000000080", "bitmap64", uint64(0x8000000000000001)},
	{"20 05", "uint8", uint64(5)},
	{"21 3a03", "uint16", uint64(826)},
	{"22 e80300", "uint24", uint64(1000)},
	{"23 01000000", "uint32", uint64(1)},
	{"24 0100000000", "uint40", uint64(1)},
	{"25 010000000080", "uint48", uint64(0x800000000001)},
	{"26 01000000000000", "uint56", uint64(1)},
	{"27 ffffffffffffffff", "uint64", uint64(1<<64 - 1)},
	{"28 ff", "int8", int64(-1)},
	{"29 feff", "int16", int64(-2)},
	{"2a fdffff", "int24", int64(-3)},
	{"2b fcffffff", "int32", int64(-4)},
	{"2d ffffffffff7f", "int48", int64(1<<47 - 1)},
	{"2f 0000000000000080", "int64", int64(-1 << 63)},
	{"30 01", "enum8", uint64(1)},
	{"31 0100", "enum16", uint64(1)},
	{"38 003c", "semi", "003c"},
	{"39 0000803f", "single", 1.0},
	{"3a 000000000000f0bf", "double", -1.0},
	{"41 0400000102", "octstr", "00000102"},
	{"41 ff", "octstr", nil},
	{"42 03616263", "string", "abc"},
	{"43 0200abcd", "octstr16", "abcd"},
	{"44 0100 7a", "string16", "z"},
	{"48 21 0200 0100 0200", "array", uint64(0x21)},
	{"4c 0200 20 07 42 0178", "struct", nil},
	{"e0 0c1e0000", "ToD", uint64(0x1e0c)},
	{"e1 7a0314ff", "date", "7a0314ff"},
	{"e2 90888138", "UTC", uint64(0x38818890)},
	{"e8 0207", "clusterId", uint64(0x0702)},
	{"e9 0003", "attribId", uint64(0x0300)},
	{"f0 a0907856341200db", "EUI64", "a0907856341200db"},
	{"f1 000102030405060708090a0b0c0d0e0f", "key128", "000102030405060708090a0b0c0d0e0f"},
}

func TestReadAttributesResponseTypes(t *testing.T) {
	frame := "08 00 01" // attribute id i, status SUCCESS, typed value
	for i, v := range zclValues {
		frame += fmt.Sprintf("%02x00", i) + "00" + v.hex
	}
	frame += "ff00 86" // unsupported attribute: no value
	in := unhex(t, gbzHex(component(0x01, 0x0702, frame)))
	n := roundTrip(t, in, Options{})
	p := payloadOf(n, 0)
	if len(p.Children) != len(zclValues)+1 {
		t.Fatalf("%d records:\n%s", len(p.Children), n)
	}
	for i, v := range zclValues {
		val := p.Children[i].Child("value")
		if val == nil || val.Type != v.typ || fmt.Sprint(val.Value) != fmt.Sprint(v.value) {
			t.Errorf("%s: got %v", v.hex, val)
		}
	}
	last := p.Children[len(zclValues)]
	if last.Child("value") != nil || last.Child("status").Text != "UNSUPPORTED_ATTRIBUTE" {
		t.Errorf("failed record:\n%s", last)
	}
	if utc := p.Children[35].Child("value").Text; utc != "2030-01-15T09:00:00Z" {
		t.Errorf("UTC text %q", utc)
	}
	if d := p.Children[34].Child("value").Text; d != "2022-03-20" {
		t.Errorf("date text %q", d)
	}
}

func TestClusterCommands(t *testing.T) {
	for _, c := range []struct {
		name    string
		cluster uint16
		frame   string
		check   func(p *tree.Node) bool
	}{
		{"Publish Price", 0x0700, "19 00 00 00000000 00 01000000 00000000 01 3a03 51 41 00000000 ffff 0a000000",
			func(p *tree.Node) bool { return len(p.Children) == 11 && p.Child("price").Value == uint64(10) }},
		{"Publish Price + 19 octets", 0x0700, "19 00 00 00000000 00 01000000 00000000 01 3a03 51 41 00000000 ffff 0a000000" + strings.Repeat("00", 19),
			func(p *tree.Node) bool { return p.Child("ignored-trailing-octets").Type == "raw" }},
		{"Publish Block Thresholds", 0x0700, "09 00 06 00000000 01000000 00000000 01000000 00 01 01 02 010000000000 020000000000 11 030000000000",
			func(p *tree.Node) bool {
				e := p.Child("block-thresholds")
				return len(e.Children) == 2 && len(e.Children[0].Children) == 3 && e.Children[1].Children[0].Text == "tier 1, 1 thresholds"
			}},
		{"Publish Day Profile friendly credit", 0x0707, "09 00 01 00000000 00000000 00000000 01 02 00 01 03 0000 01 e001 00",
			func(p *tree.Node) bool {
				e := p.Child("day-schedule-entries").Children
				return len(e) == 2 && e[0].Children[1].Name == "friendly-credit-enable" && e[1].Children[0].Text == "08:00"
			}},
		{"Set Event Configuration", 0x0708, "09 00 04 00000000 00000000 03 00 02 1f81 2081",
			func(p *tree.Node) bool {
				e := p.Child("event-configuration-payload")
				return len(e.Children) == 3 && e.Children[2].Text == "0x8120"
			}},
		{"Publish Prepay Snapshot", 0x0705, "19 00 01 00000000 00000000 01 00 01 02000000 00 feffffff 01000000 02000000 03000000 04000000 05000000",
			func(p *tree.Node) bool {
				return p.Child("snapshot-payload").Child("accumulated-debt").Value == int64(-2)
			}},
		{"Get Sampled Data Response", 0x0702, "19 00 07 0100 00000000 00 ffff 0300 010000 020000 030000",
			func(p *tree.Node) bool { return len(p.Child("samples").Children) == 3 }},
		{"Consumer Top Up", 0x0705, "01 00 04 00 14 3733393436313434333332303430323137333135",
			func(p *tree.Node) bool { return p.Child("top-up-code").Text != "" }},
		{"Default Response", 0x0709, "08 00 0b 00 8b",
			func(p *tree.Node) bool { return p.Text == "Default Response to 0x00: NOT_FOUND" }},
		{"Write Attributes Response", 0x0702, "08 00 04 00",
			func(p *tree.Node) bool { return p.Child("status").Text == "SUCCESS" }},
		{"Discover Attributes Response", 0x0702, "08 00 0d 01 0000 25 0003 30",
			func(p *tree.Node) bool { return len(p.Child("attributes").Children) == 2 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := roundTrip(t, unhex(t, gbzHex(component(0x01, c.cluster, c.frame))), Options{})
			p := payloadOf(n, 0)
			if p.Type != "zcl-payload" || !c.check(p) {
				t.Errorf("payload:\n%s", n)
			}
		})
	}
}

func TestRawPayloads(t *testing.T) {
	for _, c := range []struct{ name, frame, why string }{
		{"unknown cluster command", "09 00 7f 0102", "no layout"},
		{"manufacturer specific", "0d 3412 00 01 0102", "manufacturer-specific"},
		{"short fixed payload", "01 00 06 0102", "truncated"},
		{"extra bytes", "08 00 0b 00 00 ff", "bytes left"},
		{"unknown ZCL type", "08 00 01 0000 00 77 01", "unknown ZCL data type"},
		{"unknown snapshot type", "19 00 06 00000000 00000000 01 00 01 02000000 07 00", "payload type 7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := roundTrip(t, unhex(t, gbzHex(component(0x01, 0x0702, c.frame))), Options{})
			p := payloadOf(n, 0)
			if p.Type != "raw" || !strings.Contains(p.Text, c.why) {
				t.Errorf("want raw (%s):\n%s", c.why, n)
			}
		})
	}
}

func TestComponentHeader(t *testing.T) {
	// from-date-time, then an encrypted component
	enc := "31 00000000 aabbcc 0102030405060708090a0b0c"
	in := unhex(t, gbzHex(
		component(0x10, 0x0705, "38818890 01 00 09 40420f00"),
		component(0x03, 0x0702, "00 00 19 00 06 0014"+enc)))
	n := roundTrip(t, in, Options{})
	if fd := n.Children[2].Child("from-date-time"); fd == nil || fd.Text != "2030-01-15T09:00:00Z" {
		t.Errorf("from-date-time:\n%s", n)
	}
	c := payloadOf(n, 1)
	if c.Type != "ciphered" || c.Children[2].Value != "aabbcc" {
		t.Fatalf("ciphered:\n%s", n)
	}
	plain := "00000000 00000000 01 00 01 02000000 06 010000000000 00 00"
	n = roundTrip(t, in, Options{Decrypt: func(b []byte) ([]byte, error) {
		if !bytes.Equal(b, unhex(t, enc)) {
			t.Errorf("Decrypt got %x", b)
		}
		return unhex(t, plain), nil
	}})
	pt := payloadOf(n, 1).Child("plaintext")
	if pt == nil || !pt.Decrypted || pt.Children[0].Child("snapshot-sub-payload") == nil {
		t.Fatalf("plaintext:\n%s", n)
	}
	boom := errors.New("no key")
	if _, err := Decode(in, Options{Decrypt: func([]byte) ([]byte, error) { return nil, boom }}); !errors.Is(err, boom) {
		t.Errorf("decrypt error: %v", err)
	}
	// encrypted flag without the ciphered shape: kept raw
	n = roundTrip(t, unhex(t, gbzHex(component(0x03, 0x0702, "00 00 19 00 06 0003 010203"))), Options{})
	if p := payloadOf(n, 0); p.Type != "raw" {
		t.Errorf("malformed ciphered part:\n%s", n)
	}
}

func TestAlerts(t *testing.T) {
	for _, c := range []struct{ name, hex, node string }{
		{"future dated", "0109018f66388188900e006b00000000000003ed07000906", "future-dated-instruction"},
		{"firmware receipt", "0109018f721c374a800920" + strings.Repeat("a1", 32), "image-hash"},
		{"meter integrity", "01090181a01c374a800005", "integrity-code"},
		{"no components", "0109008f301c374a80", ""},
		{"undescribed payload", "0109018f991c374a80ffee", "alert-payload"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := roundTrip(t, unhex(t, c.hex), Options{Alert: true})
			if n.Child("alert-code") == nil || n.Child("alert-time").Offset != 5 {
				t.Errorf("alert header:\n%s", n)
			}
			if c.node != "" && n.Child(c.node) == nil {
				t.Errorf("no %s:\n%s", c.node, n)
			}
		})
	}
	f := roundTrip(t, unhex(t, "0109018f66388188900e006b00000000000003ed07000906"), Options{Alert: true}).Child("future-dated-instruction")
	if f.Children[4].Text != "Publish Block Thresholds" || f.Children[1].Value != uint64(1005) {
		t.Errorf("future-dated fields:\n%s", f)
	}
	// without Alert the same bytes are not a valid component list
	if _, err := Decode(unhex(t, "0109018f991c374a80ffee"), Options{}); err == nil {
		t.Error("non-alert decode of an alert payload succeeded")
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		name, hex string
		offset    int
		msg       string
	}{
		{"profile", "0104 00", 0, "profile id 0x0104"},
		{"truncated", "01", 0, "truncated profile-id"},
		{"component length", "0109 01 01 0702 0010 0000 0000", 8, "truncated GBZ component"},
		{"too many components", "0109 09 01 0702 0000", 2, "9 elements cannot fit"},
		{"trailing", "0109 00 ff", 3, "1 bytes after"},
		{"short ZCL header", "0109 01 01 0702 0001 00 000000", 9, "truncated sequence"},
	} {
		_, err := Decode(unhex(t, c.hex), Options{})
		var de *tree.DecodeError
		if !errors.As(err, &de) || !strings.Contains(de.Msg, c.msg) || de.Offset != c.offset {
			t.Errorf("%s: got %v, want %q at %d", c.name, err, c.msg, c.offset)
		}
	}
}

func TestEncodeRecomputesLengths(t *testing.T) {
	n := roundTrip(t, unhex(t, gbzHex(component(0x01, 0x0702, "00 00 00 0003"))), Options{})
	p := payloadOf(n, 0)
	p.Children = append(p.Children, &tree.Node{Name: "attribute", Type: "attribId", Value: uint64(0x0301)})
	out, err := Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	if want := gbzHex(component(0x01, 0x0702, "00 00 00 0003 0103")); hex.EncodeToString(out) != want {
		t.Errorf("got %x, want %s", out, want)
	}
}
