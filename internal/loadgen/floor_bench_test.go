package loadgen

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
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
	req, resp := bytes.Repeat([]byte("r"), 2091), bytes.Repeat([]byte("a"), 1683)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Write(resp)
	}))
	defer srv.Close()
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	c := &http.Client{Timeout: 10 * time.Second, Transport: t}
	b.SetParallelism(8) // 16 posting goroutines on 2 cores, as bench e2e's c=16
	c0 := cpuSeconds()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := c.Post(srv.URL, "application/xml", bytes.NewReader(req))
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if r.StatusCode != http.StatusOK || n != int64(len(resp)) {
				b.Errorf("HTTP %d, %d bytes", r.StatusCode, n)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric((cpuSeconds()-c0)/float64(b.N)*1e6, "cpu-µs/op")
}
