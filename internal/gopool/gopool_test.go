package gopool

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every function runs once, concurrently with the others, and idle
// goroutines are reused.
func TestPool(t *testing.T) {
	var p Pool
	var n atomic.Int64
	var wg sync.WaitGroup
	for round := 0; round < 3; round++ {
		for i := 0; i < 100; i++ {
			wg.Add(1)
			p.Go(func() { n.Add(1); wg.Done() })
		}
		wg.Wait()
	}
	if n.Load() != 300 {
		t.Fatalf("%d runs, want 300", n.Load())
	}
	// Functions that block each other need their own goroutines.
	block := make(chan struct{})
	var started sync.WaitGroup
	started.Add(10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		p.Go(func() { started.Done(); <-block; wg.Done() })
	}
	started.Wait()
	close(block)
	wg.Wait()
}

// An idle goroutine exits after Idle.
func TestPoolIdleExit(t *testing.T) {
	p := Pool{Idle: 10 * time.Millisecond}
	done := make(chan struct{})
	p.Go(func() { close(done) })
	<-done
	time.Sleep(50 * time.Millisecond)
	ran := make(chan struct{})
	p.Go(func() { close(ran) }) // no idle goroutine left: a new one
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("not run")
	}
}
