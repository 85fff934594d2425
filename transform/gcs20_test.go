package transform

import (
	"testing"
	"time"
)

// TestGCS20: one Set Event Configuration per distinct value, in order of
// first appearance, with values other than the template's (gcs20.go).
func TestGCS20(t *testing.T) {
	set := func(wan, han, log, alarm string) string {
		return "<sr:WANAlert>" + wan + "</sr:WANAlert><sr:HANAlert>" + han + "</sr:HANAlert><sr:EventLog>" + log +
			"</sr:EventLog><sr:Alarm>" + alarm + "</sr:Alarm>"
	}
	body := "<sr:ConfigureAlertBehaviour><sr:GasSupplierAlertEventSettings>" +
		"<sr:x810D>" + set("Disable", "Disable", "Disable", "Disable") + "</sr:x810D>" +
		"<sr:x8119>" + set("Enable", "Enable", "Disable", "Disable") + "</sr:x8119>" +
		"<sr:x8154>" + set("Enable", "Enable", "Disable", "Disable") + "</sr:x8154>" +
		"<sr:x8155>" + set("Disable", "Disable", "Enable", "Disable") + "</sr:x8155>" +
		"</sr:GasSupplierAlertEventSettings></sr:ConfigureAlertBehaviour>"
	opts := Options{Now: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)} // 631152000 s since 2000
	const issuer = "809D9E25"
	want := squash("0109 03" +
		// 0x00: 810D
		"00 0708 0010 09 00 04" + issuer + "00000000 00 00 01 0D81" +
		// 0x18 (WAN 0x08 | HAN 0x10): 8119, 8154
		"00 0708 0012 09 01 04" + issuer + "00000000 18 00 02 1981 5481" +
		// 0x03 (log): 8155, the last component
		"01 0708 0010 09 02 04" + issuer + "00000000 03 00 01 5581")
	got := payloadHex(t, "1", "6.22", "6.22", body, DeviceInfo{Type: GSME}, opts)
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	// Alarm is bit 6
	body2 := "<sr:ConfigureAlertBehaviour><sr:GasSupplierAlertEventSettings><sr:x810E>" + set("Disable", "Disable", "Disable", "Enable") +
		"</sr:x810E></sr:GasSupplierAlertEventSettings></sr:ConfigureAlertBehaviour>"
	want2 := squash("0109 01 01 0708 0010 09 00 04" + issuer + "00000000 40 00 01 0E81")
	if got := payloadHex(t, "1", "6.22", "6.22", body2, DeviceInfo{Type: GSME}, opts); got != want2 {
		t.Errorf("\n got %s\nwant %s", got, want2)
	}
}
