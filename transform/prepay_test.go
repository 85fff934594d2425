package transform

import (
	"strings"
	"testing"
)

// ecs08aBody has values other than the templates': special days out of
// index order (one with a specified year), a START entry on Monday and
// Wednesday with special day 2 from 2030-03-01 to every 31 December, a
// STOP entry on Sunday, a negative emergency credit threshold.
const ecs08aBody = `<sr:UpdatePrepayConfiguration>
<sr:ExecutionDateTime>2032-07-08T10:11:12Z</sr:ExecutionDateTime>
<sr:UpdatePrepayConfigElectricity>
<sr:DebtRecoveryRateCap>7</sr:DebtRecoveryRateCap>
<sr:EmergencyCreditLimit>1234</sr:EmergencyCreditLimit>
<sr:EmergencyCreditThreshold>-5</sr:EmergencyCreditThreshold>
<sr:LowCreditThreshold>99</sr:LowCreditThreshold>
<sr:ElectricityNonDisablementCalendar>
<sr:ElectricitySpecialDays>
<sr:SpecialDay index="2"><sr:Date><sr:Year><sr:NonSpecifiedYear/></sr:Year><sr:Month><sr:SpecifiedMonth>12</sr:SpecifiedMonth></sr:Month><sr:DayOfMonth><sr:SpecifiedDayOfMonth>25</sr:SpecifiedDayOfMonth></sr:DayOfMonth><sr:DayOfWeek><sr:NonSpecifiedDayOfWeek/></sr:DayOfWeek></sr:Date></sr:SpecialDay>
<sr:SpecialDay index="1"><sr:Date><sr:Year><sr:SpecifiedYear>2030</sr:SpecifiedYear></sr:Year><sr:Month><sr:SpecifiedMonth>01</sr:SpecifiedMonth></sr:Month><sr:DayOfMonth><sr:SpecifiedDayOfMonth>01</sr:SpecifiedDayOfMonth></sr:DayOfMonth><sr:DayOfWeek><sr:NonSpecifiedDayOfWeek/></sr:DayOfWeek></sr:Date></sr:SpecialDay>
</sr:ElectricitySpecialDays>
<sr:ElectricityNonDisablementSchedule>
<sr:NonDisablementScript>START</sr:NonDisablementScript>
<sr:SpecialDaysApplicability><sr:SpecialDayApplicability><sr:SpecialDayID>2</sr:SpecialDayID></sr:SpecialDayApplicability></sr:SpecialDaysApplicability>
<sr:DaysOfWeekApplicability><sr:DayOfWeekApplicability><sr:DayOfWeekID>Monday</sr:DayOfWeekID></sr:DayOfWeekApplicability><sr:DayOfWeekApplicability><sr:DayOfWeekID>Wednesday</sr:DayOfWeekID></sr:DayOfWeekApplicability></sr:DaysOfWeekApplicability>
<sr:ScheduleDatesAndTime><sr:SwitchTime>06:15:00Z</sr:SwitchTime><sr:StartDate>2030-03-01Z</sr:StartDate><sr:EndDate>65535-12-31Z</sr:EndDate></sr:ScheduleDatesAndTime>
</sr:ElectricityNonDisablementSchedule>
<sr:ElectricityNonDisablementSchedule>
<sr:NonDisablementScript>STOP</sr:NonDisablementScript>
<sr:SpecialDaysApplicability/>
<sr:DaysOfWeekApplicability><sr:DayOfWeekApplicability><sr:DayOfWeekID>Sunday</sr:DayOfWeekID></sr:DayOfWeekApplicability></sr:DaysOfWeekApplicability>
<sr:ScheduleDatesAndTime><sr:SwitchTime>23:59:59Z</sr:SwitchTime><sr:StartDate>2030-01-01Z</sr:StartDate><sr:EndDate>2031-01-01Z</sr:EndDate></sr:ScheduleDatesAndTime>
</sr:ElectricityNonDisablementSchedule>
</sr:ElectricityNonDisablementCalendar>
<sr:MaxMeterBalance>777777</sr:MaxMeterBalance>
<sr:MaxCreditThreshold>4321</sr:MaxCreditThreshold>
</sr:UpdatePrepayConfigElectricity>
</sr:UpdatePrepayConfiguration>`

// TestECS08a: the bytes the rule in prepay.go gives for ecs08aBody.
func TestECS08a(t *testing.T) {
	spec := func(class, obis, attr string) string { return "02" + class + obis + attr }
	act := "090C 07F00708FF0A0B0C 008000FF"
	want := "D9 20001092 00 12" +
		spec("000B", "00010B0002FF", "02") + spec("2328", "00005E2C0214", "04") + spec("2328", "00005E2C020A", "04") +
		spec("000A", "00010C0001FF", "02") + spec("2328", "00005E2C800C", "04") + spec("2328", "00005E2C800D", "04") +
		spec("2328", "00005E2C8009", "04") + spec("2328", "00005E2C8002", "04") + spec("2328", "00005E2C801F", "06") +
		spec("2328", "00005E2C8003", "04") + spec("2328", "00005E2C0214", "06") + spec("2328", "00005E2C020A", "06") +
		spec("2328", "00005E2C800C", "06") + spec("2328", "00005E2C800D", "06") + spec("2328", "00005E2C8009", "06") +
		spec("2328", "00005E2C8002", "06") + spec("2328", "00005E2C8003", "06") + spec("2328", "00005E2C801C", "06") +
		"12" +
		// special days in request order, index = day_id
		"0102 0203 120002 0905FFFF0C19FF 1102  0203 120001 090507EE0101FF 1101" +
		"05000BDE31 05000010E1" +
		// schedule: START 32 Mon+Wed, special day 2 of 2; STOP 33 Sunday
		"0102" +
		"020A 120001 03FF 090600000A006AFF 120020 0904060F0000 12FFFF 0407A0 040240 090507EE0301FF 0905FFFF0C1FFF" +
		"020A 120002 03FF 090600000A006AFF 120021 0904173B3B00 12FFFF 040702 040200 090507EE0101FF 090507EF0101FF" +
		"120007 0500093A80 0500000063 05000004D2" + act + "05FFFFFFFB" +
		strings.Repeat(act, 8)
	got := payloadHex(t, "1", "2.1", "2.1", ecs08aBody, DeviceInfo{Type: ESME, UseCases: []string{"ECS08a"}}, Options{})
	if w := squash(want); got != w {
		t.Errorf("\n got %s\nwant %s", got, w)
	}
}

// TestECS08aErrors: a special day the request does not define, an unknown
// script.
func TestECS08aErrors(t *testing.T) {
	for name, body := range map[string]string{
		"undefined special day": strings.Replace(ecs08aBody, "<sr:SpecialDayID>2<", "<sr:SpecialDayID>3<", 1),
		"bad date":              strings.Replace(ecs08aBody, "2030-03-01Z", "2030-03-01+01:00", 1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Build(request(t, "1", "2.1", "2.1", body), DeviceInfo{Type: ESME, UseCases: []string{"ECS08a"}}, Options{})
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
}
