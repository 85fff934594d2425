package dcc

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// failingHub is a Transport whose hubs the WAN never reaches.
type failingHub struct{ tries int }

func (f *failingHub) Send(context.Context, store.Device, []byte) error {
	return errors.New("unreachable")
}
func (f *failingHub) DistributeFirmware(context.Context, store.Device, []byte, string) error {
	f.tries++
	return errors.New("hub unreachable")
}

// TestFirmwareDistributionGivesUp: a job the transport cannot carry out is
// kept and tried again, and after firmwareAttempts the User gets the DCC
// Alert FirmwareDistributionFailure instead, once.
func TestFirmwareDistributionGivesUp(t *testing.T) {
	ctx := context.Background()
	st := emptyStore(t)
	_, dccSigner := signer(t, acb)
	dev := eui.MustParse("00-DB-12-34-56-78-90-A0")
	user := eui.MustParse("90-B3-D5-1F-30-01-00-00")
	if err := st.Inventory().AddDevice(ctx, store.Device{ID: dev, Type: store.DeviceESME, Status: store.StatusCommissioned}, "test"); err != nil {
		t.Fatal(err)
	}
	hub := &failingHub{}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &Pipeline{Store: st, ACB: acb, Transport: hub, Signer: dccSigner, Now: func() time.Time { return now }}
	p.owner = "test"
	payload, _ := json.Marshal(firmwareJob{User: user, RequestID: user.String() + ":90-B3-D5-1F-30-00-00-02:1000", Device: dev, Image: []byte{1, 2, 3}, Version: "00000002"})
	if _, err := st.Holds().PutHold(ctx, store.Hold{ID: firmwareHoldID(user, dev), Kind: holdKindFirmware, Owner: user, ReleaseAt: now, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= firmwareAttempts; i++ {
		hs, err := st.Holds().ClaimHolds(ctx, p.owner, now, time.Minute, 10)
		if err != nil || len(hs) != 1 {
			t.Fatalf("attempt %d: claimed %d holds, %v", i, len(hs), err)
		}
		err = p.distributeFirmware(ctx, hs[0])
		alerts, _ := st.Outbox().Claim(ctx, "probe", now.Add(time.Hour), time.Second, 10)
		if i < firmwareAttempts {
			if err == nil || len(alerts) != 0 {
				t.Fatalf("attempt %d: err %v, %d alerts queued; want the error and none", i, err, len(alerts))
			}
		} else {
			if err != nil || len(alerts) != 1 || alerts[0].Kind != "dcc-alert" || alerts[0].Recipient != user ||
				!strings.Contains(string(alerts[0].Payload), "<sr:FirmwareDistributionFailure>") {
				t.Fatalf("last attempt: err %v, alerts %+v", err, alerts)
			}
			if _, err := st.Holds().GetHold(ctx, hs[0].ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the job is still held after the alert: %v", err)
			}
		}
		now = now.Add(time.Minute + time.Second) // the lease expires
	}
	if hub.tries != firmwareAttempts {
		t.Errorf("distribution tried %d times, want %d", hub.tries, firmwareAttempts)
	}
}
