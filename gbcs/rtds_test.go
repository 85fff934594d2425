package gbcs

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// rtdsFile is one message of the RTDS 4.5.0 corpus.
type rtdsFile struct {
	Name string // file name
	Dir  string // directory name (SRV_UseCase)
	Kind Kind   // from the file name
	Data []byte
}

var (
	rtdsOnce  sync.Once
	rtdsFiles []rtdsFile
	rtdsErr   error
)

func rtdsDir(tb testing.TB) string {
	return refdata.Path(tb, "gbcs", "rtds", "RTDS-4.5.0")
}

func kindFromName(name string) Kind {
	switch {
	case strings.Contains(name, "_PRECOMMAND"):
		return KindPreCommand
	case strings.Contains(name, "_COMMAND"):
		return KindCommand
	case strings.Contains(name, "_RESPONSE"):
		return KindResponse
	case strings.Contains(name, "_ALERT"):
		return KindAlert
	}
	return 0
}

// loadRTDS reads every *.HEX file of the corpus (once per test binary).
func loadRTDS(tb testing.TB) []rtdsFile {
	tb.Helper()
	root := rtdsDir(tb)
	rtdsOnce.Do(func() {
		paths, err := filepath.Glob(filepath.Join(root, "*", "*.HEX"))
		if err != nil {
			rtdsErr = err
			return
		}
		sort.Strings(paths)
		for _, p := range paths {
			raw, err := os.ReadFile(p)
			if err != nil {
				rtdsErr = err
				return
			}
			data, err := hex.DecodeString(string(bytes.TrimSpace(raw)))
			if err != nil {
				rtdsErr = err
				return
			}
			name := filepath.Base(p)
			rtdsFiles = append(rtdsFiles, rtdsFile{Name: name, Dir: filepath.Base(filepath.Dir(p)), Kind: kindFromName(name), Data: data})
		}
	})
	if rtdsErr != nil {
		tb.Fatal(rtdsErr)
	}
	return rtdsFiles
}

func rtdsByName(tb testing.TB, name string) rtdsFile {
	tb.Helper()
	for _, f := range loadRTDS(tb) {
		if f.Name == name {
			return f
		}
	}
	tb.Fatalf("RTDS file %s not found", name)
	return rtdsFile{}
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// refdataPresent reports whether the RTDS corpus is there, without ending
// the test (fuzz seeding must not skip).
func refdataPresent() bool {
	d, ok := refdata.Find()
	if !ok {
		return false
	}
	_, err := os.Stat(filepath.Join(d, "gbcs", "rtds", "RTDS-4.5.0"))
	return err == nil
}
