package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestSimCreate(t *testing.T) {
	cmd := newSimCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"create", "--devices", "20000", "--seed", "3"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "devices: 20") || !strings.Contains(s, "bytes per device") || !strings.Contains(errb.String(), "100%") {
		t.Fatalf("output:\n%s\nstderr:\n%s", s, errb.String())
	}
	t.Log(s)
	cmd = newSimCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"create", "--devices", "10", "--types", "ESME,toaster"})
	if err := cmd.Execute(); err == nil {
		t.Fatal("unknown type accepted")
	}
}
