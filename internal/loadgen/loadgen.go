// Package loadgen runs the whole OpenDCC system in-process under load and
// measures it: `opendcc bench e2e`.
//
// Run starts server.Start (embedded SQLite, embedded JetStream, profile
// dccboxed, a fast simulated WAN) and an in-process Receive Response Service,
// then posts signed non-critical device requests (4.1.1 Read Instantaneous
// Import Registers) from Concurrency workers. The requests are signed before
// the measured window, so the client's signing does not count as server CPU;
// what remains of the client in the process (HTTP client, the response
// receiver) is small and is counted.
//
// Measured: acknowledgement latency (POST → I99), final latency (POST → the
// final response arriving at the Receive Response Service), acknowledged
// requests per second, process CPU (getrusage user+sys) per request, and the
// crypto floor of a request (one ECDSA P-256 verify for the request's
// signature, two ECDSA P-256 signs for the I99 and the final response),
// and after the load, Skeleton: a hub with none of OpenDCC's work, the
// least any hub of this flow spends per request here.
package loadgen

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/cpuparts"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/server"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/wan"
	"github.com/opendcc/opendcc/xmldsig"
)

// Supplier is the ZAZ1 import supplier that signs the requests.
const Supplier = "90-B3-D5-1F-30-01-00-00"

// DefaultTargets are the RTDS ESME and the dccboxed profile's other
// electricity meter.
var DefaultTargets = []string{"00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A6"}

const readRegisters = `<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>` + Supplier + `:%s:%d</sr:RequestID><sr:CommandVariant>1</sr:CommandVariant><sr:ServiceReference>4.1</sr:ServiceReference><sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>`

// Options configure Run. Zero values take the defaults.
type Options struct {
	Duration    time.Duration // measured window (default 10 s)
	Warmup      time.Duration // load before the window, not measured (default 2 s)
	Concurrency int           // posting workers (default 32)
	Targets     []string      // device EUIs (default: Meters added meters)
	// Meters is how many electricity meters the run adds to the profile's
	// inventory (Commissioned, on the profile's comms hub, on its MPAN, so
	// the supplier is eligible) and spreads the requests over when Targets
	// is empty (default 256). Anti-replay is per originator and device, so
	// concurrent requests to one device may overtake each other and be
	// refused E1003; many devices is the realistic load.
	Meters int
	// WarmupRate sizes the warm-up's pool of pre-signed requests
	// (Warmup × WarmupRate, default 5,000/s). The window's pool is sized
	// from the rate measured in the warm-up (× Headroom, default 2), so
	// the process does not hold far more signed documents than it sends.
	WarmupRate float64
	Headroom   float64
	// WANLatency and WANJitter set every region's one-way link (default
	// 1 ms + up to 4 ms), no loss.
	WANLatency, WANJitter time.Duration
	// DeviceDeadline is the server's E21 deadline (default 10 s).
	DeviceDeadline time.Duration
	// FinalWait bounds the wait for final responses after the window
	// (default 60 s).
	FinalWait time.Duration
	// CPUProfile, when set, receives a pprof CPU profile of the window.
	CPUProfile io.Writer
	// DataDir holds the server's state (default: a temporary folder,
	// removed afterwards).
	DataDir string
	// Log receives the server's log (default: discarded).
	Log *slog.Logger
	// SkeletonRequests sizes the Skeleton run made after the load, with
	// Concurrency posting goroutines, for the DCC's CPU against the least
	// any hub of this flow spends (default 8,000; negative: none).
	SkeletonRequests int
}

// Report is the outcome of Run. Latencies in milliseconds, CPU in seconds.
type Report struct {
	Requests       int     `json:"requests"` // I99 acknowledgements of requests posted in the window
	RPS            float64 `json:"rps"`
	AckP50ms       float64 `json:"ack_p50_ms"`
	AckP99ms       float64 `json:"ack_p99_ms"`
	FinalP50ms     float64 `json:"final_p50_ms"`
	FinalP99ms     float64 `json:"final_p99_ms"`
	CPUPerRequest  float64 `json:"cpu_seconds_per_request"`
	FloorPerReq    float64 `json:"crypto_floor_seconds_per_request"`
	CPUFloorRatio  float64 `json:"cpu_floor_ratio"`
	CPUWindowPerRq float64 `json:"cpu_window_seconds_per_request"` // CPU of the window alone (work still queued at its end not counted)

	Concurrency   int            `json:"concurrency"`
	GOMAXPROCS    int            `json:"gomaxprocs"`
	WindowSeconds float64        `json:"window_seconds"`
	DrainSeconds  float64        `json:"drain_seconds"` // end of window → last final response
	Posted        int            `json:"posted"`        // requests posted in the window (every one answered: I99 or a rejection)
	PostedRPS     float64        `json:"posted_rps"`    // requests answered per second, whatever the code
	CPUPerPosted  float64        `json:"cpu_seconds_per_posted"`
	Rejected      map[string]int `json:"rejected,omitempty"` // response codes other than I99
	HTTPErrors    int            `json:"http_errors"`
	Finals        int            `json:"finals"`
	MissingFinals int            `json:"missing_finals"`
	FinalCodes    map[string]int `json:"final_codes,omitempty"`
	FinalsInWin   int            `json:"finals_in_window"` // final responses (of any request) that arrived during the window
	PoolExhausted bool           `json:"pool_exhausted"`   // the window ended early: no pre-signed request left
	FloorVerify   float64        `json:"crypto_floor_verify_seconds"`
	FloorSign     float64        `json:"crypto_floor_sign_seconds"`

	// The process's CPU split by the window's profile (package cpuparts): the DCC
	// (everything not labelled), the client (load generator and Receive
	// Response Service) and the simulated devices. Zero when the window
	// could not be profiled (a profile already running, as under go test
	// -cpuprofile).
	DCCPerRequest  float64 `json:"dcc_cpu_seconds_per_request"`
	DCCFloorRatio  float64 `json:"dcc_cpu_floor_ratio"`
	DCCCoresAtRate float64 `json:"dcc_cores_at_rate"` // DCC CPU per second of the window: cores the DCC used at this rate
	DCCShare       float64 `json:"dcc_cpu_share"`
	ClientShare    float64 `json:"client_cpu_share"`
	DevicesShare   float64 `json:"devices_cpu_share"`

	// The floor with every core busy (CryptoFloorAllCores), as the cores
	// are under load, and the DCC's CPU against it.
	FloorAllCores      float64 `json:"crypto_floor_all_cores_seconds_per_request"`
	DCCFloorAllCoresRt float64 `json:"dcc_cpu_floor_all_cores_ratio"`
	// The skeleton hub's CPU per request (Skeleton, run after the load in
	// this process: a hub with none of OpenDCC's work), the DCC's CPU
	// against it, and the skeleton hub's against the floor.
	SkeletonHub        float64 `json:"skeleton_hub_cpu_seconds_per_request,omitempty"`
	DCCSkeletonRatio   float64 `json:"dcc_cpu_skeleton_ratio,omitempty"`
	SkeletonFloorRatio float64 `json:"skeleton_floor_ratio,omitempty"`
}

func (o *Options) defaults() {
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	} else if o.Warmup == 0 {
		o.Warmup = 2 * time.Second
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if len(o.Targets) == 0 && o.Meters <= 0 {
		o.Meters = 256
	}
	if o.WarmupRate <= 0 {
		o.WarmupRate = 5000
	}
	if o.Headroom <= 0 {
		o.Headroom = 2
	}
	if o.WANLatency <= 0 {
		o.WANLatency = time.Millisecond
	}
	if o.WANJitter <= 0 {
		o.WANJitter = 4 * time.Millisecond
	}
	if o.DeviceDeadline <= 0 {
		o.DeviceDeadline = 10 * time.Second
	}
	if o.FinalWait <= 0 {
		o.FinalWait = 60 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.SkeletonRequests == 0 {
		o.SkeletonRequests = 8000
	}
}

// request is one pre-signed request and what happened to it.
type request struct {
	doc    []byte
	sent   atomic.Int64 // UnixNano of the POST
	acked  atomic.Int64 // UnixNano of the I99 (0: not acknowledged)
	final  atomic.Int64 // UnixNano of the first final response
	code   atomic.Value // final response code (string)
	window bool         // posted in the measured window
}

// run holds the state shared by the workers and the receiver.
type run struct {
	o       Options
	base    uint64 // counter of reqs[0]
	mu      sync.RWMutex
	reqs    []*request // index = counter - base
	key     *ecdsa.PrivateKey
	cert    *smki.Certificate
	client  *http.Client
	url     string
	finals  atomic.Int64
	unknown atomic.Int64 // final responses for no request of ours
	rejMu   sync.Mutex
	rej     map[string]int // responses other than I99 in the current phase
}

// Run runs the load and returns the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	rep := &Report{Concurrency: o.Concurrency, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	rep.FloorVerify, rep.FloorSign = CryptoFloor()
	rep.FloorAllCores = CryptoFloorAllCores()

	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		return nil, err
	}
	key, cert, err := keys.XMLSigningKey(eui.MustParse(Supplier))
	if err != nil {
		return nil, err
	}
	r := &run{o: o, key: key, cert: cert, base: uint64(time.Now().UnixMilli()) << 8}

	// The Receive Response Service.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rrs := &http.Server{Handler: http.HandlerFunc(r.receive), ReadHeaderTimeout: 10 * time.Second}
	go cpuparts.Run(cpuparts.Client, func() { rrs.Serve(ln) })
	defer rrs.Close()

	dir := o.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "opendcc-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	link := wan.Link{Latency: o.WANLatency, Jitter: o.WANJitter}
	srv, err := server.Start(ctx, server.Config{
		DataDir: dir, DUISAddr: "127.0.0.1:0", SMKIAddr: "127.0.0.1:0", Profile: "dccboxed",
		ResponseURL: "http://" + ln.Addr().String() + "/duis/response", DeviceDeadline: o.DeviceDeadline,
		WANLinks: map[wan.Region]wan.Link{wan.North: link, wan.Central: link, wan.South: link},
		Log:      o.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("loadgen: starting the server: %w", err)
	}
	defer srv.Close()
	if len(r.o.Targets) == 0 {
		if r.o.Targets, err = addMeters(ctx, srv, r.o.Meters); err != nil {
			return nil, err
		}
	}
	r.url = srv.DUISURL + "/api/v1/serviceS"
	tr := &http.Transport{MaxIdleConns: 2 * o.Concurrency, MaxIdleConnsPerHost: 2 * o.Concurrency, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	r.client = &http.Client{Transport: tr, Timeout: 60 * time.Second}

	// Warm-up: fill the connection pool, the caches, the database.
	warm := 0
	var warmRate float64
	if o.Warmup > 0 {
		n := int(o.Warmup.Seconds()*o.WarmupRate) + o.Concurrency
		if err := r.sign(ctx, n, false); err != nil {
			return nil, err
		}
		t0 := time.Now()
		r.post(ctx, 0, n, t0.Add(o.Warmup))
		acked, posted := 0, 0
		for _, q := range r.reqs {
			if q.acked.Load() != 0 {
				acked++
			}
			if q.sent.Load() != 0 {
				posted++
			}
		}
		if acked == 0 {
			return nil, fmt.Errorf("loadgen: no request was acknowledged in the warm-up (%d posted; responses %v)", posted, r.rejected())
		}
		warm = n
		warmRate = float64(posted) / time.Since(t0).Seconds()
	} else {
		warmRate = o.WarmupRate
	}

	// The window's pool, sized from the warm-up rate.
	n := int(o.Duration.Seconds()*warmRate*o.Headroom) + o.Concurrency
	if err := r.sign(ctx, n, true); err != nil {
		return nil, err
	}
	runtime.GC()
	// Let the warm-up's device traffic finish before measuring.
	r.waitFinals(ctx, 0, warm, time.Now().Add(o.FinalWait))

	// The window is always profiled: the profile splits the CPU into the
	// DCC's, the client's and the devices' (package cpuparts).
	var prof bytes.Buffer
	var profOut io.Writer = &prof
	if o.CPUProfile != nil {
		profOut = io.MultiWriter(&prof, o.CPUProfile)
	}
	profiling := pprof.StartCPUProfile(profOut) == nil
	if !profiling && o.CPUProfile != nil {
		return nil, errors.New("loadgen: a CPU profile is already running")
	}
	finals0 := r.finals.Load()
	cpu0 := cpuSeconds()
	t0 := time.Now()
	r.post(ctx, warm, warm+n, t0.Add(o.Duration))
	t1 := time.Now()
	cpu1 := cpuSeconds()
	if profiling {
		pprof.StopCPUProfile()
	}
	rep.FinalsInWin = int(r.finals.Load() - finals0)
	last := r.waitFinals(ctx, warm, warm+n, t1.Add(o.FinalWait))
	cpu2 := cpuSeconds()
	// The floor again, after the load: the lower of the two, so that a
	// neighbour's burst during one measurement does not flatter the ratio.
	v, sg := CryptoFloor()
	rep.FloorVerify, rep.FloorSign = min(rep.FloorVerify, v), min(rep.FloorSign, sg)
	rep.FloorPerReq = rep.FloorVerify + 2*rep.FloorSign
	rep.FloorAllCores = min(rep.FloorAllCores, CryptoFloorAllCores())
	var skel *SkeletonReport
	if o.SkeletonRequests > 0 {
		srv.Close() // its background work would count as the skeleton's
		if skel, err = Skeleton(ctx, SkeletonOptions{Requests: o.SkeletonRequests, Concurrency: o.Concurrency}); err != nil {
			return nil, fmt.Errorf("loadgen: skeleton: %w", err)
		}
		if skel.Hub <= 0 {
			skel = nil // the client's estimate outweighed the whole: a noisy run, no figure
		} else {
			rep.SkeletonHub = skel.Hub
			rep.SkeletonFloorRatio = skel.Hub / rep.FloorPerReq
		}
	}

	win := r.reqs[warm:]
	var ack, fin []float64
	rep.Rejected = map[string]int{}
	rep.FinalCodes = map[string]int{}
	for _, q := range win {
		s := q.sent.Load()
		if s == 0 {
			continue
		}
		rep.Posted++
		a := q.acked.Load()
		if a == 0 {
			continue
		}
		ack = append(ack, float64(a-s)/1e6)
		if f := q.final.Load(); f != 0 {
			fin = append(fin, float64(f-s)/1e6)
			c, _ := q.code.Load().(string)
			rep.FinalCodes[c]++
		}
	}
	rep.Requests = len(ack)
	rep.PoolExhausted = r.exhausted(warm + n)
	rep.Finals = len(fin)
	rep.MissingFinals = rep.Requests - rep.Finals
	rep.WindowSeconds = t1.Sub(t0).Seconds()
	if !last.IsZero() && last.After(t1) {
		rep.DrainSeconds = last.Sub(t1).Seconds()
	}
	for k, v := range r.rejected() {
		if k == "http_error" {
			rep.HTTPErrors = v
			continue
		}
		rep.Rejected[k] = v
	}
	slices.Sort(ack)
	slices.Sort(fin)
	rep.AckP50ms, rep.AckP99ms = quantile(ack, 0.50), quantile(ack, 0.99)
	rep.FinalP50ms, rep.FinalP99ms = quantile(fin, 0.50), quantile(fin, 0.99)
	if rep.Requests > 0 {
		rep.RPS = float64(rep.Requests) / rep.WindowSeconds
		rep.CPUPerRequest = (cpu2 - cpu0) / float64(rep.Requests)
		rep.CPUWindowPerRq = (cpu1 - cpu0) / float64(rep.Requests)
		rep.CPUFloorRatio = rep.CPUPerRequest / rep.FloorPerReq
		rep.PostedRPS = float64(rep.Posted) / rep.WindowSeconds
		rep.CPUPerPosted = (cpu2 - cpu0) / float64(rep.Posted)
		if profiling {
			shares, err := cpuparts.Shares(prof.Bytes())
			if err != nil {
				return nil, err
			}
			rep.DCCShare, rep.ClientShare, rep.DevicesShare = shares[""], shares[cpuparts.Client], shares[cpuparts.Devices]
			rep.DCCPerRequest = rep.CPUPerRequest * rep.DCCShare
			rep.DCCFloorRatio = rep.DCCPerRequest / rep.FloorPerReq
			rep.DCCFloorAllCoresRt = rep.DCCPerRequest / rep.FloorAllCores
			rep.DCCCoresAtRate = rep.DCCPerRequest * rep.RPS
			if skel != nil {
				rep.DCCSkeletonRatio = rep.DCCPerRequest / skel.Hub
			}
		}
	}
	return rep, nil
}

// sign appends n requests, signed, to the pool (in parallel; counters
// strictly increasing with the index).
func (r *run) sign(ctx context.Context, n int, window bool) error {
	r.mu.Lock()
	start := len(r.reqs)
	for i := 0; i < n; i++ {
		r.reqs = append(r.reqs, &request{window: window})
	}
	reqs := r.reqs
	r.mu.Unlock()
	var next atomic.Int64
	next.Store(int64(start))
	errc := make(chan error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for g := 0; g < runtime.GOMAXPROCS(0); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= start+n {
					return
				}
				target := r.o.Targets[i%len(r.o.Targets)]
				doc, err := xmldsig.Sign([]byte(fmt.Sprintf(readRegisters, target, r.base+uint64(i))), r.key, r.cert)
				if err != nil {
					errc <- err
					return
				}
				reqs[i].doc = doc
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	return ctx.Err()
}

var (
	codeOpen = []byte("<sr:ResponseCode>")
	ridOpen  = []byte("<sr:RequestID>")
)

// between returns the text after open up to the next '<'.
func between(b, open []byte) []byte {
	i := bytes.Index(b, open)
	if i < 0 {
		return nil
	}
	b = b[i+len(open):]
	if j := bytes.IndexByte(b, '<'); j >= 0 {
		return b[:j]
	}
	return nil
}

func (r *run) rejected() map[string]int {
	r.rejMu.Lock()
	defer r.rejMu.Unlock()
	out := map[string]int{}
	for k, v := range r.rej {
		out[k] = v
	}
	return out
}

// post runs the workers over reqs[from:to] (in order, one shared index: the
// counters are strictly increasing in the order the requests are taken)
// until the pool is used up or the deadline passes.
func (r *run) post(ctx context.Context, from, to int, deadline time.Time) {
	r.rejMu.Lock()
	r.rej = map[string]int{}
	r.rejMu.Unlock()
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	for w := 0; w < r.o.Concurrency; w++ {
		wg.Add(1)
		go cpuparts.Run(cpuparts.Client, func() {
			defer wg.Done()
			local := map[string]int{}
			defer func() {
				r.rejMu.Lock()
				for k, v := range local {
					r.rej[k] += v
				}
				r.rejMu.Unlock()
			}()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				q := r.reqs[i]
				q.sent.Store(time.Now().UnixNano())
				resp, err := r.client.Post(r.url, "application/xml", bytes.NewReader(q.doc))
				if err != nil {
					local["http_error"]++
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				now := time.Now().UnixNano()
				code := string(between(b, codeOpen))
				switch {
				case resp.StatusCode != http.StatusOK:
					local["HTTP"+strconv.Itoa(resp.StatusCode)]++
				case code == "I99":
					q.acked.Store(now)
				default:
					local[code]++
				}
			}
		})
	}
	wg.Wait()
}

// exhausted reports whether every request up to end was taken.
func (r *run) exhausted(end int) bool {
	return end > 0 && r.reqs[end-1].sent.Load() != 0
}

// receive is the Receive Response Service: it records the first final
// response of each request and answers 204.
func (r *run) receive(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	now := time.Now().UnixNano()
	w.WriteHeader(http.StatusNoContent)
	rid := between(b, ridOpen)
	code := between(b, codeOpen)
	if rid == nil || code == nil {
		r.unknown.Add(1)
		return
	}
	c, err := strconv.ParseUint(string(rid[bytes.LastIndexByte(rid, ':')+1:]), 10, 64)
	r.mu.RLock()
	var q *request
	if err == nil && c >= r.base && c-r.base < uint64(len(r.reqs)) {
		q = r.reqs[c-r.base]
	}
	r.mu.RUnlock()
	if q == nil {
		r.unknown.Add(1)
		return
	}
	if q.final.CompareAndSwap(0, now) {
		q.code.Store(string(code))
		r.finals.Add(1)
	}
}

// waitFinals waits until every acknowledged request in reqs[from:to] has
// its final response, or the deadline; it returns the time of the last
// final response seen.
func (r *run) waitFinals(ctx context.Context, from, to int, deadline time.Time) time.Time {
	for {
		missing := 0
		var last int64
		for _, q := range r.reqs[from:to] {
			if q.acked.Load() == 0 {
				continue
			}
			f := q.final.Load()
			if f == 0 {
				missing++
			}
			last = max(last, f)
		}
		if missing == 0 || ctx.Err() != nil || time.Now().After(deadline) {
			if last == 0 {
				return time.Time{}
			}
			return time.Unix(0, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// quantile of sorted values (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// cpuSeconds is the process's user + system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// CryptoFloor measures, in this process, the cost in seconds of one ECDSA
// P-256 verify and one ECDSA P-256 sign (crypto/ecdsa, ASN.1 signatures over
// a SHA-256 digest): the fastest of 15 short loops of each, since other
// work on a shared machine only ever makes a loop slower.
func CryptoFloor() (verify, sign float64) {
	key, digest, sig := floorKey()
	const rounds, per = 15, 20
	var vs, ss []float64
	for i := 0; i < rounds; i++ {
		t := time.Now()
		for j := 0; j < per; j++ {
			sig, _ = ecdsa.SignASN1(rand.Reader, key, digest[:])
		}
		ss = append(ss, time.Since(t).Seconds()/per)
		t = time.Now()
		for j := 0; j < per; j++ {
			if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
				panic("loadgen: crypto floor verify failed")
			}
		}
		vs = append(vs, time.Since(t).Seconds()/per)
	}
	return slices.Min(vs), slices.Min(ss)
}

// CryptoFloorAllCores measures the floor of one request (an ECDSA P-256
// verify and two signs) with GOMAXPROCS goroutines running it at once: the
// process CPU per request, the lowest of 5 rounds. On a loaded machine
// every core is busy, and a core then does less work per second than
// alone (shared caches, memory bandwidth, frequency, and on a virtual
// machine its vCPUs may share physical cores), so under bench e2e's load
// this is nearer than CryptoFloor's one-core figure to what the DCC's own
// ECDSA costs (which is higher still: it runs between other work, with
// cold caches).
func CryptoFloorAllCores() float64 {
	key, digest, sig := floorKey()
	procs := runtime.GOMAXPROCS(0)
	const rounds, per = 5, 40
	best := math.Inf(1)
	for i := 0; i < rounds; i++ {
		var wg sync.WaitGroup
		c0 := cpuSeconds()
		for g := 0; g < procs; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < per; j++ {
					if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
						panic("loadgen: crypto floor verify failed")
					}
					ecdsa.SignASN1(rand.Reader, key, digest[:])
					ecdsa.SignASN1(rand.Reader, key, digest[:])
				}
			}()
		}
		wg.Wait()
		best = min(best, (cpuSeconds()-c0)/float64(procs*per))
	}
	return best
}

// floorKey is a fresh P-256 key, the digest the floors sign and verify,
// and a signature of it.
func floorKey() (*ecdsa.PrivateKey, [32]byte, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	digest := sha256.Sum256([]byte("opendcc crypto floor"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		panic(err)
	}
	return key, digest, sig
}

// addMeters adds n Commissioned ESMEs to the inventory on the profile's
// comms hub and MPAN and returns their EUIs.
func addMeters(ctx context.Context, srv *server.Server, n int) ([]string, error) {
	hub := eui.MustParse("00-DB-12-34-56-78-90-A2")
	since := time.Now().Add(-24 * time.Hour)
	var out []string
	for i := 0; i < n; i++ {
		id := eui.EUI64{0x00, 0xDB, 0x12, 0x34, 0xFE, 0x00, byte(i >> 8), byte(i)}
		d := store.Device{ID: id, Type: store.DeviceESME, Status: store.StatusCommissioned, StatusSince: since,
			CHF: hub, ImportMPxN: "1100000000001", ESMEVariant: "A"}
		if err := srv.Store.Inventory().AddDevice(ctx, d, "loadgen"); err != nil {
			return nil, fmt.Errorf("loadgen: adding meter %s: %w", id, err)
		}
		out = append(out, id.String())
	}
	return out, nil
}
