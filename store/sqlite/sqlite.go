// Package sqlite is the embedded store: SQLite through the pure-Go
// modernc.org/sqlite driver, in WAL mode, with one writer connection (all
// writes and transactions are serialised on it) and a pool of read-only
// connections. The schema is migrated on Open from the embedded
// migrations/*.sql.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sync"

	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/store/internal/sqlcore"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tunes Open.
type Options struct {
	// Synchronous is the SQLite synchronous pragma: "NORMAL" (the default)
	// survives a crash of the process (SIGKILL) without losing a committed
	// transaction; "FULL" also survives a power cut or OS crash, at the cost
	// of an fsync per commit.
	Synchronous string
	// Readers is the size of the read pool (default: 2 × GOMAXPROCS, ≥ 4).
	Readers int
	// NoGroupCommit runs every transaction (and every write outside one)
	// in its own SQLite transaction instead of grouping concurrent ones
	// into one commit (see groupcommit.go).
	NoGroupCommit bool
}

// Open opens (creating if needed) the database file at path and migrates it.
func Open(ctx context.Context, path string, opts Options) (*sqlcore.Store, error) {
	if opts.Synchronous == "" {
		opts.Synchronous = "NORMAL"
	}
	switch opts.Synchronous {
	case "NORMAL", "FULL", "EXTRA", "OFF":
	default:
		return nil, fmt.Errorf("sqlite: Synchronous %q", opts.Synchronous)
	}
	if opts.Readers <= 0 {
		opts.Readers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	dsn := func(readOnly bool) string {
		v := url.Values{}
		v.Add("_pragma", "busy_timeout(10000)")
		v.Add("_pragma", "journal_mode(WAL)")
		v.Add("_pragma", "synchronous("+opts.Synchronous+")")
		v.Add("_pragma", "foreign_keys(1)")
		if readOnly {
			v.Add("_pragma", "query_only(1)")
		} else {
			v.Add("_txlock", "immediate")
			// Checkpoint every 10,000 WAL pages (≈ 40 MB) instead of
			// 1,000: a page rewritten by many commits (table and index
			// tails) is copied back to the database once per checkpoint,
			// so fewer checkpoints write (and fsync) less. The checkpoint
			// runs in the committing connection, on the serial path.
			v.Add("_pragma", "wal_autocheckpoint(10000)")
		}
		return "file:" + path + "?" + v.Encode()
	}
	w, err := sql.Open("sqlite", dsn(false))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer creates the file and switches it to WAL before readers open.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(true))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	b := &backend{r: r, w: w, rc: &stmtCache{db: r, m: map[string]*sql.Stmt{}}, wc: &stmtCache{db: w, m: map[string]*sql.Stmt{}}}
	if !opts.NoGroupCommit {
		b.gc = newCommitter(b)
	}
	// Only this store writes the file (one writer connection): users may be
	// cached.
	d := &sqlcore.Dialect{Name: "sqlite", Greatest: "max", CacheUsers: true}
	sub, _ := fs.Sub(migrations, "migrations")
	if err := sqlcore.Migrate(ctx, d, b, sub, func(ctx context.Context, q sqlcore.Querier, script string) error {
		_, err := q.(dbq).e.ExecContext(ctx, script) // unprepared: several statements
		return err
	}); err != nil {
		b.Close()
		return nil, err
	}
	return sqlcore.New(d, b), nil
}

var _ store.Store = (*sqlcore.Store)(nil)

type backend struct {
	r, w   *sql.DB
	rc, wc *stmtCache
	gc     *committer // nil: one SQLite transaction per InTx
}

func (b *backend) Reader() sqlcore.Querier { return dbq{e: b.r, c: b.rc} }

// Writer runs writes outside a transaction: with group commit each Exec
// and QueryRow is an item of a group (its own savepoint), Query (used for
// UPDATE … RETURNING claims) runs on its own.
func (b *backend) Writer() sqlcore.Querier {
	if b.gc != nil {
		return gcWriter{b: b, direct: dbq{e: b.w, c: b.wc}}
	}
	return dbq{e: b.w, c: b.wc}
}

func (b *backend) Close() error {
	if b.gc != nil {
		b.gc.close()
	}
	b.rc.close()
	b.wc.close()
	return errors.Join(b.r.Close(), b.w.Close())
}

// stmtCache keeps one prepared statement per query text: preparing is a
// large part of a short statement's cost in SQLite.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) lookup(q string) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[q]
	return st, ok
}

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := c.lookup(q); ok {
		return st, nil
	}
	// Not under the lock: preparing waits for a connection, which a
	// transaction may hold while it looks the cache up.
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[q]; ok {
		st.Close()
		return old, nil
	}
	c.m[q] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

func (b *backend) InTx(ctx context.Context, fn func(q sqlcore.Querier) error) error {
	if b.gc != nil {
		return b.gc.do(ctx, fn)
	}
	return b.inTx(ctx, fn)
}

// inTx runs fn in its own SQLite transaction.
func (b *backend) inTx(ctx context.Context, fn func(q sqlcore.Querier) error) (err error) {
	tx, err := b.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	m := &missed{}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
		for _, q := range m.qs {
			b.wc.get(context.WithoutCancel(ctx), q) // errors show at next use
		}
	}()
	if err = fn(dbq{e: tx, c: b.wc, tx: tx, missed: m}); err != nil {
		return err
	}
	return tx.Commit()
}

// DB returns the writer and reader handles (for tests).
func DB(s *sqlcore.Store) (writer, reader *sql.DB) {
	b := s.Backend().(*backend)
	return b.w, b.r
}

type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// dbq runs prepared statements from the cache, on the pool or (tx set)
// bound to the transaction.
type dbq struct {
	e      execer
	c      *stmtCache
	tx     *sql.Tx
	missed *missed
	// keep: run statements without the caller's cancellation (a group's
	// transaction is shared: an interrupted statement would roll back the
	// other items' writes too).
	keep bool
}

type missed struct {
	mu sync.Mutex
	qs []string
}

func (m *missed) add(q string) {
	m.mu.Lock()
	m.qs = append(m.qs, q)
	m.mu.Unlock()
}

func (q dbq) stmt(ctx context.Context, s string) (*sql.Stmt, error) {
	if q.tx != nil {
		// Preparing on the pool now would wait for the writer connection
		// this transaction holds: use a statement local to the transaction
		// and cache it once the transaction ends.
		st, ok := q.c.lookup(s)
		if ok {
			return q.tx.StmtContext(ctx, st), nil
		}
		q.missed.add(s)
		return q.tx.PrepareContext(ctx, s)
	}
	return q.c.get(ctx, s)
}

func (q dbq) Exec(ctx context.Context, s string, args ...any) (int64, error) {
	if q.keep {
		ctx = context.WithoutCancel(ctx)
	}
	st, err := q.stmt(ctx, s)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q dbq) QueryRow(ctx context.Context, s string, args ...any) sqlcore.Row {
	if q.keep {
		ctx = context.WithoutCancel(ctx)
	}
	st, err := q.stmt(ctx, s)
	if err != nil {
		return errRow{err}
	}
	return row{st.QueryRowContext(ctx, args...)}
}

func (q dbq) Query(ctx context.Context, s string, args ...any) (sqlcore.Rows, error) {
	if q.keep {
		ctx = context.WithoutCancel(ctx)
	}
	st, err := q.stmt(ctx, s)
	if err != nil {
		return nil, err
	}
	rs, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return rows{rs}, nil
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type row struct{ r *sql.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

type rows struct{ *sql.Rows }

func (r rows) Close() { r.Rows.Close() }
