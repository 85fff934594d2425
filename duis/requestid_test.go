package duis

import (
	"errors"
	"testing"

	"github.com/opendcc/opendcc/eui"
)

func TestParseRequestID(t *testing.T) {
	sup := eui.MustParse("90-B3-D5-1F-30-01-00-00")
	dev := eui.MustParse("00-DB-12-34-56-78-90-A0")
	tests := []struct {
		in      string
		ok      bool
		counter uint64
	}{
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000", true, 1000},
		{"90-b3-d5-1f-30-01-00-00:00-db-12-34-56-78-90-a0:0", true, 0},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:18446744073709551615", true, 18446744073709551615},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:18446744073709551616", false, 0},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:0100", false, 0},
		{"90-B3-D5-1F-30-01-00-00::00-DB-12-34-56-78-90-A0:1000", false, 0},
		{"90B3D51F30010000:00-DB-12-34-56-78-90-A0:1", false, 0},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:-1", false, 0},
		{"90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:", false, 0},
		{"", false, 0},
	}
	for _, tt := range tests {
		r, err := ParseRequestID(tt.in)
		if tt.ok != (err == nil) {
			t.Errorf("ParseRequestID(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if !tt.ok {
			if !errors.Is(err, ErrRequestID) {
				t.Errorf("error %v does not wrap ErrRequestID", err)
			}
			continue
		}
		if r.Originator != sup || r.Target != dev || r.Counter != tt.counter {
			t.Errorf("ParseRequestID(%q) = %+v", tt.in, r)
		}
		if r.String() != tt.in {
			t.Errorf("String() = %q, want the input echoed exactly", r.String())
		}
	}
}

func TestRequestIDForms(t *testing.T) {
	r, err := ParseRequestID("90-b3-d5-1f-30-01-00-00:00-DB-12-34-56-78-90-A0:7")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Canonical(), "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:7"; got != want {
		t.Errorf("Canonical = %q", got)
	}
	if got, want := r.ResponseID(), "00-DB-12-34-56-78-90-A0:90-b3-d5-1f-30-01-00-00:7"; got != want {
		t.Errorf("ResponseID = %q, want %q", got, want)
	}
	if got, want := r.WithCounter(1795873375389).String(), "90-b3-d5-1f-30-01-00-00:00-DB-12-34-56-78-90-A0:1795873375389"; got != want {
		t.Errorf("WithCounter = %q", got)
	}
	b := NewRequestID(r.Originator, r.Target, 7)
	if !b.Equal(r) || b.String() != r.Canonical() {
		t.Errorf("NewRequestID = %q", b.String())
	}
}

func FuzzParseRequestID(f *testing.F) {
	f.Add("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequestID(s)
		if err != nil {
			return
		}
		again, err := ParseRequestID(r.Canonical())
		if err != nil || !again.Equal(r) {
			t.Fatalf("canonical form of %q does not round-trip: %v", s, err)
		}
	})
}
