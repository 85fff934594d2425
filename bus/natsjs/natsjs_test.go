package natsjs_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opendcc/opendcc/bus"
	"github.com/opendcc/opendcc/bus/bustest"
	"github.com/opendcc/opendcc/bus/natsjs"
)

var ctx = context.Background()

func embedded(t testing.TB) bus.Bus {
	b, err := natsjs.OpenEmbedded(ctx, natsjs.EmbeddedOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func natsURL() string {
	if u := os.Getenv("OPENDCC_TEST_NATS"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

func external(t testing.TB) bus.Bus {
	c, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	b, err := natsjs.OpenURL(c, natsURL(), natsjs.URLOptions{Name: "opendcc-test"})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("NATS JetStream at %s unreachable (CI=true): %v", natsURL(), err)
		}
		t.Skipf("NATS JetStream at %s unreachable: %v (set OPENDCC_TEST_NATS)", natsURL(), err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestEmbedded(t *testing.T) { bustest.Run(t, embedded) }

func TestExternal(t *testing.T) { bustest.Run(t, external) }

// TestEmbeddedNoSocket: the embedded server listens on no port.
func TestEmbeddedNoSocket(t *testing.T) {
	b, err := natsjs.OpenEmbedded(ctx, natsjs.EmbeddedOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if addr := b.Server().Addr(); addr != nil {
		t.Fatalf("embedded server listens on %v", addr)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:4222", 100*time.Millisecond); err == nil {
		c.Close() // another server may be there; ours must not be it
	}
}

// TestEmbeddedRestartDurability: stop the embedded server with messages
// unacknowledged (delivered but not acked, and never delivered), start it
// again on the same store directory: all of them come back, acked ones do
// not.
func TestEmbeddedRestartDurability(t *testing.T) {
	dir := t.TempDir()
	b, err := natsjs.OpenEmbedded(ctx, natsjs.EmbeddedOptions{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	stream := bus.Stream{Name: "DEVICE", Subjects: []string{"device.>"}}
	if err := b.EnsureStream(ctx, stream); err != nil {
		t.Fatal(err)
	}
	const N = 20
	for i := range N {
		if _, _, err := b.Publish(ctx, fmt.Sprintf("device.%d", i%3), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	cfg := bus.ConsumerConfig{Stream: "DEVICE", Name: "sender", AckWait: 500 * time.Millisecond, MaxAckPending: 8}
	var handled atomic.Int32
	done := make(chan struct{})
	_, err = b.Consume(ctx, cfg, func(ctx context.Context, m bus.Msg) {
		n := handled.Add(1)
		var i int
		fmt.Sscan(string(m.Data()), &i)
		if i < 5 {
			if err := m.Ack(ctx); err != nil {
				t.Error(err)
			}
		}
		if n == 8 {
			close(done)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	<-done // 0..4 acked, 5..7 delivered and not acked, 8..19 never delivered
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b, err = natsjs.OpenEmbedded(ctx, natsjs.EmbeddedOptions{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.EnsureStream(ctx, stream); err != nil { // idempotent on restart
		t.Fatal(err)
	}
	got := make(chan int, 100)
	_, err = b.Consume(ctx, cfg, func(ctx context.Context, m bus.Msg) {
		var i int
		fmt.Sscan(string(m.Data()), &i)
		got <- i
		m.Ack(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	timeout := time.After(15 * time.Second)
	for len(seen) < N-5 {
		select {
		case i := <-got:
			if i < 5 {
				t.Fatalf("acked message %d redelivered after restart", i)
			}
			seen[i] = true
		case <-timeout:
			t.Fatalf("after restart got %d of %d: %v", len(seen), N-5, seen)
		}
	}
	p, err := b.Pending(ctx, "DEVICE", "sender")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after restart: %d unacked messages came back; pending %+v", len(seen), p)
}

func BenchmarkEmbedded(b *testing.B) { bustest.Bench(b, embedded) }

func BenchmarkExternal(b *testing.B) { bustest.Bench(b, external) }
