package bustest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opendcc/opendcc/bus"
)

// Bench measures publish (synchronous, durable: one round trip per
// message), parallel publish, and consume+ack throughput with 512-byte
// messages.
func Bench(b *testing.B, open Opener) {
	payload := make([]byte, 512)
	b.Run("Publish", func(b *testing.B) {
		bs := open(b)
		_, p := NewStream(b, bs)
		b.SetBytes(int64(len(payload)))
		b.ResetTimer()
		for i := range b.N {
			if _, _, err := bs.Publish(ctx, fmt.Sprintf("%s.dev.%d", p, i%64), payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PublishParallel", func(b *testing.B) {
		bs := open(b)
		_, p := NewStream(b, bs)
		b.SetBytes(int64(len(payload)))
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if _, _, err := bs.Publish(ctx, fmt.Sprintf("%s.dev.%d", p, i%64), payload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	for _, workers := range []int{1, 4} {
		b.Run(fmt.Sprintf("ConsumeAck/workers=%d", workers), func(b *testing.B) {
			bs := open(b)
			stream, p := NewStream(b, bs)
			for i := range b.N {
				if _, _, err := bs.Publish(ctx, fmt.Sprintf("%s.dev.%d", p, i%64), payload); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			done := make(chan struct{})
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			s, err := bs.Consume(ctx, bus.ConsumerConfig{Stream: stream, Name: "bench", Workers: workers, AckWait: time.Minute},
				func(ctx context.Context, m bus.Msg) {
					if err := m.Ack(ctx); err != nil {
						b.Error(err)
					}
					if n.Add(1) == int64(b.N) {
						close(done)
					}
				})
			if err != nil {
				b.Fatal(err)
			}
			<-done
			b.StopTimer()
			s.Stop()
		})
	}
}
