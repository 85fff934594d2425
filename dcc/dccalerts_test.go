package dcc

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/refdata"
)

// TestDeviceAlertCode reads the alert code of every RTDS alert whose file
// name gives it (…_8F66_…_ALERT_…, …_NA_810E_ALERT_…).
func TestDeviceAlertCode(t *testing.T) {
	dir := refdata.Path(t, "gbcs", "rtds", "RTDS-4.5.0")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*_ALERT*_GBCS.HEX"))
	named := regexp.MustCompile(`_([0-9A-F]{4})_(?:[A-Z_]*_)?ALERT`)
	n := 0
	for _, f := range files {
		m := named.FindStringSubmatch(filepath.Base(f))
		if m == nil {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := gbcs.Parse(raw)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if got := deviceAlertCode(msg.MessageCode, msg.Content); got != m[1] {
			t.Errorf("%s: alert code %s, want %s", filepath.Base(f), got, m[1])
		}
		n++
	}
	if n == 0 {
		t.Fatal("no RTDS alert named by its code")
	}
	t.Logf("%d RTDS alerts: alert code read from the payload", n)
}

// FuzzDeviceAlertCode: any content gives a 4-hex-digit code, never a panic.
func FuzzDeviceAlertCode(f *testing.F) {
	f.Add(uint16(0x1001), []byte{0x0F, 0, 0, 0, 1, 0, 0x02, 0x02, 0x12, 0x81, 0x0E})
	f.Add(uint16(0x00CF), []byte{0x01, 0x09, 0x00, 0x8F, 0x72})
	f.Add(uint16(0x00B2), []byte{0x30, 0x81, 0x05, 0x02, 0x03, 0x00, 0x80, 0x71})
	f.Fuzz(func(t *testing.T, mc uint16, content []byte) {
		if c := deviceAlertCode(mc, content); len(c) != 4 {
			t.Fatalf("code %q", c)
		}
	})
}
