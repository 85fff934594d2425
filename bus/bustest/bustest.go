// Package bustest is the conformance suite for bus.Bus implementations.
package bustest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opendcc/opendcc/bus"
)

// Opener returns a connected bus; it registers its own clean-up.
type Opener func(t testing.TB) bus.Bus

var ctx = context.Background()

// Names gives a stream name and subject prefix unique to this run, so tests
// can share an external server.
func Names() (stream, prefix string) {
	n := rand.Uint64()
	return fmt.Sprintf("T_%016x", n), fmt.Sprintf("t%016x", n)
}

// NewStream creates a unique stream capturing prefix.> and deletes it at
// clean-up.
func NewStream(t testing.TB, b bus.Bus) (stream, prefix string) {
	t.Helper()
	stream, prefix = Names()
	if err := b.EnsureStream(ctx, bus.Stream{Name: stream, Subjects: []string{prefix + ".>"}, MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.DeleteStream(context.Background(), stream) })
	return stream, prefix
}

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, bus.Bus)
	}{
		{"PublishConsume", testPublishConsume},
		{"OrderSequential", testOrderSequential},
		{"NakRedelivery", testNakRedelivery},
		{"AckTimeoutRedelivery", testAckTimeoutRedelivery},
		{"Term", testTerm},
		{"Dedup", testDedup},
		{"SharedConsumer", testSharedConsumer},
		{"StopRedelivers", testStopRedelivers},
		{"Filters", testFilters},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

type got struct {
	mu   sync.Mutex
	msgs []string
	ch   chan struct{}
}

func newGot() *got { return &got{ch: make(chan struct{}, 1<<16)} }

func (g *got) add(s string) {
	g.mu.Lock()
	g.msgs = append(g.msgs, s)
	g.mu.Unlock()
	g.ch <- struct{}{}
}

func (g *got) wait(t testing.TB, n int, d time.Duration) []string {
	t.Helper()
	deadline := time.After(d)
	for {
		g.mu.Lock()
		k := len(g.msgs)
		g.mu.Unlock()
		if k >= n {
			break
		}
		select {
		case <-g.ch:
		case <-deadline:
			g.mu.Lock()
			defer g.mu.Unlock()
			t.Fatalf("got %d of %d messages in %v: %v", len(g.msgs), n, d, g.msgs)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.msgs...)
}

func (g *got) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.msgs)
}

func publish(t testing.TB, b bus.Bus, subject string, data string, opts ...bus.PublishOption) uint64 {
	t.Helper()
	seq, _, err := b.Publish(ctx, subject, []byte(data), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func consume(t testing.TB, b bus.Bus, c bus.ConsumerConfig, h bus.Handler) bus.Subscription {
	t.Helper()
	s, err := b.Consume(ctx, c, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func testPublishConsume(t *testing.T, b bus.Bus) {
	stream, p := NewStream(t, b)
	s1 := publish(t, b, p+".a", "one", bus.WithHeader("X-Kind", "response"), bus.WithMsgID("m1"))
	s2 := publish(t, b, p+".a", "two")
	if s2 != s1+1 {
		t.Fatalf("sequences %d %d", s1, s2)
	}
	g := newGot()
	consume(t, b, bus.ConsumerConfig{Stream: stream, Name: "w"}, func(ctx context.Context, m bus.Msg) {
		if m.Delivery() != 1 {
			t.Errorf("delivery %d", m.Delivery())
		}
		g.add(fmt.Sprintf("%s|%s|%s|%s|%d", m.Subject(), m.Data(), m.Header("X-Kind"), m.ID(), m.Seq()))
		if err := m.Ack(ctx); err != nil {
			t.Error(err)
		}
	})
	msgs := g.wait(t, 2, 10*time.Second)
	want := []string{fmt.Sprintf("%s.a|one|response|m1|%d", p, s1), fmt.Sprintf("%s.a||||%d", p, s2)}
	want[1] = fmt.Sprintf("%s.a|two|||%d", p, s2)
	if msgs[0] != want[0] || msgs[1] != want[1] {
		t.Fatalf("got %q\nwant %q", msgs, want)
	}
	waitPending(t, b, stream, "w", bus.Pending{})
}

// waitPending waits until the consumer's depth is want (acks are applied
// asynchronously to the consumer info).
func waitPending(t testing.TB, b bus.Bus, stream, consumer string, want bus.Pending) {
	t.Helper()
	var p bus.Pending
	var err error
	for range 100 {
		p, err = b.Pending(ctx, stream, consumer)
		if err == nil && p.Waiting == want.Waiting && p.AckPending == want.AckPending {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pending %+v (%v), want %+v", p, err, want)
}

func testOrderSequential(t *testing.T, b bus.Bus) {
	// With MaxAckPending 1 a consumer sees messages in publish order, and
	// a Nak'd message is redelivered before the next one.
	stream, p := NewStream(t, b)
	const N = 50
	for i := range N {
		publish(t, b, p+".dev.1", fmt.Sprint(i))
	}
	g := newGot()
	var nakked atomic.Bool
	consume(t, b, bus.ConsumerConfig{Stream: stream, Name: "seq", MaxAckPending: 1, AckWait: 5 * time.Second}, func(ctx context.Context, m bus.Msg) {
		g.add(string(m.Data()))
		if string(m.Data()) == "10" && nakked.CompareAndSwap(false, true) {
			m.Nak(100 * time.Millisecond)
			return
		}
		m.Ack(ctx)
	})
	msgs := g.wait(t, N+1, 20*time.Second)
	var want []string
	for i := range N {
		want = append(want, fmt.Sprint(i))
		if i == 10 {
			want = append(want, "10")
		}
	}
	if fmt.Sprint(msgs) != fmt.Sprint(want) {
		t.Fatalf("order %v", msgs)
	}
}

func testNakRedelivery(t *testing.T, b bus.Bus) {
	stream, p := NewStream(t, b)
	publish(t, b, p+".x", "retry-me")
	type d struct {
		n  int
		at time.Time
	}
	var mu sync.Mutex
	var ds []d
	g := newGot()
	consume(t, b, bus.ConsumerConfig{Stream: stream, Name: "nak", AckWait: 10 * time.Second}, func(ctx context.Context, m bus.Msg) {
		mu.Lock()
		ds = append(ds, d{m.Delivery(), time.Now()})
		mu.Unlock()
		g.add(string(m.Data()))
		if m.Delivery() < 3 {
			m.Nak(300 * time.Millisecond)
			return
		}
		m.Ack(ctx)
	})
	g.wait(t, 3, 10*time.Second)
	mu.Lock()
	defer mu.Unlock()
	for i, x := range ds {
		if x.n != i+1 {
			t.Fatalf("delivery counts %+v", ds)
		}
	}
	if gap := ds[1].at.Sub(ds[0].at); gap < 250*time.Millisecond || gap > 5*time.Second {
		t.Fatalf("Nak delay not honoured: %v", gap)
	}
	waitPending(t, b, stream, "nak", bus.Pending{})
}

func testAckTimeoutRedelivery(t *testing.T, b bus.Bus) {
	stream, p := NewStream(t, b)
	publish(t, b, p+".x", "slow")
	g := newGot()
	start := time.Now()
	var second atomic.Int64
	consume(t, b, bus.ConsumerConfig{Stream: stream, Name: "slow", AckWait: 500 * time.Millisecond}, func(ctx context.Context, m bus.Msg) {
		g.add(fmt.Sprint(m.Delivery()))
		if m.Delivery() == 1 {
			return // "crash": no ack
		}
		second.Store(int64(time.Since(start)))
		m.Ack(ctx)
	})
	msgs := g.wait(t, 2, 10*time.Second)
	if msgs[0] != "1" || msgs[1] != "2" || time.Duration(second.Load()) < 450*time.Millisecond {
		t.Fatalf("deliveries %v after %v", msgs, time.Duration(second.Load()))
	}
	waitPending(t, b, stream, "slow", bus.Pending{})
}

func testTerm(t *testing.T, b bus.Bus) {
	stream, p := NewStream(t, b)
	publish(t, b, p+".x", "poison")
	publish(t, b, p+".x", "fine")
	g := newGot()
	consume(t, b, bus.ConsumerConfig{Stream: stream, Name: "term", AckWait: 300 * time.Millisecond}, func(ctx context.Context, m bus.Msg) {
		g.add(string(m.Data()))
		if string(m.Data()) == "poison" {
			m.Term()
			return
		}
		m.Ack(ctx)
	})
	g.wait(t, 2, 10*time.Second)
	time.Sleep(time.Second) // past AckWait: nothing comes back
	if n := g.count(); n != 2 {
		t.Fatalf("%d deliveries after Term", n)
	}
}

func testDedup(t *testing.T, b bus.Bus) {
	stream, p := NewStream(t, b)
	s1, dup1, err := b.Publish(ctx, p+".x", []byte("a"), bus.WithMsgID("resp-1"))
	if err != nil || dup1 {
		t.Fatal(err, dup1)
	}
	s2, dup2, err := b.Publish(ctx, p+".x", []byte("a again"), bus.WithMsgID("resp-1"))
	if err != nil || !dup2 || s2 != s1 {
		t.Fatalf("republish: seq %d dup %v err %v", s2, dup2, err)
	}
	g := newGot()
	consume(t, b, bus.ConsumerConfig{Stream: stream, Name: "d"}, func(ctx context.Context, m bus.Msg) {
		g.add(string(m.Data()))
		m.Ack(ctx)
	})
	g.wait(t, 1, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if g.count() != 1 {
		t.Fatal("duplicate delivered")
	}
}

func testSharedConsumer(t *testing.T, b bus.Bus) {
	// Several workers (and two Consume calls) on one durable consumer share
	// the work: every message is handled, and (with no failures) once.
	stream, p := NewStream(t, b)
	const N = 400
	for i := range N {
		publish(t, b, fmt.Sprintf("%s.dev.%d", p, i%13), fmt.Sprint(i))
	}
	seen := make([]atomic.Int32, N)
	g := newGot()
	h := func(ctx context.Context, m bus.Msg) {
		var i int
		fmt.Sscan(string(m.Data()), &i)
		seen[i].Add(1)
		if err := m.Ack(ctx); err != nil {
			t.Error(err)
		}
		g.add("")
	}
	cfg := bus.ConsumerConfig{Stream: stream, Name: "pool", Workers: 3, AckWait: 10 * time.Second}
	consume(t, b, cfg, h)
	consume(t, b, cfg, h)
	g.wait(t, N, 20*time.Second)
	time.Sleep(100 * time.Millisecond)
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Fatalf("message %d handled %d times", i, n)
		}
	}
	waitPending(t, b, stream, "pool", bus.Pending{})
}

func testStopRedelivers(t *testing.T, b bus.Bus) {
	// A consumer stopped with messages unacknowledged: a new Consume on the
	// same name gets them (and everything not yet delivered).
	stream, p := NewStream(t, b)
	for i := range 10 {
		publish(t, b, p+".x", fmt.Sprint(i))
	}
	g1 := newGot()
	s1, err := b.Consume(ctx, bus.ConsumerConfig{Stream: stream, Name: "st", AckWait: 500 * time.Millisecond, MaxAckPending: 1}, func(ctx context.Context, m bus.Msg) {
		g1.add(string(m.Data()))
		if string(m.Data()) < "3" {
			m.Ack(ctx)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	g1.wait(t, 4, 10*time.Second) // 0, 1, 2 acked; 3 left unacked
	s1.Stop()
	g2 := newGot()
	consume(t, b, bus.ConsumerConfig{Stream: stream, Name: "st", AckWait: 500 * time.Millisecond, MaxAckPending: 1}, func(ctx context.Context, m bus.Msg) {
		g2.add(string(m.Data()))
		m.Ack(ctx)
	})
	msgs := g2.wait(t, 7, 10*time.Second)
	if fmt.Sprint(msgs) != "[3 4 5 6 7 8 9]" {
		t.Fatalf("after restart of the consumer: %v", msgs)
	}
}

func testFilters(t *testing.T, b bus.Bus) {
	// Two consumers with disjoint filters on one work-queue stream.
	stream, p := NewStream(t, b)
	publish(t, b, p+".device.send", "cmd")
	publish(t, b, p+".deliver.user", "resp")
	gd, gu := newGot(), newGot()
	consume(t, b, bus.ConsumerConfig{Stream: stream, Name: "dev", Filter: p + ".device.>"}, func(ctx context.Context, m bus.Msg) {
		gd.add(string(m.Data()))
		m.Ack(ctx)
	})
	consume(t, b, bus.ConsumerConfig{Stream: stream, Name: "usr", Filter: p + ".deliver.>"}, func(ctx context.Context, m bus.Msg) {
		gu.add(string(m.Data()))
		m.Ack(ctx)
	})
	if d, u := gd.wait(t, 1, 10*time.Second), gu.wait(t, 1, 10*time.Second); d[0] != "cmd" || u[0] != "resp" {
		t.Fatal(d, u)
	}
}
