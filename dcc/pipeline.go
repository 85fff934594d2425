package dcc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opendcc/opendcc/bus"
	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/internal/gopool"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/transform"
)

// Transport carries GBCS commands over the smart-metering WAN. Send returns
// once the command is on its way; the device's answer (and any alert) comes
// back later through Pipeline.Receive. An error means the command could not
// be handed to the device at all (E20).
type Transport interface {
	Send(ctx context.Context, d store.Device, command []byte) error
}

// verifyDevice checks a device message's protection: its MAC when it has
// a MAC header, else its signature (critical use cases).
func (p *Pipeline) verifyDevice(m *gbcs.Message) error {
	if m.MACHeader {
		return p.Security.VerifyMAC(m)
	}
	return p.Security.VerifySignature(m)
}

// Provisioner is implemented by a Transport whose devices must exist before
// the DCC can protect a command for them (the simulated WAN creates a
// device, with its keys and certificates, from its inventory entry).
// lookup reads the inventory in the caller's transaction.
type Provisioner interface {
	Provision(ctx context.Context, d store.Device, lookup func(eui.EUI64) (store.Device, error)) error
}

// The bus stream and subjects of the device pipeline.
const (
	StreamName    = "OPENDCC"
	subjectSend   = "dcc.send"   // data: an accepted request ID to send
	subjectDevice = "dcc.device" // data: a raw GBCS message from a device
)

// Codes of the critical flow where the public sources name none (see
// docs/processing.md); stable.
const (
	// CodePreCommandMismatch: no Pre-Command was issued for the RequestID
	// (or it expired), or the signed one differs from it.
	CodePreCommandMismatch = "E1004"
	// CodePreCommandSignature: the Signed Pre-Command is not signed with
	// the User's GBCS digital-signing certificate.
	CodePreCommandSignature = "E1006"
)

// Pipeline is the device-communication pipeline: it turns accepted device
// requests into MACed GBCS commands (inside the accepting transaction),
// sends them through the bus and the Transport, matches the devices'
// responses to their requests by originator and counter, times out the
// unanswered (E21), and delivers the final signed DUIS responses to the
// Users' Receive Response Service through the durable outbox, at least
// once, with retries.
type Pipeline struct {
	Store     store.Store
	Bus       bus.Bus
	Security  *gbcs.Security // the ACB's keys and the devices' certificates
	ACB       eui.EUI64
	Transport Transport
	Signer    *Signer
	// Parties are the DCC's remote parties besides the ACB (dccparties.go).
	Parties DCCParties
	// Deadline: a sent request unanswered this long gets E21 (default 1 min).
	Deadline time.Duration
	// PreCommandTTL: how long a CV 4 Pre-Command waits for its signed
	// CV 5/6/7 follow-up (default 24 h).
	PreCommandTTL time.Duration
	// Workers of the send consumer (default 8).
	Workers int
	// DeviceWorkers: concurrent device responses being finished (default
	// 4 × Workers). Finishing mostly waits for its group commit, behind the
	// accepting transactions of the HTTP handlers; with as few workers as
	// the send side the answered half of the pipeline falls behind the
	// intake under load.
	DeviceWorkers int
	// QueueResponses puts every device response on the bus before it is
	// finished (see Receive); default: finished as it arrives.
	QueueResponses bool
	// MaxInFlight bounds the requests sent and not yet answered before
	// the HTTP intake waits (up to admitWait) for room: backpressure, so
	// that under overload the acknowledgements slow down instead of the
	// final responses falling further and further behind (default 512).
	MaxInFlight int
	// Client posts to the Users' Receive Response Service (default: 10 s
	// timeout).
	Client *http.Client
	Now    func() time.Time
	Log    *slog.Logger
	// Metrics, when set, counts outcomes, deliveries and drops.
	Metrics *Metrics

	owner    string
	inflight atomic.Int64
	roomMu   sync.Mutex
	room     chan struct{} // closed when in-flight requests drop below MaxInFlight
	wake     chan struct{}
	fast     chan struct{} // bounds the direct posts in flight
	urls     sync.Map      // eui.EUI64 → cachedURL
	direct   chan struct{} // bounds the direct sends in flight
	// receiving bounds the device responses Receive finishes directly.
	receiving chan struct{}
	runCtx    atomic.Pointer[context.Context] // set while running
	pending   sync.Map                        // pendingKey → store.Request sent by this process, not finished
	npending  atomic.Int64
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	subs      []bus.Subscription
	// gos runs the direct sends and posts on kept goroutines (their grown
	// stacks reused; see gopool).
	gos gopool.Pool
}

func (p *Pipeline) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Pipeline) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

func (p *Pipeline) deadline() time.Duration {
	if p.Deadline > 0 {
		return p.Deadline
	}
	return time.Minute
}

// ---------------------------------------------------------------- accept

// prepared is what accepting a device request produces besides the row.
type prepared struct {
	command []byte // the GBCS command to send (MACed), nil if none
	local   []byte // the command for local delivery (CV 2, 3, 6, 7)
	pre     []byte // the Pre-Command (CV 4)
	code    string // synchronous response code (I99, or I0 for CV 2/3/4/6/7)
	held    bool   // future-dated in the DSP pattern: released by the hold loop
	device  store.Device
	record  store.Request // the row recorded (ID set once recorded)
}

// errUnsupported wraps a mapping OpenDCC cannot build yet (HTTP 501).
type errUnsupported struct{ err error }

func (e errUnsupported) Error() string { return e.err.Error() }
func (e errUnsupported) Unwrap() error { return e.err }

// deviceInfo maps an inventory entry onto what transform needs.
func deviceInfo(d store.Device) transform.DeviceInfo {
	di := transform.DeviceInfo{Type: transform.DeviceType(d.Type), ID: d.ID}
	switch strings.ToUpper(d.ESMEVariant) {
	case "B", "TWIN":
		di.Variant = transform.TwinElement
	case "C", "POLYPHASE":
		di.Variant = transform.Polyphase
	}
	return di
}

// provision lets a Transport that creates its devices on demand (the
// simulated estate) know device d before the DCC needs its certificates,
// looking associated devices up in the inventory of repos.
func (p *Pipeline) provision(ctx context.Context, repos store.Repos, d store.Device) error {
	pv, ok := p.Transport.(Provisioner)
	if !ok {
		return nil
	}
	return pv.Provision(ctx, d, func(id eui.EUI64) (store.Device, error) { return repos.Inventory().GetDevice(ctx, id) })
}

// build maps the request onto its GBCS message (Pre-Command for a critical
// SRV), inside tx: a command the ACB sends on the User's behalf takes the
// ACB's next originator counter.
func (p *Pipeline) build(ctx context.Context, tx store.Repos, acc *Accepted, req *duis.Request, dev store.Device, now time.Time) (*gbcs.Message, error) {
	opts := transform.Options{ACB: p.ACB, UserRole: acc.Role, Now: now,
		OtherDeviceType: func(id eui.EUI64) (transform.DeviceType, bool) {
			d, err := tx.Inventory().GetDevice(ctx, id)
			if err != nil {
				return "", false
			}
			return transform.DeviceType(d.Type), true
		},
		// The other device's KA certificate, from the key store the DCC
		// verifies devices with (its SMKI view).
		OtherDeviceCertificate: func(id eui.EUI64) ([]byte, bool) {
			if p.Security == nil || p.Security.Keys == nil {
				return nil, false
			}
			if d, err := tx.Inventory().GetDevice(ctx, id); err == nil {
				p.provision(ctx, tx, d)
			}
			for _, c := range p.Security.Keys.Certificates(id, gbcs.UsageKeyAgreement) {
				return c.Raw, true
			}
			return nil, false
		}}
	if acc.SRV.Variant == "9.1" {
		n, err := rand.Int(rand.Reader, big.NewInt(10000))
		if err != nil {
			return nil, err
		}
		opts.CustomerIdentificationNumber = fmt.Sprintf("%04d", n.Int64())
	}
	if acc.ID.Originator == p.ACB {
		// The DCC's own request: its RequestID counter is the ACB's GBCS
		// counter, in the space the ACB's on-behalf commands draw from.
		ok, err := tx.Counters().Accept(ctx, acbCounterKey(p.ACB), acc.ID.Counter)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, reject(CodeStaleCounter, "counter %d is not greater than the ACB's last GBCS counter", acc.ID.Counter)
		}
		opts.ACBCounter = acc.ID.Counter
	}
	p.dccOptions(ctx, tx, &opts)
	di := deviceInfo(dev)
	res, err := transform.BuildResult(req, di, opts)
	if errors.Is(err, transform.ErrAmbiguous) {
		// The inventory does not record which GBCS version variants the
		// device supports; OpenDCC's devices support them all, and the
		// DCC sends the newest it can build, the last of the SRV's
		// candidates with a mapping (docs/processing.md).
		di.UseCases = ambiguousChoice(acc.SRV, dev)
		res, err = transform.BuildResult(req, di, opts)
	}
	if err != nil {
		return nil, mapTransformError(err)
	}
	if res.Message.Originator == p.ACB && acc.ID.Originator != p.ACB {
		c, err := tx.Counters().Next(ctx, acbCounterKey(p.ACB), uint64(now.UnixMilli()))
		if err != nil {
			return nil, err
		}
		opts.ACBCounter = c
		if res, err = transform.BuildResult(req, di, opts); err != nil {
			return nil, mapTransformError(err)
		}
	}
	return p.partyCommand(ctx, tx, acc, func(o transform.Options) (*gbcs.Message, error) {
		r, err := transform.BuildResult(req, di, o)
		if err != nil {
			return nil, mapTransformError(err)
		}
		return r.Message, nil
	}, opts, res.Message, now)
}

// acbCounterKey is the durable space of the ACB's GBCS originator counters:
// Unix milliseconds or more, strictly increasing, shared by the commands
// the ACB sends on Users' behalf and the DCC's own requests.
func acbCounterKey(acb eui.EUI64) store.CounterKey {
	return store.CounterKey{Space: "gbcs", Originator: acb}
}

// ambiguousChoice lists the use cases the catalogue names for the SRV that
// OpenDCC can build; transform picks, of the version variants that apply to
// the device type, the newest (the one listed last).
func ambiguousChoice(srv *duis.SRV, dev store.Device) []string {
	var out []string
	for _, uc := range srv.GBCSUseCases {
		for _, n := range strings.Split(uc, "/") {
			if n = strings.TrimSpace(n); transform.Buildable(n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// mapTransformError turns a mapping failure into the synchronous answer: a
// request the device type cannot take is E11, a request the mapping finds
// inconsistent is E100, a mapping OpenDCC lacks is HTTP 501.
func mapTransformError(err error) error {
	switch {
	case errors.Is(err, transform.ErrDeviceType):
		return reject("E11", "%v", err)
	case errors.Is(err, transform.ErrRequest):
		return reject(CodeSchemaInvalid, "%v", err)
	case errors.Is(err, transform.ErrUnsupported), errors.Is(err, transform.ErrAmbiguous):
		return errUnsupported{err}
	}
	return err
}

// prepare builds, inside the accepting transaction, what an accepted device
// request sends or returns: the MACed command (CV 1, 2, 3), the
// Pre-Command held for its signed follow-up (CV 4), or the checked and
// MACed Signed Pre-Command (CV 5, 6, 7).
// sd, when set, is the StoreDirectory over tx that access control read
// the inventory through (its reads are reused).
func (p *Pipeline) prepare(ctx context.Context, tx store.Repos, sd *StoreDirectory, acc *Accepted, msg *duis.Message, now time.Time) (*prepared, error) {
	if sd == nil {
		sd = &StoreDirectory{Repos: tx, Ctx: ctx}
	}
	dev, err := sd.device(acc.ID.Target)
	if err != nil {
		return nil, err
	}
	if err := p.provision(ctx, tx, dev); err != nil {
		return nil, err
	}
	req := msg.Request
	out := &prepared{code: "I99", device: dev}
	var m *gbcs.Message
	switch acc.CV {
	case duis.CVTransform:
		if m, err = p.build(ctx, tx, acc, req, dev, now); err != nil {
			return nil, err
		}
		pre, err := m.Marshal()
		if err != nil {
			return nil, err
		}
		id := "precommand:" + acc.ID.Canonical()
		tx.Holds().CancelHold(ctx, id) // a repeated CV 4 replaces the held one
		ttl := p.PreCommandTTL
		if ttl <= 0 {
			ttl = 24 * time.Hour
		}
		if _, err := tx.Holds().PutHold(ctx, store.Hold{ID: id, Kind: "precommand", Owner: acc.ID.Originator,
			RequestID: acc.ID.Canonical(), ReleaseAt: now.Add(ttl), Payload: pre}); err != nil {
			return nil, err
		}
		return &prepared{pre: pre, code: "I0"}, nil
	case duis.CVSignedSendToDevice, duis.CVSignedLocalDelivery, duis.CVSignedSendAndLocal:
		if m, err = p.signedPreCommand(ctx, tx, acc, req); err != nil {
			return nil, err
		}
	default:
		if m, err = p.build(ctx, tx, acc, req, dev, now); err != nil {
			return nil, err
		}
		// A critical use case sent for a non-critical SRV (CS04AC for
		// 8.8.2) is originated and signed by the ACB, as RTDS shows.
		if uc, ok := gbcs.LookupMessageCode(m.MessageCode); ok && uc.Critical == gbcs.FlagYes && m.Originator == p.ACB && m.SignatureField {
			if err := p.Security.Sign(m, nil); err != nil {
				return nil, fmt.Errorf("dcc: ACB signature of the command for %s: %w", acc.ID.Target, err)
			}
		}
	}
	if err := p.Security.WrapMAC(m); err != nil {
		return nil, fmt.Errorf("dcc: MAC of the command for %s: %w", acc.ID.Target, err)
	}
	cmd, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	switch acc.CV {
	case duis.CVLocalDelivery, duis.CVSignedLocalDelivery:
		out.local, out.code = cmd, "I0"
	case duis.CVSendAndLocal, duis.CVSignedSendAndLocal:
		out.local, out.command, out.code = cmd, cmd, "I0"
	default:
		out.command = cmd
	}
	return out, nil
}

// signedPreCommand checks a CV 5/6/7 request: the GBCS payload is the
// Pre-Command the DCC issued for this RequestID, byte for byte, signed
// with the User's GBCS digital-signing certificate from the user registry.
func (p *Pipeline) signedPreCommand(ctx context.Context, tx store.Repos, acc *Accepted, req *duis.Request) (*gbcs.Message, error) {
	spc := req.Body.SignedPreCommand
	if spc == nil {
		return nil, reject(CodeSchemaInvalid, "command variant %d needs a SignedPreCommand body", acc.CV)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(spc.GBCSPayload))
	if err != nil {
		return nil, reject(CodeSchemaInvalid, "SignedPreCommand/GBCSPayload is not base64: %v", err)
	}
	m, err := gbcs.Parse(raw)
	if err != nil || !m.Signed() || m.MACHeader {
		return nil, reject(CodePreCommandMismatch, "SignedPreCommand is not a signed GBCS command")
	}
	h, err := tx.Holds().GetHold(ctx, "precommand:"+acc.ID.Canonical())
	if errors.Is(err, store.ErrNotFound) {
		return nil, reject(CodePreCommandMismatch, "no Pre-Command was issued for %s (or it expired)", acc.ID.Canonical())
	}
	if err != nil {
		return nil, err
	}
	unsigned := *m
	unsigned.SignatureField, unsigned.Signature, unsigned.Raw = false, nil, nil
	pre, err := unsigned.Marshal()
	if err != nil || !bytes.Equal(pre, h.Payload) {
		return nil, reject(CodePreCommandMismatch, "the Signed Pre-Command differs from the Pre-Command issued for %s", acc.ID.Canonical())
	}
	u, err := tx.Users().GetUser(ctx, acc.ID.Originator)
	if err != nil {
		return nil, err
	}
	data, err := m.SignedBytes()
	if err != nil {
		return nil, err
	}
	for _, c := range u.Certs {
		if c.Usage != store.CertDigitalSigning {
			continue
		}
		cert, err := smki.ParseCertificate(c.DER)
		if err != nil || cert.PublicKey == nil {
			continue
		}
		if gbcs.VerifyData(cert.PublicKey, data, m.Signature) {
			if _, err := tx.Holds().CancelHold(ctx, h.ID); err != nil {
				return nil, err
			}
			m.Raw = nil
			return m, nil
		}
	}
	return nil, reject(CodePreCommandSignature, "the Pre-Command's signature does not verify with a digital-signing certificate of %s", acc.ID.Originator)
}

// ---------------------------------------------------------------- run

// Start creates the stream and consumers and starts the timeout, hold and
// delivery loops. It republishes requests left accepted by a previous run.
func (p *Pipeline) Start(ctx context.Context) error {
	if p.Workers <= 0 {
		p.Workers = 8
	}
	if p.DeviceWorkers <= 0 {
		p.DeviceWorkers = 4 * p.Workers
	}
	if p.Client == nil {
		// Keep as many idle connections per Receive Response Service as
		// posts may be in flight (the default 2 makes most posts dial).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		p.Client = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	p.owner = fmt.Sprintf("pipeline-%d", time.Now().UnixNano())
	p.wake = make(chan struct{}, 1)
	p.fast = make(chan struct{}, 64)
	if err := p.Bus.EnsureStream(ctx, bus.Stream{Name: StreamName, Subjects: []string{"dcc.>"}}); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.direct = make(chan struct{}, 4*p.Workers)
	p.receiving = make(chan struct{}, p.DeviceWorkers)
	for _, c := range []struct {
		name, subject string
		h             bus.Handler
		workers       int
	}{{"send", subjectSend, p.handleSend, p.Workers}, {"device", subjectDevice, p.handleDevice, p.DeviceWorkers}} {
		sub, err := p.Bus.Consume(runCtx, bus.ConsumerConfig{Stream: StreamName, Name: c.name, Filter: c.subject,
			AckWait: 30 * time.Second, Workers: c.workers, MaxAckPending: 4 * p.Workers * 64}, c.h)
		if err != nil {
			p.Stop()
			return err
		}
		p.subs = append(p.subs, sub)
	}
	if err := p.republish(ctx); err != nil {
		p.Stop()
		return err
	}
	p.runCtx.Store(&runCtx) // direct sends from now on
	for _, loop := range []func(context.Context){p.timeoutLoop, p.holdLoop, p.deliveryLoop} {
		p.wg.Add(1)
		go func(f func(context.Context)) { defer p.wg.Done(); f(runCtx) }(loop)
	}
	return nil
}

// Stop stops the consumers and loops; work in flight is redelivered on the
// next Start.
func (p *Pipeline) Stop() {
	for _, s := range p.subs {
		s.Stop()
	}
	p.subs = nil
	p.runCtx.Store(nil)
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
}

// republish sends again every request still accepted (published before a
// crash or never): the bus drops duplicates by message ID, MarkSent lets
// only one send through.
func (p *Pipeline) republish(ctx context.Context) error {
	after := ""
	for {
		rs, err := p.Store.Requests().Unfinished(ctx, store.RequestAccepted, after, 500)
		if err != nil {
			return err
		}
		for _, r := range rs {
			after = r.ID
			if r.GBCS == nil {
				continue // non-device
			}
			if _, err := p.Store.Holds().GetHold(ctx, "future-dated:"+r.ID); err == nil {
				continue // released by the hold loop at its time
			}
			if err := p.enqueue(ctx, r.ID); err != nil {
				return err
			}
		}
		if len(rs) < 500 {
			return nil
		}
	}
}

// sendMsg is the bus message of dcc.send: the request ID, and when the
// acceptor has them, the device and the command, so that sending needs no
// store read.
type sendMsg struct {
	ID      string        `json:"id"`
	Device  *store.Device `json:"device,omitempty"`
	Command []byte        `json:"command,omitempty"`
}

// enqueue publishes an accepted request for sending (the sender reads it).
func (p *Pipeline) enqueue(ctx context.Context, id string) error {
	return p.publishSend(ctx, sendMsg{ID: id})
}

// enqueueCommand sends an accepted (committed) request's command: straight
// to the Transport from a bounded pool of goroutines, or, when the pool is
// full or the direct send fails, through the bus (dcc.send), whose
// consumer retries. The bus is not needed for durability here: the request
// is recorded as accepted before this is called, and Start republishes
// every request still accepted after a crash. Skipping it saves a durable
// publish, a delivery and an acknowledgement per request.
func (p *Pipeline) enqueueCommand(ctx context.Context, id string, d store.Device, cmd []byte) error {
	sm := sendMsg{ID: id, Device: &d, Command: cmd}
	if rc := p.runCtx.Load(); rc != nil && (*rc).Err() == nil {
		run := *rc
		select {
		case p.direct <- struct{}{}:
			p.inflight.Add(1)
			p.wg.Add(1)
			p.gos.Go(func() {
				defer func() { <-p.direct; p.wg.Done() }()
				if err := p.send(run, sm); err != nil && run.Err() == nil {
					p.log().Warn("device send failed; queued for retry", "request", id, "err", err)
					if err := p.publishSend(run, sm); err != nil {
						p.log().Warn("queueing a failed send failed; it is sent on recovery or times out", "request", id, "err", err)
					}
				}
			})
			return nil
		default:
		}
	}
	err := p.publishSend(ctx, sm)
	if err == nil {
		p.inflight.Add(1)
	}
	return err
}

// admitWait is the longest an HTTP request waits for room in the pipeline;
// then it is processed anyway (the count is a heuristic: requests sent by
// other paths are not counted, so it may drift low, never high for long).
const admitWait = time.Second

func (p *Pipeline) maxInFlight() int64 {
	if p.MaxInFlight > 0 {
		return int64(p.MaxInFlight)
	}
	return 512
}

// admit waits while the pipeline has MaxInFlight requests unanswered.
func (p *Pipeline) admit(ctx context.Context) {
	if p == nil || p.inflight.Load() < p.maxInFlight() {
		return
	}
	t := time.NewTimer(admitWait)
	defer t.Stop()
	for p.inflight.Load() >= p.maxInFlight() {
		p.roomMu.Lock()
		if p.room == nil {
			p.room = make(chan struct{})
		}
		room := p.room
		p.roomMu.Unlock()
		if p.inflight.Load() < p.maxInFlight() {
			return
		}
		select {
		case <-room:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// answered counts one request answered (never below zero) and wakes the
// intake waiting for room.
func (p *Pipeline) answered() {
	for {
		n := p.inflight.Load()
		if n <= 0 {
			return
		}
		if p.inflight.CompareAndSwap(n, n-1) {
			if n-1 < p.maxInFlight() {
				p.roomMu.Lock()
				if p.room != nil {
					close(p.room)
					p.room = nil
				}
				p.roomMu.Unlock()
			}
			return
		}
	}
}

func (p *Pipeline) publishSend(ctx context.Context, m sendMsg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, _, err = p.Bus.Publish(ctx, subjectSend, b, bus.WithMsgID("send:"+m.ID))
	return err
}

// Receive takes a GBCS message from the WAN. A device response is
// finished at once, in the caller's goroutine, while the pipeline runs and
// fewer than DeviceWorkers are being finished this way; an alert, a
// response that finds the workers busy and one whose finishing fails (a
// store error) is stored durably on the bus and processed (and retried)
// from there.
//
// The response's durable record is the finished request, committed before
// Receive returns; a crash before that loses the response as the WAN might,
// and its request gets E21 at its deadline: nothing accepted is lost, and
// the hop through the bus (a durable publish, a delivery and an
// acknowledgement per request) is saved. Alerts have no other record, so
// they always go through the bus.
func (p *Pipeline) Receive(ctx context.Context, raw []byte) error {
	if p.finishNow(raw) {
		return nil
	}
	_, _, err := p.Bus.Publish(ctx, subjectDevice, raw)
	return err
}

// finishNow finishes a device response directly (see Receive); false: it
// goes through the bus.
func (p *Pipeline) finishNow(raw []byte) bool {
	rc := p.runCtx.Load()
	if p.QueueResponses || rc == nil || (*rc).Err() != nil {
		return false
	}
	m, err := gbcs.Parse(raw)
	if err != nil || m.Kind() != gbcs.KindResponse {
		return false
	}
	select {
	case p.receiving <- struct{}{}:
	default:
		return false
	}
	err = p.fromDeviceResponse(*rc, m, raw)
	<-p.receiving
	if err != nil {
		p.log().Warn("finishing a device response failed; queued for retry", "err", err)
		return false
	}
	return true
}

func (p *Pipeline) handleSend(ctx context.Context, m bus.Msg) {
	var sm sendMsg
	if err := json.Unmarshal(m.Data(), &sm); err != nil {
		p.log().Warn("dropping a malformed send message", "err", err)
		m.Term()
		return
	}
	if err := p.send(ctx, sm); err != nil {
		p.log().Warn("device send failed; will retry", "request", sm.ID, "err", err)
		m.Nak(time.Second)
		return
	}
	m.Ack(ctx)
}

// send hands the command to the WAN. The request stays accepted with the
// deadline set at acceptance; a redelivered send repeats the command, which
// the device refuses as a replay (docs/processing.md).
func (p *Pipeline) send(ctx context.Context, sm sendMsg) error {
	if sm.Device == nil || sm.Command == nil {
		r, err := p.Store.Requests().GetRequest(ctx, sm.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if r.State != store.RequestAccepted && r.State != store.RequestSent {
			return nil // final already
		}
		dev, err := p.Store.Inventory().GetDevice(ctx, r.Target)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil {
			sm.Device = &dev
		}
		sm.Command = r.GBCS
	}
	var err error
	if sm.Device == nil {
		err = errors.New("the device is no longer in the inventory")
	} else {
		err = p.Transport.Send(ctx, *sm.Device, sm.Command)
	}
	if err != nil {
		p.log().Info("device unreachable", "request", sm.ID, "err", err)
		r, gerr := p.Store.Requests().GetRequest(ctx, sm.ID)
		if gerr != nil {
			return ignoreNotFound(gerr)
		}
		return p.finish(ctx, r, store.RequestFailed, "E20", nil)
	}
	return nil
}

// pendingKey is what a device response carries back to match its request.
type pendingKey struct {
	originator eui.EUI64
	counter    uint64
}

// maxPending bounds the requests kept in memory for matching.
const maxPending = 8192

// track keeps a request just recorded and sent, so that its device
// response is matched without reading the row back (RequestByCounter on a
// reader whose page cache every commit invalidates). The row is immutable
// until finished, and finish decides by its conditional update, so a copy
// is as good as a read; what is not tracked (full map, after a restart, or
// finished by another process) is read from the store.
func (p *Pipeline) track(r store.Request) {
	if r.ID == "" || p.npending.Load() >= maxPending {
		return
	}
	if _, loaded := p.pending.LoadOrStore(pendingKey{r.Originator, r.Counter}, r); !loaded {
		p.npending.Add(1)
	}
}

func (p *Pipeline) untrack(r store.Request) {
	if _, ok := p.pending.LoadAndDelete(pendingKey{r.Originator, r.Counter}); ok {
		p.npending.Add(-1)
	}
}

func (p *Pipeline) pendingRequest(originator eui.EUI64, counter uint64) (store.Request, bool) {
	v, ok := p.pending.Load(pendingKey{originator, counter})
	if !ok {
		return store.Request{}, false
	}
	return v.(store.Request), true
}

// finish records the final outcome and queues its signed DUIS response in
// one transaction; only the first outcome of a request counts.
func (p *Pipeline) finish(ctx context.Context, r store.Request, s store.RequestState, code string, gbcsResponse []byte) error {
	now := p.now()
	rid := metaRequestID(r.Meta)
	srv, _ := duis.LookupSRV(r.SRV)
	parts := ResponseParts{RequestID: rid, ResponseID: responseID(rid), Code: code, Time: now, GBCSPayload: gbcsResponse}
	if sid := metaScheduleID(r.Meta); sid != "" && gbcsResponse != nil {
		// a DCC Schedule's run: the device's answer with the schedule's ID
		sm := &duis.DSPScheduledMessage{GBCSPayload: b64(gbcsResponse), DSPScheduleID: sid}
		parts.GBCSPayload, parts.Fill = nil, func(rm *duis.ResponseMessage) { rm.DSPScheduledMessage = sm }
	}
	if parts.RequestID == "" {
		parts.RequestID = r.ID
		parts.ResponseID = responseID(r.ID)
	}
	if srv != nil {
		parts.SR, parts.SRV = srv.ServiceReference, srv.Variant
	}
	doc, err := p.Signer.Response(parts)
	if err != nil {
		return err
	}
	var done bool
	msg := store.OutboxMessage{ID: parts.ResponseID, Recipient: r.Originator,
		Kind: "response", RequestID: r.ID, Payload: doc, CreatedAt: now,
		// Due a little later: finish posts it at once itself, the delivery
		// loop only retries what that did not deliver.
		NextAttempt: now.Add(fastPathGrace)}
	err = p.Store.InTx(ctx, func(tx store.Repos) error {
		ok, err := tx.Requests().Finish(ctx, r.ID, s, code, gbcsResponse, now)
		if err != nil || !ok {
			return err
		}
		if code == "I0" {
			if err := lifecycle(ctx, tx, r, now); err != nil {
				return err
			}
			if err := recordHANBackup(ctx, tx, r, gbcsResponse, now); err != nil {
				return err
			}
		}
		done = true
		_, err = tx.Outbox().Enqueue(ctx, msg)
		return err
	})
	if err == nil {
		p.untrack(r) // final now, whoever finished it
	}
	if done {
		p.answered()
		p.Metrics.final(code, r.AcceptedAt, now)
		p.deliverNow(msg)
	}
	return err
}

// urlTTL is how long a User's Receive Response Service URL is cached: a
// change through the admin API reaches delivery within it.
const urlTTL = 5 * time.Second

type cachedURL struct {
	url string
	at  time.Time
}

// responseURL is the User's Receive Response Service URL ("" if none).
func (p *Pipeline) responseURL(ctx context.Context, user eui.EUI64) string {
	now := time.Now()
	if v, ok := p.urls.Load(user); ok && now.Sub(v.(cachedURL).at) < urlTTL {
		return v.(cachedURL).url
	}
	u, err := p.Store.Users().GetUser(ctx, user)
	if err != nil {
		return ""
	}
	p.urls.Store(user, cachedURL{u.ResponseURL, now})
	return u.ResponseURL
}

// fastPathGrace is how long a freshly queued response waits for the
// direct post before the delivery loop may claim it.
const fastPathGrace = 10 * time.Second

// deliverNow posts a freshly queued message at once, off the caller's
// goroutine (bounded); what fails is made due for the delivery loop, which
// retries with backoff.
func (p *Pipeline) deliverNow(m store.OutboxMessage) {
	select {
	case p.fast <- struct{}{}:
	default:
		// Too many in flight: wait a little for a slot (this slows the
		// device workers, which is the backpressure wanted), else make it
		// due now for the delivery loop (it was queued due after
		// fastPathGrace).
		t := time.NewTimer(time.Second)
		select {
		case p.fast <- struct{}{}:
			t.Stop()
		case <-t.C:
			p.Store.Outbox().Requeue(context.Background(), m.ID, p.now())
			p.poke()
			return
		}
	}
	p.wg.Add(1)
	p.gos.Go(func() {
		defer func() { <-p.fast; p.wg.Done() }()
		ctx := context.Background()
		if p.attempt(ctx, m) != nil {
			p.Store.Outbox().Requeue(ctx, m.ID, p.now().Add(time.Second))
		}
	})
}

// responseID is the ResponseID (target:originator:counter) of a
// RequestID, written as the request wrote its EUIs.
func responseID(requestID string) string {
	id, err := duis.ParseRequestID(requestID)
	if err != nil {
		return requestID
	}
	return id.ResponseID()
}

func (p *Pipeline) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Pipeline) handleDevice(ctx context.Context, m bus.Msg) {
	if err := p.fromDevice(ctx, m.Data()); err != nil {
		p.log().Warn("device message failed; will retry", "err", err)
		m.Nak(time.Second)
		return
	}
	m.Ack(ctx)
}

// fromDevice matches a device response to its request and finishes it. A
// message that does not parse, is not addressed back to a request, or
// whose MAC or signature does not verify is dropped (logged): nothing
// forged reaches a User.
func (p *Pipeline) fromDevice(ctx context.Context, raw []byte) error {
	m, err := gbcs.Parse(raw)
	if err != nil {
		p.log().Warn("dropping a device message that does not parse", "err", err)
		p.Metrics.dropped("unparsable")
		return nil
	}
	if m.Kind() == gbcs.KindAlert {
		return p.alert(ctx, m, raw)
	}
	if m.Kind() != gbcs.KindResponse {
		p.log().Warn("dropping a device message that is not a response or alert", "kind", m.Kind().String())
		return nil
	}
	return p.fromDeviceResponse(ctx, m, raw)
}

// fromDeviceResponse finishes the request a parsed device response
// answers (see fromDevice).
func (p *Pipeline) fromDeviceResponse(ctx context.Context, m *gbcs.Message, raw []byte) error {
	var err error
	orig, counter := m.Recipient, m.OriginatorCounter
	if m.HasSupplementaryRemotePartyCounter {
		orig, counter = m.SupplementaryRemoteParty, m.SupplementaryRemotePartyCounter
	}
	r, ok := p.pendingRequest(orig, counter)
	if !ok {
		r, err = p.Store.Requests().RequestByCounter(ctx, orig, counter)
	}
	if errors.Is(err, store.ErrNotFound) {
		r, err = p.partyRequest(ctx, orig, counter) // a DCC party's own command
	}
	if errors.Is(err, store.ErrNotFound) {
		p.log().Warn("dropping a device response that answers no request", "originator", orig, "counter", counter)
		p.Metrics.dropped("unmatched")
		return nil
	}
	if err != nil {
		return err
	}
	if m.Originator != r.Target {
		p.log().Warn("dropping a device response from another device", "request", r.ID, "from", m.Originator)
		p.Metrics.dropped("wrong-device")
		return nil
	}
	err = p.verifyDevice(m)
	if err != nil {
		p.log().Warn("dropping a device response that does not verify", "request", r.ID, "err", err)
		p.Metrics.dropped("not-verifying")
		return nil
	}
	return p.finish(ctx, r, store.RequestResponded, "I0", raw)
}

// ---------------------------------------------------------------- loops

// timeoutLoop gives E21 to sent requests past their deadline.
func (p *Pipeline) timeoutLoop(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rs, err := p.Store.Requests().Overdue(ctx, p.now(), 200)
		if err != nil {
			if ctx.Err() == nil {
				p.log().Warn("overdue scan failed", "err", err)
			}
			continue
		}
		for _, r := range rs {
			if err := p.finish(ctx, r, store.RequestTimedOut, "E21", nil); err != nil && ctx.Err() == nil {
				p.log().Warn("timing out a request failed", "request", r.ID, "err", err)
			}
		}
	}
}

// holdLoop releases future-dated requests at their time and drops
// Pre-Commands whose signed follow-up never came.
func (p *Pipeline) holdLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		hs, err := p.Store.Holds().ClaimHolds(ctx, p.owner, p.now(), time.Minute, 200)
		if err != nil {
			continue
		}
		for _, h := range hs {
			if h.Kind == holdKindFDAwait {
				if err := p.futureDatedTimeout(ctx, h); err != nil && ctx.Err() == nil {
					p.log().Warn("an E30 could not be queued; it is tried again", "hold", h.ID, "err", err)
				}
				continue
			}
			if h.Kind == holdKindFirmware {
				if err := p.distributeFirmware(ctx, h); err != nil && ctx.Err() == nil {
					p.log().Warn("a firmware distribution failed; it is tried again", "hold", h.ID, "err", err)
				}
				continue
			}
			if h.Kind == holdKindSchedule {
				// it reschedules or ends the hold; on error the lease expires
				// and the run is tried again
				if err := p.runSchedule(ctx, h); err != nil && ctx.Err() == nil {
					p.log().Warn("a DCC Schedule's run failed", "hold", h.ID, "err", err)
				}
				continue
			}
			if h.Kind == "future-dated" {
				if err := p.enqueue(ctx, h.RequestID); err != nil {
					continue // the lease expires and the hold is claimed again
				}
			}
			p.Store.Holds().DoneHold(ctx, h.ID, p.owner)
		}
	}
}

// deliveryLoop posts queued responses and alerts to the Users' Receive
// Response Service: 2xx is delivered; anything else is retried with
// exponential backoff (1 s doubling to 5 min) until the message expires
// two days after it was queued.
func (p *Pipeline) deliveryLoop(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	sem := make(chan struct{}, 32)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.wake:
		}
		for {
			ms, err := p.Store.Outbox().Claim(ctx, p.owner, p.now(), time.Minute, 64)
			if err != nil || len(ms) == 0 {
				break
			}
			var wg sync.WaitGroup
			for _, m := range ms {
				sem <- struct{}{}
				wg.Add(1)
				go func(m store.OutboxMessage) {
					defer func() { <-sem; wg.Done() }()
					p.deliver(ctx, m)
				}(m)
			}
			wg.Wait()
			if len(ms) < 64 {
				break
			}
		}
	}
}

func (p *Pipeline) deliver(ctx context.Context, m store.OutboxMessage) {
	err := p.attempt(ctx, m)
	if err == nil {
		return
	}
	backoff := time.Second << min(m.Attempts-1, 9)
	if backoff > 5*time.Minute {
		backoff = 5 * time.Minute
	}
	p.Store.Outbox().Retry(ctx, m.ID, p.owner, p.now().Add(backoff), err.Error())
}

// attempt posts m to its recipient's Receive Response Service once and marks
// it delivered on a 2xx; the caller schedules what failed.
func (p *Pipeline) attempt(ctx context.Context, m store.OutboxMessage) error {
	url := m.URL
	if url == "" {
		url = p.responseURL(ctx, m.Recipient)
	}
	err := errors.New("the User has no Receive Response Service URL")
	if url != "" {
		err = post(ctx, p.Client, url, m.Payload)
	}
	if err != nil {
		p.Metrics.delivery("retry")
		return err
	}
	p.Store.Outbox().Delivered(ctx, m.ID, p.now())
	p.Metrics.delivery("delivered")
	return nil
}

func post(ctx context.Context, c *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/xml")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// alert forwards a device alert, once its MAC or signature verifies, to the
// Users registered as supplier of the device's MPxNs now (import, export
// or gas supplier; docs/processing.md): a DUIS DeviceAlertMessage with the
// GBCS alert, ResponseID device:user:counter.
func (p *Pipeline) alert(ctx context.Context, m *gbcs.Message, raw []byte) error {
	if err := p.verifyDevice(m); err != nil {
		p.log().Warn("dropping a device alert that does not verify", "device", m.Originator, "err", err)
		return nil
	}
	if m.MessageCode == 0x00CA || m.MessageCode == 0x00CC || m.MessageCode == 0x00CD {
		if done, err := p.futureDatedAlert(ctx, m, raw); err != nil || done {
			return err
		}
	}
	now := p.now()
	sd := &StoreDirectory{Repos: p.Store, Ctx: ctx}
	mpxns, err := sd.mpxns(m.Originator)
	if err != nil {
		return err
	}
	to, err := registeredParties(ctx, p.Store.Registrations(), mpxns, now, isSupplier)
	if err != nil {
		return err
	}
	code := deviceAlertCode(m.MessageCode, m.Content)
	for _, user := range to {
		rid := fmt.Sprintf("%s:%s:%d", m.Originator, user, m.OriginatorCounter)
		doc, err := p.Signer.Response(ResponseParts{ResponseID: rid, Code: "I0", Time: now,
			Alert: &duis.DeviceAlertMessage{AlertCode: code, GBCSPayload: base64.StdEncoding.EncodeToString(raw)}})
		if err != nil {
			return err
		}
		if _, err := p.Store.Outbox().Enqueue(ctx, store.OutboxMessage{ID: rid, Recipient: user, Kind: "device-alert",
			Payload: doc, CreatedAt: now, NextAttempt: now}); err != nil {
			return err
		}
	}
	if len(to) > 0 {
		p.poke()
	}
	return nil
}

// futureDatedAlert forwards an 8F66/8F67 Future Dated Execution Of
// Instruction alert (message codes 00CC DLMS, 00CD GBZ; 00CA for a
// future-dated firmware activation) to the User whose
// command it reports, as a ResponseMessage/FutureDatedDeviceAlertMessage
// echoing the original RequestID. The command's instructions are its DLMS
// request-specs or GBZ components; InstructionNumber is the position of the
// one the alert names (by class, OBIS and attribute, or cluster and
// command), TotalCommandInstructions their number. It reports false when
// the alert answers no recorded request (it then goes to the suppliers as
// an ordinary device alert).
func (p *Pipeline) futureDatedAlert(ctx context.Context, m *gbcs.Message, raw []byte) (bool, error) {
	root, err := payload.Decode(m.MessageCode, m.Content, payload.Options{})
	if err != nil {
		return false, nil
	}
	var alertCode, counter uint64
	var instr *payload.Node
	found := false
	root.Walk(func(n *payload.Node) bool {
		switch n.Name {
		case "alert-code":
			alertCode, _ = n.Uint()
		case "future-dated-instruction":
			instr, found = n, true
			if c := n.Child("originator-counter"); c != nil {
				counter, _ = c.Uint()
			}
		}
		// 00CA (ASN.1 firmware activation): SEQUENCE { alert-code,
		// alert-time, originator counter, outcome }.
		if n.Child("alert-code") != nil && len(n.Children) >= 3 && n.Children[1].Name == "alert-time" {
			if c, err := n.Children[2].Uint(); err == nil {
				counter, found = c, true
			}
		}
		return true
	})
	if !found {
		return false, nil
	}
	r, err := p.Store.Requests().RequestByCounter(ctx, m.Recipient, counter)
	if errors.Is(err, store.ErrNotFound) {
		// a DCC party's own command (6.23: the Transitional CoS party)
		r, err = p.partyRequest(ctx, m.Recipient, counter)
	}
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	p.executionReported(ctx, r.ID)
	number, total := 1, 1
	if instr != nil {
		number, total = instructionPosition(r.GBCS, instr)
	}
	requestID := metaRequestID(r.Meta)
	if requestID == "" {
		requestID = r.ID
	}
	srv, _ := duis.LookupSRV(r.SRV)
	now := p.now()
	rid := fmt.Sprintf("%s:%s:%d", m.Originator, r.Originator, m.OriginatorCounter)
	parts := ResponseParts{RequestID: requestID, ResponseID: rid, Code: "I0", Time: now,
		Fill: func(rm *duis.ResponseMessage) {
			rm.FutureDatedDeviceAlertMessage = &duis.FutureDatedDeviceAlertMessage{
				FutureDatedAlertCode: fmt.Sprintf("%04X", alertCode), GBCSPayload: base64.StdEncoding.EncodeToString(raw),
				InstructionNumber: fmt.Sprint(number), TotalCommandInstructions: fmt.Sprint(total)}
		}}
	if srv != nil {
		parts.SR, parts.SRV = srv.ServiceReference, srv.Variant
	}
	doc, err := p.Signer.Response(parts)
	if err != nil {
		return false, err
	}
	if _, err := p.Store.Outbox().Enqueue(ctx, store.OutboxMessage{ID: rid, Recipient: r.Originator, Kind: "future-dated-alert",
		RequestID: r.ID, Payload: doc, CreatedAt: now, NextAttempt: now}); err != nil {
		return false, err
	}
	p.poke()
	return true, nil
}

// instructionPosition finds the alert's instruction among the command's.
func instructionPosition(command []byte, instr *payload.Node) (number, total int) {
	number, total = 1, 1
	cm, err := gbcs.Parse(command)
	if err != nil {
		return
	}
	root, err := payload.Decode(cm.MessageCode, cm.Content, payload.Options{})
	if err != nil {
		return
	}
	key := func(n *payload.Node, names ...string) string {
		var b strings.Builder
		for _, name := range names {
			if c := n.Child(name); c != nil {
				if v, err := c.Uint(); err == nil {
					fmt.Fprintf(&b, "%d/", v)
				} else if o, err := c.Octets(); err == nil {
					fmt.Fprintf(&b, "%x/", o)
				} else if s, err := c.Str(); err == nil {
					b.WriteString(s + "/")
				}
			}
		}
		return b.String()
	}
	want := key(instr, "class-id", "instance-id", "attribute-id")
	names := []string{"class-id", "instance-id", "attribute-id"}
	if instr.Child("cluster-id") != nil {
		want = key(instr, "cluster-id", "command-id")
		names = []string{"cluster-id", "command-id"}
	}
	var list []*payload.Node
	root.Walk(func(n *payload.Node) bool {
		if n.Name == "spec" || n.Name == "component" {
			list = append(list, n)
			return false
		}
		return true
	})
	if len(list) == 0 {
		return
	}
	total = len(list)
	for i, n := range list {
		k := key(n, names...)
		if len(names) == 2 {
			// GBZ components keep the command id one level down.
			k = ""
			n.Walk(func(c *payload.Node) bool {
				if k == "" && c.Child("command-id") != nil {
					k = key(n, "cluster-id") + key(c, "command-id")
				}
				return true
			})
		}
		if k == want {
			return i + 1, total
		}
	}
	return
}
