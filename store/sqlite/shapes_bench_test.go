package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/store/internal/sqlcore"
	"github.com/opendcc/opendcc/store/storetest"
)

// BenchmarkSecondaryIndexes is the store's request life cycle
// (storetest.Bench) with secondary indexes of the requests and outbox
// tables dropped: how much of its cost they are (BENCHMARKS.md, fifth
// round). Run it with -bench 'SecondaryIndexes/.*/RequestLifecycleParallel'.
func BenchmarkSecondaryIndexes(b *testing.B) {
	for _, v := range []struct {
		name string
		drop []string
	}{
		{"none", nil},
		{"requests_open", []string{"DROP INDEX requests_open"}},
		{"outbox_recipient+expires", []string{"DROP INDEX outbox_recipient", "DROP INDEX outbox_expires"}},
		{"all-secondary", []string{"DROP INDEX requests_open", "DROP INDEX outbox_recipient", "DROP INDEX outbox_expires", "DROP INDEX requests_open_deadline", "DROP INDEX outbox_due"}},
	} {
		b.Run(v.name, func(b *testing.B) {
			storetest.Bench(b, func(t testing.TB) store.Store {
				s, err := Open(context.Background(), filepath.Join(t.TempDir(), "opendcc.db"), Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				for _, d := range v.drop {
					if _, err := s.Backend().(*backend).w.Exec(d); err != nil {
						t.Fatal(err)
					}
				}
				return s
			})
		})
	}
}

// BenchmarkLifecycleShapes runs a request's life cycle (accept; finish
// with an outbox entry; the delivered mark: three group-commit items, as
// the store does) on bare tables of different shapes, with the sizes the
// store writes (a 3.6 KB request, a 2.4 KB signed response): TEXT keys and
// UPDATEs as the store's schema has them, INTEGER keys, appends only, and
// small rows. It measures what the shape of the storage costs, apart from
// the store's columns, secondary indexes and code (BENCHMARKS.md, fifth
// round).
func BenchmarkLifecycleShapes(b *testing.B) {
	type step struct {
		sql  string
		args func(i int64) []any
	}
	meta, payload, resp := make([]byte, 3600), make([]byte, 2400), make([]byte, 200)
	id := func(i int64) string {
		return fmt.Sprintf("90-B3-D5-1F-30-01-00-00:00-DB-12-34-FE-00-%02X-%02X:%d", (i%256)>>8, i%256, i)
	}
	variants := []struct {
		name  string
		ddl   []string
		items [][]step
	}{
		{"text-pk-update", []string{
			`CREATE TABLE r (id TEXT PRIMARY KEY, state TEXT, meta BLOB, response BLOB)`,
			`CREATE TABLE o (id TEXT PRIMARY KEY, payload BLOB, delivered INTEGER)`},
			[][]step{
				{{`INSERT INTO r(id, state, meta) VALUES (?, 'a', ?)`, func(i int64) []any { return []any{id(i), meta} }}},
				{{`UPDATE r SET state = 'f', response = ? WHERE id = ?`, func(i int64) []any { return []any{resp, id(i)} }},
					{`INSERT INTO o(id, payload, delivered) VALUES (?, ?, 0)`, func(i int64) []any { return []any{id(i), payload} }}},
				{{`UPDATE o SET delivered = 1 WHERE id = ?`, func(i int64) []any { return []any{id(i)} }}},
			}},
		{"int-pk-update", []string{
			`CREATE TABLE r (n INTEGER PRIMARY KEY, state TEXT, meta BLOB, response BLOB)`,
			`CREATE TABLE o (n INTEGER PRIMARY KEY, payload BLOB, delivered INTEGER)`},
			[][]step{
				{{`INSERT INTO r(n, state, meta) VALUES (?, 'a', ?)`, func(i int64) []any { return []any{i, meta} }}},
				{{`UPDATE r SET state = 'f', response = ? WHERE n = ?`, func(i int64) []any { return []any{resp, i} }},
					{`INSERT INTO o(n, payload, delivered) VALUES (?, ?, 0)`, func(i int64) []any { return []any{i, payload} }}},
				{{`UPDATE o SET delivered = 1 WHERE n = ?`, func(i int64) []any { return []any{i} }}},
			}},
		{"int-pk-insert-only", []string{
			`CREATE TABLE r (n INTEGER PRIMARY KEY, state TEXT, meta BLOB)`,
			`CREATE TABLE f (n INTEGER PRIMARY KEY, state TEXT, response BLOB)`,
			`CREATE TABLE o (n INTEGER PRIMARY KEY, payload BLOB)`,
			`CREATE TABLE d (n INTEGER PRIMARY KEY)`},
			[][]step{
				{{`INSERT INTO r(n, state, meta) VALUES (?, 'a', ?)`, func(i int64) []any { return []any{i, meta} }}},
				{{`INSERT INTO f(n, state, response) VALUES (?, 'f', ?)`, func(i int64) []any { return []any{i, resp} }},
					{`INSERT INTO o(n, payload) VALUES (?, ?)`, func(i int64) []any { return []any{i, payload} }}},
				{{`INSERT INTO d(n) VALUES (?)`, func(i int64) []any { return []any{i} }}},
			}},
		{"journal", []string{`CREATE TABLE j (n INTEGER PRIMARY KEY, kind INTEGER, data BLOB)`},
			[][]step{
				{{`INSERT INTO j(kind, data) VALUES (1, ?)`, func(i int64) []any { return []any{meta} }}},
				{{`INSERT INTO j(kind, data) VALUES (2, ?)`, func(i int64) []any { return []any{payload} }}},
				{{`INSERT INTO j(kind, data) VALUES (3, ?)`, func(i int64) []any { return []any{[]byte("delivered")} }}},
			}},
		{"text-pk-update-side-blobs", []string{
			`CREATE TABLE r (id TEXT PRIMARY KEY, state TEXT, body INTEGER, response BLOB)`,
			`CREATE TABLE rb (n INTEGER PRIMARY KEY, meta BLOB)`,
			`CREATE TABLE o (id TEXT PRIMARY KEY, body INTEGER, delivered INTEGER)`,
			`CREATE TABLE ob (n INTEGER PRIMARY KEY, payload BLOB)`},
			[][]step{
				{{`INSERT INTO rb(n, meta) VALUES (?, ?)`, func(i int64) []any { return []any{i, meta} }},
					{`INSERT INTO r(id, state, body) VALUES (?, 'a', ?)`, func(i int64) []any { return []any{id(i), i} }}},
				{{`UPDATE r SET state = 'f', response = ? WHERE id = ?`, func(i int64) []any { return []any{resp, id(i)} }},
					{`INSERT INTO ob(n, payload) VALUES (?, ?)`, func(i int64) []any { return []any{i, payload} }},
					{`INSERT INTO o(id, body, delivered) VALUES (?, ?, 0)`, func(i int64) []any { return []any{id(i), i} }}},
				{{`UPDATE o SET delivered = 1 WHERE id = ?`, func(i int64) []any { return []any{id(i)} }}},
			}},
		{"text-pk-update-compressed", []string{
			`CREATE TABLE r (id TEXT PRIMARY KEY, state TEXT, meta BLOB, response BLOB)`,
			`CREATE TABLE o (id TEXT PRIMARY KEY, payload BLOB, delivered INTEGER)`},
			[][]step{
				{{`INSERT INTO r(id, state, meta) VALUES (?, 'a', ?)`, func(i int64) []any { return []any{id(i), meta[:1500]} }}},
				{{`UPDATE r SET state = 'f', response = ? WHERE id = ?`, func(i int64) []any { return []any{resp, id(i)} }},
					{`INSERT INTO o(id, payload, delivered) VALUES (?, ?, 0)`, func(i int64) []any { return []any{id(i), payload[:1000]} }}},
				{{`UPDATE o SET delivered = 1 WHERE id = ?`, func(i int64) []any { return []any{id(i)} }}},
			}},
		{"text-pk-update-small-rows", []string{
			`CREATE TABLE r (id TEXT PRIMARY KEY, state TEXT, meta BLOB, response BLOB)`,
			`CREATE TABLE o (id TEXT PRIMARY KEY, payload BLOB, delivered INTEGER)`},
			[][]step{
				{{`INSERT INTO r(id, state, meta) VALUES (?, 'a', ?)`, func(i int64) []any { return []any{id(i), meta[:300]} }}},
				{{`UPDATE r SET state = 'f', response = ? WHERE id = ?`, func(i int64) []any { return []any{resp, id(i)} }},
					{`INSERT INTO o(id, payload, delivered) VALUES (?, ?, 0)`, func(i int64) []any { return []any{id(i), payload[:100]} }}},
				{{`UPDATE o SET delivered = 1 WHERE id = ?`, func(i int64) []any { return []any{id(i)} }}},
			}},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			s, err := Open(context.Background(), filepath.Join(b.TempDir(), "j.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			be := s.Backend().(*backend)
			for _, d := range v.ddl {
				if _, err := be.w.Exec(d); err != nil {
					b.Fatal(err)
				}
			}
			c0 := storetest.CPUTime()
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					i := n.Add(1)
					for _, item := range v.items {
						err := be.gc.do(ctx, func(q sqlcore.Querier) error {
							for _, st := range item {
								if _, err := q.Exec(ctx, st.sql, st.args(i)...); err != nil {
									return err
								}
							}
							return nil
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}
			})
			b.StopTimer()
			cpu := storetest.CPUTime() - c0
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
