package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

func TestCorrelateCommand(t *testing.T) {
	req := refdata.Path(t, "duis", "templates", "ECS01a_1.1.1_CANCELLATION_TOU_BLOCK_SUCCESS_REQUEST_DUIS.XML")
	pc := refdata.Path(t, "gbcs", "rtds", "RTDS-4.5.0", "1.1.1_ECS01a", "ECS01a_1.1.1_CANCELLATION_TOU_BLOCK_SUCCESS_PRECOMMAND_GBCS.HEX")
	if code, out, errs := run(t, nil, "gbcs", "correlate", "--request", req, "--precommand", pc); code != 0 {
		t.Fatalf("matching pair: exit %d\n%s%s", code, out, errs)
	}
	// The same request with another counter no longer corresponds.
	b, err := os.ReadFile(req)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "</sr:RequestID>")
	j := strings.LastIndex(s[:i], ":")
	other := filepath.Join(t.TempDir(), "req.xml")
	os.WriteFile(other, []byte(s[:j+1]+"424242"+s[i:]), 0o644)
	code, out, _ := run(t, nil, "gbcs", "correlate", "--request", other, "--precommand", pc)
	if code != 1 || !strings.Contains(out, "424242") {
		t.Errorf("altered counter: exit %d\n%s", code, out)
	}
	// A non-critical request cannot be correlated.
	nc := refdata.Path(t, "duis", "templates", "8.2_READ_INVENTORY_REQUEST_DUIS.XML")
	if code, _, _ := run(t, nil, "gbcs", "correlate", "--request", nc, "--precommand", pc); code != exitSchemaInvalid {
		t.Errorf("non-critical request: exit %d", code)
	}
	if code, _, _ := run(t, nil, "gbcs", "correlate", "--request", req); code != exitUsage {
		t.Errorf("missing --precommand: exit %d", code)
	}
}
