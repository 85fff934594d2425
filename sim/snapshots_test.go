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
	start := zclUTC(d.st.profile[10].t)
	sd := func(id uint64) *tree.Node {
		return named("payload", "zcl-payload", nil, named("sample-id", "uint16", id), named("earliest-sample-time", "UTC", start),
			named("sample-type", "enum8", uint64(0)), named("number-of-samples", "uint16", uint64(48)))
	}
	if _, cid, p := x.zclCluster(0x0702, 0x08, sd(0)); cid != 0x07 || childUint(p, "number-of-samples") != 48 || childUint(p, "sample-start-time") != start {
		t.Fatalf("sampled data: cid %#x %v", cid, p)
	}
	if _, cid, _ := x.zclCluster(0x0702, 0x08, sd(2)); cid != 0x0B {
		t.Fatalf("unknown sampling session: cid %#x", cid)
	}
}
