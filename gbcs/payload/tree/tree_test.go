package tree

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRenderAndJSON(t *testing.T) {
	n := &Node{Name: "root", Type: "structure", Offset: 0, Len: 5}
	n.Add(&Node{Name: "a", Type: "unsigned", Value: uint64(7), Text: "seven", Offset: 2, Len: 2},
		&Node{Type: "octet-string", Value: "0102", Enc: "len:2", Offset: 4, Len: 4, Decrypted: true})
	want := "root: structure [2] @0+5\n  a: unsigned = 7 (seven) @2+2\n  octet-string = \"0102\" {decrypted} <len:2> @4+4\n"
	if got := n.String(); got != want {
		t.Errorf("String:\n%s\nwant:\n%s", got, want)
	}
	js, err := n.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"name"`, `"type"`, `"value"`, `"text"`, `"offset"`, `"len"`, `"enc"`, `"decrypted"`, `"children"`} {
		if !strings.Contains(string(js), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	back, err := ParseJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := back.Children[0].Uint(); err != nil || v != 7 {
		t.Errorf("Uint after JSON: %v %v", v, err)
	}
	if back.Children[1].EncLen() != 2 || !back.Children[1].Decrypted {
		t.Errorf("Enc/Decrypted after JSON: %+v", back.Children[1])
	}
}

func TestValueConversions(t *testing.T) {
	for _, v := range []any{uint64(5), int64(5), 5, float64(5), json.Number("5"), "5", "0x5", uint8(5)} {
		if u, err := (&Node{Value: v}).Uint(); err != nil || u != 5 {
			t.Errorf("Uint(%#v) = %v, %v", v, u, err)
		}
	}
	for _, v := range []any{int64(-3), json.Number("-3"), float64(-3), "-3"} {
		if i, err := (&Node{Value: v}).Int(); err != nil || i != -3 {
			t.Errorf("Int(%#v) = %v, %v", v, i, err)
		}
	}
	for _, v := range []any{int64(-1), 1.5, "x", true} {
		if _, err := (&Node{Value: v}).Uint(); err == nil {
			t.Errorf("Uint(%#v) accepted", v)
		}
	}
	if _, err := (&Node{Value: "zz"}).Octets(); err == nil {
		t.Error("bad hex accepted")
	}
}

func TestEncItems(t *testing.T) {
	n := &Node{}
	n.SetEnc("len", "3")
	n.SetEnc("raw", "00ff")
	n.SetEnc("len", "2")
	if n.Enc != "raw:00ff,len:2" || n.EncLen() != 2 {
		t.Errorf("Enc %q", n.Enc)
	}
	if b, ok := n.EncRaw(); !ok || len(b) != 2 {
		t.Errorf("EncRaw %x %v", b, ok)
	}
}

func TestReaderBounds(t *testing.T) {
	r := NewReader([]byte{1, 2, 3}, 10, Limits{})
	if _, err := r.Bytes(4, "x"); err == nil || !strings.Contains(err.Error(), "offset 10: truncated x") {
		t.Errorf("Bytes: %v", err)
	}
	if v, err := r.UintLE(2, "y"); err != nil || v != 0x0201 {
		t.Errorf("UintLE %x %v", v, err)
	}
	if _, _, err := NewReader([]byte{0x81}, 0, Limits{}).BERLength("l"); err == nil {
		t.Error("truncated length accepted")
	}
	n, nonMin, err := NewReader([]byte{0x82, 0x00, 0x05}, 0, Limits{}).BERLength("l")
	if err != nil || n != 5 || nonMin != 3 {
		t.Errorf("BERLength %d %d %v", n, nonMin, err)
	}
	for _, c := range []struct{ n, size int }{{5, 0}, {200, 0}, {70000, 0}, {5, 3}} {
		b, err := AppendLength(nil, c.n, c.size)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := NewReader(b, 0, Limits{}).BERLength("l")
		if err != nil || got != c.n || (c.size > 0 && len(b) != c.size) {
			t.Errorf("length %d/%d: %x", c.n, c.size, b)
		}
	}
	if _, err := AppendLength(nil, 300, 1); err == nil {
		t.Error("too short a length form accepted")
	}
}
