package cli

import (
	"os"
	"runtime/debug"
)

// serverGCPercent is the garbage collector's target for `serve` and
// `bench e2e` when GOGC is not set. The server's live heap is small (≈ 30
// MB under load, the caches included) and its allocation rate high, so at
// Go's default of 100 it collected five times a second and the collector
// took ≈ 5 % of the CPU under load; at 400 the heap peaks near 150 MB and
// collections are a quarter as frequent. GOGC in the environment wins
// (docs/processing.md, "Throughput").
const serverGCPercent = 400

// tuneGC applies serverGCPercent unless GOGC is set.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serverGCPercent)
	}
}
