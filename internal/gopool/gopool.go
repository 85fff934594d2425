// Package gopool runs functions on goroutines that wait a while for the
// next function after theirs returns. A goroutine started per item (a
// device send, a direct delivery, a simulated WAN hop) starts with a small
// stack and grows it, copying, on every item: ≈ 20 µs of the end-to-end
// benchmark's CPU per request went to runtime.copystack. A kept goroutine
// keeps its grown stack.
package gopool

import (
	"sync"
	"time"
)

// Pool hands functions to idle goroutines, starting one when none waits.
// It does not bound concurrency (callers that need a bound keep their own
// semaphore); the zero value is ready to use.
type Pool struct {
	// Idle is how long a goroutine waits for another function before it
	// exits (default 1 s).
	Idle time.Duration

	once sync.Once
	work chan func()
}

// Go runs fn on a goroutine, as "go fn()" does.
func (p *Pool) Go(fn func()) {
	p.once.Do(func() { p.work = make(chan func()) })
	select {
	case p.work <- fn: // an idle goroutine takes it
	default:
		go p.run(fn)
	}
}

func (p *Pool) run(fn func()) {
	idle := p.Idle
	if idle <= 0 {
		idle = time.Second
	}
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		fn()
		fn = nil
		t.Reset(idle)
		select {
		case fn = <-p.work:
		case <-t.C:
			return
		}
	}
}
