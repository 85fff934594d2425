package dlms

import (
	"fmt"
	"testing"
)

// OBIS writes what fmt.Sprintf("%d-%d:%d.%d.%d.%d") writes.
func TestOBISFormat(t *testing.T) {
	for _, b := range [][]byte{{0, 0, 0, 0, 0, 0}, {1, 0, 1, 8, 0, 255}, {255, 255, 255, 255, 255, 255}, {9, 99, 100, 10, 1, 2}} {
		want := fmt.Sprintf("%d-%d:%d.%d.%d.%d", b[0], b[1], b[2], b[3], b[4], b[5])
		if got := OBIS(b); got != want {
			t.Errorf("OBIS(% x) = %q, want %q", b, got, want)
		}
	}
	for v := 0; v < 256; v++ {
		b := []byte{byte(v), byte(255 - v), byte(v / 3), byte(v * 7), byte(v ^ 0x5a), byte(v / 10)}
		if got, want := OBIS(b), fmt.Sprintf("%d-%d:%d.%d.%d.%d", b[0], b[1], b[2], b[3], b[4], b[5]); got != want {
			t.Fatalf("OBIS(% x) = %q, want %q", b, got, want)
		}
	}
	if OBIS([]byte{1, 2}) != "" {
		t.Error("OBIS of 2 bytes")
	}
}
