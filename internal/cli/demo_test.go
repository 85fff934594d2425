package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// demoSteps are the numbered lines `opendcc demo` prints, one per step.
var demoSteps = []string{
	"1. 12.2 Device Pre-notification",
	"2. 8.4 Update Inventory (UpdateMPxN)",
	"3. 8.11 Update HAN Device Log (Add)",
	"4. 8.1.1 Commission Device",
	"5. 4.1.1 Read Instantaneous Import Registers",
	"6. 1.1.1 Update Import Tariff (Primary Element)",
	"7. 2.2 Top Up Device",
	"8. 11.2 Read Firmware Version",
	"9. 8.2 Read Inventory",
}

func TestDemo(t *testing.T) {
	code, out, errOut := run(t, nil, "demo", "--fast", "--timeout", "20s", "--data", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if strings.Contains(out, "SERVER GAP") {
		t.Errorf("a server gap in:\n%s", out)
	}
	for _, s := range demoSteps {
		if !strings.Contains(out, "\n"+s+" — ") {
			t.Errorf("no line %q in:\n%s", s, out)
		}
	}
	// The decoded answers: registers, the tariff's set results, the balance
	// change of the £10 top-up, the firmware version, the inventory entry.
	for _, s := range []string{
		"→ registers: ", " kWh",
		"Pre-Command signed with the supplier's GBCS key",
		"ECS01a Set Tariff and Price on ESME", "signature valid", "device result: success ×",
		"(+1000 pennies)",
		"→ firmware version \"",
		"DeviceType=ESME DeviceStatus=Commissioned",
		"every step got its expected outcome",
		// The new meter is whitelisted on the hub and commissioned: the
		// scenario runs on it, not around a gap.
		"status Whitelisted", "status Commissioned, MPAN",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("no %q in:\n%s", s, out)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", out)
	}
}

func TestDemoJSON(t *testing.T) {
	code, out, errOut := run(t, nil, "demo", "--fast", "--json", "--timeout", "20s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(demoSteps) {
		t.Fatalf("%d JSON lines, want %d:\n%s", len(lines), len(demoSteps), out)
	}
	for i, l := range lines {
		var st demoStepResult
		if err := json.Unmarshal([]byte(l), &st); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, l)
		}
		if st.Step != i+1 || !st.OK || st.RequestID == "" || st.Ack == nil || !strings.Contains(demoSteps[i], " "+st.SRV+" "+st.Name) {
			t.Errorf("line %d: %s", i+1, l)
		}
	}
}
