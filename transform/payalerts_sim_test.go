package transform

import (
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/sim"
)

// TestPaymentAlertsSim: the simulated devices execute the commands of
// ecs02.go, prepay.go, alerts.go (polyphase), gcs20.go and gcs61.go built
// from request values other than the templates' (signed by the supplier
// when critical, MACed as the DCC does), answering success to every item.
func TestPaymentAlertsSim(t *testing.T) {
	target := eui.MustParse("00-DB-12-34-56-78-90-A0") // request()'s target
	set := func(wan, han, log, alarm string) string {
		return "<sr:WANAlert>" + wan + "</sr:WANAlert><sr:HANAlert>" + han + "</sr:HANAlert><sr:EventLog>" + log +
			"</sr:EventLog><sr:Alarm>" + alarm + "</sr:Alarm>"
	}
	for _, tc := range []struct {
		name, sr, body string
		st             sim.Type
		dev            DeviceInfo
	}{
		{"ECS02 twin future-dated", "1.6", "<sr:UpdatePaymentMode><sr:ExecutionDateTime>2031-02-03T04:05:06Z</sr:ExecutionDateTime><sr:Credit/></sr:UpdatePaymentMode>",
			sim.ESMETwin, DeviceInfo{Type: ESME, Variant: TwinElement}},
		{"ECS02 single now", "1.6", "<sr:UpdatePaymentMode><sr:Credit/></sr:UpdatePaymentMode>", sim.ESME, DeviceInfo{Type: ESME}},
		{"ECS08a", "2.1", ecs08aBody, sim.ESME, DeviceInfo{Type: ESME, UseCases: []string{"ECS08a"}}},
		{"ECS25b polyphase", "6.22", "<sr:ConfigureAlertBehaviour><sr:ElectricityNetworkOperatorAlerts><sr:NetworkOperatorESMEPolyPhase>" +
			"<sr:x8004>Disable</sr:x8004><sr:x8021>Enable</sr:x8021></sr:NetworkOperatorESMEPolyPhase></sr:ElectricityNetworkOperatorAlerts></sr:ConfigureAlertBehaviour>",
			sim.ESMEPoly, DeviceInfo{Type: ESME, Variant: Polyphase}},
		{"GCS20", "6.22", "<sr:ConfigureAlertBehaviour><sr:GasSupplierAlertEventSettings>" +
			"<sr:x810D>" + set("Disable", "Disable", "Disable", "Disable") + "</sr:x810D>" +
			"<sr:x8119>" + set("Enable", "Enable", "Disable", "Disable") + "</sr:x8119>" +
			"</sr:GasSupplierAlertEventSettings></sr:ConfigureAlertBehaviour>", sim.GSME, DeviceInfo{Type: GSME}},
		{"GCS61", "4.17", "<sr:RetrieveDailyConsumptionLog><sr:ReadLogPeriod><sr:StartDateTime>2030-01-10T00:00:00Z</sr:StartDateTime>" +
			"<sr:EndDateTime>2030-01-13T12:00:00Z</sr:EndDateTime></sr:ReadLogPeriod></sr:RetrieveDailyConsumptionLog>", sim.GPF, DeviceInfo{Type: GPF}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := sim.NewManualClock(time.Date(2030, 1, 15, 0, 0, 0, 0, time.UTC))
			f, err := sim.NewFleet(sim.Options{Seed: 7, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			d, err := f.AddWithEUI(target, tc.st)
			if err != nil {
				t.Fatal(err)
			}
			d.Backfill(14 * 24 * time.Hour) // logs with two weeks of history (GCS61)
			m, err := Build(request(t, "1", tc.sr, tc.sr, tc.body), tc.dev, Options{Now: clock.Now()})
			if err != nil {
				t.Fatal(err)
			}
			sec := gbcs.NewSecurity(f.KeyStore(), 0)
			if uc, ok := gbcs.LookupMessageCode(m.MessageCode); ok && uc.Critical == gbcs.FlagYes {
				m.SignatureField = true
				if err := sec.Sign(m, nil); err != nil {
					t.Fatal(err)
				}
			}
			resp, n := deliverToSim(t, f, sec, m, "the device")
			checked, bad := failedItems(n)
			if checked == 0 || len(bad) > 0 || resp.MessageCode != m.MessageCode {
				t.Fatalf("response %04X, %d results, failed %v:\n%s", resp.MessageCode, checked, bad, n)
			}
			t.Logf("%s: answered %04X, %d results success", tc.name, resp.MessageCode, checked)
		})
	}
}

// failedItems counts the DLMS results and ZCL Default Response statuses of a
// response and lists those that are not success (0); a GCS61 answer with
// samples counts as one result.
func failedItems(n *payload.Node) (checked int, bad []string) {
	var walk func(n *payload.Node)
	walk = func(n *payload.Node) {
		switch n.Name {
		case "result", "status":
			if len(n.Children) == 0 {
				checked++
				if v, err := n.Uint(); err != nil || v != 0 {
					bad = append(bad, n.Name+"="+n.Text)
				}
			}
		case "ciphered-payload":
			checked++
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(n)
	return checked, bad
}
