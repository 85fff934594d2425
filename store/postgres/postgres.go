// Package postgres is the scale-out store: PostgreSQL through a pgx pool,
// with the same schema semantics as store/sqlite. Row locks (FOR UPDATE,
// SKIP LOCKED for claims) and transaction-scoped advisory locks replace the
// single writer of SQLite. The schema is migrated on Open from the embedded
// migrations/*.sql, into Options.Schema when set.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/store/internal/sqlcore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultTestDSN is the DSN the tests use when OPENDCC_TEST_POSTGRES is unset.
const DefaultTestDSN = "postgres://root@127.0.0.1:5432/test?sslmode=disable"

// Options tunes Open.
type Options struct {
	// Schema, when set, is created if missing and used as the search path
	// of every connection: several stores (or test runs) can share one
	// database.
	Schema string
	// MaxConns is the pool size (pgx default when 0).
	MaxConns int32
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to dsn and migrates the schema.
func Open(ctx context.Context, dsn string, opts Options) (*sqlcore.Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.Schema != "" {
		if !schemaName.MatchString(opts.Schema) {
			return nil, fmt.Errorf("postgres: schema name %q", opts.Schema)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.Schema
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.Schema != "" {
		if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+opts.Schema); err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: create schema: %w", err)
		}
	}
	b := &backend{p: pool}
	d := &sqlcore.Dialect{
		Name:       "postgres",
		Dollar:     true,
		ForUpdate:  " FOR UPDATE",
		SkipLocked: " FOR UPDATE SKIP LOCKED",
		Greatest:   "GREATEST",
		LockKey:    "SELECT pg_advisory_xact_lock(hashtext(?::text))",
	}
	sub, _ := fs.Sub(migrations, "migrations")
	err = sqlcore.Migrate(ctx, d, b, sub, func(ctx context.Context, q sqlcore.Querier, script string) error {
		// The simple protocol runs a multi-statement script in one call.
		_, err := q.(pq).e.Exec(ctx, script, pgx.QueryExecModeSimpleProtocol)
		return err
	})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return sqlcore.New(d, b), nil
}

// DropSchema drops schema and everything in it (test clean-up).
func DropSchema(ctx context.Context, dsn, schema string) error {
	if !schemaName.MatchString(schema) {
		return fmt.Errorf("postgres: schema name %q", schema)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	return err
}

// Pool returns the pgx pool of a store opened by Open (for tests).
func Pool(s *sqlcore.Store) *pgxpool.Pool { return s.Backend().(*backend).p }

type backend struct{ p *pgxpool.Pool }

func (b *backend) Reader() sqlcore.Querier { return pq{b.p} }
func (b *backend) Writer() sqlcore.Querier { return pq{b.p} }
func (b *backend) Close() error            { b.p.Close(); return nil }

func (b *backend) InTx(ctx context.Context, fn func(q sqlcore.Querier) error) (err error) {
	tx, err := b.p.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(pq{tx}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type pq struct{ e execer }

func (q pq) Exec(ctx context.Context, s string, args ...any) (int64, error) {
	tag, err := q.e.Exec(ctx, s, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q pq) QueryRow(ctx context.Context, s string, args ...any) sqlcore.Row {
	return row{q.e.QueryRow(ctx, s, args...)}
}

func (q pq) Query(ctx context.Context, s string, args ...any) (sqlcore.Rows, error) {
	rs, err := q.e.Query(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

type row struct{ r pgx.Row }

func (r row) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

var _ store.Store = (*sqlcore.Store)(nil)
