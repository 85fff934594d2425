package loadgen

import (
	"context"
	"testing"
	"time"
)

// TestRun runs a short load and checks the report is complete. Performance
// is measured, never asserted.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole system under load")
	}
	rep, err := Run(context.Background(), Options{Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Concurrency: 8, SkeletonRequests: 500})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *rep)
	if rep.Requests <= 0 {
		t.Fatalf("no request acknowledged: %+v", *rep)
	}
	if rep.Finals != rep.Requests || rep.MissingFinals != 0 {
		t.Errorf("%d requests acknowledged, %d final responses (%d missing)", rep.Requests, rep.Finals, rep.MissingFinals)
	}
	for name, v := range map[string]float64{
		"rps": rep.RPS, "ack_p50_ms": rep.AckP50ms, "ack_p99_ms": rep.AckP99ms,
		"final_p50_ms": rep.FinalP50ms, "final_p99_ms": rep.FinalP99ms,
		"cpu_seconds_per_request": rep.CPUPerRequest, "crypto_floor_seconds_per_request": rep.FloorPerReq,
		"cpu_floor_ratio": rep.CPUFloorRatio, "window_seconds": rep.WindowSeconds,
		"crypto_floor_all_cores_seconds_per_request": rep.FloorAllCores,
		"skeleton_hub_cpu_seconds_per_request":       rep.SkeletonHub, "skeleton_floor_ratio": rep.SkeletonFloorRatio,
	} {
		if v <= 0 {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	if rep.FinalP99ms < rep.FinalP50ms || rep.AckP99ms < rep.AckP50ms {
		t.Errorf("percentiles out of order: %+v", *rep)
	}
}
