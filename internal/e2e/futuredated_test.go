package e2e

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/dcc"
	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/store"
)

var execRE = regexp.MustCompile(`<sr:ExecutionDateTime>[^<]*</sr:ExecutionDateTime>`)

// TestFutureDated runs both future-dated patterns end to end: a DSP-pattern
// request (4.1.1) is held by the DCC and sent at its time; a Device-pattern
// one (11.3 firmware activation, critical) is sent at once, answered at once, and its
// execution reported later by 8F66 alerts, forwarded to the User as
// FutureDatedDeviceAlertMessage with the original RequestID.
func TestFutureDated(t *testing.T) {
	h := newHarness(t, nil)
	s := h.s
	at := func(d time.Duration) []byte {
		return []byte("<sr:ExecutionDateTime>" + time.Now().Add(d).UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z") + "</sr:ExecutionDateTime>")
	}

	// DSP pattern: held, then sent.
	doc := execRE.ReplaceAll(h.template("ECS17b_4.1.1_DSP_FUTURE_DATED_REQUEST_DUIS.XML"), at(3*time.Second))
	before := s.CommandsSent()
	start := time.Now()
	res := h.send(doc)
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
	doc = execRE.ReplaceAll(h.template("CS06_11.3_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML"), at(2*time.Second))
	start = time.Now()
	res = h.send(doc)
	if res.Final == nil || res.Final.Code != "I0" {
		t.Fatalf("Device future-dated: ack %s final %v", res.Ack.Code, res.Final != nil)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("Device future-dated: device answered after %s, want at once", el)
	}
	h.waitFor("FutureDatedDeviceAlertMessage", func(r *client.Response) bool {
		return r.Content == "FutureDatedDeviceAlertMessage" && r.RequestID == res.RequestID && r.SignatureValid
	})
	t.Logf("Device future-dated: FutureDatedDeviceAlertMessage after %s", time.Since(start).Round(time.Millisecond))
	// reported: no E30 will follow
	id, _ := duis.ParseRequestID(res.RequestID)
	if _, err := s.Store.Holds().GetHold(context.Background(), "future-dated-await:"+id.Canonical()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the E30 wait is still held after the 8F66: %v", err)
	}
}

// TestFutureDatedTimeout: a Device-pattern request (11.3 activate firmware)
// is answered by the device at once, but its hub is cut off before the
// execution time, so the 8F66 never arrives: a device deadline after the
// execution time the User gets E30 for the request, once.
func TestFutureDatedTimeout(t *testing.T) {
	h := newHarness(t, func(c *server.Config) { c.DeviceDeadline = 2 * time.Second })
	exec := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second)
	doc := execRE.ReplaceAll(h.template("CS06_11.3_FUTURE_DATED_SUCCESS_REQUEST_DUIS.XML"),
		[]byte("<sr:ExecutionDateTime>"+exec.Format("2006-01-02T15:04:05Z")+"</sr:ExecutionDateTime>"))
	res := h.send(doc)
	if res.Final == nil || res.Final.Code != "I0" {
		t.Fatalf("Device future-dated: %+v", res)
	}
	h.s.WAN.SetReachable(eui.MustParse("00-DB-12-34-56-78-90-A2"), false) // the hub's alerts are lost from now
	isE30 := func(r *client.Response) bool { return r.Code == "E30" && r.RequestID == res.RequestID }
	e30 := h.waitFor("E30", isE30)
	if !e30.SignatureValid || e30.SchemaError != "" {
		t.Fatalf("E30: signature %v schema %q", e30.SignatureValid, e30.SchemaError)
	}
	if el := time.Since(exec); el < 2*time.Second {
		t.Errorf("E30 %s after the execution time, before the deadline (2 s)", el)
	}
	t.Logf("no 8F66 (hub cut off): E30 for %s %s after the execution time", res.RequestID, time.Since(exec).Round(100*time.Millisecond))
	time.Sleep(2 * time.Second)
	if n := h.count(isE30); n != 1 {
		t.Errorf("%d E30 responses, want 1", n)
	}
}

// TestFarFutureHolds: records the DCC keeps "for ever" (a hub's HAN record,
// released 9999-12-31) and the routing of the Transitional CoS party's
// answer to a 6.23 cancellation (ExecutionDateTime 3000-12-31) outlive the
// hold scans. Stored times used to wrap beyond 2262 (3000-12-31 became
// 1831), so the first scan deleted them: 8.12.1 then found no HAN record,
// and a 6.23 answer arriving after the scan got E21 (a CI failure).
func TestFarFutureHolds(t *testing.T) {
	h := newHarness(t, func(c *server.Config) { c.DeviceDeadline = time.Second })
	ctx := context.Background()
	for _, name := range []string{"CCS07_8.9_SUCCESS_REQUEST_DUIS.XML", "CS02bSupplierByTransCoS_6.23_CANCELLATION_SUCCESS_REQUEST_DUIS.XML"} {
		if res := h.send(h.template(name)); res.Ack.Code != "I99" || res.Final == nil || res.Final.Code != "I0" {
			t.Fatalf("%s: ack %s final %+v", name, res.Ack.Code, res.Final)
		}
	}
	time.Sleep(2500 * time.Millisecond) // two hold scans, past the device deadline
	chf := eui.MustParse("00-DB-12-34-56-78-90-A2")
	if _, err := dcc.HANBackupOf(ctx, h.s.Store, chf); err != nil {
		t.Fatalf("the HAN record of %s after two hold scans: %v", chf, err)
	}
	parties, err := h.s.Store.Holds().ListHolds(ctx, store.HoldFilter{Kind: "party-command"})
	if err != nil || len(parties) != 1 {
		t.Fatalf("party-command holds after two scans: %+v, %v", parties, err)
	}
	// a cancellation is answered now: its routing goes a day after the deadline
	if rel := time.Until(parties[0].ReleaseAt); rel < 23*time.Hour || rel > 25*time.Hour {
		t.Errorf("the 6.23 cancellation's routing is released in %s, want a day and its deadline", rel)
	}
	if res := h.send(h.template("CCS03_8.12.1_SUCCESS_REQUEST_DUIS.XML")); res.Final == nil || res.Final.Code != "I0" {
		t.Fatalf("8.12.1 Restore HAN Device Log from the kept record: ack %s final %+v", res.Ack.Code, res.Final)
	}
}
