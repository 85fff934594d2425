package transform

import (
	"testing"
	"time"
)

// TestGCS61: EarliestSampleTime = the period's start, NumberOfSamples =
// its length in days (a partial day counts, 1..731), values other than the
// template's (gcs61.go).
func TestGCS61(t *testing.T) {
	body := func(from, to string) string {
		return "<sr:RetrieveDailyConsumptionLog><sr:ReadLogPeriod><sr:StartDateTime>" + from + "</sr:StartDateTime><sr:EndDateTime>" +
			to + "</sr:EndDateTime></sr:ReadLogPeriod></sr:RetrieveDailyConsumptionLog>"
	}
	const start = "00EBCE27" // 2021-03-01T00:00:00Z = 667872000 s since 2000
	for _, tc := range []struct{ name, to, n string }{
		{"3 days 6 hours", "2021-03-04T06:00:00Z", "0400"},
		{"whole days", "2021-03-11T00:00:00Z", "0A00"},
		{"empty period", "2021-03-01T00:00:00Z", "0100"},
		{"more than the log", "2024-03-01T00:00:00Z", "DB02"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := payloadHex(t, "1", "4.17", "4.17", body("2021-03-01T00:00:00Z", tc.to), DeviceInfo{Type: GPF}, Options{})
			if want := squash("0109 01 01 0702 000C 01 00 08 0100" + start + "00" + tc.n); got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
	if _, err := Build(request(t, "1", "4.17", "4.17", body("2021-03-02T00:00:00Z", "2021-03-01T00:00:00Z")), DeviceInfo{Type: GPF}, Options{}); err == nil {
		t.Error("end before start: no error")
	}
	if got := dailySamples(time.Hour); got != 1 {
		t.Errorf("one hour: %d samples", got)
	}
}
