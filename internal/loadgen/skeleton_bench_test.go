package loadgen

import (
	"context"
	"testing"
)

// BenchmarkServiceSkeleton runs Skeleton (a hub with none of OpenDCC's
// code: see its doc) for b.N requests. cpu-µs/op is the process's CPU per
// request, everything together; floor-µs the one-core crypto floor of a
// request (CryptoFloor: one verify and two signs); hub-cpu-µs/op the hub's
// part (cpu-µs/op less one HTTP exchange, the client's and the receiver's
// part); hub-floor-ratio the hub's over the floor.
//
// Two sub-benchmarks differ in what "durable" means. write: the record is
// written to the file before the answer (it survives the process being
// killed, as OpenDCC's default, SQLite's WAL with synchronous NORMAL, does);
// fsync: it is also synced to the disk (it survives a power loss, as
// synchronous FULL does).
func BenchmarkServiceSkeleton(b *testing.B) {
	for _, fsync := range []bool{false, true} {
		name := "write"
		if fsync {
			name = "fsync"
		}
		b.Run(name, func(b *testing.B) {
			verify, sign := CryptoFloor()
			floor := verify + 2*sign
			b.ResetTimer()
			rep, err := Skeleton(context.Background(), SkeletonOptions{Requests: b.N, Fsync: fsync, Dir: b.TempDir()})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(rep.CPU*1e6, "cpu-µs/op")
			b.ReportMetric(floor*1e6, "floor-µs")
			b.ReportMetric(rep.Hub*1e6, "hub-cpu-µs/op")
			b.ReportMetric(rep.Hub/floor, "hub-floor-ratio")
		})
	}
}

// TestSkeleton runs a short skeleton: every request's final response
// reaches the receiver, and the figures are positive.
func TestSkeleton(t *testing.T) {
	rep, err := Skeleton(context.Background(), SkeletonOptions{Requests: 200, Concurrency: 4, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 200 || rep.CPU <= 0 || rep.Client <= 0 {
		t.Fatalf("report %+v", rep)
	}
}
