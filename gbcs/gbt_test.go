package gbcs

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opendcc/opendcc/eui"
)

// bigMessage is a self-built response with content of n bytes.
func bigMessage(t *testing.T, n int) []byte {
	t.Helper()
	content := make([]byte, n)
	for i := range content {
		content[i] = byte(i * 7)
	}
	m := &Message{MACHeader: true, SecurityControl: 0x11, MAC: make([]byte, 12), CRA: CRAResponse, OriginatorCounter: 0x1122,
		Originator: eui.MustParse("00DB1234567890A6"), Recipient: eui.MustParse("90B3D51F30010000"), MessageCode: 0x011B,
		Content: content, SignatureField: true, Signature: []byte{}}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGBTHandBuilt checks one block against bytes written out from the
// layout in the notes (§1.6).
func TestGBTHandBuilt(t *testing.T) {
	want := mustHex(t, "DD 09 02 0000000000001122 08 00DB1234567890A6 08 90B3D51F30010000 00 02 011B 00"+
		" 0F 11 00000000 E0 80 0001 0000 03 AABBCC")
	k := &Block{CRA: CRAResponse, OriginatorCounter: 0x1122, Originator: eui.MustParse("00DB1234567890A6"),
		Recipient: eui.MustParse("90B3D51F30010000"), MessageCode: 0x011B, SecurityControl: 0x11,
		LastBlock: true, BlockNumber: 1, Data: []byte{0xAA, 0xBB, 0xCC}}
	got, err := k.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %X\nwant %X", got, want)
	}
	back, err := ParseBlock(want)
	if err != nil {
		t.Fatal(err)
	}
	if !back.LastBlock || back.Streaming || back.Window != 0 || back.BlockNumber != 1 || !bytes.Equal(back.Data, k.Data) ||
		back.MessageCode != 0x011B || back.CRA != CRAResponse || back.OriginatorCounter != 0x1122 {
		t.Errorf("parsed %+v", back)
	}
	if !IsBlock(want) {
		t.Error("IsBlock false")
	}
	if _, err := Parse(want); !errors.Is(err, ErrBlock) {
		t.Errorf("Parse of a block: %v", err)
	}
	// streaming + window bits, long data length form
	k2 := *k
	k2.LastBlock, k2.Streaming, k2.Window, k2.BlockNumber, k2.BlockNumberAck = false, true, 5, 0x0102, 0x0101
	k2.Data = bytes.Repeat([]byte{1}, 300)
	b2, _ := k2.Marshal()
	if b2[43] != 0x45 || !bytes.Equal(b2[44:48], []byte{1, 2, 1, 1}) || !bytes.Equal(b2[48:51], []byte{0x82, 0x01, 0x2C}) {
		t.Errorf("block header bytes %X", b2[34:51])
	}
	if back, err := ParseBlock(b2); err != nil || back.Window != 5 || !back.Streaming || back.LastBlock || back.BlockNumberAck != 0x0101 {
		t.Errorf("%+v %v", back, err)
	}
}

func TestGBTRoundTrip(t *testing.T) {
	for _, c := range []struct{ content, block int }{{10, 0}, {3000, 0}, {3000, 1000}, {5000, 100}, {1199, 1200}, {100, 1}} {
		msg := bigMessage(t, c.content)
		blocks, err := Segment(msg, c.block)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		// through the wire form, in reverse order
		var parsed []*Block
		for i := len(blocks) - 1; i >= 0; i-- {
			w, err := blocks[i].Marshal()
			if err != nil {
				t.Fatal(err)
			}
			k, err := ParseBlock(w)
			if err != nil {
				t.Fatal(err)
			}
			parsed = append(parsed, k)
		}
		m, err := Reassemble(parsed)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		out, _ := m.Marshal()
		if !bytes.Equal(out, msg) {
			t.Errorf("%v: reassembled message differs", c)
		}
	}
}

func TestGBTRefusals(t *testing.T) {
	msg := bigMessage(t, 3000)
	if _, err := Segment(msg, MaxBlockData+1); err == nil {
		t.Error("block size over 1200 accepted")
	}
	if _, err := Segment(bigMessage(t, 300), 1); err == nil {
		t.Error("more than 255 blocks accepted")
	}
	blocks, _ := Segment(msg, 500)
	mutate := func(f func([]*Block) []*Block) error {
		cp := make([]*Block, len(blocks))
		for i, b := range blocks {
			c := *b
			cp[i] = &c
		}
		_, err := Reassemble(f(cp))
		return err
	}
	cases := map[string]func([]*Block) []*Block{
		"gap":           func(b []*Block) []*Block { return append(b[:2:2], b[3:]...) },
		"duplicate":     func(b []*Block) []*Block { return append(b, b[1]) },
		"no last":       func(b []*Block) []*Block { return b[:len(b)-1] },
		"early last":    func(b []*Block) []*Block { b[1].LastBlock = true; return b },
		"other message": func(b []*Block) []*Block { b[2].OriginatorCounter++; return b },
		"ack block":     func(b []*Block) []*Block { b[0].Data = nil; return b },
		"oversize":      func(b []*Block) []*Block { b[0].Data = make([]byte, MaxBlockData+1); return b },
		"empty":         func(b []*Block) []*Block { return nil },
		"bad content": func(b []*Block) []*Block {
			d := append([]byte(nil), b[0].Data...)
			d[0] = 0x00
			b[0].Data = d
			return b
		},
	}
	for name, f := range cases {
		err := mutate(f)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		t.Logf("Reassemble %s: %v", name, err)
	}
	var many []*Block
	for i := 1; i <= MaxBlocks+1; i++ {
		many = append(many, &Block{CRA: CRACommand, BlockNumber: uint16(i), Data: []byte{1}, LastBlock: i == MaxBlocks+1})
	}
	if _, err := Reassemble(many); !errors.Is(err, ErrBlockSequence) {
		t.Errorf("256 blocks: %v", err)
	}
	// ParseBlock refusals
	good, _ := blocks[0].Marshal()
	for name, b := range map[string][]byte{
		"truncated":    good[:30],
		"trailing":     append(append([]byte(nil), good...), 0),
		"bad GBT tag":  func() []byte { c := append([]byte(nil), good...); c[42] = 0xE1; return c }(),
		"bad CRA":      func() []byte { c := append([]byte(nil), good...); c[2] = 9; return c }(),
		"oversize len": append(mustHex(t, "DD 09 01 0000000000000001 08 0000000000000001 08 0000000000000002 00 02 0001 00 82 04BF 11 00000000 E0 80 0001 0000 82 04B1"), make([]byte, 1201)...),
	} {
		_, err := ParseBlock(b)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		t.Logf("ParseBlock %s: %v", name, err)
	}
}

func FuzzParseBlock(f *testing.F) {
	k := &Block{CRA: CRACommand, BlockNumber: 1, LastBlock: true, Data: []byte{0xDF, 0x09}}
	b, _ := k.Marshal()
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := ParseBlock(in)
		if err != nil {
			return
		}
		out, err := k.Marshal()
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip: %v\n in %X\nout %X", err, in, out)
		}
	})
}
