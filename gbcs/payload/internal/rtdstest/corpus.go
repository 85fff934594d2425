package rtdstest

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// Message is one RTDS file with its payload.
type Message struct {
	Rel     string // path below RTDS-4.5.0
	Kind    string // PRECOMMAND, COMMAND, RESPONSE or ALERT
	Frame   []byte
	Header  Header
	Content []byte
}

// Alert reports whether the message is an alert (CRA 03).
func (m Message) Alert() bool { return m.Header.CRA == 3 }

// Load reads every RTDS message (skipping the test when the reference data
// is absent, failing under CI=true). Messages whose framing cannot be
// stripped fail the test.
func Load(tb testing.TB) []Message {
	tb.Helper()
	dir := refdata.Path(tb, "gbcs", "rtds", "RTDS-4.5.0")
	msgs, errs := LoadDir(dir)
	for _, err := range errs {
		tb.Error(err)
	}
	if len(msgs) == 0 {
		tb.Fatalf("no RTDS messages under %s", dir)
	}
	return msgs
}

// Seeds returns the RTDS messages for fuzz seeding, or nil when the
// reference data is absent (fuzz targets then run on their own seeds).
func Seeds() []Message {
	d, ok := refdata.Find()
	if !ok {
		return nil
	}
	msgs, _ := LoadDir(filepath.Join(d, "gbcs", "rtds", "RTDS-4.5.0"))
	return msgs
}

// LoadDir reads the RTDS messages under dir.
func LoadDir(dir string) ([]Message, []error) {
	var out []Message
	var errs []error
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(strings.ToUpper(p), ".HEX") {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		frame, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", p, err))
			return nil
		}
		h, content, err := Strip(frame)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: strip: %v", p, err))
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, Message{Rel: filepath.ToSlash(rel), Kind: kind(rel), Frame: frame, Header: h, Content: content})
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, errs
}

func kind(rel string) string {
	base := strings.ToUpper(filepath.Base(rel))
	for _, k := range []string{"PRECOMMAND", "COMMAND", "RESPONSE", "ALERT"} {
		if strings.Contains(base, "_"+k) {
			return k
		}
	}
	return ""
}
