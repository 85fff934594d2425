package payload

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/opendcc/opendcc/gbcs/asn"
	"github.com/opendcc/opendcc/gbcs/dlms"
	"github.com/opendcc/opendcc/gbcs/gbz"
	"github.com/opendcc/opendcc/gbcs/payload/internal/rtdstest"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Synthetic seeds, so that the targets have a corpus without the RTDS data.
var syntheticSeeds = []struct {
	code  uint16
	hex   string
	alert bool
}{
	{0x0027, "d9200003e80001010001000060010aff0201" + "00", false},
	{0x0027, "da200003e90000010009060102030405060101" + "00", false},
	{0x1001, "0f200007d000020212810e090c07df0101ff000000008000ff", true},
	{0x00ab, "3009020101040401020304", false},
	{0x0084, "010901010702000900000000000602", false},
	{0x0084, "010901010702000d08000106020000412e01020304", false},
	{0x008b, "0109018f0a1c374a80030702001600001900060011310000000000000000000000000000000000", true},
	{0x1000, "0109008f301c374a80", true},
}

func addSeeds(f *testing.F, want func(Format) bool, add func(code uint16, b []byte, alert bool)) {
	for _, s := range syntheticSeeds {
		b, err := hex.DecodeString(s.hex)
		if err != nil {
			f.Fatal(err)
		}
		if fm, err := Detect(s.code, b); err == nil && want(fm) {
			add(s.code, b, s.alert)
		}
	}
	for _, m := range rtdstest.Seeds() {
		if fm, err := Detect(m.Header.MessageCode, m.Content); err == nil && want(fm) {
			add(m.Header.MessageCode, m.Content, m.Alert())
		}
	}
}

// fakeDecrypt "decrypts" a protected block by returning its ciphertext, so
// that the plaintext decoders see fuzzed input too.
func fakeDecrypt(p []byte) ([]byte, error) {
	if len(p) < 17 {
		return nil, errors.New("short")
	}
	return p[5 : len(p)-12], nil
}

// roundTrip checks the fuzz properties: errors are DecodeErrors with an
// offset inside the input; a decoded tree covers the input and encodes back
// to it, also after a JSON round trip.
func roundTrip(t *testing.T, in []byte, n *Node, err error, encode func(*Node) ([]byte, error)) {
	t.Helper()
	if err != nil {
		var de *tree.DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("error is not a DecodeError: %v", err)
		}
		if de.Offset < 0 || de.Offset > len(in) {
			t.Fatalf("error offset %d outside the %d-byte input: %v", de.Offset, len(in), err)
		}
		return
	}
	out, err := encode(n)
	if err != nil {
		t.Fatalf("decoded tree does not encode: %v\n%s", err, n)
	}
	if !bytes.Equal(out, in) {
		t.Fatalf("re-encoding differs\n got %x\nwant %x\n%s", out, in, n)
	}
	if n.Len != len(in) {
		t.Fatalf("root covers %d of %d bytes", n.Len, len(in))
	}
	js, err := n.JSON()
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	back, err := ParseJSON(js)
	if err != nil {
		t.Fatalf("parse JSON: %v", err)
	}
	if out, err := encode(back); err != nil || !bytes.Equal(out, in) {
		t.Fatalf("JSON round trip does not re-encode: %v", err)
	}
}

func FuzzPayload(f *testing.F) {
	addSeeds(f, func(Format) bool { return true }, func(code uint16, b []byte, alert bool) { f.Add(code, b, alert) })
	f.Fuzz(func(t *testing.T, code uint16, b []byte, alert bool) {
		n, err := Decode(code, b, Options{Alert: alert})
		roundTrip(t, b, n, err, Encode)
		n, err = Decode(code, b, Options{Alert: alert, Decrypt: fakeDecrypt})
		if err == nil {
			if out, err := Encode(n); err != nil || !bytes.Equal(out, b) {
				t.Fatalf("tree with plaintext does not re-encode: %v", err)
			}
		}
	})
}

func FuzzDLMS(f *testing.F) {
	addSeeds(f, func(fm Format) bool { return fm == DLMS }, func(_ uint16, b []byte, _ bool) { f.Add(b) })
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := dlms.Decode(b, dlms.Options{Decrypt: fakeDecrypt})
		roundTrip(t, b, n, err, dlms.Encode)
	})
}

func FuzzGBZ(f *testing.F) {
	addSeeds(f, func(fm Format) bool { return fm == GBZ }, func(_ uint16, b []byte, alert bool) { f.Add(b, alert) })
	f.Fuzz(func(t *testing.T, b []byte, alert bool) {
		n, err := gbz.Decode(b, gbz.Options{Alert: alert, Decrypt: fakeDecrypt})
		roundTrip(t, b, n, err, gbz.Encode)
	})
}

func FuzzASN1(f *testing.F) {
	addSeeds(f, func(fm Format) bool { return fm == ASN1 }, func(_ uint16, b []byte, _ bool) { f.Add(b) })
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := asn.Decode(b, tree.Limits{})
		roundTrip(t, b, n, err, asn.Encode)
	})
}
