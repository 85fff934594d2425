package xsd

import (
	"regexp"
	"testing"
)

func TestTranslatePattern(t *testing.T) {
	cases := []struct {
		xsd     string
		match   []string
		noMatch []string
	}{
		{`[0-9]{20}`, []string{"01234567890123456789"}, []string{"0123456789012345678", "a1234567890123456789"}},
		{`[ -~]+`, []string{"abc ~"}, []string{"", "é", "a\tb"}},
		{`gbcs|dlms`, []string{"gbcs", "dlms"}, []string{"gbcsdlms", "gbc"}},
		{`\d+`, []string{"123", "٣"}, []string{"a"}},
		{`a.b`, []string{"axb"}, []string{"a\nb", "a\rb"}},
		{`^a$`, []string{"^a$"}, []string{"a"}},
		{`[a-z-[aeiou]]+`, []string{"bcd"}, []string{"bad"}},
		{`[^a-c-[x]]`, []string{"d"}, []string{"a", "x"}},
		{`\s\S`, []string{" a", "\tb"}, []string{"ab", "  "}},
		{`\i\c*`, []string{"a1", "_x-y"}, []string{"1a", "-"}},
		{`\w+`, []string{"abc1"}, []string{"a b", "a,b"}},
		{`[\-+]?[0-9]+`, []string{"-1", "+2", "3"}, []string{"--1"}},
		{`\p{Lu}\P{Lu}`, []string{"Ab"}, []string{"AB"}},
		{`(ab){2}`, []string{"abab"}, []string{"ab"}},
		{`[\d-[5]]`, []string{"4"}, []string{"5"}},
		{`\p{IsBasicLatin}+`, []string{"abc"}, []string{"é"}},
	}
	for _, c := range cases {
		re2, err := TranslatePattern(c.xsd)
		if err != nil {
			t.Errorf("%s: %v", c.xsd, err)
			continue
		}
		re := regexp.MustCompile(re2)
		for _, m := range c.match {
			if !re.MatchString(m) {
				t.Errorf("%s (%s) should match %q", c.xsd, re2, m)
			}
		}
		for _, m := range c.noMatch {
			if re.MatchString(m) {
				t.Errorf("%s (%s) should not match %q", c.xsd, re2, m)
			}
		}
	}
	for _, bad := range []string{`(?i)a`, `a{2000}`, `[a`, `\q`, `a)`} {
		if _, err := TranslatePattern(bad); err == nil {
			t.Errorf("%s: expected an error", bad)
		}
	}
}
