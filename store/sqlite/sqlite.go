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
	b := &backend{r: r, w: w}
	d := &sqlcore.Dialect{Name: "sqlite", Greatest: "max"}
	sub, _ := fs.Sub(migrations, "migrations")
	if err := sqlcore.Migrate(ctx, d, b, sub, func(ctx context.Context, q sqlcore.Querier, script string) error {
		_, err := q.Exec(ctx, script)
		return err
	}); err != nil {
		b.Close()
		return nil, err
	}
	return sqlcore.New(d, b), nil
}

var _ store.Store = (*sqlcore.Store)(nil)

type backend struct{ r, w *sql.DB }

func (b *backend) Reader() sqlcore.Querier { return dbq{b.r} }
func (b *backend) Writer() sqlcore.Querier { return dbq{b.w} }

func (b *backend) Close() error { return errors.Join(b.r.Close(), b.w.Close()) }

func (b *backend) InTx(ctx context.Context, fn func(q sqlcore.Querier) error) (err error) {
	tx, err := b.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(txq{tx}); err != nil {
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
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

type dbq struct{ e execer }
type txq = dbq

func (q dbq) Exec(ctx context.Context, s string, args ...any) (int64, error) {
	res, err := q.e.ExecContext(ctx, s, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q dbq) QueryRow(ctx context.Context, s string, args ...any) sqlcore.Row {
	return row{q.e.QueryRowContext(ctx, s, args...)}
}

func (q dbq) Query(ctx context.Context, s string, args ...any) (sqlcore.Rows, error) {
	rs, err := q.e.QueryContext(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	return rows{rs}, nil
}

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
