package dcc

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/store/sqlite"
	"github.com/opendcc/opendcc/transform"
)

func emptyStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "opendcc.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A CHF's I0 answer to 8.9 (CCS07) becomes the DCC's record of its HAN:
// RTDS CCS07's backup_PAN of the device log, not the historic log.
func TestHANBackupFromCCS07(t *testing.T) {
	ctx := context.Background()
	st := emptyStore(t)
	b, err := os.ReadFile(refdata.Path(t, "gbcs", "rtds", "RTDS-4.5.0", "8.9_CCS07", "CCS07_8.9_SUCCESS_RESPONSE_GBCS.HEX"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil {
		t.Fatal(err)
	}
	chf := eui.MustParse("00-DB-12-34-56-78-90-A2")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err = st.InTx(ctx, func(tx store.Repos) error {
		// another SRV's answer, another device's: nothing recorded
		if err := recordHANBackup(ctx, tx, store.Request{ID: "a", SRV: "4.1.1", Target: chf}, raw, now); err != nil {
			return err
		}
		if err := recordHANBackup(ctx, tx, store.Request{ID: "b", SRV: "8.9", Target: eui.MustParse("00-DB-12-34-56-78-90-A0")}, raw, now); err != nil {
			return err
		}
		if _, err := HANBackupOf(ctx, tx, chf); err == nil {
			t.Error("recorded from another SRV or device")
		}
		return recordHANBackup(ctx, tx, store.Request{ID: "c", SRV: "8.9", Target: chf}, raw, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got transform.HANBackup
	st.InTx(ctx, func(tx store.Repos) error { got, err = HANBackupOf(ctx, tx, chf); return err })
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got.ExtendedPANID[:]) != "0001020304050607" || len(got.Devices) != 2 ||
		got.Devices[0].ID != eui.MustParse("00-DB-12-34-56-78-90-A0") || hex.EncodeToString(got.Devices[0].HashedLinkKey[:]) != "83fed3407a939723a5c639b26916d506" ||
		got.Devices[1].ID != eui.MustParse("00-DB-12-34-56-78-90-A1") || hex.EncodeToString(got.Devices[1].HashedLinkKey[:]) != "83fed3407a939723a5c639b26916d505" {
		t.Errorf("record %+v", got)
	}
	// a newer record replaces it
	st.InTx(ctx, func(tx store.Repos) error {
		return RecordHANBackup(ctx, tx, chf, transform.HANBackup{ExtendedPANID: [8]byte{9}, Devices: got.Devices[:1]}, now, "test")
	})
	st.InTx(ctx, func(tx store.Repos) error { got, err = HANBackupOf(ctx, tx, chf); return err })
	if err != nil || got.ExtendedPANID[0] != 9 || len(got.Devices) != 1 {
		t.Errorf("replaced record %+v %v", got, err)
	}
}

// The old GPF's device log: the type 1 and 2 devices joined to it or to a
// gas meter on it, in EUI order.
func TestGPFDeviceLog(t *testing.T) {
	ctx := context.Background()
	st := emptyStore(t)
	id := func(s string) eui.EUI64 { return eui.MustParse("00-DB-12-34-56-78-91-" + s) }
	since := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	devs := []store.Device{
		{ID: id("01"), Type: store.DeviceCHF},
		{ID: id("02"), Type: store.DeviceGPF, CHF: id("01")},
		{ID: id("03"), Type: store.DeviceGSME, CHF: id("01"), GPF: id("02")},
		{ID: id("04"), Type: store.DeviceESME, CHF: id("01")},
		{ID: id("09"), Type: store.DevicePPMID, CHF: id("01"), Meter: id("03")},
		{ID: id("05"), Type: store.DeviceIHD, CHF: id("01"), Meter: id("03")},
		{ID: id("06"), Type: store.DeviceHCALCS, CHF: id("01"), Meter: id("04")}, // the ESME's
		{ID: id("07"), Type: store.DeviceCAD, CHF: id("01"), Meter: id("02")},    // joined to the GPF itself
		{ID: id("08"), Type: store.DeviceGSME, CHF: id("01"), GPF: id("0A")},     // another GPF's meter
		{ID: id("0B"), Type: store.DevicePPMID, CHF: id("01"), Meter: id("08")},
	}
	var got []transform.LogDevice
	var err error
	st.InTx(ctx, func(tx store.Repos) error {
		for _, d := range devs {
			d.Status, d.StatusSince = store.StatusCommissioned, since
			if err := tx.Inventory().AddDevice(ctx, d, "test"); err != nil {
				t.Fatal(err)
			}
		}
		got, err = gpfDeviceLog(ctx, tx, id("02"))
		if _, err := gpfDeviceLog(ctx, tx, id("03")); err == nil {
			t.Error("a GSME's log")
		}
		if _, err := gpfDeviceLog(ctx, tx, id("0C")); err == nil {
			t.Error("a device not in the inventory")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []transform.LogDevice{{ID: id("05"), Type: transform.IHD}, {ID: id("07"), Type: transform.CAD}, {ID: id("09"), Type: transform.PPMID}}
	if len(got) != len(want) {
		t.Fatalf("log %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// The answer to a DCC party's own command (addressed to the party, with
// its counter) finds the User's request.
func TestPartyCommandRouting(t *testing.T) {
	ctx := context.Background()
	st := emptyStore(t)
	acb := eui.MustParse("90-B3-D5-1F-30-00-00-02")
	p := &Pipeline{Store: st, ACB: acb}
	rid, err := duis.ParseRequestID("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A3:1000")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := duis.LookupSRV("6.21")
	acc := &Accepted{Request: Request{ID: rid, SRV: srv}}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err = st.InTx(ctx, func(tx store.Repos) error {
		if err := tx.Requests().InsertRequest(ctx, store.Request{ID: rid.Canonical(), Originator: rid.Originator, Target: rid.Target,
			Counter: rid.Counter, SRV: "6.21", AcceptedAt: now}); err != nil {
			return err
		}
		// on the User's behalf (supplementary remote party): nothing to route
		m := &gbcs.Message{Originator: acb, OriginatorCounter: 5000, HasSupplementaryRemoteParty: true}
		if _, err := p.partyCommand(ctx, tx, acc, nil, transform.Options{}, m, now); err != nil {
			return err
		}
		m = &gbcs.Message{Originator: acb, OriginatorCounter: 5001}
		_, err := p.partyCommand(ctx, tx, acc, nil, transform.Options{}, m, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.partyRequest(ctx, acb, 5000); err == nil {
		t.Error("an on-behalf command was routed")
	}
	r, err := p.partyRequest(ctx, acb, 5001)
	if err != nil || r.ID != rid.Canonical() {
		t.Errorf("routed to %q, %v", r.ID, err)
	}
}
