// Package e2e holds end-to-end tests that run the opendcc binary itself.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/xmldsig"
)

const readRegisters = `<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>90-B3-D5-1F-30-01-00-00:%s:%d</sr:RequestID><sr:CommandVariant>1</sr:CommandVariant><sr:ServiceReference>4.1</sr:ServiceReference><sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>`

var (
	codeRE = regexp.MustCompile(`<sr:ResponseCode>([^<]*)<`)
	ridRE  = regexp.MustCompile(`<sr:RequestID>([^<]*)<`)
)

// deliveries is a Receive Response Service that records every final
// response by RequestID.
type deliveries struct {
	mu  sync.Mutex
	got map[string][]string // RequestID → response codes delivered
}

func (d *deliveries) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rid, code := ridRE.FindSubmatch(b), codeRE.FindSubmatch(b)
	if rid != nil && code != nil {
		d.mu.Lock()
		d.got[string(rid[1])] = append(d.got[string(rid[1])], string(code[1]))
		d.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestSIGKILLLosesNothing runs `opendcc serve`, sends device requests,
// kills the process with SIGKILL while requests are in flight, restarts it
// on the same data folder, and checks that every request answered I99
// gets exactly one final outcome, delivered at least once.
func TestSIGKILLLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "opendcc")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/opendcc")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	rec := &deliveries{got: map[string][]string{}}
	hs := httptest.NewServer(rec)
	defer hs.Close()
	data := t.TempDir()
	addr := freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--data", data, "--profile", "dccboxed", "--duis", addr, "--smki", "127.0.0.1:0",
			"--response-url", hs.URL, "--device-deadline", "3s")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 200; i++ {
			if r, err := http.Get("http://" + addr + "/healthz"); err == nil {
				r.Body.Close()
				return cmd
			}
			time.Sleep(50 * time.Millisecond)
		}
		cmd.Process.Kill()
		t.Fatal("server did not come up")
		return nil
	}
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	key, cert, err := keys.XMLSigningKey(eui.MustParse("90-B3-D5-1F-30-01-00-00"))
	if err != nil {
		t.Fatal(err)
	}
	srv := start()
	defer func() { srv.Process.Kill(); srv.Wait() }()

	// Send for a while from four goroutines (two meters), kill mid-stream.
	var mu sync.Mutex
	acked := map[string]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var counter uint64 = uint64(time.Now().UnixMilli()) << 4
	var cmu sync.Mutex
	next := func() uint64 { cmu.Lock(); defer cmu.Unlock(); counter++; return counter }
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			target := []string{"00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A6"}[g%2]
			for ctx.Err() == nil {
				c := next()
				doc, err := xmldsig.Sign([]byte(fmt.Sprintf(readRegisters, target, c)), key, cert)
				if err != nil {
					t.Error(err)
					return
				}
				r, err := http.Post("http://"+addr+"/api/v1/serviceS", "application/xml", bytes.NewReader(doc))
				if err != nil {
					return // the server is gone
				}
				b, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if m := codeRE.FindSubmatch(b); m != nil && string(m[1]) == "I99" {
					mu.Lock()
					acked[string(ridRE.FindSubmatch(b)[1])] = true
					mu.Unlock()
				}
			}
		}(g)
	}
	time.Sleep(2500 * time.Millisecond)
	srv.Process.Signal(os.Kill)
	srv.Wait()
	cancel()
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n == 0 {
		t.Fatal("no request was acknowledged before the kill")
	}
	rec.mu.Lock()
	before := len(rec.got)
	rec.mu.Unlock()
	t.Logf("killed with %d requests acknowledged, %d final responses delivered", n, before)

	srv = start()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rec.mu.Lock()
		missing := 0
		for id := range acked {
			if len(rec.got[id]) == 0 {
				missing++
			}
		}
		rec.mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged requests never got a final response", missing, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	outcomes := map[string]int{}
	dups := 0
	for id := range acked {
		codes := rec.got[id]
		for _, c := range codes[1:] {
			if c != codes[0] {
				t.Errorf("%s: more than one final outcome: %v", id, codes)
			}
		}
		dups += len(codes) - 1
		outcomes[codes[0]]++
	}
	t.Logf("after restart: %d acknowledged requests, final outcomes %v, %d redeliveries", n, outcomes, dups)
}
