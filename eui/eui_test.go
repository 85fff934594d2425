package eui

import "testing"

func TestParse(t *testing.T) {
	want := EUI64{0x90, 0xB3, 0xD5, 0x1F, 0x30, 0x01, 0x00, 0x00}
	for _, s := range []string{"90-B3-D5-1F-30-01-00-00", "90-b3-d5-1f-30-01-00-00", "90B3D51F30010000", "90b3d51f30010000"} {
		got, err := Parse(s)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v", s, got, err)
		}
	}
	if got := want.String(); got != "90-B3-D5-1F-30-01-00-00" {
		t.Errorf("String() = %q", got)
	}
	if got := want.Hex(); got != "90B3D51F30010000" {
		t.Errorf("Hex() = %q", got)
	}
	for _, bad := range []string{"", "90-B3-D5-1F-30-01-00", "90:B3:D5:1F:30:01:00:00", "90-B3-D5-1F-30-01-00-0G", "90B3D51F3001000", "zz-B3-D5-1F-30-01-00-00"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("90-B3-D5-1F-30-01-00-00")
	f.Add("90b3d51f30010000")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(e.String())
		if err != nil || again != e {
			t.Fatalf("round trip of %q failed: %v", s, err)
		}
	})
}
