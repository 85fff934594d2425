package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/wan"
)

// TestFirmwareDistribution sends the 11.1 and 11.4 templates: each is
// accepted (I99) and the device answers the distributed image with its
// Firmware Distribution Receipt alert (8F72), forwarded to the supplier; a
// list with an unknown device and a device of the other service gets I0
// with the warning lists, and a list with no usable device E110101.
func TestFirmwareDistribution(t *testing.T) {
	dir := refdata.Path(t, "duis", "templates")
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	c := &client.Client{Keystore: keys, Allowance: 5 * 365 * 24 * time.Hour, FreshCounter: true, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var alerts []*client.Response
	ln := &client.Listener{Verify: c.VerifyOptions, Security: c.Security(), Unmatched: func(r *client.Response) {
		mu.Lock()
		alerts = append(alerts, r)
		mu.Unlock()
	}}
	if err := ln.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c.Listener = ln
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", ResponseURL: ln.URL(), WANLinks: fast, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.Server = s.DUISURL
	receipt := func(device string) *client.Response {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, r := range alerts {
				if r.Kind == "DeviceAlertMessage" && r.AlertCode == "8F72" && strings.HasPrefix(r.ResponseID, device+":") {
					mu.Unlock()
					return r
				}
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no 8F72 receipt alert from %s", device)
		return nil
	}
	listRE := regexp.MustCompile(`<sr:DeviceIDList>[^<]*</sr:DeviceIDList>`)
	for _, tc := range []struct{ file, device string }{
		{"11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML", "00-DB-12-34-56-78-90-A0"},
		{"11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML", "00-DB-12-34-56-78-90-A4"},
	} {
		doc, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Send(context.Background(), doc)
		if err != nil || res.Ack.Code != "I99" || !res.Ack.SignatureValid {
			t.Fatalf("%s: %v %+v", tc.file, err, res)
		}
		r := receipt(tc.device)
		if !r.SignatureValid || len(r.GBCS) != 1 || r.GBCS[0].Error != "" {
			t.Fatalf("%s: receipt alert signature %v gbcs %+v", tc.file, r.SignatureValid, r.GBCS)
		}
		t.Logf("%s: I99, then alert %s from %s (%s)", tc.file, r.AlertCode, tc.device, r.GBCS[0].UseCase)
	}

	doc, err := os.ReadFile(filepath.Join(dir, "11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	mixed := listRE.ReplaceAll(doc, []byte("<sr:DeviceIDList>00-DB-12-34-56-78-90-A0,00-DB-12-34-56-78-90-FF,00-DB-12-34-56-78-90-A4</sr:DeviceIDList>"))
	res, err := c.Send(context.Background(), mixed)
	if err != nil || res.Ack.Code != "I0" || res.Ack.Content != "DSPUpdateFirmwareWarning" {
		t.Fatalf("mixed list: %v %+v", err, res.Ack)
	}
	raw := string(res.Ack.Raw)
	if !strings.Contains(raw, "<sr:InvalidDeviceIDList>00-DB-12-34-56-78-90-FF<") || !strings.Contains(raw, "<sr:NotApplicableFirmwareDeviceIDList>00-DB-12-34-56-78-90-A4<") {
		t.Fatalf("mixed list: warnings %s", raw)
	}
	none := listRE.ReplaceAll(doc, []byte("<sr:DeviceIDList>00-DB-12-34-56-78-90-FF</sr:DeviceIDList>"))
	if res, err := c.Send(context.Background(), none); res == nil || res.Ack == nil || res.Ack.Code != "E110101" {
		t.Fatalf("no usable device: %v %+v, want E110101", err, res)
	}
	t.Log("mixed list: I0 DSPUpdateFirmwareWarning (invalid …FF, not applicable …A4); unknown only: E110101")
}
