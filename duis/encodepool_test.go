package duis

import (
	"bytes"
	"os"
	"sync"
	"testing"
)

// TestEncodePool: Encode takes its encoder from a pool; documents encoded
// concurrently are the ones encoded one at a time, and a returned document
// is the caller's own (later encodes, and failing ones, do not change it).
func TestEncodePool(t *testing.T) {
	var msgs []*Message
	var want [][]byte
	for _, f := range corpus(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(data)
		if err != nil {
			continue
		}
		out, err := Encode(m)
		if err != nil {
			continue
		}
		msgs = append(msgs, m)
		want = append(want, bytes.Clone(out))
		if len(msgs) == 200 {
			break
		}
	}
	if len(msgs) < 20 {
		t.Fatalf("only %d documents encode", len(msgs))
	}
	// Held results stay as they were while others are encoded.
	held := make([][]byte, len(msgs))
	for i, m := range msgs {
		out, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		held[i] = out
		if _, err := Encode(&Message{}); err == nil { // a failing call in between
			t.Fatal("Encode of an empty Message succeeded")
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for r := 0; r < 5; r++ {
				for i := range msgs {
					j := (i*7 + g + r) % len(msgs)
					out, err := Encode(msgs[j])
					if err != nil {
						t.Error(err)
						return
					}
					if !bytes.Equal(out, want[j]) {
						t.Errorf("document %d encoded concurrently differs", j)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	for i := range held {
		if !bytes.Equal(held[i], want[i]) {
			t.Fatalf("document %d changed after later encodes", i)
		}
	}
}
