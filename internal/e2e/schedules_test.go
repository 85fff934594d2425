package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
)

var (
	headerSR  = regexp.MustCompile(`<sr:ServiceReference>[^<]*</sr:ServiceReference>`)
	headerSRV = regexp.MustCompile(`<sr:ServiceReferenceVariant>[^<]*</sr:ServiceReferenceVariant>`)
	bodyRE    = regexp.MustCompile(`(?s)<sr:Body>.*</sr:Body>`)
)

// nonDeviceRequest makes a CV 8 request of the given SR/SRV and body from
// the 5.2 template (the client re-signs it with a fresh counter).
func (h *harness) nonDeviceRequest(sr, srv, body string) []byte {
	doc := h.template("5.2_READ_SCHEDULE_REQUEST_DUIS.XML")
	doc = headerSR.ReplaceAll(doc, []byte("<sr:ServiceReference>"+sr+"</sr:ServiceReference>"))
	doc = headerSRV.ReplaceAll(doc, []byte("<sr:ServiceReferenceVariant>"+srv+"</sr:ServiceReferenceVariant>"))
	return bodyRE.ReplaceAll(doc, []byte("<sr:Body>"+body+"</sr:Body>"))
}

// TestDCCSchedules creates a daily DCC Schedule of 4.6.1 (Retrieve Import
// Daily Read Log) whose first run is two seconds away, receives the run's
// DSPScheduledMessage, reads the schedule back (5.2), deletes it (5.3),
// and shows a schedule whose device is decommissioned ends with the DCC
// Alert DSPScheduleRemoval instead of reaching the device.
func TestDCCSchedules(t *testing.T) {
	h := newHarness(t, nil)
	s, send, waitFor := h.s, h.send, h.waitFor
	create := func(device string, first time.Time) string {
		t.Helper()
		first = first.UTC()
		body := fmt.Sprintf(`<sr:CreateSchedule><sr:ScheduleFrequency>Daily</sr:ScheduleFrequency>`+
			`<sr:ScheduleStartDate>%s</sr:ScheduleStartDate><sr:ScheduleEndDate>%s</sr:ScheduleEndDate>`+
			`<sr:ScheduleExecutionStartTime>%s</sr:ScheduleExecutionStartTime>`+
			`<sr:DSPScheduledServiceReference>4.6</sr:DSPScheduledServiceReference>`+
			`<sr:DSPScheduledServiceReferenceVariant>4.6.1</sr:DSPScheduledServiceReferenceVariant>`+
			`<sr:DeviceID>%s</sr:DeviceID>`+
			`<sr:DSPRetrieveImportDailyReadLog><sr:StartDateOffset>-2</sr:StartDateOffset><sr:StartTime>00:00:00Z</sr:StartTime>`+
			`<sr:EndDateOffset>0</sr:EndDateOffset><sr:EndTime>00:00:00Z</sr:EndTime></sr:DSPRetrieveImportDailyReadLog>`+
			`</sr:CreateSchedule>`, first.Format("2006-01-02"), first.AddDate(0, 1, 0).Format("2006-01-02"), first.Format("15:04:05Z"), device)
		res := send(h.nonDeviceRequest("5.1", "5.1", body))
		if res.Ack.Code != "I0" || res.Ack.Content != "DSPScheduleID" {
			t.Fatalf("5.1: %s %s (%s)", res.Ack.Code, res.Ack.Content, res.Ack.Raw)
		}
		m := regexp.MustCompile(`<sr:DSPScheduleID>(\d+)</sr:DSPScheduleID>`).FindSubmatch(res.Ack.Raw)
		if m == nil {
			t.Fatalf("5.1: no DSPScheduleID in %s", res.Ack.Raw)
		}
		return string(m[1])
	}

	// 1. A run: the DCC issues 4.6.1 on the User's behalf at the run time.
	const esme = "00-DB-12-34-56-78-90-A0"
	before := s.CommandsSent()
	id := create(esme, time.Now().Add(2*time.Second))
	t.Logf("5.1 → I0, DSPScheduleID %s", id)
	run := waitFor("DSPScheduledMessage", func(r *client.Response) bool {
		return r.Content == "DSPScheduledMessage" && strings.Contains(string(r.Raw), "<sr:DSPScheduleID>"+id+"<")
	})
	if run.Code != "I0" || !run.SignatureValid || run.SchemaError != "" || len(run.GBCS) != 1 {
		t.Fatalf("run: code %s signature %v schema %q gbcs %d", run.Code, run.SignatureValid, run.SchemaError, len(run.GBCS))
	}
	if !strings.HasPrefix(run.RequestID, "90-B3-D5-1F-30-01-00-00:"+esme+":") || !strings.Contains(string(run.Raw), "<sr:ServiceReferenceVariant>4.6.1<") {
		t.Errorf("run: RequestID %s, want the User's on the ESME, SRV 4.6.1", run.RequestID)
	}
	if n := s.CommandsSent() - before; n != 1 {
		t.Errorf("commands sent for one run: %d", n)
	}
	t.Logf("run: %s, RequestID %s, GBCS %s", run.Code, run.RequestID, run.GBCS[0].UseCase)

	// 2. Read it back, by ID and by device.
	for _, sel := range []string{"<sr:DSPScheduleID>" + id + "</sr:DSPScheduleID>", "<sr:DeviceID>" + esme + "</sr:DeviceID>"} {
		res := send(h.nonDeviceRequest("5.2", "5.2", "<sr:ReadSchedule>"+sel+"</sr:ReadSchedule>"))
		if res.Ack.Code != "I0" || res.Ack.Content != "DSPSchedulesRead" || !strings.Contains(string(res.Ack.Raw), "<sr:DSPScheduledServiceReferenceVariant>4.6.1<") {
			t.Fatalf("5.2 %s: %s %s", sel, res.Ack.Code, res.Ack.Content)
		}
	}
	// 3. Delete it; then it is gone.
	if res := send(h.nonDeviceRequest("5.3", "5.3", "<sr:DeleteSchedule><sr:DSPScheduleID>"+id+"</sr:DSPScheduleID></sr:DeleteSchedule>")); res.Ack.Code != "I99" {
		t.Fatalf("5.3: %s", res.Ack.Code)
	}
	if res := send(h.nonDeviceRequest("5.2", "5.2", "<sr:ReadSchedule><sr:DSPScheduleID>"+id+"</sr:DSPScheduleID></sr:ReadSchedule>")); res.Ack.Code != "E050201" {
		t.Fatalf("5.2 after delete: %s, want E050201", res.Ack.Code)
	}
	if res := send(h.nonDeviceRequest("5.3", "5.3", "<sr:DeleteSchedule><sr:DSPScheduleID>"+id+"</sr:DSPScheduleID></sr:DeleteSchedule>")); res.Ack.Code != "E050301" {
		t.Fatalf("5.3 again: %s, want E050301", res.Ack.Code)
	}

	// 4. Refusals: a scheduled SRV that is not schedulable for this body,
	// and a device type the service does not apply to.
	mismatch := fmt.Sprintf(`<sr:CreateSchedule><sr:ScheduleFrequency>Daily</sr:ScheduleFrequency><sr:ScheduleStartDate>%s</sr:ScheduleStartDate>`+
		`<sr:DSPScheduledServiceReference>4.6</sr:DSPScheduledServiceReference><sr:DSPScheduledServiceReferenceVariant>4.6.1</sr:DSPScheduledServiceReferenceVariant>`+
		`<sr:DeviceID>%s</sr:DeviceID><sr:DSPReadLoadLimitData/></sr:CreateSchedule>`, time.Now().UTC().Format("2006-01-02"), esme)
	if res := send(h.nonDeviceRequest("5.1", "5.1", mismatch)); res.Ack.Code != "E050101" {
		t.Errorf("5.1 with another service's body: %s, want E050101", res.Ack.Code)
	}
	chf := strings.Replace(mismatch, "<sr:DSPReadLoadLimitData/>", "<sr:DSPRetrieveImportDailyReadLog><sr:StartDateOffset>-1</sr:StartDateOffset><sr:StartTime>00:00:00Z</sr:StartTime><sr:EndDateOffset>0</sr:EndDateOffset><sr:EndTime>00:00:00Z</sr:EndTime></sr:DSPRetrieveImportDailyReadLog>", 1)
	chf = strings.Replace(chf, esme, "00-DB-12-34-56-78-90-A2", 1)
	if res := send(h.nonDeviceRequest("5.1", "5.1", chf)); res.Ack.Code != "E11" {
		t.Errorf("5.1 on a CHF: %s, want E11", res.Ack.Code)
	}

	// 5. A schedule whose device leaves service ends with a DCC Alert.
	id2 := create(esme, time.Now().Add(3*time.Second))
	if res := send(h.nonDeviceRequest("8.3", "8.3", "<sr:DecommissionDevice><sr:DeviceID>"+esme+"</sr:DeviceID></sr:DecommissionDevice>")); res.Ack.Code != "I99" {
		t.Fatalf("8.3: %s", res.Ack.Code)
	}
	before = s.CommandsSent()
	alert := waitFor("DSPScheduleRemoval alert", func(r *client.Response) bool {
		return r.Kind == "DCCAlertMessage" && strings.Contains(string(r.Raw), "<sr:DSPScheduleID>"+id2+"<")
	})
	if !alert.SignatureValid || alert.SchemaError != "" || alert.AlertCode == "" {
		t.Fatalf("alert: signature %v schema %q code %q", alert.SignatureValid, alert.SchemaError, alert.AlertCode)
	}
	if n := s.CommandsSent() - before; n != 0 {
		t.Errorf("the removed schedule sent %d commands", n)
	}
	t.Logf("device decommissioned: DCC Alert %s DSPScheduleRemoval for schedule %s", alert.AlertCode, id2)

	// The decommissioning is told to the meter's other parties: the
	// network operator registered for its MPAN.
	change := waitFor("DeviceStatusChangeEvent", func(r *client.Response) bool {
		return r.Kind == "DCCAlertMessage" && strings.Contains(string(r.Raw), "<sr:DeviceStatusChangeEvent>")
	})
	raw := string(change.Raw)
	if !change.SignatureValid || change.SchemaError != "" || !strings.Contains(change.ResponseID, ":90-B3-D5-1F-30-02-00-00:") ||
		!strings.Contains(raw, "<sr:MeterDecommissioningOrWithdrawal>") || !strings.Contains(raw, "<sr:DeviceID>00-DB-12-34-56-78-90-A4</sr:DeviceID>") {
		t.Fatalf("DeviceStatusChangeEvent: signature %v schema %q ResponseID %s\n%s", change.SignatureValid, change.SchemaError, change.ResponseID, raw)
	}
	if h.count(func(r *client.Response) bool {
		return strings.Contains(string(r.Raw), "<sr:DeviceStatusChangeEvent>") && strings.Contains(r.ResponseID, ":90-B3-D5-1F-30-01-00-00:")
	}) != 0 {
		t.Error("the supplier that decommissioned the meter was told too")
	}
	t.Logf("8.3: DCC Alert %s DeviceStatusChangeEvent (MeterDecommissioningOrWithdrawal, joined PPMID listed) to the network operator", change.AlertCode)
}
