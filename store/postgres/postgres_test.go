package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/store/internal/sqlcore"
	"github.com/opendcc/opendcc/store/postgres"
	"github.com/opendcc/opendcc/store/storetest"
)

func dsn() string {
	if d := os.Getenv("OPENDCC_TEST_POSTGRES"); d != "" {
		return d
	}
	return postgres.DefaultTestDSN
}

// reachable skips the test when PostgreSQL cannot be reached, unless CI is
// set, where it fails.
func reachable(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn())
	if err == nil {
		conn.Close(ctx)
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("PostgreSQL at %s unreachable (CI=true): %v", dsn(), err)
	}
	t.Skipf("PostgreSQL at %s unreachable: %v (set OPENDCC_TEST_POSTGRES)", dsn(), err)
}

// open gives each caller its own schema, dropped at clean-up.
func open(t testing.TB) store.Store {
	reachable(t)
	ctx := context.Background()
	schema := fmt.Sprintf("opendcc_test_%d_%08x", os.Getpid(), rand.Uint32())
	s, err := postgres.Open(ctx, dsn(), postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if err := postgres.DropSchema(context.Background(), dsn(), schema); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func BenchmarkStore(b *testing.B) { storetest.Bench(b, open) }

// TestReopenAndIsolation: data survives a reopen of the same schema, the
// migrations are not applied twice, and another schema sees nothing.
func TestReopenAndIsolation(t *testing.T) {
	reachable(t)
	ctx := context.Background()
	schema := fmt.Sprintf("opendcc_test_%d_%08x", os.Getpid(), rand.Uint32())
	t.Cleanup(func() { postgres.DropSchema(context.Background(), dsn(), schema) })
	s, err := postgres.Open(ctx, dsn(), postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRequest(1, 42)
	if ok, err := storetest.AcceptTx(ctx, s, r, nil); err != nil || !ok {
		t.Fatal(ok, err)
	}
	s.Close()
	s, err = postgres.Open(ctx, dsn(), postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Requests().GetRequest(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := postgres.Pool(s).QueryRow(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != 2 {
		t.Fatalf("schema_migrations: %d %v", n, err)
	}
	other := open(t)
	if _, err := other.Requests().GetRequest(ctx, r.ID); err == nil {
		t.Fatal("another schema sees the request")
	}
	if _, err := postgres.Open(ctx, dsn(), postgres.Options{Schema: "bad; drop"}); err == nil {
		t.Fatal("bad schema name accepted")
	}
}

// countDocs counts the rows of the document tables.
func countDocs(t testing.TB, s store.Store) (metas, payloads int) {
	err := postgres.Pool(s.(*sqlcore.Store)).QueryRow(context.Background(),
		"SELECT (SELECT COUNT(*) FROM request_meta), (SELECT COUNT(*) FROM outbox_payload)").Scan(&metas, &payloads)
	if err != nil {
		t.Fatal(err)
	}
	return metas, payloads
}

func TestDocumentsDeleted(t *testing.T) { storetest.RunDocumentsDeleted(t, open, countDocs) }

// TestMigrateDocuments: a schema made by migration 0001 alone, holding
// requests and outbox messages with their documents inside the rows, is
// migrated on Open and reads back the same.
func TestMigrateDocuments(t *testing.T) {
	reachable(t)
	ctx := context.Background()
	schema := fmt.Sprintf("opendcc_test_%d_%08x", os.Getpid(), rand.Uint32())
	t.Cleanup(func() { postgres.DropSchema(context.Background(), dsn(), schema) })
	conn, err := pgx.Connect(ctx, dsn())
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE SCHEMA " + schema, "SET search_path TO " + schema, string(script),
		"CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
		"INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0)"} {
		if _, err := conn.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range storetest.V1Rows() {
		q, n := "", 0
		for _, c := range st.Query {
			if c == '?' {
				n++
				q += fmt.Sprintf("$%d", n)
				continue
			}
			q += string(c)
		}
		if _, err := conn.Exec(ctx, q, st.Args...); err != nil {
			t.Fatal(q, err)
		}
	}
	conn.Close(ctx)
	s, err := postgres.Open(ctx, dsn(), postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckMigrated(t, s, countDocs)
	var n int
	err = postgres.Pool(s).QueryRow(ctx, `SELECT COUNT(*) FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'requests' AND column_name = 'meta'`, schema).Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("requests.meta still there: %d %v", n, err)
	}
}
