package storetest

import (
	"fmt"
	"sync/atomic"
	"syscall"
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
	b.Run("RequestLifecycleParallel", func(b *testing.B) { benchLifecycle(b, open(b)) })
}

// benchLifecycle is what the store does for one device request end to end
// (issue #6), from 16 goroutines: the accepting transaction (counter,
// request with a 3.4 KB meta and its command), the finishing one (outcome,
// outbox entry with a 2.4 KB signed response) and the delivered mark, with
// the targets spread over 256 devices. cpu-µs/op is the process's CPU
// (user + system) per lifecycle.
func benchLifecycle(b *testing.B, s store.Store) {
	meta := make([]byte, 3400)
	for i := range meta {
		meta[i] = 'A' + byte(i%26)
	}
	payload, gbcs := make([]byte, 2400), make([]byte, 120)
	orig := EUI(1)
	var ctr atomic.Uint64
	b.SetParallelism(8)
	c0 := CPUTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := ctr.Add(1)
			target := EUI(0xDB12345678900000 + c%256)
			id := fmt.Sprintf("%s:%s:%d", orig, target, c)
			now := time.Now()
			err := s.InTx(ctx, func(tx store.Repos) error {
				if _, err := tx.Counters().Accept(ctx, store.CounterKey{Space: "duis", Originator: orig}, c); err != nil {
					return err
				}
				return tx.Requests().InsertRequest(ctx, store.Request{ID: id, Originator: orig, Target: target, Counter: c, SRV: "4.1.1",
					CommandVariant: 1, Role: store.RoleImportSupplier, GBCS: gbcs, AcceptedAt: now, Deadline: now.Add(time.Minute), Meta: meta})
			})
			if err != nil {
				b.Error(err)
				return
			}
			rid := fmt.Sprintf("%s:%s:%d", target, orig, c)
			err = s.InTx(ctx, func(tx store.Repos) error {
				if _, err := tx.Requests().Finish(ctx, id, store.RequestResponded, "I0", gbcs, now); err != nil {
					return err
				}
				_, err := tx.Outbox().Enqueue(ctx, store.OutboxMessage{ID: rid, Recipient: orig, Kind: "response", RequestID: id,
					Payload: payload, NextAttempt: now.Add(10 * time.Second)})
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := s.Outbox().Delivered(ctx, rid, now); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(CPUTime()-c0)/float64(b.N)/1e3, "cpu-µs/op")
}

// CPUTime is the process's user + system CPU time.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
