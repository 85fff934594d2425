package xsd

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// TranslatePattern turns an XSD 1.0 regular expression (Appendix F) into
// an equivalent RE2 expression anchored as ^(?:...)$. It maps the XSD
// escapes whose meaning differs in RE2 (\d is any Unicode decimal digit,
// \s is only space/tab/CR/LF, \w, \i, \c, '.' excludes CR and LF; '^' and
// '$' are ordinary characters) and computes character class subtraction
// ([a-z-[aeiou]]) by range arithmetic, since RE2 has none.
func TranslatePattern(xsdRE string) (string, error) {
	p := &reParser{src: []rune(xsdRE)}
	var b strings.Builder
	b.WriteString("^(?:")
	if err := p.regExp(&b); err != nil {
		return "", fmt.Errorf("pattern %q: %w", xsdRE, err)
	}
	if p.i != len(p.src) {
		return "", fmt.Errorf("pattern %q: unexpected %q at %d", xsdRE, string(p.src[p.i]), p.i)
	}
	b.WriteString(")$")
	out := b.String()
	if _, err := regexp.Compile(out); err != nil {
		return "", fmt.Errorf("pattern %q: translated form does not compile: %w", xsdRE, err)
	}
	return out, nil
}

type reParser struct {
	src []rune
	i   int
}

func (p *reParser) peek() (rune, bool) {
	if p.i < len(p.src) {
		return p.src[p.i], true
	}
	return 0, false
}

func (p *reParser) regExp(b *strings.Builder) error {
	if err := p.branch(b); err != nil {
		return err
	}
	for {
		r, ok := p.peek()
		if !ok || r != '|' {
			return nil
		}
		p.i++
		b.WriteByte('|')
		if err := p.branch(b); err != nil {
			return err
		}
	}
}

func (p *reParser) branch(b *strings.Builder) error {
	for {
		r, ok := p.peek()
		if !ok || r == '|' || r == ')' {
			return nil
		}
		if err := p.atom(b); err != nil {
			return err
		}
		if err := p.quantifier(b); err != nil {
			return err
		}
	}
}

func (p *reParser) quantifier(b *strings.Builder) error {
	r, ok := p.peek()
	if !ok {
		return nil
	}
	switch r {
	case '?', '*', '+':
		p.i++
		b.WriteRune(r)
		return nil
	case '{':
		end := p.i + 1
		for end < len(p.src) && p.src[end] != '}' {
			end++
		}
		if end == len(p.src) {
			return fmt.Errorf("unterminated quantifier")
		}
		q := string(p.src[p.i+1 : end])
		lo, hi, comma := q, "", false
		if k := strings.IndexByte(q, ','); k >= 0 {
			lo, hi, comma = q[:k], q[k+1:], true
		}
		n, err := strconv.Atoi(lo)
		if err != nil || n < 0 {
			return fmt.Errorf("bad quantifier {%s}", q)
		}
		if n > 1000 {
			return fmt.Errorf("quantifier {%s} exceeds RE2's limit of 1000", q)
		}
		if hi != "" {
			m, err := strconv.Atoi(hi)
			if err != nil || m < n || m > 1000 {
				return fmt.Errorf("bad quantifier {%s}", q)
			}
		}
		_ = comma
		b.WriteString("{" + q + "}")
		p.i = end + 1
	}
	return nil
}

func (p *reParser) atom(b *strings.Builder) error {
	r := p.src[p.i]
	switch r {
	case '(':
		p.i++
		if r2, ok := p.peek(); ok && r2 == '?' {
			return fmt.Errorf("(? is not XSD syntax")
		}
		b.WriteByte('(')
		if err := p.regExp(b); err != nil {
			return err
		}
		if r2, ok := p.peek(); !ok || r2 != ')' {
			return fmt.Errorf("missing )")
		}
		p.i++
		b.WriteByte(')')
	case '[':
		set, err := p.classExpr()
		if err != nil {
			return err
		}
		b.WriteString(set)
	case '.':
		p.i++
		b.WriteString(`[^\n\r]`)
	case '\\':
		p.i++
		s, err := p.escape(false)
		if err != nil {
			return err
		}
		b.WriteString(s.atom())
	case '?', '*', '+', '{', ')', ']', '|':
		if r == '{' || r == ']' {
			// Not metacharacters in XSD as atoms (only '}' and '{' in a
			// quantifier position are); treat literally.
			p.i++
			b.WriteString(regexp.QuoteMeta(string(r)))
			return nil
		}
		return fmt.Errorf("unexpected %q", r)
	default:
		p.i++
		b.WriteString(regexp.QuoteMeta(string(r)))
	}
	return nil
}

// escClass is a translated escape: a single character (single), a class
// RE2 can express inside brackets (inner), or a set that must be expanded.
type escClass struct {
	single bool
	r      rune
	inner  string   // usable inside [...] as is (e.g. `\p{Nd}`)
	outer  string   // usable as an atom (e.g. `[^\n\r]`)
	set    []rrange // explicit set (for expansion)
}

func (e escClass) atom() string {
	if e.single {
		return quoteRune(e.r)
	}
	if e.outer != "" {
		return e.outer
	}
	if e.inner != "" {
		return "[" + e.inner + "]"
	}
	return emitSet(e.set, false)
}

// escape parses the escape after a backslash.
func (p *reParser) escape(inClass bool) (escClass, error) {
	r, ok := p.peek()
	if !ok {
		return escClass{}, fmt.Errorf("trailing backslash")
	}
	p.i++
	switch r {
	case 'n':
		return escClass{single: true, r: '\n'}, nil
	case 'r':
		return escClass{single: true, r: '\r'}, nil
	case 't':
		return escClass{single: true, r: '\t'}, nil
	case '\\', '|', '.', '-', '^', '?', '*', '+', '{', '}', '(', ')', '[', ']':
		return escClass{single: true, r: r}, nil
	case 'd':
		return escClass{inner: `\p{Nd}`}, nil
	case 'D':
		return escClass{inner: `\P{Nd}`}, nil
	case 's':
		return escClass{inner: ` \t\n\r`}, nil
	case 'S':
		return escClass{outer: `[^ \t\n\r]`, set: complement(spaceSet())}, nil
	case 'w':
		return escClass{outer: `[^\p{P}\p{Z}\p{C}]`, set: complement(pzcSet())}, nil
	case 'W':
		return escClass{inner: `\p{P}\p{Z}\p{C}`}, nil
	case 'i':
		return escClass{set: nameStartSet()}, nil
	case 'I':
		return escClass{set: complement(nameStartSet())}, nil
	case 'c':
		return escClass{set: nameCharSet()}, nil
	case 'C':
		return escClass{set: complement(nameCharSet())}, nil
	case 'p', 'P':
		if r2, ok := p.peek(); !ok || r2 != '{' {
			return escClass{}, fmt.Errorf(`\%c without {`, r)
		}
		end := p.i + 1
		for end < len(p.src) && p.src[end] != '}' {
			end++
		}
		if end == len(p.src) {
			return escClass{}, fmt.Errorf(`unterminated \%c{`, r)
		}
		name := string(p.src[p.i+1 : end])
		p.i = end + 1
		if strings.HasPrefix(name, "Is") {
			set, ok := blockSet(name[2:])
			if !ok {
				return escClass{}, fmt.Errorf("unsupported block escape %s", name)
			}
			if r == 'P' {
				set = complement(set)
			}
			return escClass{set: set}, nil
		}
		if _, ok := unicode.Categories[name]; !ok && !(len(name) == 1 && strings.Contains("LMNPZSC", name)) {
			return escClass{}, fmt.Errorf("unsupported category \\%c{%s}", r, name)
		}
		return escClass{inner: `\` + string(r) + "{" + name + "}"}, nil
	}
	return escClass{}, fmt.Errorf(`unknown escape \%c`, r)
}

// classExpr parses '[' charGroup ']' and returns RE2 text.
func (p *reParser) classExpr() (string, error) {
	c, err := p.classParse()
	if err != nil {
		return "", err
	}
	return c.emit(), nil
}

type classItem struct {
	lo, hi rune
	esc    *escClass
}

type charClass struct {
	neg   bool
	items []classItem
	sub   *charClass
}

func (p *reParser) classParse() (*charClass, error) {
	p.i++ // '['
	c := &charClass{}
	if r, ok := p.peek(); ok && r == '^' {
		c.neg = true
		p.i++
	}
	first := true
	for {
		r, ok := p.peek()
		if !ok {
			return nil, fmt.Errorf("unterminated character class")
		}
		if r == ']' && !first {
			p.i++
			return c, nil
		}
		if r == '-' && !first && p.i+1 < len(p.src) && p.src[p.i+1] == '[' {
			p.i++
			sub, err := p.classParse()
			if err != nil {
				return nil, err
			}
			c.sub = sub
			if r2, ok := p.peek(); !ok || r2 != ']' {
				return nil, fmt.Errorf("subtraction must end the class")
			}
			p.i++
			return c, nil
		}
		first = false
		var lo rune
		if r == '\\' {
			p.i++
			e, err := p.escape(true)
			if err != nil {
				return nil, err
			}
			if !e.single {
				c.items = append(c.items, classItem{esc: &e})
				continue
			}
			lo = e.r
		} else if r == '[' {
			return nil, fmt.Errorf("unescaped [ in a character class")
		} else {
			lo = r
			p.i++
		}
		hi := lo
		if r2, ok := p.peek(); ok && r2 == '-' && p.i+1 < len(p.src) && p.src[p.i+1] != ']' && p.src[p.i+1] != '[' {
			p.i++
			r3 := p.src[p.i]
			if r3 == '\\' {
				p.i++
				e, err := p.escape(true)
				if err != nil {
					return nil, err
				}
				if !e.single {
					return nil, fmt.Errorf("class escape as a range end")
				}
				hi = e.r
			} else {
				hi = r3
				p.i++
			}
			if hi < lo {
				return nil, fmt.Errorf("bad range %c-%c", lo, hi)
			}
		}
		c.items = append(c.items, classItem{lo: lo, hi: hi})
	}
}

// direct reports whether the class can be written as an RE2 class without
// expanding escapes to ranges.
func (c *charClass) direct() bool {
	if c.sub != nil {
		return false
	}
	for _, it := range c.items {
		if it.esc != nil && it.esc.inner == "" {
			return false
		}
	}
	return true
}

func (c *charClass) emit() string {
	if c.direct() {
		var b strings.Builder
		b.WriteByte('[')
		if c.neg {
			b.WriteByte('^')
		}
		for _, it := range c.items {
			if it.esc != nil {
				b.WriteString(it.esc.inner)
				continue
			}
			b.WriteString(quoteRune(it.lo))
			if it.hi != it.lo {
				b.WriteByte('-')
				b.WriteString(quoteRune(it.hi))
			}
		}
		b.WriteByte(']')
		return b.String()
	}
	return emitSet(c.set(), false)
}

// set expands the class to explicit ranges.
func (c *charClass) set() []rrange {
	var s []rrange
	for _, it := range c.items {
		if it.esc == nil {
			s = append(s, rrange{it.lo, it.hi})
			continue
		}
		if it.esc.set != nil {
			s = append(s, it.esc.set...)
			continue
		}
		s = append(s, innerSet(it.esc.inner)...)
	}
	s = normRanges(s)
	if c.neg {
		s = complement(s)
	}
	if c.sub != nil {
		s = subtract(s, c.sub.set())
	}
	return s
}

// innerSet expands a direct inner class string produced by escape.
func innerSet(inner string) []rrange {
	switch inner {
	case ` \t\n\r`:
		return spaceSet()
	case `\p{P}\p{Z}\p{C}`:
		return pzcSet()
	}
	neg := inner[1] == 'P'
	name := inner[3 : len(inner)-1]
	s := tableSet(categoryTable(name))
	if neg {
		s = complement(s)
	}
	return s
}

func categoryTable(name string) []*unicode.RangeTable {
	if t, ok := unicode.Categories[name]; ok {
		return []*unicode.RangeTable{t}
	}
	var out []*unicode.RangeTable
	for k, t := range unicode.Categories {
		if len(k) == 2 && k[0] == name[0] {
			out = append(out, t)
		}
	}
	return out
}

type rrange struct{ lo, hi rune }

func normRanges(s []rrange) []rrange {
	if len(s) == 0 {
		return nil
	}
	sort.Slice(s, func(i, j int) bool { return s[i].lo < s[j].lo })
	out := []rrange{s[0]}
	for _, r := range s[1:] {
		last := &out[len(out)-1]
		if r.lo <= last.hi+1 {
			if r.hi > last.hi {
				last.hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

func complement(s []rrange) []rrange {
	s = normRanges(append([]rrange(nil), s...))
	var out []rrange
	next := rune(0)
	for _, r := range s {
		if r.lo > next {
			out = append(out, rrange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= unicode.MaxRune {
		out = append(out, rrange{next, unicode.MaxRune})
	}
	return out
}

func subtract(a, b []rrange) []rrange {
	// a ∩ ¬b
	nb := complement(b)
	var out []rrange
	i, j := 0, 0
	a = normRanges(append([]rrange(nil), a...))
	for i < len(a) && j < len(nb) {
		lo := max(a[i].lo, nb[j].lo)
		hi := min(a[i].hi, nb[j].hi)
		if lo <= hi {
			out = append(out, rrange{lo, hi})
		}
		if a[i].hi < nb[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

func tableSet(ts []*unicode.RangeTable) []rrange {
	var s []rrange
	for _, t := range ts {
		for _, r := range t.R16 {
			if r.Stride == 1 {
				s = append(s, rrange{rune(r.Lo), rune(r.Hi)})
				continue
			}
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				s = append(s, rrange{c, c})
			}
		}
		for _, r := range t.R32 {
			if r.Stride == 1 {
				s = append(s, rrange{rune(r.Lo), rune(r.Hi)})
				continue
			}
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				s = append(s, rrange{c, c})
			}
		}
	}
	return normRanges(s)
}

func spaceSet() []rrange {
	return normRanges([]rrange{{' ', ' '}, {'\t', '\t'}, {'\n', '\n'}, {'\r', '\r'}})
}

func pzcSet() []rrange {
	return tableSet([]*unicode.RangeTable{unicode.P, unicode.Z, unicode.C})
}

func nameStartSet() []rrange {
	s := tableSet([]*unicode.RangeTable{unicode.L, unicode.Nl})
	return normRanges(append(s, rrange{'_', '_'}, rrange{':', ':'}))
}

func nameCharSet() []rrange {
	s := tableSet([]*unicode.RangeTable{unicode.L, unicode.Nl, unicode.Nd, unicode.Mn, unicode.Mc, unicode.Lm})
	return normRanges(append(s, rrange{'_', '_'}, rrange{':', ':'}, rrange{'-', '-'}, rrange{'.', '.'}, rrange{0xB7, 0xB7}))
}

// blockSet knows the Unicode blocks most likely in practice; others are
// refused rather than guessed.
func blockSet(name string) ([]rrange, bool) {
	blocks := map[string]rrange{
		"BasicLatin":                {0x0000, 0x007F},
		"Latin-1Supplement":         {0x0080, 0x00FF},
		"LatinExtended-A":           {0x0100, 0x017F},
		"LatinExtended-B":           {0x0180, 0x024F},
		"IPAExtensions":             {0x0250, 0x02AF},
		"SpacingModifierLetters":    {0x02B0, 0x02FF},
		"CombiningDiacriticalMarks": {0x0300, 0x036F},
		"Greek":                     {0x0370, 0x03FF},
		"Cyrillic":                  {0x0400, 0x04FF},
		"GeneralPunctuation":        {0x2000, 0x206F},
		"CurrencySymbols":           {0x20A0, 0x20CF},
		"LatinExtendedAdditional":   {0x1E00, 0x1EFF},
	}
	r, ok := blocks[name]
	if !ok {
		return nil, false
	}
	return []rrange{r}, true
}

func quoteRune(r rune) string {
	switch {
	case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || r == '_'):
		return string(r)
	case r == '\t':
		return `\t`
	case r == '\n':
		return `\n`
	case r == '\r':
		return `\r`
	case r > 0x20 && r < 0x7F:
		return `\` + string(r) // ASCII punctuation: RE2 takes \<punct> literally
	}
	return fmt.Sprintf(`\x{%X}`, r)
}

func emitSet(s []rrange, _ bool) string {
	if len(s) == 0 {
		return `[^\x{0}-\x{10FFFF}]`
	}
	var b strings.Builder
	b.WriteByte('[')
	for _, r := range s {
		b.WriteString(quoteRune(r.lo))
		if r.hi != r.lo {
			b.WriteByte('-')
			b.WriteString(quoteRune(r.hi))
		}
	}
	b.WriteByte(']')
	return b.String()
}
