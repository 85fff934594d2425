package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// jsonLines splits `--json` output into the per-message objects and the summary.
func jsonLines(t *testing.T, out string) ([]gbcsResult, gbcsSummary) {
	t.Helper()
	var msgs []gbcsResult
	var sum gbcsSummary
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		if strings.HasPrefix(string(line), `{"summary":true`) {
			if err := json.Unmarshal(line, &sum); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var r gbcsResult
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("bad JSON line %.100s: %v", line, err)
		}
		msgs = append(msgs, r)
	}
	return msgs, sum
}

func TestGBCSParseRTDS(t *testing.T) {
	rtds := refdata.Path(t, "gbcs", "rtds", "RTDS-4.5.0")
	keys := refdata.Path(t, "gbcs", "rtds", "keystore")
	code, out, errs := run(t, nil, "gbcs", "parse", "--json", "--keys", keys, rtds)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	msgs, sum := jsonLines(t, out)
	if sum.Messages != len(msgs) || sum.Failed != 0 || sum.Messages == 0 {
		t.Fatalf("summary %+v for %d messages", sum, len(msgs))
	}
	if sum.MAC["invalid"] != 0 || sum.Signature["invalid"] != 0 || sum.MAC["valid"] == 0 || sum.Signature["valid"] == 0 || sum.Decrypted == 0 {
		t.Errorf("checks: %+v", sum)
	}
	for _, m := range msgs {
		if m.Counter == nil || m.Originator == "" || m.MessageCode == "" || len(m.Payload) == 0 {
			t.Errorf("%s: incomplete result %+v", m.File, m)
		}
	}
	t.Logf("RTDS: %d messages, MAC %v, signature %v, %d decrypted", sum.Messages, sum.MAC, sum.Signature, sum.Decrypted)

	// Without keys every present check is unknown, never invalid.
	code, out, _ = run(t, nil, "gbcs", "parse", "--json", rtds)
	_, sum = jsonLines(t, out)
	if code != 0 || sum.MAC["valid"] != 0 || sum.MAC["invalid"] != 0 || sum.MAC["unknown"] == 0 {
		t.Errorf("without keys: exit %d %+v", code, sum)
	}
}

func TestGBCSParseFailures(t *testing.T) {
	keys := refdata.Path(t, "gbcs", "rtds", "keystore")
	file := refdata.Path(t, "gbcs", "rtds", "RTDS-4.5.0", "4.1.1_ECS17b", "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	hexmsg := strings.TrimSpace(string(b))
	// As a literal argument, hex, it decodes and its MAC verifies.
	code, out, _ := run(t, nil, "gbcs", "parse", "--json", "--keys", keys, hexmsg)
	msgs, _ := jsonLines(t, out)
	if code != 0 || len(msgs) != 1 || msgs[0].MAC != "valid" || !msgs[0].Decrypted {
		t.Fatalf("literal hex: exit %d %+v", code, msgs)
	}
	// Flip one bit of the MAC (the last byte): invalid, exit 1.
	last := hexmsg[len(hexmsg)-2:]
	flipped := hexmsg[:len(hexmsg)-2] + map[bool]string{true: "00", false: "01"}[last != "00"]
	code, out, _ = run(t, nil, "gbcs", "parse", "--json", "--keys", keys, flipped)
	msgs, _ = jsonLines(t, out)
	if code != 1 || len(msgs) != 1 || msgs[0].MAC != "invalid" || msgs[0].OK {
		t.Errorf("tampered MAC: exit %d %+v", code, msgs)
	}
	// Truncated and garbage inputs: an error with an offset, exit 1, no panic.
	dir := t.TempDir()
	trunc := filepath.Join(dir, "trunc.HEX")
	os.WriteFile(trunc, []byte(hexmsg[:40]), 0o644)
	code, out, _ = run(t, nil, "gbcs", "parse", "--json", trunc, "zz-not-a-message")
	msgs, sum := jsonLines(t, out)
	if code != 1 || sum.Failed != 2 || len(msgs) != 2 || !strings.Contains(msgs[0].Error, "offset") {
		t.Errorf("bad inputs: exit %d %+v", code, msgs)
	}
}

func TestDUISParse(t *testing.T) {
	sample := refdata.Path(t, "duis", "samples", "readfw-response.xml")
	code, out, errs := run(t, nil, "duis", "parse", "--json", sample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	msgs, _ := jsonLines(t, out)
	if len(msgs) != 1 || msgs[0].MessageCode != "0x0059" || msgs[0].CRA != "response" {
		t.Errorf("readfw-response: %+v", msgs)
	}
	if code, _, _ := run(t, nil, "duis", "parse", refdata.Path(t, "duis", "samples", "acknowledgement-error.xml")); code != exitSchemaInvalid {
		t.Errorf("document without payload: exit %d", code)
	}
}

func TestUTRNCommand(t *testing.T) {
	keys := refdata.Path(t, "gbcs", "rtds", "keystore")
	base := []string{"gbcs", "utrn", "--keys", keys, "--supplier", "90-B3-D5-1F-30-01-00-00", "--device", "00-DB-12-34-56-78-90-A0"}
	// The CS01a vector (gbcs.md §5): counter 3<<32, £10.
	code, out, errs := run(t, nil, append(base, "--counter", "12884901888", "--value", "10", "--class", "pounds")...)
	if code != 0 || strings.TrimSpace(out) != "73946144332040217315" {
		t.Fatalf("generate: exit %d %q %s", code, out, errs)
	}
	if code, out, _ := run(t, nil, append(base, "--validate", "73946144332040217315")...); code != 0 || !strings.Contains(out, "value 10 pounds") {
		t.Errorf("validate: exit %d %q", code, out)
	}
	if code, _, _ := run(t, nil, append(base, "--validate", "73946144332040217315", "--accepted", "12884901888")...); code != 1 {
		t.Errorf("replayed UTRN accepted: exit %d", code)
	}
	if code, _, _ := run(t, nil, append(base, "--validate", "73946144332040217316")...); code != 1 {
		t.Errorf("altered UTRN accepted: exit %d", code)
	}
	if code, _, _ := run(t, nil, append(base, "--counter", "1", "--value", "10", "--class", "euros")...); code != exitUsage {
		t.Errorf("bad class: exit %d", code)
	}
}
