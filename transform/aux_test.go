package transform

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/correlate"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/sim"
)

// Auxiliary controller use cases (aux_state.go, aux_calendar.go) with
// request values other than the templates': the bytes each rule gives.
// TestRTDS checks the templates against RTDS.

const auxESME = "00-DB-12-34-56-78-90-A0"

// auxRequest is a request from originator to the ESME with the counter.
func auxRequest(t *testing.T, originator string, counter uint64, cv, sr, srv, body string) *duis.Request {
	t.Helper()
	r, _ := auxRequestXML(t, originator, counter, cv, sr, srv, body)
	return r
}

func auxRequestXML(t *testing.T, originator string, counter uint64, cv, sr, srv, body string) (*duis.Request, []byte) {
	t.Helper()
	x := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>%s:%s:%d</sr:RequestID>
    <sr:CommandVariant>%s</sr:CommandVariant>
    <sr:ServiceReference>%s</sr:ServiceReference>
    <sr:ServiceReferenceVariant>%s</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body>%s</sr:Body>
</sr:Request>`, originator, auxESME, counter, cv, sr, srv, body)
	m, err := duis.Decode([]byte(x))
	if err != nil || m.Request == nil {
		t.Fatalf("decode: %v", err)
	}
	return m.Request, []byte(x)
}

// auxDate is an sr:Date body; "" leaves a part unspecified, "last" is the
// last day of the month.
func auxDate(y, m, d string) string {
	part := func(name, v string) string {
		switch v {
		case "":
			return "<sr:" + name + "><sr:NonSpecified" + name + "/></sr:" + name + ">"
		case "last":
			return "<sr:" + name + "><sr:LastDayOfMonth/></sr:" + name + ">"
		}
		return "<sr:" + name + "><sr:Specified" + name + ">" + v + "</sr:Specified" + name + "></sr:" + name + ">"
	}
	return part("Year", y) + part("Month", m) + part("DayOfMonth", d) + part("DayOfWeek", "")
}

func auxDays(days ...string) string {
	s := "<sr:DaysOfWeekApplicability>"
	for _, d := range days {
		s += "<sr:DayOfWeekApplicability><sr:DayOfWeekID>" + d + "</sr:DayOfWeekID></sr:DayOfWeekApplicability>"
	}
	return s + "</sr:DaysOfWeekApplicability>"
}

// ecs46dBody: one schedule entry (controller 4, level 25, input, special
// day 2, Monday and Saturday, 23:45:30, from the last day of every March
// to 2032-01-31), special days 1 = 2031-07-04 and 2 = every 5 November,
// activation 2031-06-01T12:00Z.
var ecs46dBody = `<sr:UpdateDeviceConfigurationAuxiliaryControllerScheduler>
  <sr:ExecutionDateTime>2031-06-01T12:00:00.00Z</sr:ExecutionDateTime>
  <sr:AuxiliaryControllerSchedule>
    <sr:AuxiliaryControllerAction auxiliaryControllerN="4"><sr:CommandedStateLevel>25</sr:CommandedStateLevel><sr:InputFromControlledLoad/></sr:AuxiliaryControllerAction>
    <sr:SpecialDaysApplicability identifier="2"/>` + auxDays("Saturday", "Monday") + `
    <sr:AuxiliaryControllerSchedulePeriodAndTime><sr:SwitchTime>23:45:30.00Z</sr:SwitchTime>
      <sr:StartDate>` + auxDate("", "3", "last") + `</sr:StartDate><sr:EndDate>` + auxDate("2032", "1", "31") + `</sr:EndDate>
    </sr:AuxiliaryControllerSchedulePeriodAndTime>
  </sr:AuxiliaryControllerSchedule>
  <sr:AuxiliaryControllerSpecialDayDefinitions>
    <sr:AuxiliaryControllerSpecialDayDefinition identifier="1">` + auxDate("2031", "7", "4") + `</sr:AuxiliaryControllerSpecialDayDefinition>
    <sr:AuxiliaryControllerSpecialDayDefinition identifier="2">` + auxDate("", "11", "5") + `</sr:AuxiliaryControllerSpecialDayDefinition>
  </sr:AuxiliaryControllerSpecialDayDefinitions>
</sr:UpdateDeviceConfigurationAuxiliaryControllerScheduler>`

// ecs46cBody: switch 3 an HCALCS and switch 1 an ALCS (out of index
// order), one entry deactivating switch 3 at 07:00 every day of any date,
// no special days, no weekdays, immediate.
var ecs46cBody = `<sr:UpdateDeviceConfigurationALCScheduler>
  <sr:ALCSHCALCSConnectionSchedule>
    <sr:ActivateDeactivateSwitch index="3"><sr:DeactivateSwitch/></sr:ActivateDeactivateSwitch>
    <sr:ALCSScheduleDatesAndTime><sr:SwitchTime>07:00:00.00Z</sr:SwitchTime>
      <sr:StartDate>` + auxDate("", "", "") + `</sr:StartDate><sr:EndDate>` + auxDate("", "", "") + `</sr:EndDate>
    </sr:ALCSScheduleDatesAndTime>
  </sr:ALCSHCALCSConnectionSchedule>
  <sr:ALCSHCALCSSpecialDays/>
  <sr:SwitchTypeAndId index="3"><sr:HCALCS>00-DB-12-34-56-78-90-B1</sr:HCALCS></sr:SwitchTypeAndId>
  <sr:SwitchTypeAndId index="1"><sr:ALCS/></sr:SwitchTypeAndId>
</sr:UpdateDeviceConfigurationALCScheduler>`

func auxState(elem, n, level string, input bool) string {
	in := ""
	if input {
		in = "<sr:InputFromControlledLoad/>"
	}
	return `<sr:` + elem + ` auxiliaryControllerN="` + n + `"><sr:StartDateTime>2031-02-28T23:30:00.00Z</sr:StartDateTime>` +
		`<sr:EndDateTime>2031-03-01T00:15:00Z</sr:EndDateTime><sr:CommandedStateLevel>` + level + `</sr:CommandedStateLevel>` + in + `</sr:` + elem + `>`
}

func TestAuxBytes(t *testing.T) {
	const (
		head   = "D9" + "20001092" + "00" // invoke-id: counter 4242
		script = "0009" + "00000A0067FF" + "01"
		never  = "0000000000000000008000FF"
	)
	calSpecs := "02" + "000B" + "00010B0003FF" + "02" + "02" + "000A" + "00010C0002FF" + "02" +
		"02" + "2328" + "00005E2C801A" + "06" + "02" + "2328" + "00005E2C8023" + "06"
	for _, tc := range []struct {
		name, sr, srv, body, want string
		uc                        string
	}{
		{"7.5 switch 4 for 1234", "7.5", "7.5",
			`<sr:ActivateAuxiliaryLoad><sr:ActivateALCSHCALCS index="4"><sr:Duration>1234</sr:Duration></sr:ActivateALCSHCALCS></sr:ActivateAuxiliaryLoad>`,
			head + "02" + "02" + "0001" + "00005E2C7801" + "02" + "03" + script + "02" + "1204D2" + "120411", "ECS47"},
		{"7.6 switch 2 for 65535", "7.6", "7.6",
			`<sr:DeactivateAuxiliaryLoad><sr:DeactivateALCSHCALCS index="2"><sr:Duration>65535</sr:Duration></sr:DeactivateALCSHCALCS></sr:DeactivateAuxiliaryLoad>`,
			head + "02" + "02" + "0001" + "00005E2C7602" + "02" + "03" + script + "02" + "12FFFF" + "120212", "ECS47"},
		{"7.8 switch 1", "7.8", "7.8",
			`<sr:ResetAuxiliaryLoad><sr:ResetALCSHCALCS index="1"/></sr:ResetAuxiliaryLoad>`,
			head + "01" + "03" + script + "01" + "120120", "ECS47"},
		{"7.13 controller 2 input at 75", "7.13", "7.13", auxState("SetAuxiliaryControllerState", "2", "75", true),
			head + "03" + "02" + "0001" + "00005E2C7601" + "02" + "02" + "0001" + "00005E2C7602" + "02" + "03" + script +
				"03" + "090C07EF021CFF171E00008000FF" + "090C07EF0301FF000F00008000FF" + "12224B", "ECS47a"},
		{"7.16 controller 4 output at 0", "7.16", "7.16", auxState("LimitAPCLevel", "4", "0", false),
			head + "03" + "02" + "0001" + "00005E2C7803" + "02" + "02" + "0001" + "00005E2C7804" + "02" + "03" + "0009" + "00000A006BFF" + "01" +
				"03" + "090C07EF021CFF171E00008000FF" + "090C07EF0301FF000F00008000FF" + "121400", "ECS47e"},
		{"6.14.3 one scheduled input", "6.14", "6.14.3", ecs46dBody,
			head + "04" + calSpecs + "04" +
				"0102" + "0203120001" + "090507EF0704FF" + "1101" + "0203120002" + "0905FFFF0B05FF" + "1102" +
				"0101" + "020A" + "120001" + "03FF" + "090600000A0067FF" + "122499" + "0904172D1E00" + "12FFFF" +
				"040784" + "040240" + "0905FFFF03FEFF" + "090507F0011FFF" +
				"090C07EF0601FF0C0000008000FF" + "090C07EF0601FF0C0000008000FF", "ECS46d"},
		{"6.14.2 HCALCS 3 deactivate", "6.14", "6.14.2", ecs46cBody,
			head + "06" + "02" + "0001" + "00005E2C0015" + "02" + "02" + "0001" + "00005E2C0017" + "02" + calSpecs + "06" +
				"09080000000000000000" + "090800DB1234567890B1" + "0100" +
				"0101" + "020A" + "120001" + "03FF" + "090600000A0067FF" + "120302" + "090407000000" + "12FFFF" +
				"040700" + "0400" + "0905FFFFFFFFFF" + "0905FFFFFFFFFF" +
				"090C" + never + "090C" + never, "ECS46c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, xml := auxRequestXML(t, "90-B3-D5-1F-30-01-00-00", 4242, "4", tc.sr, tc.srv, tc.body)
			r, err := BuildResult(req, DeviceInfo{Type: ESME}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			// the inverse mapping (gbcs/correlate) finds every request value
			raw, err := r.Message.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if rep, err := correlate.Check(xml, raw); err != nil || !rep.OK() {
				t.Errorf("correlate: %v %v", err, rep)
			}
			if r.UseCase.Name != tc.uc {
				t.Errorf("use case %s, want %s", r.UseCase.Name, tc.uc)
			}
			if got := strings.ToUpper(hex.EncodeToString(r.Message.Content)); got != tc.want {
				t.Errorf("content\n got %s\nwant %s", got, tc.want)
			}
			if _, err := payload.Decode(r.Message.MessageCode, r.Message.Content, payload.Options{}); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestECS61a: the same 17 gets whatever the request (a future-dated 7.7 is
// held by the DCC; the command carries no time).
func TestECS61a(t *testing.T) {
	for _, body := range []string{"<sr:ReadALCSData/>", "<sr:ReadALCSData><sr:ExecutionDateTime>2031-01-01T00:00:00Z</sr:ExecutionDateTime></sr:ReadALCSData>"} {
		m, err := Build(auxRequest(t, "90-B3-D5-1F-30-01-00-00", 7, "1", "7.7", "7.7", body), DeviceInfo{Type: ESME}, Options{ACB: sim.EUIACB})
		if err != nil {
			t.Fatal(err)
		}
		n, err := payload.Decode(m.MessageCode, m.Content, payload.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range n.Child("request-specs").Children {
			got = append(got, strings.Fields(s.Text)[1]+" "+strings.Fields(s.Text)[2])
		}
		want := "IC1 0-0:94.44.0.11,IC1 0-0:94.44.0.12,IC1 0-0:94.44.0.13,IC1 0-0:94.44.0.14,IC1 0-0:94.44.0.15," +
			"IC1 0-0:94.44.0.21,IC1 0-0:94.44.0.22,IC1 0-0:94.44.0.23,IC1 0-0:94.44.0.24,IC1 0-0:94.44.0.25," +
			"IC11 0-0:11.0.3.255,IC10 0-0:12.0.2.255," +
			"IC70 0-1:96.3.10.255,IC70 0-2:96.3.10.255,IC70 0-3:96.3.10.255,IC70 0-4:96.3.10.255,IC70 0-5:96.3.10.255"
		if m.MessageCode != 0x00BB || strings.Join(got, ",") != want {
			t.Errorf("%04X %s", m.MessageCode, strings.Join(got, ","))
		}
	}
}

func TestAuxErrors(t *testing.T) {
	days := func(ids ...string) string {
		s := "<sr:AuxiliaryControllerSpecialDayDefinitions>"
		for _, id := range ids {
			s += `<sr:AuxiliaryControllerSpecialDayDefinition identifier="` + id + `">` + auxDate("", "12", "25") + `</sr:AuxiliaryControllerSpecialDayDefinition>`
		}
		return s + "</sr:AuxiliaryControllerSpecialDayDefinitions>"
	}
	entry := func(special string) string {
		return `<sr:AuxiliaryControllerSchedule><sr:AuxiliaryControllerAction auxiliaryControllerN="1"><sr:CommandedStateLevel>0</sr:CommandedStateLevel></sr:AuxiliaryControllerAction>` +
			`<sr:SpecialDaysApplicability identifier="` + special + `"/><sr:AuxiliaryControllerSchedulePeriodAndTime><sr:SwitchTime>01:00:00Z</sr:SwitchTime>` +
			`<sr:StartDate>` + auxDate("", "", "") + `</sr:StartDate><sr:EndDate>` + auxDate("", "", "") + `</sr:EndDate></sr:AuxiliaryControllerSchedulePeriodAndTime></sr:AuxiliaryControllerSchedule>`
	}
	cal := func(s string) string {
		return "<sr:UpdateDeviceConfigurationAuxiliaryControllerScheduler>" + s + "</sr:UpdateDeviceConfigurationAuxiliaryControllerScheduler>"
	}
	for _, tc := range []struct {
		name, srv, body string
		want            error
	}{
		{"special day not defined", "6.14.3", cal(entry("3") + days("1", "2")), ErrRequest},
		{"special day defined twice", "6.14.3", cal(entry("1") + days("1", "1")), ErrRequest},
		{"day id beyond the number of special days", "6.14.3", cal(entry("3") + days("1", "3")), ErrUnsupported},
		{"switch type twice", "6.14.2", strings.Replace(ecs46cBody, `index="1"><sr:ALCS/>`, `index="3"><sr:ALCS/>`, 1), ErrRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(auxRequest(t, "90-B3-D5-1F-30-01-00-00", 1, "4", "6.14", tc.srv, tc.body), DeviceInfo{Type: ESME}, Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
	// without the special day beyond the count, the same calendar builds
	if _, err := Build(auxRequest(t, "90-B3-D5-1F-30-01-00-00", 1, "4", "6.14", "6.14.3", cal(entry("2")+days("1", "2"))), DeviceInfo{Type: ESME}, Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestAuxSim: the simulated ESME executes every item of the commands built
// for requests other than the templates (signed by the Supplier, or the
// Load Controller for ECS47e, and MACed as the DCC sends them).
func TestAuxSim(t *testing.T) {
	clock := sim.NewManualClock(time.Date(2030, 1, 15, 0, 0, 0, 0, time.UTC))
	f, err := sim.NewFleet(sim.Options{Seed: 7, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.AddWithEUI(eui.MustParse(auxESME), sim.ESME); err != nil {
		t.Fatal(err)
	}
	sec := gbcs.NewSecurity(f.KeyStore(), 0)
	counter := uint64(1) << 32
	for _, tc := range []struct {
		from         eui.EUI64
		cv, sr, srv  string
		body         string
		wantAnswered int
	}{
		{sim.EUISupplier, "4", "7.5", "7.5", `<sr:ActivateAuxiliaryLoad><sr:ActivateALCSHCALCS index="4"><sr:Duration>1234</sr:Duration></sr:ActivateALCSHCALCS></sr:ActivateAuxiliaryLoad>`, 2},
		{sim.EUISupplier, "4", "7.6", "7.6", `<sr:DeactivateAuxiliaryLoad><sr:DeactivateALCSHCALCS index="2"><sr:Duration>7</sr:Duration></sr:DeactivateALCSHCALCS></sr:DeactivateAuxiliaryLoad>`, 2},
		{sim.EUISupplier, "4", "7.8", "7.8", `<sr:ResetAuxiliaryLoad><sr:ResetALCSHCALCS index="1"/></sr:ResetAuxiliaryLoad>`, 1},
		{sim.EUISupplier, "4", "7.13", "7.13", auxState("SetAuxiliaryControllerState", "2", "75", true), 3},
		{sim.EUILoadController, "4", "7.16", "7.16", auxState("LimitAPCLevel", "4", "0", false), 3},
		{sim.EUISupplier, "4", "6.14", "6.14.3", ecs46dBody, 4},
		{sim.EUISupplier, "4", "6.14", "6.14.2", ecs46cBody, 6},
		{sim.EUISupplier, "1", "7.7", "7.7", "<sr:ReadALCSData/>", 17},
	} {
		t.Run(tc.srv, func(t *testing.T) {
			counter += 1 << 8
			m, err := Build(auxRequest(t, tc.from.String(), counter, tc.cv, tc.sr, tc.srv, tc.body), DeviceInfo{Type: ESME},
				Options{ACB: sim.EUIACB, ACBCounter: counter})
			if err != nil {
				t.Fatal(err)
			}
			if !m.SignatureField {
				m.SignatureField = true
				if err := sec.Sign(m, nil); err != nil {
					t.Fatal(err)
				}
			}
			resp, n := deliverToSim(t, f, sec, m, "ESME ("+tc.srv+")")
			var res []uint64
			for _, s := range n.Child("response-specs").Children {
				v, _ := s.Child("result").Uint()
				res = append(res, v)
			}
			if resp.MessageCode != m.MessageCode || len(res) != tc.wantAnswered {
				t.Fatalf("response %04X results %v:\n%s", resp.MessageCode, res, n)
			}
			for i, v := range res {
				if v != 0 {
					t.Errorf("item %d: result %d", i, v)
				}
			}
		})
	}
}
