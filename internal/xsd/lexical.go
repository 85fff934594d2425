package xsd

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds the lexical rules of the built-in types and the value
// comparisons the facets need. Numbers are handled as decimal strings of
// any length (no float, no overflow), so 39-digit certificate serials and
// unsignedLong bounds compare exactly without allocating.

// decimal is a parsed xs:decimal: sign, integer digits without leading
// zeros, fraction digits without trailing zeros. Both are substrings of the
// input. Zero is {false, "", ""}.
type decimal struct {
	neg       bool
	int, frac string
}

// parseDecimal parses the xs:decimal lexical form [+-]?(d+(.d*)?|.d+).
// With integer set, a decimal point is refused (xs:integer's form).
func parseDecimal(s string, integer bool) (decimal, bool) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart := s[start:i]
	fracPart := ""
	if i < len(s) && s[i] == '.' {
		if integer {
			return d, false
		}
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		fracPart = s[fs:i]
	}
	if i != len(s) || (intPart == "" && fracPart == "") {
		return d, false
	}
	d.int = strings.TrimLeft(intPart, "0")
	d.frac = strings.TrimRight(fracPart, "0")
	if d.int == "" && d.frac == "" {
		d.neg = false
	}
	return d, true
}

// canonical returns the canonical lexical form (no '+', no leading zeros,
// "0" for zero, no trailing fraction zeros, no point when integral).
func (d decimal) canonical() string {
	var b strings.Builder
	if d.neg {
		b.WriteByte('-')
	}
	if d.int == "" {
		b.WriteByte('0')
	} else {
		b.WriteString(d.int)
	}
	if d.frac != "" {
		b.WriteByte('.')
		b.WriteString(d.frac)
	}
	return b.String()
}

// cmpDecimal compares two decimals: -1, 0 or 1.
func cmpDecimal(a, b decimal) int {
	if a.neg != b.neg {
		if a.neg {
			return -1
		}
		return 1
	}
	c := cmpAbs(a, b)
	if a.neg {
		return -c
	}
	return c
}

func cmpAbs(a, b decimal) int {
	if len(a.int) != len(b.int) {
		if len(a.int) < len(b.int) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.int, b.int); c != 0 {
		return c
	}
	return strings.Compare(a.frac, b.frac)
}

// totalDigits counts significant digits as XSD defines them for the value
// (leading integer zeros and trailing fraction zeros do not count).
// (value i×10^-n with |i| < 10^totalDigits and n <= totalDigits: 0.00123
// needs 5).
func (d decimal) totalDigits() int { return len(d.int) + len(d.frac) }

// collapse applies whiteSpace="collapse". It returns s itself when it is
// already collapsed.
func collapse(s string) string {
	if isCollapsed(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isCollapsed(s string) bool {
	prevSpace := true
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\t', '\n', '\r':
			return false
		case ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
		default:
			prevSpace = false
		}
	}
	return !prevSpace || s == ""
}

// replaceWS applies whiteSpace="replace".
func replaceWS(s string) string {
	if strings.IndexAny(s, "\t\n\r") < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// normalizeWS applies a whiteSpace facet value.
func normalizeWS(s string, ws uint8) string {
	switch ws {
	case WSCollapse:
		return collapse(s)
	case WSReplace:
		return replaceWS(s)
	}
	return s
}

func digits(s string, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseYear reads -?YYYY+ (at least 4 digits, no leading zero beyond 4,
// not 0000). It returns the year and the rest of s.
func parseYear(s string) (int, string, bool) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n := j - i
	if n < 4 || (n > 4 && s[i] == '0') {
		return 0, "", false
	}
	y := 0
	for k := i; k < j; k++ {
		if y > 1e8 {
			y = 1e8 // large years are allowed; the value is only used for leap years
		}
		y = y*10 + int(s[k]-'0')
	}
	if y == 0 {
		return 0, "", false // XSD 1.0 has no year 0000
	}
	if neg {
		y = -y
	}
	return y, s[j:], true
}

func leap(y int) bool {
	if y < 0 {
		y = -y - 1 // XSD 1.0: -0001 is 1 BCE, proleptic, leap like 0
	}
	return y%4 == 0 && (y%100 != 0 || y%400 == 0)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if leap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseTZ accepts an optional timezone: Z or (+|-)hh:mm with |offset| <= 14:00.
func parseTZ(s string) bool {
	if s == "" || s == "Z" {
		return true
	}
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return false
	}
	h, ok1 := digits(s[1:], 2)
	m, ok2 := digits(s[4:], 2)
	if !ok1 || !ok2 || m > 59 || h > 14 || (h == 14 && m != 0) {
		return false
	}
	return true
}

// parseTime reads hh:mm:ss(.s+)? and returns the rest.
func parseTime(s string) (string, bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return "", false
	}
	h, ok1 := digits(s, 2)
	m, ok2 := digits(s[3:], 2)
	sec, ok3 := digits(s[6:], 2)
	if !ok1 || !ok2 || !ok3 {
		return "", false
	}
	rest := s[8:]
	fracZero := true
	if len(rest) > 0 && rest[0] == '.' {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			if rest[j] != '0' {
				fracZero = false
			}
			j++
		}
		if j == 1 {
			return "", false
		}
		rest = rest[j:]
	}
	if m > 59 || sec > 59 {
		return "", false
	}
	if h > 24 || (h == 24 && (m != 0 || sec != 0 || !fracZero)) {
		return "", false
	}
	return rest, true
}

// parseDate reads YYYY-MM-DD and returns the rest.
func parseDate(s string) (string, bool) {
	y, rest, ok := parseYear(s)
	if !ok || len(rest) < 6 || rest[0] != '-' || rest[3] != '-' {
		return "", false
	}
	m, ok1 := digits(rest[1:], 2)
	d, ok2 := digits(rest[4:], 2)
	if !ok1 || !ok2 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return "", false
	}
	return rest[6:], true
}

func checkDateTime(s string) bool {
	rest, ok := parseDate(s)
	if !ok || len(rest) < 1 || rest[0] != 'T' {
		return false
	}
	rest, ok = parseTime(rest[1:])
	return ok && parseTZ(rest)
}

func checkDate(s string) bool {
	rest, ok := parseDate(s)
	return ok && parseTZ(rest)
}

func checkTime(s string) bool {
	rest, ok := parseTime(s)
	return ok && parseTZ(rest)
}

func checkGYear(s string) bool {
	_, rest, ok := parseYear(s)
	return ok && parseTZ(rest)
}

func checkGYearMonth(s string) bool {
	_, rest, ok := parseYear(s)
	if !ok || len(rest) < 3 || rest[0] != '-' {
		return false
	}
	m, ok := digits(rest[1:], 2)
	return ok && m >= 1 && m <= 12 && parseTZ(rest[3:])
}

func checkGMonthDay(s string) bool {
	if len(s) < 7 || s[0] != '-' || s[1] != '-' || s[4] != '-' {
		return false
	}
	m, ok1 := digits(s[2:], 2)
	d, ok2 := digits(s[5:], 2)
	return ok1 && ok2 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(2000, m) && parseTZ(s[7:])
}

func checkGDay(s string) bool {
	if len(s) < 5 || s[:3] != "---" {
		return false
	}
	d, ok := digits(s[3:], 2)
	return ok && d >= 1 && d <= 31 && parseTZ(s[5:])
}

func checkGMonth(s string) bool {
	if len(s) < 4 || s[:2] != "--" {
		return false
	}
	m, ok := digits(s[2:], 2)
	return ok && m >= 1 && m <= 12 && parseTZ(s[4:])
}

func checkDuration(s string) bool {
	if strings.HasPrefix(s, "-") {
		s = s[1:]
	}
	if len(s) < 2 || s[0] != 'P' {
		return false
	}
	s = s[1:]
	order := "YMDTHMS"
	pos := 0
	inTime := false
	any := false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime || len(s) == 1 {
				return false
			}
			inTime = true
			pos = 4
			s = s[1:]
			continue
		}
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		frac := false
		if j < len(s) && s[j] == '.' {
			k := j + 1
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			if k == j+1 {
				return false
			}
			j = k
			frac = true
		}
		if j == 0 || j >= len(s) {
			return false
		}
		u := s[j]
		idx := -1
		for k := pos; k < len(order); k++ {
			if order[k] == u && !(order[k] == 'T') {
				if (k >= 4) != inTime {
					continue
				}
				idx = k
				break
			}
		}
		if idx < 0 || (frac && u != 'S') {
			return false
		}
		pos = idx + 1
		any = true
		s = s[j+1:]
	}
	return any && !(inTime && pos == 4)
}

func checkBoolean(s string) bool {
	return s == "true" || s == "false" || s == "1" || s == "0"
}

func checkFloat(s string) bool {
	switch s {
	case "INF", "-INF", "NaN":
		return true
	}
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
		if exp == "" {
			return false
		}
		if exp[0] == '+' || exp[0] == '-' {
			exp = exp[1:]
		}
		if exp == "" {
			return false
		}
		for i := 0; i < len(exp); i++ {
			if exp[i] < '0' || exp[i] > '9' {
				return false
			}
		}
	}
	_, ok := parseDecimal(mant, false)
	return ok
}

func hexVal(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// hexLen validates xs:hexBinary and returns its length in octets.
func hexLen(s string) (int, bool) {
	if len(s)%2 != 0 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !hexVal(s[i]) {
			return 0, false
		}
	}
	return len(s) / 2, true
}

func b64Val(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// base64Len validates xs:base64Binary (XSD 1.0 grammar: single spaces may
// separate characters; the collapsed form is given) and returns the length
// in octets.
func base64Len(s string) (int, bool) {
	n := 0   // significant characters
	pad := 0 // '=' count
	var last byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			continue
		case c == '=':
			pad++
			if pad > 2 {
				return 0, false
			}
		case b64Val(c):
			if pad > 0 {
				return 0, false
			}
			n++
			last = c
		default:
			return 0, false
		}
	}
	if (n+pad)%4 != 0 {
		return 0, false
	}
	switch pad {
	case 1:
		if strings.IndexByte("AEIMQUYcgkosw048", last) < 0 {
			return 0, false
		}
	case 2:
		if strings.IndexByte("AQgw", last) < 0 {
			return 0, false
		}
	}
	return (n+pad)/4*3 - pad, true
}

func isNameStart(r rune) bool {
	return r == '_' || r == ':' || unicode.IsLetter(r) || unicode.Is(unicode.Nl, r)
}

func isNameChar(r rune) bool {
	return isNameStart(r) || r == '-' || r == '.' || r == 0xB7 || unicode.IsDigit(r) ||
		unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Lm, r)
}

func checkName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == ':' && !colon {
			return false
		}
		if i == 0 {
			if !isNameStart(r) {
				return false
			}
		} else if !isNameChar(r) {
			return false
		}
	}
	return true
}

func checkNMTOKEN(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isNameChar(r) {
			return false
		}
	}
	return true
}

func checkLanguage(s string) bool {
	parts := strings.Split(s, "-")
	for i, p := range parts {
		if len(p) < 1 || len(p) > 8 {
			return false
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !alpha && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

func checkQName(s string) bool {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return checkName(s[:i], false) && checkName(s[i+1:], false)
	}
	return checkName(s, false)
}

// Canonical returns the form in which enumeration values of a type with
// the given primitive are compared: numbers in canonical decimal form,
// booleans as true/false, hexBinary in upper case; other values as given.
// ok is false when v is not in the primitive's lexical space.
func Canonical(p Prim, v string) (string, bool) {
	switch p {
	case PrimDecimal:
		d, ok := parseDecimal(v, false)
		if !ok {
			return "", false
		}
		return d.canonical(), true
	case PrimBoolean:
		switch v {
		case "true", "1":
			return "true", true
		case "false", "0":
			return "false", true
		}
		return "", false
	case PrimHexBinary:
		if _, ok := hexLen(v); !ok {
			return "", false
		}
		return strings.ToUpper(v), true
	}
	return v, true
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// checkAnyURI applies the checks that libxml2 and Xerces make on xs:anyURI
// after escaping the characters URIs cannot carry (spaces, non-ASCII,
// backslash...): RFC 3986's structure is kept loose, but a '%' must start
// a %XX escape, a URI has at most one fragment, a colon in the first
// segment must end a well-formed scheme, and brackets only enclose an IP
// literal host.
func checkAnyURI(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !hexVal(s[i+1]) || !hexVal(s[i+2])) {
			return false
		}
	}
	if i := strings.IndexByte(s, '#'); i >= 0 && strings.IndexByte(s[i+1:], '#') >= 0 {
		return false
	}
	rest := s
	if i := strings.IndexAny(s, ":/?#"); i >= 0 && s[i] == ':' {
		scheme := s[:i]
		if scheme == "" || !isAlpha(scheme[0]) {
			return false
		}
		for j := 1; j < len(scheme); j++ {
			c := scheme[j]
			if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
				return false
			}
		}
		rest = s[i+1:]
	}
	if strings.IndexAny(rest, "[]") < 0 {
		return true
	}
	// Brackets: only an IP literal as the host of an authority.
	if !strings.HasPrefix(rest, "//") {
		return false
	}
	auth := rest[2:]
	if i := strings.IndexAny(auth, "/?#"); i >= 0 {
		if strings.IndexAny(auth[i:], "[]") >= 0 {
			return false
		}
		auth = auth[:i]
	}
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		auth = auth[i+1:]
	}
	end := strings.IndexByte(auth, ']')
	if !strings.HasPrefix(auth, "[") || end < 2 || strings.IndexAny(auth[1:end], "[]") >= 0 || strings.IndexAny(auth[end+1:], "[]") >= 0 {
		return false
	}
	for _, c := range []byte(auth[1:end]) {
		if !hexVal(c) && c != ':' && c != '.' && c != 'v' && c != 'V' {
			return false
		}
	}
	return end+1 == len(auth) || auth[end+1] == ':'
}
