package gbcs

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/opendcc/opendcc/eui"
)

// TestRTDSRoundTrip parses all 1,275 RTDS messages, checks the kind against
// the file name, and marshals each back to the identical bytes.
func TestRTDSRoundTrip(t *testing.T) {
	files := loadRTDS(t)
	if len(files) == 0 {
		t.Fatal("no RTDS files")
	}
	count := map[Kind]int{}
	framing := map[string]int{}
	otherInfo := map[int]int{}
	withDateTime := 0
	for _, f := range files {
		m, err := Parse(f.Data)
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		if m.Kind() != f.Kind {
			t.Errorf("%s: kind %v, file name says %v", f.Name, m.Kind(), f.Kind)
		}
		out, err := m.Marshal()
		if err != nil {
			t.Errorf("%s: marshal: %v", f.Name, err)
			continue
		}
		if !bytes.Equal(out, f.Data) {
			t.Errorf("%s: round trip differs\n got %X\nwant %X", f.Name, out, f.Data)
			continue
		}
		count[m.Kind()]++
		key := "DF"
		if m.MACHeader {
			key = "DD"
		}
		switch {
		case !m.SignatureField:
			key += " no-signature-field"
		case m.Signed():
			key += " signature-40"
		default:
			key += " signature-00"
		}
		framing[m.Kind().String()+" "+key]++
		oi, _ := m.OtherInformation()
		otherInfo[len(oi)]++
		if m.DateTime != nil {
			withDateTime++
		}
	}
	total := 0
	for _, k := range []Kind{KindPreCommand, KindCommand, KindResponse, KindAlert} {
		t.Logf("round trip %-10v %4d", k, count[k])
		total += count[k]
	}
	t.Logf("round trip total      %4d / %d", total, len(files))
	var keys []string
	for k := range framing {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("framing %-36s %4d", k, framing[k])
	}
	t.Logf("other-information lengths: %v; responses/alerts with date-time: %d", otherInfo, withDateTime)
}

// TestWorkedExample checks the field values of the ECS17b command of
// docs §1.5.
func TestWorkedExample(t *testing.T) {
	f := rtdsByName(t, "ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX")
	m, err := Parse(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Data) != 158 || !m.MACHeader || m.SecurityControl != 0x11 || m.InvocationCounter != 0 ||
		m.CRA != CRACommand || m.OriginatorCounter != 1000 ||
		m.Originator != eui.MustParse("90-B3-D5-1F-30-01-00-00") || m.Recipient != eui.MustParse("00-DB-12-34-56-78-90-A0") ||
		m.DateTime != nil || m.MessageCode != 0x0027 || len(m.Content) != 97 || m.Content[0] != 0xD9 ||
		!m.SignatureField || len(m.Signature) != 0 ||
		!bytes.Equal(m.MAC, mustHex(t, "F08A88FCB4EEBECA47B71589")) || m.Kind() != KindCommand {
		t.Errorf("unexpected fields: %+v", m)
	}
}

// TestBuildMessage builds a message from fields and checks the bytes by
// hand against the layout of docs §1.3/§1.4.
func TestBuildMessage(t *testing.T) {
	m := &Message{
		MACHeader: true, SecurityControl: SecurityControlAuthOnly, MAC: bytes.Repeat([]byte{0xAA}, 12),
		CRA: CRAResponse, OriginatorCounter: 0x0102030405060708,
		Originator: eui.MustParse("00DB1234567890A0"), Recipient: eui.MustParse("90B3D51F30000002"),
		DateTime:    bytes.Repeat([]byte{0x07}, 12),
		MessageCode: 0x0034, HasSupplementaryRemoteParty: true, SupplementaryRemoteParty: eui.MustParse("90B3D51F30010000"),
		HasSupplementaryRemotePartyCounter: true, SupplementaryRemotePartyCounter: 0x3EC,
		HasSupplementaryOriginatorCounter: true, SupplementaryOriginatorCounter: 0x7D2,
		Content: []byte{0xDA, 0x01}, SignatureField: true, Signature: []byte{},
	}
	got, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	gs := "DF 09 02 0102030405060708 08 00DB1234567890A0 08 90B3D51F30000002 0C 070707070707070707070707" +
		" 1A 0034 90B3D51F30010000 00000000000003EC 00000000000007D2 02 DA01 00"
	want := mustHex(t, "DD 00 00 00 00 00 00 "+fmt.Sprintf("%02X", 5+len(mustHex(t, gs))+12)+" 11 00000000 "+gs+" AAAAAAAAAAAAAAAAAAAAAAAA")
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %X\nwant %X", got, want)
	}
	back, err := Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Marshal()
	if !bytes.Equal(again, got) {
		t.Fatal("re-marshal differs")
	}
	signed, _ := m.SignedBytes()
	if !bytes.Equal(signed, mustHex(t, gs)[1:len(mustHex(t, gs))-1]) {
		t.Errorf("SignedBytes = %X", signed)
	}
}

func TestParseErrors(t *testing.T) {
	ok := mustHex(t, "DF 09 01 0000000000000001 08 0000000000000001 08 0000000000000002 00 02 0027 01 AA")
	if _, err := Parse(ok); err != nil {
		t.Fatalf("base case: %v", err)
	}
	cases := []struct {
		name string
		in   string
		off  int
	}{
		{"empty", "", 0},
		{"bad tag", "DE", 0},
		{"truncated", "DF 09 01 00", 3},
		{"bad txid len", "DF 08", 1},
		{"bad CRA", "DF 09 04 0000000000000001", 2},
		{"bad title len", "DF 09 01 0000000000000001 07", 11},
		{"bad date-time len", "DF 09 01 0000000000000001 08 0000000000000001 08 0000000000000002 05", 29},
		{"other-info short", "DF 09 01 0000000000000001 08 0000000000000001 08 0000000000000002 00 01 00", 30},
		{"other-info odd", "DF 09 01 0000000000000001 08 0000000000000001 08 0000000000000002 00 03 002700 01 AA", 30},
		{"non-minimal length", "DF 09 01 0000000000000001 08 0000000000000001 08 0000000000000002 00 81 02 0027 01 AA", 30},
		{"content overruns", "DF 09 01 0000000000000001 08 0000000000000001 08 0000000000000002 00 02 0027 05 AA", 34},
		{"bad signature len", "DF 09 01 0000000000000001 08 0000000000000001 08 0000000000000002 00 02 0027 01 AA 20", 35},
		{"trailing", "DF 09 01 0000000000000001 08 0000000000000001 08 0000000000000002 00 02 0027 01 AA 00 00", 36},
		{"DD header field", "DD 00 00 01", 3},
		{"DD length mismatch", "DD 00 00 00 00 00 00 30 11", 8},
		{"DD no signature field", "DD 00 00 00 00 00 00 " + fmt.Sprintf("%02X", 5+35+12) + " 11 00000000 DF 09 01 0000000000000001 08 0000000000000001 08 0000000000000002 00 02 0027 01 AA 000000000000000000000000", 48},
	}
	for _, c := range cases {
		_, err := Parse(mustHex(t, c.in))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: error %v is not a *ParseError", c.name, err)
			continue
		}
		if pe.Offset != c.off {
			t.Errorf("%s: offset %d, want %d (%v)", c.name, pe.Offset, c.off, err)
		}
	}
	_, err := Parse(mustHex(t, "DD 09 01"))
	if !errors.Is(err, ErrBlock) {
		t.Errorf("GBT block: %v does not wrap ErrBlock", err)
	}
}

func TestLength(t *testing.T) {
	for _, n := range []int{0, 1, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, MaxLength} {
		b := AppendLength(nil, n)
		if len(b) != LengthSize(n) {
			t.Errorf("%d: size %d vs %d", n, len(b), LengthSize(n))
		}
		got, size, err := ParseLength(append(b, 0xEE))
		if err != nil || got != n || size != len(b) {
			t.Errorf("%d: got %d,%d,%v", n, got, size, err)
		}
	}
	for _, bad := range []string{"", "80", "84 00000001 00", "81", "81 7F", "82 00FF", "83 00FFFF"} {
		if _, _, err := ParseLength(mustHex(t, bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParse: Parse never panics, and whatever it accepts marshals back to
// the same bytes.
func FuzzParse(f *testing.F) {
	for _, r := range loadRTDSForFuzz(f) {
		f.Add(r)
	}
	f.Add([]byte{0xDF, 0x09, 0x01})
	f.Add([]byte{0xDD, 0x09, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("accepted input does not marshal: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("round trip differs:\n in %X\nout %X", b, out)
		}
	})
}

// loadRTDSForFuzz seeds the fuzzer with a sample of the corpus (one file in
// seven, all kinds), or nothing when the reference data is absent.
func loadRTDSForFuzz(f *testing.F) [][]byte {
	var seeds [][]byte
	if !refdataPresent() {
		return nil
	}
	for i, r := range loadRTDS(f) {
		if i%7 == 0 {
			seeds = append(seeds, r.Data)
		}
	}
	return seeds
}
