package xsd

import "testing"

func TestDecimal(t *testing.T) {
	for _, c := range []struct {
		in, canon string
		total     int
		ok        bool
	}{
		{"0", "0", 0, true}, {"-0.0", "0", 0, true}, {"+007.50", "7.5", 2, true}, {".5", "0.5", 1, true},
		{"5.", "5", 1, true}, {"-0.00123", "-0.00123", 5, true}, {"12345678901234567890123456789012345678901", "12345678901234567890123456789012345678901", 41, true},
		{"", "", 0, false}, {".", "", 0, false}, {"1e3", "", 0, false}, {"--1", "", 0, false}, {"1.2.3", "", 0, false}, {" 1", "", 0, false},
	} {
		d, ok := parseDecimal(c.in, false)
		if ok != c.ok || (ok && (d.canonical() != c.canon || d.totalDigits() != c.total)) {
			t.Errorf("parseDecimal(%q) = %v %q %d", c.in, ok, d.canonical(), d.totalDigits())
		}
	}
	if _, ok := parseDecimal("1.0", true); ok {
		t.Error("integer lexical form must refuse a point")
	}
	order := []string{"-18446744073709551616", "-2", "-1.5", "-1", "0", "0.001", "0.01", "1", "1.5", "2", "10", "18446744073709551615"}
	for i := range order {
		for j := range order {
			a, _ := parseDecimal(order[i], false)
			b, _ := parseDecimal(order[j], false)
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := cmpDecimal(a, b); got != want {
				t.Errorf("cmp(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
}

func TestLexicalForms(t *testing.T) {
	for _, c := range []struct {
		f    func(string) bool
		name string
		good []string
		bad  []string
	}{
		{checkDateTime, "dateTime", []string{"2022-08-17T15:45:42.790Z", "2024-02-29T00:00:00", "2000-01-01T24:00:00Z", "-0001-01-01T00:00:00+14:00", "12345-01-01T00:00:00Z"},
			[]string{"2022-08-17", "2022-08-17T15:45", "2023-02-29T00:00:00Z", "2022-08-17T15:45:42.Z", "02022-01-01T00:00:00", "2022-08-17T15:45:42+14:01", "2022-08-17 15:45:42"}},
		{checkDate, "date", []string{"2025-12-28Z", "2000-02-29"}, []string{"2025-12-32", "2025-00-01", "2100-02-29"}},
		{checkTime, "time", []string{"07:00:00.00Z", "23:59:59"}, []string{"7:00:00", "24:00:01", "07:00"}},
		{checkDuration, "duration", []string{"P1Y", "PT0.5S", "-P1DT2H", "P1Y2M3DT4H5M6S"}, []string{"P", "PT", "P1S", "P1.5D", "PT1D", "1Y"}},
		{checkBoolean, "boolean", []string{"true", "false", "1", "0"}, []string{"True", "yes", ""}},
		{checkFloat, "float", []string{"1", "-1.5e10", "INF", "NaN", ".5E-3"}, []string{"1e", "e3", "inf", ""}},
		{checkGMonthDay, "gMonthDay", []string{"--02-29", "--12-31Z"}, []string{"--02-30", "-02-01"}},
		{checkLanguage, "language", []string{"en", "en-GB", "x-klingon1"}, []string{"", "toolonglang", "en_GB", "1en"}},
	} {
		for _, g := range c.good {
			if !c.f(g) {
				t.Errorf("%s: %q should be valid", c.name, g)
			}
		}
		for _, b := range c.bad {
			if c.f(b) {
				t.Errorf("%s: %q should be invalid", c.name, b)
			}
		}
	}
	for _, c := range []struct {
		in string
		n  int
		ok bool
	}{{"", 0, true}, {"YQ==", 1, true}, {"YWI=", 2, true}, {"YWJj", 3, true}, {"YW Jj", 3, true}, {"YR==", 0, false}, {"YWJ", 0, false}, {"Y===", 0, false}, {"YQ==YQ==", 0, false}} {
		n, ok := base64Len(c.in)
		if ok != c.ok || (ok && n != c.n) {
			t.Errorf("base64Len(%q) = %d %v", c.in, n, ok)
		}
	}
	for in, want := range map[string]string{"a  b": "a b", " a\tb\n": "a b", "ab": "ab", "": "", "   ": ""} {
		if got := collapse(in); got != want {
			t.Errorf("collapse(%q) = %q", in, got)
		}
	}
}
