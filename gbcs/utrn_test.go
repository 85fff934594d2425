package gbcs

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opendcc/opendcc/eui"
)

// TestUTRNVectors reproduces the verified UTRNs of the notes (§5).
func TestUTRNVectors(t *testing.T) {
	sec := NewSecurity(rtdsKeyring(t), 0)
	cases := []struct {
		name  string
		meter eui.EUI64
		t     TopUp
		want  string
	}{
		{"RTDS CS01a", euiESME, TopUp{Counter: 3 << 32, Value: 10, Class: ValuePounds}, "73946144332040217315"},
		{"RTDS CS01b", euiGSME, TopUp{Counter: 6 << 32, Value: 1250, Class: ValuePennies}, "73950067887105178605"},
		{"£100", euiESME, TopUp{Counter: 1 << 32, Value: 100, Class: ValuePounds}, "73943333457189043313"},
		{"1234p", euiESME, TopUp{Counter: 4 << 32, Value: 1234, Class: ValuePennies}, "73947252416745201637"},
	}
	for _, c := range cases {
		got, err := sec.GenerateUTRN(euiSupplier, c.meter, c.t)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
		var cache UTRNCounterCache
		top, err := sec.ValidateUTRN(euiSupplier, c.meter, c.want, &cache)
		if err != nil || top != c.t {
			t.Errorf("%s: validate: %+v %v", c.name, top, err)
		}
		if _, err := sec.ValidateUTRN(euiSupplier, c.meter, c.want, &cache); !errors.Is(err, ErrUTRNCounter) {
			t.Errorf("%s: replay: %v", c.name, err)
		}
	}
}

// TestUTRNInRTDS finds the UTRNs in the RTDS CS01a/CS01b commands and checks
// that each validates, with the command's originator counter as UTRN counter.
func TestUTRNInRTDS(t *testing.T) {
	sec := NewSecurity(rtdsKeyring(t), 0)
	found := 0
	for _, f := range loadRTDS(t) {
		m, _ := Parse(f.Data)
		// CS01a 0x0007 (DLMS), CS01b 0x0097 (GBZ)
		if f.Kind != KindCommand || (m.MessageCode != 0x0007 && m.MessageCode != 0x0097) {
			continue
		}
		for i := 0; i+20 <= len(m.Content); i++ {
			cand := string(m.Content[i : i+20])
			if _, err := ParseUTRN(cand); err != nil {
				continue
			}
			found++
			supplier := m.Originator
			top, err := sec.ValidateUTRN(supplier, m.Recipient, cand, nil)
			if err != nil {
				t.Errorf("%s: UTRN %s: %v", f.Name, cand, err)
				continue
			}
			if top.Counter != m.OriginatorCounter {
				t.Errorf("%s: UTRN counter %#x, command counter %#x", f.Name, top.Counter, m.OriginatorCounter)
			}
			t.Logf("%s: UTRN %s = %d %v (counter %#x)", f.Name, cand, top.Value, top.Class, top.Counter)
		}
	}
	if found == 0 {
		t.Error("no UTRN found in RTDS CS01a/CS01b commands")
	}
}

func TestUTRNCheckDigitAndSyntax(t *testing.T) {
	good := "73946144332040217315"
	if _, err := ParseUTRN(good); err != nil {
		t.Fatal(err)
	}
	// Every single-digit change and every adjacent transposition is caught
	// by the check digit (Verhoeff property).
	for i := 0; i < 20; i++ {
		for d := byte('0'); d <= '9'; d++ {
			if d == good[i] {
				continue
			}
			b := []byte(good)
			b[i] = d
			if _, err := ParseUTRN(string(b)); err == nil {
				t.Errorf("digit %d changed to %c accepted", i, d)
			}
		}
		if i < 19 && good[i] != good[i+1] {
			b := []byte(good)
			b[i], b[i+1] = b[i+1], b[i]
			if _, err := ParseUTRN(string(b)); err == nil {
				t.Errorf("transposition at %d accepted", i)
			}
		}
	}
	for _, bad := range []string{"", "7394614433204021731", "739461443320402173150", "7394614433204021731a", "00000000000000000000"} {
		if _, err := ParseUTRN(bad); !errors.Is(err, ErrUTRNSyntax) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := GenerateUTRN(make([]byte, 32), euiSupplier, euiESME, TopUp{Counter: 1<<32 | 1}); err == nil {
		t.Error("counter with low bits accepted")
	}
	if _, err := GenerateUTRN(make([]byte, 32), euiSupplier, euiESME, TopUp{Counter: 1 << 32, Value: 8192}); err == nil {
		t.Error("value 8192 accepted")
	}
}

// TestUTRNCounterRules exercises the meter's counter record with a fixed
// shared secret: out-of-order within the window, no reuse, nothing older
// than the window, the 10-bit wrap into the next 2^42 epoch, and a forged
// MAC.
func TestUTRNCounterRules(t *testing.T) {
	z := bytes.Repeat([]byte{0x5A}, 32)
	gen := func(counter uint64) string {
		u, err := GenerateUTRN(z, euiSupplier, euiESME, TopUp{Counter: counter, Value: 5, Class: ValuePounds})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	cache := &UTRNCounterCache{Size: 3}
	apply := func(counter uint64) error {
		_, err := ValidateUTRN(z, euiSupplier, euiESME, gen(counter), cache)
		return err
	}
	for _, c := range []uint64{5, 3, 7} { // out of order, cache not full
		if err := apply(c << 32); err != nil {
			t.Fatalf("counter %d: %v", c, err)
		}
	}
	if err := apply(3 << 32); !errors.Is(err, ErrUTRNCounter) {
		t.Errorf("reuse: %v", err)
	}
	if err := apply(2 << 32); !errors.Is(err, ErrUTRNCounter) {
		t.Errorf("older than a full cache: %v", err)
	}
	if err := apply(4 << 32); err != nil { // inside the window, unused
		t.Errorf("counter 4: %v", err)
	}
	if want := []uint64{4 << 32, 5 << 32, 7 << 32}; !equalU64(cache.Counters, want) {
		t.Errorf("cache %x, want %x", cache.Counters, want)
	}
	// 10-bit wrap: after 1023<<32 comes 1024<<32, whose bits are 0.
	wrap := &UTRNCounterCache{Size: 3, Counters: []uint64{1021 << 32, 1022 << 32, 1023 << 32}}
	top, err := ValidateUTRN(z, euiSupplier, euiESME, gen(1024<<32), wrap)
	if err != nil || top.Counter != 1024<<32 {
		t.Errorf("wrap: %+v %v", top, err)
	}
	// Forged: valid syntax, wrong MAC.
	forged := gen(9 << 32)
	_, err = ValidateUTRN(bytes.Repeat([]byte{0xA5}, 32), euiSupplier, euiESME, forged, nil)
	if !errors.Is(err, ErrUTRNMAC) {
		t.Errorf("forged: %v", err)
	}
	// Wrong meter.
	if _, err := ValidateUTRN(z, euiSupplier, euiGSME, forged, nil); !errors.Is(err, ErrUTRNMAC) {
		t.Errorf("other meter: %v", err)
	}
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
