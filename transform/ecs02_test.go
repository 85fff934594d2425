package transform

import (
	"encoding/hex"
	"strings"
	"testing"
)

// payloadHex builds req for dev and returns the payload in upper-case hex.
func payloadHex(t *testing.T, cv, sr, srv, body string, dev DeviceInfo, opts Options) string {
	t.Helper()
	m, err := Build(request(t, cv, sr, srv, body), dev, opts)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToUpper(hex.EncodeToString(m.Content))
}

// squash removes the spaces of a readable hex string.
func squash(s string) string { return strings.ToUpper(strings.Join(strings.Fields(s), "")) }

// ECS02 with request values other than the templates': the charges by
// device variant and the activation time (the rule in ecs02.go).
func TestECS02(t *testing.T) {
	const head = "D9 20001092 00 03 02006F0001130000FF02 02006F0001130000FF0B 02006F0001130000FF0D 03 0202 1601 1601"
	entry := func(charge string) string { return "0203 0906 0000130A00FF 0906 " + charge + " 0403 E0" }
	for _, tc := range []struct {
		name, exec string
		variant    ESMEVariant
		want       string
	}{
		{"single now", "", "", head + "0102" + entry("0000131400FF") + entry("0000131404FF") + "090C 000000000000000000 8000FF"},
		{"twin at 2031-02-03T04:05:06Z", "<sr:ExecutionDateTime>2031-02-03T04:05:06Z</sr:ExecutionDateTime>", TwinElement,
			head + "0103" + entry("0000131400FF") + entry("0000131404FF") + entry("0000131405FF") + "090C 07EF0203FF040506 00 8000FF"},
		{"polyphase cancelled", "<sr:ExecutionDateTime>3000-12-31T00:00:00Z</sr:ExecutionDateTime>", Polyphase,
			head + "0102" + entry("0000131400FF") + entry("0000131404FF") + "090C FFFFFFFFFFFFFFFFFF 8000FF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := payloadHex(t, "1", "1.6", "1.6", "<sr:UpdatePaymentMode>"+tc.exec+"<sr:Credit/></sr:UpdatePaymentMode>",
				DeviceInfo{Type: ESME, Variant: tc.variant}, Options{})
			if want := squash(tc.want); got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
}
