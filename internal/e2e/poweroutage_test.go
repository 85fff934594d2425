package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/server"
)

// TestCommsHubPowerOutage cuts the power of the dccboxed profile's comms
// hub through the admin API: the network operator registered for the
// ESME's MPANs gets the DCC Alert AD1 PowerOutageEvent, signed and
// schema-valid; the suppliers get the CHF's device alert; a device that is
// not a CHF and an unknown device are refused with an HTTP status.
func TestCommsHubPowerOutage(t *testing.T) {
	h := newHarness(t, func(c *server.Config) { c.Admin = server.AdminConfig{Addr: "127.0.0.1:0"} })
	post := func(dev, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(h.s.AdminURL()+"/admin/v1/sim/devices/"+dev+"/power", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	const chf = "00-DB-12-34-56-78-90-A2"
	code, out := post(chf, `{"on": false}`)
	// one per MPAN of the hub's meters (the event names one MPxN): the
	// ESME's import and export MPANs, both the network operator's
	if code != 200 || out["dccAlerts"] != float64(2) {
		t.Fatalf("power cut: HTTP %d %v, want 200 and 2 DCC alerts", code, out)
	}
	for _, mpan := range []string{"1100000000001", "1100000000002"} {
		h.waitFor("DCC alert for MPAN "+mpan, func(r *client.Response) bool {
			return r.Kind == "DCCAlertMessage" && strings.Contains(string(r.Raw), "<sr:MPxN>"+mpan+"<")
		})
	}
	alert := h.waitFor("DCC alert", func(r *client.Response) bool { return r.Kind == "DCCAlertMessage" })
	raw := string(alert.Raw)
	if alert.AlertCode != "AD1" || !alert.SignatureValid || alert.SchemaError != "" ||
		!strings.Contains(raw, "<sr:CommsHubDeviceID>"+chf+"<") || !strings.Contains(raw, "<sr:PowerOutageEvent>") {
		t.Fatalf("DCC alert: code %s signature %v schema %q\n%s", alert.AlertCode, alert.SignatureValid, alert.SchemaError, raw)
	}
	if !strings.Contains(alert.ResponseID, ":90-B3-D5-1F-30-02-00-00:") {
		t.Errorf("DCC alert ResponseID %s: want it addressed to the network operator", alert.ResponseID)
	}
	t.Logf("DCC alert %s PowerOutageEvent for CH %s, ResponseID %s", alert.AlertCode, chf, alert.ResponseID)
	deviceAlert := h.waitFor("device alert from the CHF", func(r *client.Response) bool { return r.Kind == "DeviceAlertMessage" })
	t.Logf("device alert %s from the CHF", deviceAlert.AlertCode)
	if code, out := post(chf, `{"on": true}`); code != 200 {
		t.Errorf("power restore: HTTP %d %v", code, out)
	}
	for _, bad := range []struct {
		dev, body string
		want      int
	}{
		{"00-DB-12-34-56-78-90-A0", `{"on": false}`, 422}, // an ESME
		{"00-DB-12-34-56-78-90-FF", `{"on": false}`, 404}, // not in the inventory
		{chf, `{}`, 400},
		{"not-an-eui", `{"on": false}`, 400},
	} {
		if code, out := post(bad.dev, bad.body); code != bad.want {
			t.Errorf("%s %s: HTTP %d %v, want %d", bad.dev, bad.body, code, out, bad.want)
		}
	}
}
