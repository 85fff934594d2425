// Package natsjs implements bus.Bus on NATS JetStream: OpenEmbedded runs a
// JetStream server inside the process with no network listener (the
// client connects in-process), OpenURL connects to an external server or
// cluster. The same client code serves both.
package natsjs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opendcc/opendcc/bus"
)

// EmbeddedOptions configures OpenEmbedded.
type EmbeddedOptions struct {
	// StoreDir holds the JetStream file store (required): reopening with
	// the same directory finds every unacknowledged message again.
	StoreDir string
	// SyncAlways fsyncs every write before acknowledging a publish: the
	// messages then survive a power cut, not only a process crash (SIGKILL),
	// at a large cost in throughput.
	SyncAlways bool
	// MaxStore bounds the file store in bytes (0: server default).
	MaxStore int64
	// ServerName names the embedded server (default "opendcc").
	ServerName string
	// Logger, if set, receives the server's log (otherwise none).
	Logger server.Logger
}

// URLOptions configures OpenURL.
type URLOptions struct {
	// Name is the client connection name.
	Name string
	// Options are extra nats.go options (credentials, TLS, …).
	Options []nats.Option
}

// Bus is the JetStream bus.
type Bus struct {
	nc *nats.Conn
	js jetstream.JetStream
	ns *server.Server // nil for OpenURL

	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed bool
}

var _ bus.Bus = (*Bus)(nil)

// OpenEmbedded starts an in-process JetStream server on opts.StoreDir and
// connects to it without a socket.
func OpenEmbedded(ctx context.Context, opts EmbeddedOptions) (*Bus, error) {
	if opts.StoreDir == "" {
		return nil, errors.New("natsjs: StoreDir is required")
	}
	if opts.ServerName == "" {
		opts.ServerName = "opendcc"
	}
	so := &server.Options{
		ServerName:         opts.ServerName,
		JetStream:          true,
		StoreDir:           opts.StoreDir,
		JetStreamMaxStore:  opts.MaxStore,
		SyncAlways:         opts.SyncAlways,
		DontListen:         true,
		NoSigs:             true,
		NoLog:              opts.Logger == nil,
		JetStreamMaxMemory: 64 << 20,
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("natsjs: %w", err)
	}
	if opts.Logger != nil {
		ns.SetLoggerV2(opts.Logger, false, false, false)
	}
	ns.Start()
	wait := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		return nil, errors.New("natsjs: embedded server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Name("opendcc-embedded"), nats.MaxReconnects(-1))
	if err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("natsjs: connect in-process: %w", err)
	}
	b, err := newBus(nc)
	if err != nil {
		nc.Close()
		ns.Shutdown()
		return nil, err
	}
	b.ns = ns
	return b, nil
}

// OpenURL connects to a JetStream-enabled server or cluster at url.
func OpenURL(ctx context.Context, url string, opts URLOptions) (*Bus, error) {
	o := append([]nats.Option{nats.Name(opts.Name), nats.MaxReconnects(-1)}, opts.Options...)
	if dl, ok := ctx.Deadline(); ok {
		o = append(o, nats.Timeout(time.Until(dl)))
	}
	nc, err := nats.Connect(url, o...)
	if err != nil {
		return nil, fmt.Errorf("natsjs: connect %s: %w", url, err)
	}
	b, err := newBus(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsjs: %s has no JetStream: %w", url, err)
	}
	return b, nil
}

func newBus(nc *nats.Conn) (*Bus, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsjs: %w", err)
	}
	return &Bus{nc: nc, js: js, subs: map[*subscription]struct{}{}}, nil
}

// Server returns the embedded server, nil over a URL.
func (b *Bus) Server() *server.Server { return b.ns }

// EnsureStream implements bus.Bus.
func (b *Bus) EnsureStream(ctx context.Context, s bus.Stream) error {
	dup := s.Duplicates
	if dup == 0 {
		dup = 2 * time.Minute
		if s.MaxAge > 0 && s.MaxAge < dup {
			dup = s.MaxAge
		}
	}
	rep := s.Replicas
	if rep == 0 {
		rep = 1
	}
	_, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       s.Name,
		Subjects:   s.Subjects,
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		MaxAge:     s.MaxAge,
		Replicas:   rep,
		Duplicates: dup,
		Discard:    jetstream.DiscardOld,
	})
	if err != nil {
		return fmt.Errorf("natsjs: stream %s: %w", s.Name, err)
	}
	return nil
}

// DeleteStream implements bus.Bus.
func (b *Bus) DeleteStream(ctx context.Context, name string) error {
	err := b.js.DeleteStream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	return err
}

// Publish implements bus.Bus.
func (b *Bus) Publish(ctx context.Context, subject string, data []byte, opts ...bus.PublishOption) (uint64, bool, error) {
	var po bus.PublishOptions
	for _, o := range opts {
		o(&po)
	}
	m := nats.NewMsg(subject)
	m.Data = data
	for k, v := range po.Headers {
		m.Header.Set(k, v)
	}
	var jo []jetstream.PublishOpt
	if po.MsgID != "" {
		jo = append(jo, jetstream.WithMsgID(po.MsgID))
	}
	ack, err := b.js.PublishMsg(ctx, m, jo...)
	if err != nil {
		if b.nc.IsClosed() {
			return 0, false, bus.ErrClosed
		}
		return 0, false, fmt.Errorf("natsjs: publish %s: %w", subject, err)
	}
	return ack.Sequence, ack.Duplicate, nil
}

// Consume implements bus.Bus.
func (b *Bus) Consume(ctx context.Context, c bus.ConsumerConfig, h bus.Handler) (bus.Subscription, error) {
	if c.Name == "" {
		return nil, errors.New("natsjs: consumer needs a name")
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, bus.ErrClosed
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = 1000
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	maxDeliver := c.MaxDeliver
	if maxDeliver == 0 {
		maxDeliver = -1
	}
	if len(c.Backoff) > 0 && maxDeliver < 0 {
		// JetStream requires MaxDeliver > len(Backoff).
		maxDeliver = 1 << 30
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, c.Stream, jetstream.ConsumerConfig{
		Durable:       c.Name,
		FilterSubject: c.Filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait,
		MaxDeliver:    maxDeliver,
		MaxAckPending: c.MaxAckPending,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		BackOff:       c.Backoff,
	})
	if err != nil {
		return nil, fmt.Errorf("natsjs: consumer %s/%s: %w", c.Stream, c.Name, err)
	}
	hctx, cancel := context.WithCancel(context.Background())
	s := &subscription{b: b, cancel: cancel}
	batch := min(c.MaxAckPending, 256)
	// One pull subscription feeds the workers: one pull request in flight
	// per consumer instead of one per worker (each with its own batches,
	// waiting requests and heartbeats on the server).
	work := make(chan jetstream.Msg)
	for range c.Workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				select {
				case m := <-work:
					if hctx.Err() != nil {
						return // stopping: leave it for redelivery
					}
					h(hctx, &msg{m: m})
				case <-hctx.Done():
					return // what is left is redelivered
				}
			}
		}()
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case work <- m:
		case <-hctx.Done(): // stopping: leave it for redelivery
		}
	}, jetstream.PullMaxMessages(batch))
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("natsjs: consume %s/%s: %w", c.Stream, c.Name, err)
	}
	s.ccs = append(s.ccs, cc)
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s, nil
}

// Pending implements bus.Bus.
func (b *Bus) Pending(ctx context.Context, stream, consumer string) (bus.Pending, error) {
	cons, err := b.js.Consumer(ctx, stream, consumer)
	if err != nil {
		return bus.Pending{}, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return bus.Pending{}, err
	}
	return bus.Pending{Waiting: info.NumPending, AckPending: info.NumAckPending, Redelivery: info.NumRedelivered}, nil
}

// Close implements bus.Bus: it stops the subscriptions, flushes, closes the
// connection and shuts the embedded server down (waiting for it).
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := make([]*subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.Stop()
	}
	err := b.nc.FlushTimeout(5 * time.Second)
	b.nc.Close()
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
	if errors.Is(err, nats.ErrConnectionClosed) {
		err = nil
	}
	return err
}

type subscription struct {
	b      *Bus
	ccs    []jetstream.ConsumeContext
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

func (s *subscription) Stop() {
	s.once.Do(func() {
		s.cancel()
		for _, cc := range s.ccs {
			cc.Stop()
		}
		for _, cc := range s.ccs {
			select {
			case <-cc.Closed():
			case <-time.After(5 * time.Second):
			}
		}
		s.wg.Wait()
		s.b.mu.Lock()
		delete(s.b.subs, s)
		s.b.mu.Unlock()
	})
}

type msg struct{ m jetstream.Msg }

func (m *msg) Subject() string { return m.m.Subject() }
func (m *msg) Data() []byte    { return m.m.Data() }
func (m *msg) Header(k string) string {
	if h := m.m.Headers(); h != nil {
		return h.Get(k)
	}
	return ""
}
func (m *msg) ID() string { return m.Header(jetstream.MsgIDHeader) }
func (m *msg) Seq() uint64 {
	md, err := m.m.Metadata()
	if err != nil {
		return 0
	}
	return md.Sequence.Stream
}
func (m *msg) Delivery() int {
	md, err := m.m.Metadata()
	if err != nil {
		return 0
	}
	return int(md.NumDelivered)
}
func (m *msg) Ack(ctx context.Context) error { return m.m.DoubleAck(ctx) }
func (m *msg) Nak(d time.Duration) error {
	if d <= 0 {
		return m.m.Nak()
	}
	return m.m.NakWithDelay(d)
}
func (m *msg) Term() error       { return m.m.Term() }
func (m *msg) InProgress() error { return m.m.InProgress() }

// String describes the bus for logs.
func (b *Bus) String() string {
	if b.ns != nil {
		return "nats-jetstream embedded " + b.ns.StoreDir()
	}
	return "nats-jetstream " + b.nc.ConnectedUrlRedacted() + " (server " + b.nc.ConnectedServerVersion() + ", max payload " + strconv.FormatInt(b.nc.MaxPayload(), 10) + ")"
}
