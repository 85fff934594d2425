package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/opendcc/opendcc/store/internal/sqlcore"
)

// Group commit. SQLite has one writer; every transaction pays BEGIN
// IMMEDIATE, the commit (WAL frames, the wal-index and its locks) and the
// hand-over of the writer connection. Under load most of that is shared:
// the committer runs the transactions that callers submit concurrently one
// after the other inside one SQLite transaction, each in its own
// SAVEPOINT, and commits them together.
//
//   - An item whose function returns an error (or panics) is rolled back to
//     its savepoint: it leaves nothing written, exactly as its own
//     transaction would, while the other items of the group commit.
//   - InTx returns only after the commit that made the item durable (or
//     with the commit's error, for every item of the group): nothing is
//     acknowledged before it is committed.
//   - Items run in arrival order and see the writes of the items before
//     them in the group, as serialised transactions would.
//   - Statements of an item run without the caller's cancellation: an
//     interrupted statement can roll back the whole SQLite transaction,
//     which is shared. A savepoint that vanished anyway (SQLite rolled the
//     transaction back on an I/O error) fails the whole group.
//
// No item waits for company: the committer takes the first item at once
// and adds those that queued meanwhile (while the previous group
// committed), up to maxGroup, so a lone caller pays one savepoint more
// than before and a busy store commits once per group.
const maxGroup = 256

type gcItem struct {
	ctx  context.Context
	fn   func(q sqlcore.Querier) error
	done chan gcResult
}

type gcResult struct {
	err      error
	panicked bool
	pv       any
}

type committer struct {
	b      *backend
	reqs   chan *gcItem
	mu     sync.RWMutex // held (read) while submitting; Close takes it
	closed bool
	stop   chan struct{}
	exited chan struct{}
}

var errClosed = errors.New("sqlite: store closed")

func newCommitter(b *backend) *committer {
	c := &committer{b: b, reqs: make(chan *gcItem), stop: make(chan struct{}), exited: make(chan struct{})}
	go c.loop()
	return c
}

func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	<-c.exited
}

// do runs fn as one item of a group and waits for the group's commit.
func (c *committer) do(ctx context.Context, fn func(q sqlcore.Querier) error) error {
	it := &gcItem{ctx: ctx, fn: fn, done: make(chan gcResult, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	select {
	case c.reqs <- it:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	// Submitted: wait for the outcome even if ctx ends now (the item may
	// commit).
	r := <-it.done
	if r.panicked {
		panic(r.pv)
	}
	return r.err
}

func (c *committer) loop() {
	defer close(c.exited)
	for {
		var first *gcItem
		select {
		case first = <-c.reqs:
		case <-c.stop:
			return
		}
		c.group(first)
	}
}

// group runs first and whatever queues behind it in one transaction.
func (c *committer) group(first *gcItem) {
	b := c.b
	items := []*gcItem{first}
	results := make([]gcResult, 0, 8)
	finish := func(fatal error) {
		for i, it := range items {
			var r gcResult
			if i < len(results) {
				r = results[i]
			}
			if fatal != nil && !r.panicked && r.err == nil {
				r.err = fatal
			}
			it.done <- r
		}
	}
	tx, err := b.w.BeginTx(context.Background(), nil)
	if err != nil {
		finish(err)
		return
	}
	m := &missed{}
	q := dbq{e: tx, c: b.wc, tx: tx, missed: m, keep: true}
	defer func() {
		for _, s := range m.qs {
			b.wc.get(context.Background(), s) // errors show at next use
		}
	}()
	yielded := false
	for i := 0; i < len(items); i++ {
		r, fatal := runItem(q, items[i])
		results = append(results, r)
		if fatal != nil {
			tx.Rollback()
			finish(fmt.Errorf("sqlite: group transaction: %w", fatal))
			return
		}
		if len(items) < maxGroup && i+1 == len(items) {
			select {
			case it := <-c.reqs:
				items = append(items, it)
			default:
				if !yielded {
					// Let the goroutines made runnable meanwhile reach
					// the queue before committing (cheap; no timer).
					yielded = true
					runtime.Gosched()
					select {
					case it := <-c.reqs:
						items = append(items, it)
					default:
					}
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		finish(err)
		return
	}
	finish(nil)
}

// runItem runs one item inside its savepoint. fatal is an error that
// leaves the group's transaction unusable.
func runItem(q dbq, it *gcItem) (r gcResult, fatal error) {
	ctx := context.WithoutCancel(it.ctx)
	if _, err := q.Exec(ctx, "SAVEPOINT gc"); err != nil {
		return gcResult{err: err}, err
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				r = gcResult{panicked: true, pv: p}
			}
		}()
		r.err = it.fn(q)
	}()
	if r.err != nil || r.panicked {
		if _, err := q.Exec(ctx, "ROLLBACK TO gc"); err != nil {
			return r, err
		}
	}
	if _, err := q.Exec(ctx, "RELEASE gc"); err != nil {
		return r, err
	}
	return r, nil
}

// gcWriter runs the writes made outside a transaction as group items.
type gcWriter struct {
	b      *backend
	direct dbq
}

func (w gcWriter) Exec(ctx context.Context, s string, args ...any) (n int64, err error) {
	err = w.b.gc.do(ctx, func(q sqlcore.Querier) error {
		n, err = q.Exec(ctx, s, args...)
		return err
	})
	return n, err
}

func (w gcWriter) QueryRow(ctx context.Context, s string, args ...any) sqlcore.Row {
	return gcRow{w: w, ctx: ctx, s: s, args: args}
}

// Query runs on the writer connection by itself (its rows are read after
// it returns).
func (w gcWriter) Query(ctx context.Context, s string, args ...any) (sqlcore.Rows, error) {
	return w.direct.Query(ctx, s, args...)
}

// gcRow runs its statement, as a group item, when scanned.
type gcRow struct {
	w    gcWriter
	ctx  context.Context
	s    string
	args []any
}

func (r gcRow) Scan(dest ...any) error {
	return r.w.b.gc.do(r.ctx, func(q sqlcore.Querier) error {
		return q.QueryRow(r.ctx, r.s, r.args...).Scan(dest...)
	})
}
