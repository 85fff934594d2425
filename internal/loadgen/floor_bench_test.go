package loadgen

import (
	"bytes"
	"testing"
)

// BenchmarkHTTPExchangeFloor is a lower bound for the HTTP part of a
// request: a keep-alive POST over loopback TCP with a body the size of a
// signed DUIS request (2,091 bytes), answered with one the size of an I99
// (1,683 bytes), and nothing else on either side. cpu-µs/op is the
// process's CPU per exchange, client and server together. The DCC serves
// one such exchange per request (the User's POST) and makes one as the
// client (the final response to the Receive Response Service), so one
// exchange's CPU is about what the DCC's two halves cost at the least.
func BenchmarkHTTPExchangeFloor(b *testing.B) {
	url, closeFn, err := newExchange()
	if err != nil {
		b.Fatal(err)
	}
	defer closeFn()
	c := keepAliveClient()
	defer c.CloseIdleConnections()
	req := bytes.Repeat([]byte("r"), exchangeBody)
	b.SetParallelism(8) // 16 posting goroutines on 2 cores, as bench e2e's c=16
	c0 := cpuSeconds()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := postExchange(c, url, req, exchangeAnswer); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric((cpuSeconds()-c0)/float64(b.N)*1e6, "cpu-µs/op")
}
