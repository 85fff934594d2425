package payload

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		code uint16
		hex  string
		want Format
	}{
		{0x0027, "d9", DLMS},
		{0x0027, "da", DLMS},
		{0x1001, "0f", DLMS},
		{0x0084, "0109", GBZ},
		{0x0013, "0500", ASN1}, // CS07 by message code
		{0x0104, "3000", ASN1}, // CS02b range
		{0x012b, "3000", ASN1}, // CS09 alert
		{0x00cc, "0f", DLMS},   // alert special
		{0x00cd, "0109", GBZ},  // alert special
		{0x000f, "0408", ASN1}, // CS04AC: OCTET STRING payload
		{0x0008, "d9", ASN1},   // the code wins over the first byte
	} {
		b, _ := hex.DecodeString(c.hex)
		if got, err := Detect(c.code, b); err != nil || got != c.want {
			t.Errorf("0x%04X %s: %v %v, want %v", c.code, c.hex, got, err, c.want)
		}
	}
	for _, h := range []string{"", "01", "0108", "30"} {
		b, _ := hex.DecodeString(h)
		_, err := Detect(0x0027, b)
		var de *DecodeError
		if !errors.As(err, &de) || de.Offset != 0 {
			t.Errorf("%q: %v", h, err)
		}
	}
}

func TestDecodeDispatch(t *testing.T) {
	// a GBZ alert code implies the alert header even without Options.Alert
	b, _ := hex.DecodeString("0109008f301c374a80")
	n, err := Decode(0x1000, b, Options{})
	if err != nil || n.Child("alert-code") == nil {
		t.Fatalf("%v\n%s", err, n)
	}
	if f, _ := FormatOf(n); f != GBZ {
		t.Errorf("format %v", f)
	}
	out, err := Encode(n)
	if err != nil || hex.EncodeToString(out) != "0109008f301c374a80" {
		t.Errorf("encode %x %v", out, err)
	}
	b, _ = hex.DecodeString("3003020101")
	n, err = Decode(0x0013, b, Options{})
	if err != nil || !strings.HasPrefix(n.Text, "CS07") {
		t.Errorf("ASN.1: %v %v", n, err)
	}
	if _, err := Encode(&Node{Type: "plaintext"}); err == nil {
		t.Error("Encode accepted a non-payload root")
	}
}
