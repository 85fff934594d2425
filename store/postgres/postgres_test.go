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
	if err := postgres.Pool(s).QueryRow(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != 1 {
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
