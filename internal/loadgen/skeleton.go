package loadgen

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The sizes of the skeleton's documents: those of a signed 4.1.1 request,
// its I99 and its final I0, and of the request's stored record.
const (
	skelBodySize, skelAckSize, skelFinalSize = 2091, 1683, 1900
	skelRecordSize, skelDeliveredSize        = 3400, 64
)

// SkeletonOptions sizes a Skeleton run.
type SkeletonOptions struct {
	// Requests is how many requests to time (default 8,000).
	Requests int
	// Concurrency is the number of posting goroutines (default
	// 8 × GOMAXPROCS, as BenchmarkHTTPExchangeFloor's).
	Concurrency int
	// Fsync syncs the log to the disk at each group commit (power-loss
	// safe, as SQLite's synchronous FULL); without it a record survives
	// the process being killed, as OpenDCC's default does.
	Fsync bool
	// Dir holds the log (default: a temporary directory, removed after).
	Dir string
}

// SkeletonReport is what Skeleton measured, in seconds per request.
type SkeletonReport struct {
	Requests int `json:"requests"`
	// CPU is the process's CPU per request, everything together.
	CPU float64 `json:"cpu_seconds_per_request"`
	// Client is the client's and the receiver's part, estimated as one
	// HTTP exchange of the same shape measured just before.
	Client float64 `json:"client_cpu_seconds_per_request"`
	// Hub is CPU − Client: the skeleton hub's CPU per request.
	Hub float64 `json:"hub_cpu_seconds_per_request"`
}

// Skeleton measures a lower bound of the CPU any DUIS-style hub must spend
// on a non-critical request on this machine, with none of OpenDCC's code:
// the HTTP exchange in, the verify, a durable record, the signed
// acknowledgement, the signed final response posted out, and nothing else.
//
// Concurrency goroutines POST a 2,091-byte body over keep-alive loopback
// HTTP to the skeleton hub, which reads it, verifies the User's ECDSA
// P-256 signature over its SHA-256 digest, appends a 3,400-byte record of
// the accepted request to a group-committed log (one file, one write per
// group) and waits for it, then signs a 1,683-byte acknowledgement and
// answers with it. After answering, the hub signs a 1,900-byte final
// response, POSTs it over its own keep-alive client to a receiver (which
// reads it and answers 200, empty), and appends a 64-byte "delivered"
// record without waiting. A request is done when its final response has
// reached the receiver.
//
// Left out: XML parsing, schema validation, C14N, GBCS, inventory and
// access checks, request identifiers and replay detection, any queue
// between the acknowledgement and the final response, a device (the final
// response is made up at once), the signatures' bytes in the documents
// (made and dropped) and TLS. So OpenDCC's CPU per request over the
// skeleton hub's is what its own work costs above the least any hub of
// this flow must spend (BENCHMARKS.md, sixth round).
//
// Client is estimated, not measured: the client's POST and the receiver's
// side together are about one exchange of the same shape (its client half
// and, for the receiver, its server half; the receiver's empty answer
// makes the estimate a little high, so Hub a little low, as a lower bound
// may be).
func Skeleton(ctx context.Context, o SkeletonOptions) (*SkeletonReport, error) {
	if o.Requests <= 0 {
		o.Requests = 8000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8 * runtime.GOMAXPROCS(0)
	}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "opendcc-skeleton-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		o.Dir = dir
	}
	user, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	hubKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	body := synthetic("<Request>", skelBodySize)
	digest := sha256.Sum256(body)
	bodySig, err := ecdsa.SignASN1(rand.Reader, user, digest[:]) // once, before the timing
	if err != nil {
		return nil, err
	}
	ackTmpl, finalTmpl := synthetic("<Ack>", skelAckSize), synthetic("<Final>", skelFinalSize)

	wal, err := openGroupLog(filepath.Join(o.Dir, "hub.log"), o.Fsync)
	if err != nil {
		return nil, err
	}
	defer wal.close()
	var waiting sync.Map // X-Seq → chan error: the request's final response reached the receiver, or failed
	finish := func(seq string, err error) {
		if ch, ok := waiting.LoadAndDelete(seq); ok {
			ch.(chan error) <- err
		}
	}
	receiverURL, closeReceiver, err := loopbackServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		finish(r.Header.Get("X-Seq"), err)
	}))
	if err != nil {
		return nil, err
	}
	defer closeReceiver()

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
		req, err := http.NewRequest(http.MethodPost, receiverURL, bytes.NewReader(final))
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
		wal.append(stamp(make([]byte, skelDeliveredSize), "delivered "+seq), false)
	}
	hubURL, closeHub, err := loopbackServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		rec := make([]byte, 0, skelRecordSize) // the accepted request, zero-padded
		rec = append(append(append(append(rec, seq...), ' '), in...), bodySig...)
		if err := <-wal.append(rec[:skelRecordSize], true); err != nil {
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
	if err != nil {
		return nil, err
	}
	defer closeHub()
	c := keepAliveClient()
	defer c.CloseIdleConnections()

	client, err := exchangeCPU(3000, o.Concurrency)
	if err != nil {
		return nil, err
	}
	var seqs atomic.Int64
	c0 := cpuSeconds()
	err = parallel(ctx, o.Requests, o.Concurrency, func() error {
		seq := strconv.FormatInt(seqs.Add(1), 10)
		done := make(chan error, 1)
		waiting.Store(seq, done)
		req, err := http.NewRequest(http.MethodPost, hubURL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/xml")
		req.Header.Set("X-Seq", seq)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != skelAckSize {
			return fmt.Errorf("skeleton hub: HTTP %d, %d bytes", resp.StatusCode, n)
		}
		return <-done
	})
	hubWG.Wait()
	cpu := (cpuSeconds() - c0) / float64(o.Requests)
	if err != nil {
		return nil, err
	}
	return &SkeletonReport{Requests: o.Requests, CPU: cpu, Client: client, Hub: cpu - client}, nil
}

// loopbackServer serves h on a loopback port; it returns its URL and a
// function that stops it.
func loopbackServer(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
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

// exchangeBody and exchangeAnswer are the sizes of one HTTP exchange of a
// request's: a signed DUIS request and its I99.
const exchangeBody, exchangeAnswer = 2091, 1683

// newExchange is a loopback server that reads a POST's body and answers
// exchangeAnswer bytes, and its URL.
func newExchange() (url string, closeFn func(), err error) {
	resp := bytes.Repeat([]byte("a"), exchangeAnswer)
	return loopbackServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Write(resp)
	}))
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

// exchangeCPU runs n exchanges of newExchange's shape from concurrency
// goroutines and returns the process CPU per exchange in seconds.
func exchangeCPU(n, concurrency int) (float64, error) {
	url, closeFn, err := newExchange()
	if err != nil {
		return 0, err
	}
	defer closeFn()
	c := keepAliveClient()
	defer c.CloseIdleConnections()
	req := bytes.Repeat([]byte("r"), exchangeBody)
	c0 := cpuSeconds()
	err = parallel(context.Background(), n, concurrency, func() error {
		return postExchange(c, url, req, exchangeAnswer)
	})
	if err != nil {
		return 0, err
	}
	return (cpuSeconds() - c0) / float64(n), nil
}

// parallel runs job n times from workers goroutines and returns the first
// error (a worker stops at its first error; the others run on), or ctx's.
func parallel(ctx context.Context, n, workers int, job func() error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				if err := job(); err != nil {
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
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
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
	once    sync.Once
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
	err := errors.New("loadgen: log closed twice")
	l.once.Do(func() {
		close(l.kick)
		err = <-l.done
	})
	return err
}
