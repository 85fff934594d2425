package interop

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Java benchmarks put the DCC Boxed tool's warm-JVM cost per document
// next to opendcc's Go benchmarks (BENCH_NOTES.md). Each sub-benchmark runs
// JavaTool.Bench once, in its own JVM, and reports the Java figure as
// java-ns/op; the built-in ns/op is suppressed because the Go loop around it
// measures nothing. Run with e.g.
//
//	go test -run '^$' -bench JavaTool -benchtime 5s ./internal/interop/
//
// The Java measurement lasts max(-benchtime, 3 s) after a 2 s warm-up.

func BenchmarkJavaToolSign(b *testing.B)       { benchJava(b, BenchSign) }
func BenchmarkJavaToolVerify(b *testing.B)     { benchJava(b, BenchVerify) }
func BenchmarkJavaToolSignCore(b *testing.B)   { benchJava(b, BenchSignCore) }
func BenchmarkJavaToolVerifyCore(b *testing.B) { benchJava(b, BenchVerifyCore) }

// benchDoc is a benchmark input: small is the 8.2 Read Inventory request,
// large the biggest ECS01a 1.1.1 (Update Import Tariff) template.
type benchDoc struct {
	name string
	path string
}

func benchDocs(b *testing.B) []benchDoc {
	b.Helper()
	small := refdataFile(b, "duis/templates", "8.2_READ_INVENTORY_REQUEST_DUIS.XML")
	large := largestFile(b, "duis/templates", "ECS01a_1.1.1_*")
	return []benchDoc{{"8.2", small}, {"1.1.1", large}}
}

// largestFile picks the largest match, ties broken by name, so that the
// benchmark input is stable.
func largestFile(tb testing.TB, dir, pattern string) string {
	tb.Helper()
	matches := glob(tb, dir, pattern)
	best, bestSize := "", int64(-1)
	for _, m := range matches { // sorted, so ">" keeps the first of equals
		st, err := os.Stat(m)
		if err != nil {
			tb.Fatal(err)
		}
		if st.Size() > bestSize {
			best, bestSize = m, st.Size()
		}
	}
	if best == "" {
		tb.Fatalf("no %s in %s", pattern, dir)
	}
	return best
}

var javaBenchCache struct {
	sync.Mutex
	res map[string]BenchResult
}

func benchJava(b *testing.B, op string) {
	j := NewJavaTool(b)
	d := javaBenchDuration()
	for _, doc := range benchDocs(b) {
		b.Run(doc.name, func(b *testing.B) {
			key := op + "/" + doc.name
			javaBenchCache.Lock()
			res, ok := javaBenchCache.res[key]
			javaBenchCache.Unlock()
			if !ok {
				in, err := os.ReadFile(doc.path)
				if err != nil {
					b.Fatal(err)
				}
				if strings.HasPrefix(op, "verify") {
					// Verify needs a document signed by the tool itself,
					// with the counter kept so that it is reproducible.
					signed, r := j.Sign(in, true)
					if r.RC != RCOK {
						b.Fatalf("signing %s for the verify benchmark: rc=%d %s", filepath.Base(doc.path), r.RC, r.Message)
					}
					in = signed
				}
				res, err = j.BenchDetail(op, in, d)
				if err != nil {
					b.Fatal(err)
				}
				javaBenchCache.Lock()
				if javaBenchCache.res == nil {
					javaBenchCache.res = map[string]BenchResult{}
				}
				javaBenchCache.res[key] = res
				javaBenchCache.Unlock()
				b.Logf("%s %s: %.0f ns/op wall, %.0f ns/op thread CPU, %d ops in %v after %v warm-up, GC %v",
					op, filepath.Base(doc.path), res.NsPerOp, res.CPUNsPerOp, res.Ops, res.Elapsed, j.Warmup, res.GC)
			}
			for range b.N {
			}
			b.ReportMetric(0, "ns/op") // suppress: the Go loop measures nothing
			b.ReportMetric(res.NsPerOp, "java-ns/op")
			b.ReportMetric(res.CPUNsPerOp, "java-cpu-ns/op")
			b.ReportMetric(1e9/res.NsPerOp, "java-ops/s")
		})
	}
}

// javaBenchDuration is max(-test.benchtime, 3 s): shorter runs give too few
// operations of the slower Java paths for a stable mean.
func javaBenchDuration() time.Duration {
	d := 3 * time.Second
	if f := flag.Lookup("test.benchtime"); f != nil {
		if bt, err := time.ParseDuration(f.Value.String()); err == nil && bt > d {
			d = bt
		}
	}
	return d
}

// TestJavaToolBench checks the Bench plumbing quickly: a timed run returns a
// plausible figure, and a document the tool rejects is reported, not timed.
func TestJavaToolBench(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts extra JVMs")
	}
	doc, err := os.ReadFile(refdataFile(t, "duis/templates", "8.2_READ_INVENTORY_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	j := NewJavaTool(t)
	j.Warmup = 100 * time.Millisecond
	r, err := j.BenchDetail(BenchSign, doc, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.NsPerOp < 1e3 || r.NsPerOp > 1e9 || r.Ops < 1 || r.CPUNsPerOp <= 0 || r.Elapsed < 200*time.Millisecond {
		t.Errorf("sign: implausible %+v", r)
	}
	// The template carries a placeholder signature (serial 1234567890), so
	// Validate exits 3 and Bench must say so.
	if _, err := j.Bench(BenchVerify, doc, 200*time.Millisecond); err == nil || !strings.Contains(err.Error(), "rc=3") {
		t.Errorf("verify of the unsigned template: err = %v, want rc=3", err)
	}
}
