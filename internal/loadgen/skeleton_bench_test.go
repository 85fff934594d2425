package loadgen

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkServiceSkeleton is a lower bound of the CPU any DUIS-style hub
// must spend on a non-critical request on this machine, with none of
// OpenDCC's code: the HTTP exchange in, the verify, the signed
// acknowledgement, a durable record, the signed final response posted out,
// and nothing else. Per request, 16 client goroutines on 2 cores (as
// BenchmarkHTTPExchangeFloor) POST a 2,091-byte body over keep-alive
// loopback HTTP to the skeleton hub, which reads it, verifies the User's
// ECDSA P-256 signature over its SHA-256 digest, appends a 3,400-byte
// record of the accepted request to a group-committed log (one file, one
// write and one fsync per group) and waits until it is durable, then signs
// a 1,683-byte acknowledgement and answers with it. After answering, the
// hub signs a 1,900-byte final response, POSTs it over its own keep-alive
// client to a receiver (which reads it and answers 200, empty), and appends
// a 64-byte "delivered" record without waiting for it to be durable. A
// request is done when its final response has reached the receiver, so
// its whole life is in the timed region (and the CPU of the last few
// "delivered" records is counted by waiting for the hub before reading the
// CPU time).
//
// Left out: XML parsing, schema validation, C14N, GBCS, inventory and
// access checks, request identifiers and replay detection, any queue
// between the acknowledgement and the final response, a device (the
// response is made up at once), the signatures' bytes in the documents
// (a real hub embeds them; here they are made and dropped), and TLS.
//
// cpu-µs/op is the process's CPU per request, everything together;
// floor-µs is the one-core crypto floor of a request (CryptoFloor: one
// verify and two signs). hub-cpu-µs/op estimates the hub's part: the
// client's POST and the receiver's side together are about one exchange
// of BenchmarkHTTPExchangeFloor (its client half and, for the receiver,
// its server half; the receiver's empty answer makes the estimate a little
// high, so the hub's part a little low, as a lower bound may be), so before
// the timer the benchmark runs 3,000 such exchanges from as many
// goroutines and subtracts their CPU per exchange from cpu-µs/op.
// hub-floor-ratio is hub-cpu-µs/op over floor-µs.
//
// Two sub-benchmarks differ in what "durable" means. write: the record is
// written to the file before the answer (it survives the process being
// killed, as OpenDCC's default, SQLite's WAL with synchronous NORMAL, does);
// fsync: it is also synced to the disk (it survives a power loss, as
// synchronous FULL does).
func BenchmarkServiceSkeleton(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "write"
		if sync {
			name = "fsync"
		}
		b.Run(name, func(b *testing.B) { benchSkeleton(b, sync) })
	}
}

func benchSkeleton(b *testing.B, fsync bool) {
	const (
		bodySize, ackSize, finalSize = 2091, 1683, 1900
		recordSize, deliveredSize    = 3400, 64
	)
	user, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	hubKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	body := synthetic("<Request>", bodySize)
	digest := sha256.Sum256(body)
	bodySig, err := ecdsa.SignASN1(rand.Reader, user, digest[:]) // once, before the timer
	if err != nil {
		b.Fatal(err)
	}
	ackTmpl, finalTmpl := synthetic("<Ack>", ackSize), synthetic("<Final>", finalSize)

	wal, err := openGroupLog(filepath.Join(b.TempDir(), "hub.log"), fsync)
	if err != nil {
		b.Fatal(err)
	}
	var waiting sync.Map // X-Seq → chan error: the request's final response reached the receiver, or failed
	finish := func(seq string, err error) {
		if ch, ok := waiting.LoadAndDelete(seq); ok {
			ch.(chan error) <- err
		}
	}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		finish(r.Header.Get("X-Seq"), err)
	}))
	defer receiver.Close()

	out := keepAliveClient()
	defer out.CloseIdleConnections()
	var hubWG sync.WaitGroup
	deliver := func(seq string) {
		defer hubWG.Done()
		final := stamp(finalTmpl, seq)
		d := sha256.Sum256(final)
		if _, err := ecdsa.SignASN1(rand.Reader, hubKey, d[:]); err != nil {
			finish(seq, err)
			return
		}
		req, err := http.NewRequest(http.MethodPost, receiver.URL, bytes.NewReader(final))
		if err != nil {
			finish(seq, err)
			return
		}
		req.Header.Set("Content-Type", "application/xml")
		req.Header.Set("X-Seq", seq)
		resp, err := out.Do(req)
		if err != nil {
			finish(seq, err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			finish(seq, fmt.Errorf("receiver: HTTP %d", resp.StatusCode))
			return
		}
		wal.append(stamp(make([]byte, deliveredSize), "delivered "+seq), false)
	}
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		seq := r.Header.Get("X-Seq")
		d := sha256.Sum256(in)
		if !ecdsa.VerifyASN1(&user.PublicKey, d[:], bodySig) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		rec := make([]byte, 0, recordSize) // the accepted request, zero-padded
		rec = append(append(append(append(rec, seq...), ' '), in...), bodySig...)
		if err := <-wal.append(rec[:recordSize], true); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		ack := stamp(ackTmpl, seq)
		d = sha256.Sum256(ack)
		if _, err := ecdsa.SignASN1(rand.Reader, hubKey, d[:]); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		hubWG.Add(1)
		go deliver(seq)
		w.Header().Set("Content-Type", "application/xml")
		w.Write(ack)
	}))
	defer hub.Close()
	c := keepAliveClient()
	defer c.CloseIdleConnections()

	verify, sign := CryptoFloor()
	client, err := exchangeCPU(3000)
	if err != nil {
		b.Fatal(err)
	}
	var seqs atomic.Uint64
	b.SetParallelism(8) // 16 posting goroutines on 2 cores, as BenchmarkHTTPExchangeFloor
	c0 := cpuSeconds()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			seq := strconv.FormatUint(seqs.Add(1), 10)
			done := make(chan error, 1)
			waiting.Store(seq, done)
			req, err := http.NewRequest(http.MethodPost, hub.URL, bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/xml")
			req.Header.Set("X-Seq", seq)
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n != ackSize {
				b.Errorf("hub: HTTP %d, %d bytes", resp.StatusCode, n)
				return
			}
			if err := <-done; err != nil {
				b.Error(err)
				return
			}
		}
	})
	hubWG.Wait()
	cpu := (cpuSeconds() - c0) / float64(b.N)
	b.StopTimer()
	if err := wal.close(); err != nil {
		b.Error(err)
	}
	floor := verify + 2*sign
	b.ReportMetric(cpu*1e6, "cpu-µs/op")
	b.ReportMetric(floor*1e6, "floor-µs")
	b.ReportMetric((cpu-client)*1e6, "hub-cpu-µs/op")
	b.ReportMetric((cpu-client)/floor, "hub-floor-ratio")
}

// synthetic is a document of size bytes starting with tag.
func synthetic(tag string, size int) []byte {
	doc := bytes.Repeat([]byte("x"), size)
	copy(doc, tag)
	return doc
}

// stamp is a copy of doc with s written 16 bytes in (past the leading tag).
func stamp(doc []byte, s string) []byte {
	out := bytes.Clone(doc)
	copy(out[min(16, len(out)):], s)
	return out
}

// groupLog is an append-only file of length-prefixed records with group
// commit: appends are queued, and one goroutine writes all that is queued
// with one Write (and one Sync if fsync), then tells the waiters.
type groupLog struct {
	f       *os.File
	fsync   bool
	mu      sync.Mutex
	buf     []byte        // queued records, not yet written
	waiters []chan error  // appenders waiting for buf to be durable
	kick    chan struct{} // (buffered 1) buf may have records
	done    chan error    // the writer's exit: closing the file
}

func openGroupLog(path string, fsync bool) (*groupLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	l := &groupLog{f: f, fsync: fsync, kick: make(chan struct{}, 1), done: make(chan error, 1)}
	go l.write()
	return l, nil
}

// append queues rec. If wait, the returned channel gets the outcome once
// rec is durable; otherwise it is nil.
func (l *groupLog) append(rec []byte, wait bool) <-chan error {
	var ch chan error
	l.mu.Lock()
	l.buf = binary.BigEndian.AppendUint32(l.buf, uint32(len(rec)))
	l.buf = append(l.buf, rec...)
	if wait {
		ch = make(chan error, 1)
		l.waiters = append(l.waiters, ch)
	}
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default: // a kick is pending: the writer will take rec with it
	}
	return ch
}

// write is the writer goroutine: it swaps the queue for an empty buffer,
// writes (and syncs) it, and tells the waiters, until close.
func (l *groupLog) write() {
	var buf []byte
	var waiters []chan error
	for range l.kick {
		l.mu.Lock()
		buf, l.buf = l.buf, buf[:0]
		waiters, l.waiters = l.waiters, waiters[:0]
		l.mu.Unlock()
		if len(buf) == 0 {
			continue
		}
		_, err := l.f.Write(buf)
		if err == nil && l.fsync {
			err = l.f.Sync()
		}
		for _, w := range waiters {
			w <- err
		}
		clear(waiters)
	}
	l.done <- l.f.Close()
}

// close writes what is queued and closes the file; no append may follow.
func (l *groupLog) close() error {
	close(l.kick)
	return <-l.done
}
