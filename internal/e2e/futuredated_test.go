package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/wan"
)

var execRE = regexp.MustCompile(`<sr:ExecutionDateTime>[^<]*</sr:ExecutionDateTime>`)

// TestFutureDated runs both future-dated patterns end to end: a DSP-pattern
// request (4.1.1) is held by the DCC and sent at its time; a Device-pattern
// one (11.3 firmware activation, critical) is sent at once, answered at once, and its
// execution reported later by 8F66 alerts, forwarded to the User as
// FutureDatedDeviceAlertMessage with the original RequestID.
func TestFutureDated(t *testing.T) {
	dir := refdata.Path(t, "duis", "templates")
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	c := &client.Client{Keystore: keys, Allowance: 5 * 365 * 24 * time.Hour, FreshCounter: true, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var extra []*client.Response
	ln := &client.Listener{Verify: c.VerifyOptions, Security: c.Security(), Unmatched: func(r *client.Response) {
		mu.Lock()
		extra = append(extra, r)
		mu.Unlock()
	}}
	if err := ln.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c.Listener = ln
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", ResponseURL: ln.URL(), WANLinks: fast, DeviceDeadline: 10 * time.Second, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.Server = s.DUISURL
	at := func(d time.Duration) []byte {
		return []byte("<sr:ExecutionDateTime>" + time.Now().Add(d).UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z") + "</sr:ExecutionDateTime>")
	}

	// DSP pattern: held, then sent.
	doc, err := os.ReadFile(filepath.Join(dir, "ECS17b_4.1.1_DSP_FUTURE_DATED_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	doc = execRE.ReplaceAll(doc, at(3*time.Second))
	before := s.CommandsSent()
	start := time.Now()
	res, err := c.Send(context.Background(), doc)
	if err != nil {
		t.Fatalf("DSP future-dated: %v", err)
	}
	if res.Ack.Code != "I99" || res.Final == nil || res.Final.Code != "I0" {
		t.Fatalf("DSP future-dated: ack %v final %v", res.Ack, res.Final)
	}
	if el := time.Since(start); el < 2*time.Second {
		t.Errorf("DSP future-dated answered after %s: not held until its time", el)
	}
	if n := s.CommandsSent() - before; n != 1 {
		t.Errorf("DSP future-dated: %d commands sent, want 1", n)
	}

	// Device pattern: sent now, executed by the device at its time (11.3
	// Activate Firmware: the device reports the activation by alert).
	doc, err = os.ReadFile(filepath.Join(dir, "CS06_11.3_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	doc = execRE.ReplaceAll(doc, at(2*time.Second))
	start = time.Now()
	res, err = c.Send(context.Background(), doc)
	if err != nil {
		t.Fatalf("Device future-dated: %v", err)
	}
	if res.Final == nil || res.Final.Code != "I0" {
		t.Fatalf("Device future-dated: ack %s final %v", res.Ack.Code, res.Final != nil)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("Device future-dated: device answered after %s, want at once", el)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := 0
		for _, r := range extra {
			if r.Content == "FutureDatedDeviceAlertMessage" && r.RequestID == res.RequestID && r.SignatureValid {
				n++
			}
		}
		mu.Unlock()
		if n > 0 {
			t.Logf("Device future-dated: %d FutureDatedDeviceAlertMessage(s) after %s", n, time.Since(start).Round(time.Millisecond))
			// reported: no E30 will follow
			id, _ := duis.ParseRequestID(res.RequestID)
			if _, err := s.Store.Holds().GetHold(context.Background(), "future-dated-await:"+id.Canonical()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the E30 wait is still held after the 8F66: %v", err)
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range extra {
		t.Logf("received: %s %s %s %s", r.Kind, r.Content, r.Code, r.RequestID)
	}
	t.Fatal("no FutureDatedDeviceAlertMessage for the Device-pattern request")
}

// TestFutureDatedTimeout: a Device-pattern request (11.3 activate firmware)
// is answered by the device at once, but its hub is cut off before the
// execution time, so the 8F66 never arrives: a device deadline after the
// execution time the User gets E30 for the request, once.
func TestFutureDatedTimeout(t *testing.T) {
	dir := refdata.Path(t, "duis", "templates")
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	c := &client.Client{Keystore: keys, Allowance: 5 * 365 * 24 * time.Hour, FreshCounter: true, Timeout: 10 * time.Second}
	var mu sync.Mutex
	var extra []*client.Response
	ln := &client.Listener{Verify: c.VerifyOptions, Security: c.Security(), Unmatched: func(r *client.Response) {
		mu.Lock()
		extra = append(extra, r)
		mu.Unlock()
	}}
	if err := ln.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c.Listener = ln
	fast := map[wan.Region]wan.Link{wan.North: {Latency: time.Millisecond}, wan.Central: {Latency: time.Millisecond}, wan.South: {Latency: time.Millisecond}}
	s, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0",
		Profile: "dccboxed", ResponseURL: ln.URL(), WANLinks: fast, DeviceDeadline: 2 * time.Second, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.Server = s.DUISURL
	doc, err := os.ReadFile(filepath.Join(dir, "CS06_11.3_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	exec := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second)
	doc = execRE.ReplaceAll(doc, []byte("<sr:ExecutionDateTime>"+exec.Format("2006-01-02T15:04:05Z")+"</sr:ExecutionDateTime>"))
	res, err := c.Send(context.Background(), doc)
	if err != nil || res.Final == nil || res.Final.Code != "I0" {
		t.Fatalf("Device future-dated: %v %+v", err, res)
	}
	s.WAN.SetReachable(eui.MustParse("00-DB-12-34-56-78-90-A2"), false) // the hub's alerts are lost from now
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		var e30 []*client.Response
		for _, r := range extra {
			if r.Code == "E30" && r.RequestID == res.RequestID {
				e30 = append(e30, r)
			}
		}
		mu.Unlock()
		if len(e30) > 0 {
			if !e30[0].SignatureValid || e30[0].SchemaError != "" {
				t.Fatalf("E30: signature %v schema %q", e30[0].SignatureValid, e30[0].SchemaError)
			}
			if el := time.Since(exec); el < 2*time.Second {
				t.Errorf("E30 %s after the execution time, before the deadline (2 s)", el)
			}
			time.Sleep(2 * time.Second)
			mu.Lock()
			n := 0
			for _, r := range extra {
				if r.Code == "E30" {
					n++
				}
			}
			mu.Unlock()
			if n != 1 {
				t.Errorf("%d E30 responses, want 1", n)
			}
			t.Logf("no 8F66 (hub cut off): E30 for %s %s after the execution time", res.RequestID, time.Since(exec).Round(100*time.Millisecond))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no E30 for the Device-pattern request whose execution was never reported")
}
