package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opendcc/opendcc/store"
)

// Bench runs the store benchmarks against stores from open: counter
// accept, the accept transaction (counter + request + outbox), the outbox
// claim + delivered cycle; each serial and with parallel goroutines.
func Bench(b *testing.B, open Opener) {
	b.Run("CounterAccept", func(b *testing.B) {
		s := open(b)
		k := store.CounterKey{Space: "duis", Originator: EUI(1)}
		b.ResetTimer()
		for i := range b.N {
			if ok, err := s.Counters().Accept(ctx, k, uint64(i+1)); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("CounterAcceptParallel", func(b *testing.B) {
		s := open(b)
		var orig atomic.Uint64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			k := store.CounterKey{Space: "duis", Originator: EUI(orig.Add(1))}
			c := uint64(0)
			for pb.Next() {
				c++
				if ok, err := s.Counters().Accept(ctx, k, c); err != nil || !ok {
					b.Error(ok, err)
					return
				}
			}
		})
	})
	b.Run("AcceptTx", func(b *testing.B) {
		s := open(b)
		b.ResetTimer()
		for i := range b.N {
			if ok, err := AcceptTx(ctx, s, NewRequest(1, uint64(i+1)), nil); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("AcceptTxParallel", func(b *testing.B) {
		s := open(b)
		var orig atomic.Uint64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			o := orig.Add(1)
			c := uint64(0)
			for pb.Next() {
				c++
				if ok, err := AcceptTx(ctx, s, NewRequest(o, c), nil); err != nil || !ok {
					b.Error(ok, err)
					return
				}
			}
		})
	})
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("OutboxClaimDeliver/batch=%d", batch), func(b *testing.B) {
			s := open(b)
			payload := make([]byte, 2048)
			for i := range b.N {
				if _, err := s.Outbox().Enqueue(ctx, store.OutboxMessage{ID: fmt.Sprintf("B%09d", i), Recipient: EUI(uint64(i % 10)),
					CreatedAt: T0, NextAttempt: T0, Payload: payload}); err != nil {
					b.Fatal(err)
				}
			}
			now := T0.Add(time.Second)
			b.ResetTimer()
			n := 0
			for n < b.N {
				ms, err := s.Outbox().Claim(ctx, "bench", now, time.Minute, batch)
				if err != nil || len(ms) == 0 {
					b.Fatal(len(ms), err)
				}
				for _, m := range ms {
					if _, err := s.Outbox().Delivered(ctx, m.ID, now); err != nil {
						b.Fatal(err)
					}
				}
				n += len(ms)
			}
		})
	}
}
