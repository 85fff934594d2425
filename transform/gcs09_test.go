package transform

import (
	"bytes"
	"testing"
	"time"
)

// TestGCS09ImplementationTime: 3.2 on a GPF is GCS09, whose GBZ
// Implementation Date/Time (ZigBee UTCTime, little-endian seconds since
// 2000) is the request's RestrictionDateTime.
func TestGCS09ImplementationTime(t *testing.T) {
	req := request(t, "1", "3.2", "3.2", "<sr:RestrictAccessForChangeOfTenancy><sr:RestrictionDateTime>2014-03-27T15:45:32.00Z</sr:RestrictionDateTime></sr:RestrictAccessForChangeOfTenancy>")
	m, err := Build(req, DeviceInfo{Type: GPF}, Options{Now: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageCode != 0x0072 { // GCS09
		t.Fatalf("message code %#04x", m.MessageCode)
	}
	want := le32(uint32(time.Date(2014, 3, 27, 15, 45, 32, 0, time.UTC).Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) / time.Second))
	if !bytes.Contains(m.Content, want) {
		t.Fatalf("the content % X lacks the implementation time % X", m.Content, want)
	}
}
