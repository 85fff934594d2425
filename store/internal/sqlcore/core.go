// Package sqlcore is the SQL shared by store/sqlite and store/postgres: the
// repositories written once against a small Querier interface, with the
// dialect differences (placeholders, row locking, GREATEST) in Dialect.
package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// Row is one result row; Scan returns store.ErrNotFound when there is none.
type Row interface{ Scan(dest ...any) error }

// Rows is a result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Querier runs statements written with '?' placeholders (already rewritten
// by the Dialect when they reach it).
type Querier interface {
	Exec(ctx context.Context, q string, args ...any) (int64, error)
	QueryRow(ctx context.Context, q string, args ...any) Row
	Query(ctx context.Context, q string, args ...any) (Rows, error)
}

// Backend is a database: a reader and a writer outside transactions, and
// transactions.
type Backend interface {
	Reader() Querier
	Writer() Querier
	InTx(ctx context.Context, fn func(q Querier) error) error
	Close() error
}

// Dialect holds what differs between SQLite and PostgreSQL.
type Dialect struct {
	Name string
	// Dollar: rewrite '?' to $1, $2, ….
	Dollar bool
	// ForUpdate is appended to SELECTs that lock rows ("" in SQLite, where
	// the single writer connection serialises writers).
	ForUpdate string
	// SkipLocked is appended to the claim subqueries.
	SkipLocked string
	// Greatest is the two-argument maximum function.
	Greatest string
	// LockKey, if set, is a statement taking one text argument that takes a
	// transaction-scoped lock on it (PostgreSQL advisory lock).
	LockKey string
	// CacheUsers: the store is the only writer of its database, so users,
	// devices and registrations read may be cached in memory (see
	// userCache, deviceCache, regCache).
	CacheUsers bool

	cache sync.Map
}

// Q rewrites a '?' query for the dialect.
func (d *Dialect) Q(q string) string {
	if !d.Dollar {
		return q
	}
	if v, ok := d.cache.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	s := b.String()
	d.cache.Store(q, s)
	return s
}

// Store implements store.Store over a Backend.
type Store struct {
	d *Dialect
	b Backend
	repos
}

// New returns the store over b.
func New(d *Dialect, b Backend) *Store {
	s := &Store{d: d, b: b}
	s.repos = repos{d: d, b: b, r: b.Reader(), w: b.Writer()}
	if d.CacheUsers {
		s.repos.uc = newUserCache()
		s.repos.dc = newDeviceCache()
		s.repos.rc = newRegCache()
	}
	return s
}

// InTx implements store.Store.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Repos) error) error {
	var rp *repos
	defer func() {
		if rp != nil && rp.usersDirty {
			rp.uc.endWrite() // committed or rolled back
		}
		if rp != nil && rp.devicesDirty {
			rp.dc.endWrite()
		}
		if rp != nil && rp.regsDirty {
			rp.rc.endWrite()
		}
	}()
	return s.b.InTx(ctx, func(q Querier) error {
		rp = &repos{d: s.d, b: s.b, r: q, w: q, tx: true, uc: s.uc, dc: s.dc, rc: s.rc}
		return fn(rp)
	})
}

// Close implements store.Store.
func (s *Store) Close() error { return s.b.Close() }

// Backend returns the backend (for tests and benchmarks).
func (s *Store) Backend() Backend { return s.b }

var _ store.Store = (*Store)(nil)

// repos implements every repository on the same querier pair.
type repos struct {
	d    *Dialect
	b    Backend
	r, w Querier
	tx   bool
	uc   *userCache // nil: no cache
	// usersDirty: this transaction wrote users (it reads them from the
	// database, and the cache is emptied again when it ends).
	usersDirty bool
	dc         *deviceCache // nil: no cache
	// devicesDirty: this transaction wrote devices.
	devicesDirty bool
	rc           *regCache // nil: no cache
	// regsDirty: this transaction wrote registrations.
	regsDirty bool
}

func (r *repos) Users() store.Users                 { return r }
func (r *repos) Inventory() store.Inventory         { return r }
func (r *repos) Registrations() store.Registrations { return r }
func (r *repos) Counters() store.Counters           { return r }
func (r *repos) Requests() store.Requests           { return r }
func (r *repos) Outbox() store.Outbox               { return r }
func (r *repos) Holds() store.Holds                 { return r }

// atomic runs fn in the current transaction, or in a new one.
func (r *repos) atomic(ctx context.Context, fn func(q Querier) error) error {
	if r.tx {
		return fn(r.w)
	}
	return r.b.InTx(ctx, fn)
}

func (r *repos) exec(ctx context.Context, q Querier, sql string, args ...any) (int64, error) {
	return q.Exec(ctx, r.d.Q(sql), args...)
}

func (r *repos) row(ctx context.Context, q Querier, sql string, args ...any) Row {
	return q.QueryRow(ctx, r.d.Q(sql), args...)
}

func (r *repos) query(ctx context.Context, q Querier, sql string, args ...any) (Rows, error) {
	return q.Query(ctx, r.d.Q(sql), args...)
}

func (r *repos) lock(ctx context.Context, q Querier, key string) error {
	if r.d.LockKey == "" {
		return nil
	}
	_, err := r.exec(ctx, q, r.d.LockKey, key)
	return err
}

// ---------------------------------------------------------------- encoding

// ns is a time's column value: Unix nanoseconds, 0 for the zero time,
// saturated at store.MaxTime and store.MinTime (UnixNano would wrap).
func ns(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.After(store.MaxTime):
		return math.MaxInt64
	case t.Before(store.MinTime):
		return math.MinInt64
	}
	return t.UnixNano()
}

func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func euiStr(e eui.EUI64) string { return e.Hex() }

func euiParse(s string) (eui.EUI64, error) {
	if s == "" {
		return eui.EUI64{}, nil
	}
	return eui.Parse(s)
}

// EncCounter maps an unsigned counter onto a signed 64-bit column keeping
// the order: the top bit is flipped.
func EncCounter(c uint64) int64 { return int64(c ^ 1<<63) }

// DecCounter inverts EncCounter.
func DecCounter(v int64) uint64 { return uint64(v) ^ 1<<63 }

func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func nonNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ---------------------------------------------------------------- migrations

// Migrate applies the *.sql files of dir in name order that are not yet
// recorded in schema_migrations, each in its own transaction. Each file
// name starts with its version number ("0001_init.sql").
func Migrate(ctx context.Context, d *Dialect, b Backend, files fs.FS, exec func(ctx context.Context, q Querier, script string) error) error {
	if _, err := b.Writer().Exec(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("store: migration %s: no version prefix", name)
		}
		script, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		err = b.InTx(ctx, func(q Querier) error {
			if d.LockKey != "" {
				if _, err := q.Exec(ctx, d.Q(d.LockKey), "opendcc-migrations"); err != nil {
					return err
				}
			}
			var one int
			err := q.QueryRow(ctx, d.Q("SELECT 1 FROM schema_migrations WHERE version = ?"), v).Scan(&one)
			if err == nil {
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := exec(ctx, q, string(script)); err != nil {
				return fmt.Errorf("store: migration %s: %w", name, err)
			}
			_, err = q.Exec(ctx, d.Q("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)"), v, name, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// collect reads every row of a query with scan and closes the rows; err is
// the query's error, so a call reads: rows, err := r.query(...); return
// collect(rows, err, scanX).
func collect[T any](rows Rows, err error, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
