package cpuparts

import (
	"bytes"
	"crypto/sha256"
	"runtime/pprof"
	"sync"
	"testing"
	"time"
)

// spin burns CPU for d.
func spin(d time.Duration) {
	b := make([]byte, 4096)
	for end := time.Now().Add(d); time.Now().Before(end); {
		s := sha256.Sum256(b)
		b[0] = s[0]
	}
}

// TestShares profiles labelled and unlabelled work in a 3:1 ratio of wall
// time on separate goroutines, including a goroutine started inside Run
// (it inherits the label), and reads the shares back.
func TestShares(t *testing.T) {
	if testing.Short() {
		t.Skip("profiles one second of work")
	}
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skipf("a CPU profile is already running: %v", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go Run(Client, func() {
		defer wg.Done()
		inner := make(chan struct{})
		go func() { spin(300 * time.Millisecond); close(inner) }() // inherits the label
		spin(300 * time.Millisecond)
		<-inner
	})
	go func() {
		defer wg.Done()
		Run(Devices, func() { spin(300 * time.Millisecond) })
		spin(200 * time.Millisecond) // the label is gone after Run
	}()
	wg.Wait()
	pprof.StopCPUProfile()
	shares, err := Shares(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shares %v", shares)
	sum := 0.0
	for _, v := range shares {
		sum += v
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("shares add up to %v", sum)
	}
	// Wall times 600 : 300 : 200 ms; CPU is shared unevenly on a busy
	// machine, so only the order and a loose range are checked.
	if !(shares[Client] > shares[Devices] && shares[Client] > 0.3 && shares[Devices] > 0.1 && shares[""] > 0.05) {
		t.Errorf("shares %v, want client ≈ 0.55 > devices ≈ 0.27 > unlabelled ≈ 0.18", shares)
	}
}

func TestSharesRejectsGarbage(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("not gzip"), {0x1f, 0x8b}} {
		if _, err := Shares(in); err == nil {
			t.Errorf("Shares(%q): no error", in)
		}
	}
}

// FuzzProtoFields: the decoder returns an error or nothing, never panics.
func FuzzProtoFields(f *testing.F) {
	f.Add([]byte{0x12, 0x02, 0x08, 0x01})
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = protoFields(b, func(int, uint64, []byte) error { return nil })
	})
}
