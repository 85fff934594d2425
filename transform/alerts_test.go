package transform

import (
	"encoding/hex"
	"strings"
	"testing"
)

// 6.22 on the ESME with the polyphase groups: the annex rule (bit 255−n of
// each 256-bit half for alert 0x80nn / 0x81nn) holds for them as for the
// common alerts (alerts.go); values other than the templates'.
func TestECS25Polyphase(t *testing.T) {
	for _, tc := range []struct {
		name, body, obis string
		mask, act        map[int]byte // octet of the 32-octet half → bits
	}{
		{"network operator", `<sr:ElectricityNetworkOperatorAlerts><sr:NetworkOperatorESMECommon><sr:x8014>Disable</sr:x8014></sr:NetworkOperatorESMECommon>` +
			`<sr:NetworkOperatorESMEPolyPhase><sr:x8004>Disable</sr:x8004><sr:x8021>Enable</sr:x8021></sr:NetworkOperatorESMEPolyPhase></sr:ElectricityNetworkOperatorAlerts>`,
			"002161620BFF",
			// 0x21 → bit 222 (octet 27, 0x02); 0x14 → 235 (29, 0x10); 0x04 → 251 (31, 0x10)
			map[int]byte{27: 0x02, 29: 0x10, 31: 0x10}, map[int]byte{27: 0x02}},
		{"supplier", `<sr:ElectricitySupplierAlerts><sr:SupplierESMEPolyPhase><sr:x81B7>Disable</sr:x81B7></sr:SupplierESMEPolyPhase></sr:ElectricitySupplierAlerts>`,
			"001E61620BFF",
			// 0xB7 → bit 72 (octet 9, 0x80); Disable: no action bit
			map[int]byte{9: 0x80}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bits := make([]byte, 64)
			for i, b := range tc.mask {
				bits[i] = b
			}
			for i, b := range tc.act {
				bits[32+i] = b
			}
			want := squash("D9 20001092 00 01 02 0001" + tc.obis + "02 01 04 820200" + hex.EncodeToString(bits))
			got := payloadHex(t, "1", "6.22", "6.22", "<sr:ConfigureAlertBehaviour>"+tc.body+"</sr:ConfigureAlertBehaviour>",
				DeviceInfo{Type: ESME, Variant: Polyphase}, Options{})
			if got != want {
				t.Errorf("\n got %s\nwant %s", got, strings.ToUpper(want))
			}
		})
	}
}
