package sim

import (
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

func TestSnapshotsAndSampledData(t *testing.T) {
	clock := NewManualClock(time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC))
	f, err := NewFleet(Options{Seed: 1, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.AddWithEUI(eui.MustParse("00-DB-12-34-56-78-90-A1"), GSME)
	if err != nil {
		t.Fatal(err)
	}
	d.Backfill(40 * 24 * time.Hour)
	x := &exec{d: d, st: d.st}
	now := zclUTC(clock.Now())
	req := func(cause uint64, off uint64) *tree.Node {
		return named("payload", "zcl-payload", nil, named("earliest-start-time", "UTC", now-60*86400),
			named("latest-end-time", "UTC", now), named("snapshot-offset", "uint8", off), named("snapshot-cause", "bitmap32", cause))
	}
	// daily snapshots: 40 in range
	if _, cid, p := x.publishSnapshot(false, 6, req(uint64(snapGeneral), 0)); cid != 0x06 || childUint(p, "total-snapshots-found") != 40 {
		t.Fatalf("daily snapshot: cid %#x %v", cid, p)
	}
	// billing period: 2030-01-01 only
	if _, cid, p := x.publishSnapshot(true, 7, req(uint64(snapBillingPeriod), 0)); cid != 0x01 || childUint(p, "total-snapshots-found") != 1 {
		t.Fatalf("billing snapshot: cid %#x %v", cid, p)
	}
	if _, cid, p := x.publishSnapshot(true, 7, req(uint64(snapBillingPeriod), 1)); cid != 0x0B || childUint(p, "status") != zclNotFound {
		t.Fatalf("offset past the end: cid %#x %v", cid, p)
	}
	// Get Sampled Data: profile id 0 from a start inside the log; an
	// unknown session is NOT_FOUND
	start := uint64(d.st.profile[10].at)
	sd := func(id uint64) *tree.Node {
		return named("payload", "zcl-payload", nil, named("sample-id", "uint16", id), named("earliest-sample-time", "UTC", start),
			named("sample-type", "enum8", uint64(0)), named("number-of-samples", "uint16", uint64(48)))
	}
	if _, cid, p := x.zclCluster(0x0702, 0x08, sd(0)); cid != 0x07 || childUint(p, "number-of-samples") != 48 || childUint(p, "sample-start-time") != start {
		t.Fatalf("sampled data: cid %#x %v", cid, p)
	}
	if _, cid, _ := x.zclCluster(0x0702, 0x08, sd(2)); cid != 0x0B {
		t.Fatalf("network data log not started: cid %#x", cid)
	}
	// daily consumption log (sample id 1): one sample a day
	if _, cid, p := x.zclCluster(0x0702, 0x08, sd(1)); cid != 0x07 || childUint(p, "number-of-samples") == 0 || childUint(p, "sample-start-time")%86400 != 0 {
		t.Fatalf("daily consumption: cid %#x %v", cid, p)
	}
	// Start Sampling (GCS31) starts the Network Data Log, sample id 2: 41
	// samples of 360 s; after an hour 10 are taken
	ss := named("payload", "zcl-payload", nil, named("start-sampling-time", "UTC", uint64(0)), named("sample-type", "enum8", uint64(0)),
		named("sample-request-interval", "uint16", uint64(360)), named("max-number-of-samples", "uint16", uint64(41)))
	if _, cid, p := x.zclCluster(0x0702, 0x07, ss); cid != 0x0D || childUint(p, "sample-id") != 2 {
		t.Fatalf("start sampling: cid %#x %v", cid, p)
	}
	clock.Advance(time.Hour)
	nd := named("payload", "zcl-payload", nil, named("sample-id", "uint16", uint64(2)), named("earliest-sample-time", "UTC", uint64(1)),
		named("sample-type", "enum8", uint64(0)), named("number-of-samples", "uint16", uint64(41)))
	if _, cid, p := x.zclCluster(0x0702, 0x08, nd); cid != 0x07 || childUint(p, "number-of-samples") != 10 || childUint(p, "sample-request-interval") != 360 {
		t.Fatalf("network data log: cid %#x %v", cid, p)
	}
}
