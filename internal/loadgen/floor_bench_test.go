package loadgen

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
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
	srv, c, req, resp := newExchange()
	defer srv.Close()
	b.SetParallelism(8) // 16 posting goroutines on 2 cores, as bench e2e's c=16
	c0 := cpuSeconds()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := postExchange(c, srv.URL, req, len(resp)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric((cpuSeconds()-c0)/float64(b.N)*1e6, "cpu-µs/op")
}

// newExchange is BenchmarkHTTPExchangeFloor's exchange: a loopback server
// that reads a POST's body and answers resp (1,683 bytes), a keep-alive
// client for it, and the request body req (2,091 bytes).
func newExchange() (srv *httptest.Server, c *http.Client, req, resp []byte) {
	req, resp = bytes.Repeat([]byte("r"), 2091), bytes.Repeat([]byte("a"), 1683)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Write(resp)
	}))
	return srv, keepAliveClient(), req, resp
}

// keepAliveClient is an HTTP client on its own clone of
// http.DefaultTransport keeping up to 64 idle connections per host.
func keepAliveClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Timeout: 10 * time.Second, Transport: t}
}

// postExchange posts req to url and reads the answer, which must be 200
// with want bytes.
func postExchange(c *http.Client, url string, req []byte, want int) error {
	r, err := c.Post(url, "application/xml", bytes.NewReader(req))
	if err != nil {
		return err
	}
	n, _ := io.Copy(io.Discard, r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || n != int64(want) {
		return fmt.Errorf("HTTP %d, %d bytes", r.StatusCode, n)
	}
	return nil
}

// exchangeCPU runs n of BenchmarkHTTPExchangeFloor's exchanges from
// 8×GOMAXPROCS goroutines (RunParallel's count with SetParallelism(8)) and
// returns the process CPU per exchange in seconds.
func exchangeCPU(n int) (float64, error) {
	srv, c, req, resp := newExchange()
	defer srv.Close()
	defer c.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	c0 := cpuSeconds()
	for g := 0; g < 8*runtime.GOMAXPROCS(0); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := postExchange(c, srv.URL, req, len(resp)); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	cpu := cpuSeconds() - c0
	select {
	case err := <-errs:
		return 0, err
	default:
		return cpu / float64(n), nil
	}
}
