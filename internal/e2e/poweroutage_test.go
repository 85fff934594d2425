package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/wan"
)

// TestCommsHubPowerOutage cuts the power of the dccboxed profile's comms
// hub through the admin API: the network operator registered for the
// ESME's MPAN gets the DCC Alert AD1 PowerOutageEvent, signed and
// schema-valid; the suppliers get the CHF's device alert; a device that is
// not a CHF and an unknown device are refused with an HTTP status.
func TestCommsHubPowerOutage(t *testing.T) {
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	c := &client.Client{Keystore: keys, Allowance: 5 * 365 * 24 * time.Hour}
	var mu sync.Mutex
	var got []*client.Response
	ln := &client.Listener{Verify: c.VerifyOptions, Security: c.Security(), Unmatched: func(r *client.Response) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
	}}
	if err := ln.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Admin: server.AdminConfig{Addr: "127.0.0.1:0"}, Profile: "dccboxed", ResponseURL: ln.URL(), WANLinks: fast, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	post := func(dev, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(s.AdminURL()+"/admin/v1/sim/devices/"+dev+"/power", "application/json", strings.NewReader(body))
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
	if code != 200 || out["dccAlerts"] != float64(1) {
		t.Fatalf("power cut: HTTP %d %v, want 200 and 1 DCC alert", code, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	var alert, deviceAlert *client.Response
	for time.Now().Before(deadline) && (alert == nil || deviceAlert == nil) {
		mu.Lock()
		for _, r := range got {
			switch r.Kind {
			case "DCCAlertMessage":
				alert = r
			case "DeviceAlertMessage":
				deviceAlert = r
			}
		}
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	if alert == nil {
		t.Fatal("no DCC alert arrived")
	}
	raw := string(alert.Raw)
	if alert.AlertCode != "AD1" || !alert.SignatureValid || alert.SchemaError != "" ||
		!strings.Contains(raw, "<sr:CommsHubDeviceID>"+chf+"<") || !strings.Contains(raw, "<sr:PowerOutageEvent>") {
		t.Fatalf("DCC alert: code %s signature %v schema %q\n%s", alert.AlertCode, alert.SignatureValid, alert.SchemaError, raw)
	}
	if !strings.HasSuffix(strings.SplitN(alert.ResponseID, ":", 3)[1], "90-B3-D5-1F-30-02-00-00") {
		t.Errorf("DCC alert ResponseID %s: want it addressed to the network operator", alert.ResponseID)
	}
	t.Logf("DCC alert %s PowerOutageEvent for CH %s, ResponseID %s", alert.AlertCode, chf, alert.ResponseID)
	if deviceAlert == nil {
		t.Error("no device alert from the CHF arrived")
	} else {
		t.Logf("device alert %s from the CHF", deviceAlert.AlertCode)
	}
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
