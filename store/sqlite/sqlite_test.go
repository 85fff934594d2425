package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opendcc/opendcc/store"
	"github.com/opendcc/opendcc/store/sqlite"
	"github.com/opendcc/opendcc/store/storetest"
)

func open(t testing.TB) store.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "opendcc.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func BenchmarkStore(b *testing.B) { storetest.Bench(b, open) }

func BenchmarkStoreSyncFull(b *testing.B) {
	storetest.Bench(b, func(t testing.TB) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "opendcc.db"), sqlite.Options{Synchronous: "FULL"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opendcc.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "FULL"})
	if err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRequest(1, 42)
	if ok, err := storetest.AcceptTx(ctx, s, r, nil); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening runs the migrations again (a no-op) and finds the data.
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Requests().GetRequest(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Counters().Accept(ctx, store.CounterKey{Space: "duis", Originator: r.Originator}, 42); ok {
		t.Fatal("counter 42 accepted again after reopen")
	}
	w, _ := sqlite.DB(s)
	var mode string
	if err := w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q %v", mode, err)
	}
	var n int
	if err := w.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != 1 {
		t.Fatalf("schema_migrations: %d %v", n, err)
	}
}

// TestReadOnlyReaders: the read pool cannot write.
func TestReadOnlyReaders(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, r := sqlite.DB(s)
	if _, err := r.Exec("INSERT INTO counters(space, originator, last) VALUES ('x', 'y', 1)"); err == nil {
		t.Fatal("reader connection wrote")
	}
}

const crashEnv = "OPENDCC_SQLITE_CRASH_CHILD"

// TestCrashChild is the child process of TestCrashSafety: it accepts
// requests for ever and prints "ok N" after each commit.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child of TestCrashSafety only")
	}
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	start, _, err := s.Counters().Last(ctx, store.CounterKey{Space: "duis", Originator: storetest.EUI(1)})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	for i := start + 1; ; i++ {
		ok, err := storetest.AcceptTx(ctx, s, storetest.NewRequest(1, i), nil)
		if err != nil || !ok {
			fmt.Println("error", ok, err)
			os.Exit(2)
		}
		fmt.Printf("ok %d\n", i) // unbuffered: written after the commit
	}
}

// TestCrashSafety kills a writer process with SIGKILL in the middle of its
// transactions and checks that every transaction it reported committed is
// there after reopening, with nothing half-written.
func TestCrashSafety(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip()
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		last := uint64(0)
		killed := false
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "error") {
				t.Fatal(line)
			}
			n, err := strconv.ParseUint(strings.TrimPrefix(line, "ok "), 10, 64)
			if err != nil {
				continue
			}
			last = n
			if !killed && n >= uint64(300*(round+1)) {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("child ended on its own after %d", last)
		}
		// Each round's child continues from the last counter on disk.
		ctx := context.Background()
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rq := s.Requests()
		for i := uint64(1); i <= last; i++ {
			r, err := rq.RequestByCounter(ctx, storetest.EUI(1), i)
			if err != nil {
				t.Fatalf("round %d: committed request %d lost: %v", round, i, err)
			}
			if _, err := s.Outbox().GetMessage(ctx, "ack:"+r.ID); err != nil {
				t.Fatalf("round %d: outbox row of %d lost: %v", round, i, err)
			}
		}
		c, _, err := s.Counters().Last(ctx, store.CounterKey{Space: "duis", Originator: storetest.EUI(1)})
		if err != nil || c < last {
			t.Fatalf("counter %d < %d (%v)", c, last, err)
		}
		counts, _ := rq.CountByState(ctx)
		st, _ := s.Outbox().Stats(ctx, time.Now())
		// Atomicity: requests and outbox rows match one to one, and the
		// counter names the newest request.
		if counts[store.RequestAccepted] != int(c) || st.Undelivered != int(c) {
			t.Fatalf("round %d: counter %d, requests %v, outbox %d", round, c, counts, st.Undelivered)
		}
		w, _ := sqlite.DB(s)
		var check string
		if err := w.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("integrity_check: %q %v", check, err)
		}
		t.Logf("round %d: killed after %d reported commits; %d requests on reopen, integrity ok", round, last, c)
		s.Close()
	}
}
