package dcc

import (
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
)

func TestScheduleRuns(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		name  string
		d     duis.DSPSchedule
		after string
		want  string // "" = ended
	}{
		{"daily, first run ahead", duis.DSPSchedule{ScheduleFrequency: "Daily", ScheduleStartDate: "2026-01-10", ScheduleExecutionStartTime: s("06:30:00Z")},
			"2026-01-01T00:00:00Z", "2026-01-10T06:30:00Z"},
		{"daily, later", duis.DSPSchedule{ScheduleFrequency: "Daily", ScheduleStartDate: "2026-01-10", ScheduleExecutionStartTime: s("06:30:00Z")},
			"2026-02-03T06:30:01Z", "2026-02-04T06:30:00Z"},
		{"daily, exactly at a run", duis.DSPSchedule{ScheduleFrequency: "Daily", ScheduleStartDate: "2026-01-10"},
			"2026-01-12T00:00:00Z", "2026-01-12T00:00:00Z"},
		{"weekly", duis.DSPSchedule{ScheduleFrequency: "Weekly", ScheduleStartDate: "2026-01-01"},
			"2026-01-02T00:00:00Z", "2026-01-08T00:00:00Z"},
		{"monthly from the 31st", duis.DSPSchedule{ScheduleFrequency: "Monthly", ScheduleStartDate: "2026-01-31"},
			"2026-02-01T00:00:00Z", "2026-02-28T00:00:00Z"},
		{"monthly from the 31st, after February", duis.DSPSchedule{ScheduleFrequency: "Monthly", ScheduleStartDate: "2026-01-31"},
			"2026-03-01T00:00:00Z", "2026-03-31T00:00:00Z"},
		{"quarterly", duis.DSPSchedule{ScheduleFrequency: "Quarterly", ScheduleStartDate: "2026-01-15"},
			"2026-05-01T00:00:00Z", "2026-07-15T00:00:00Z"},
		{"half-yearly", duis.DSPSchedule{ScheduleFrequency: "Half-Yearly", ScheduleStartDate: "2026-01-15"},
			"2026-01-16T00:00:00Z", "2026-07-15T00:00:00Z"},
		{"yearly, years later", duis.DSPSchedule{ScheduleFrequency: "Yearly", ScheduleStartDate: "2020-02-29"},
			"2026-06-01T00:00:00Z", "2027-02-28T00:00:00Z"},
		{"end date inclusive", duis.DSPSchedule{ScheduleFrequency: "Daily", ScheduleStartDate: "2026-01-01", ScheduleEndDate: s("2026-01-05"), ScheduleExecutionStartTime: s("23:00:00")},
			"2026-01-05T00:00:00Z", "2026-01-05T23:00:00Z"},
		{"ended", duis.DSPSchedule{ScheduleFrequency: "Daily", ScheduleStartDate: "2026-01-01", ScheduleEndDate: s("2026-01-05")},
			"2026-01-05T00:00:01Z", ""},
	} {
		after, _ := time.Parse(time.RFC3339, tc.after)
		got, _, ok, err := nextRun(&tc.d, after)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.want == "" {
			if ok {
				t.Errorf("%s: next run %s, want none", tc.name, got)
			}
			continue
		}
		if !ok || got.Format(time.RFC3339) != tc.want {
			t.Errorf("%s: next run %s (ok %v), want %s", tc.name, got.Format(time.RFC3339), ok, tc.want)
		}
	}
}

func TestScheduleRunRequest(t *testing.T) {
	rec := scheduleRecord{ID: 7, SRV: "4.6.1", Role: duis.RoleIS, Details: duis.DSPSchedule{
		DSPRetrieveImportDailyReadLog: &duis.ReadLogPeriodOffset{StartDateOffset: "-2", StartTime: "00:00:00Z", EndDateOffset: "0", EndTime: "01:30:00"}}}
	at := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	req, id, err := scheduleRun(rec, at, 42)
	if err != nil {
		t.Fatal(err)
	}
	b := req.Body.RetrieveImportDailyReadLog
	if b == nil || b.ReadLogPeriod.StartDateTime != "2026-02-27T00:00:00Z" || b.ReadLogPeriod.EndDateTime != "2026-03-01T01:30:00Z" {
		t.Fatalf("body %+v", b)
	}
	if id.Counter != 42 || req.Header.ServiceReferenceVariant != "4.6.1" || req.Header.CommandVariant != "1" {
		t.Fatalf("header %+v", req.Header)
	}
	if _, _, err := scheduleRun(scheduleRecord{ID: 8, SRV: "4.6.1", Details: duis.DSPSchedule{DSPRetrieveImportDailyReadLog: &duis.ReadLogPeriodOffset{StartDateOffset: "x"}}}, at, 1); err == nil {
		t.Error("a bad offset gave no error")
	}
}

// FuzzScheduleTimes: any dates, times and frequency give a run, an end or
// an error, never a panic or an endless loop.
func FuzzScheduleTimes(f *testing.F) {
	f.Add("Daily", "2026-01-10", "2026-02-10", "06:30:00Z", int64(1767225600))
	f.Add("Monthly", "2026-01-31+01:00", "", "23:59:59.999", int64(0))
	f.Fuzz(func(t *testing.T, freq, start, end, tod string, after int64) {
		d := duis.DSPSchedule{ScheduleFrequency: freq, ScheduleStartDate: start}
		if end != "" {
			d.ScheduleEndDate = &end
		}
		if tod != "" {
			d.ScheduleExecutionStartTime = &tod
		}
		nextRun(&d, time.Unix(after%(1<<40), 0).UTC())
	})
}

func TestMetaScheduleID(t *testing.T) {
	run := requestMeta{RequestID: "a:b:1", Endpoint: EndpointSend, Body: "X", ScheduleID: "1000000000000"}.marshal()
	own := requestMeta{RequestID: "a:b:2", Endpoint: EndpointSend, Body: "X", Request: []byte(`<sr:Request>"scheduleId"</sr:Request>`)}.marshal()
	if got := metaScheduleID(run); got != "1000000000000" {
		t.Errorf("run: %q", got)
	}
	if got := metaScheduleID(own); got != "" {
		t.Errorf("own request: %q", got)
	}
}
