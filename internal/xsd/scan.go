package xsd

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"unicode/utf8"
)

// Scanner is a strict XML 1.0 tokenizer for whole documents in memory. It
// exists because encoding/xml costs about three quarters of a validation;
// this one allocates almost nothing (names are interned, text is returned
// as a slice of the input when it needs no decoding).
//
// It checks well-formedness: names, attribute syntax, the five predefined
// entities and character references (any other reference is an error, so
// no entity is ever expanded), XML characters, "--" in comments, "]]>" in
// text, the XML declaration only at the start, a DOCTYPE is refused. It
// normalises line ends (CRLF and CR to LF) in text and attribute values and
// applies attribute-value normalisation (literal tab/LF/CR become spaces).
// Tag nesting, the single root and text outside the root are checked by
// the consumer (Stream), which sees every token.
//
// The input must be valid UTF-8 (xmlsafe.Check guarantees it); invalid
// sequences are reported as errors.
type Scanner struct {
	data   []byte
	pos    int
	line   int // line at pos
	intern map[string]string

	kind        TokenKind
	start, end  int
	tokLine     int
	prefix      string
	local       string
	attrs       []xml.Attr
	text        []byte
	buf         []byte // decoded text
	abuf        []byte // decoded attribute value
	pendingEnd  bool   // a self-closing tag: report its end next
	cdata       bool
	sawDecl     bool
	sawAnything bool
}

// TokenKind is the kind of token Next returns.
type TokenKind uint8

const (
	TokEOF TokenKind = iota
	TokStart
	TokEnd
	TokText // character data or a CDATA section
	TokComment
	TokPI
)

// ScanError is a well-formedness error.
type ScanError struct {
	Line int
	Msg  string
}

func (e *ScanError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Msg }

// NewScanner returns a scanner over data. intern maps names to canonical
// strings (may be nil); names not in it are allocated.
func NewScanner(data []byte, intern map[string]string) *Scanner {
	s := &Scanner{}
	s.Reset(data, intern)
	return s
}

// Reset reuses the scanner for another document.
func (s *Scanner) Reset(data []byte, intern map[string]string) {
	*s = Scanner{data: data, line: 1, intern: intern, attrs: s.attrs[:0], buf: s.buf[:0], abuf: s.abuf[:0]}
	if bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}) {
		s.pos = 3
	}
}

// Kind, Name, Attrs, Text, Raw and Line describe the current token.
func (s *Scanner) Kind() TokenKind { return s.kind }

// Name is the prefix and local name of a start or end tag.
func (s *Scanner) Name() (prefix, local string) { return s.prefix, s.local }

// Attrs are the attributes of a start tag (Name.Space holds the prefix;
// namespace declarations included). Valid until the next call to Next.
func (s *Scanner) Attrs() []xml.Attr { return s.attrs }

// Text is the decoded character data; valid until the next call to Next.
func (s *Scanner) Text() []byte { return s.text }

// CDATA reports whether the text token is a CDATA section.
func (s *Scanner) CDATA() bool { return s.cdata }

// Raw is the byte range of the token in the input (empty for the end of a
// self-closing tag).
func (s *Scanner) Raw() (start, end int) { return s.start, s.end }

// Line is the line where the token starts.
func (s *Scanner) Line() int { return s.tokLine }

func (s *Scanner) errf(msg string) error {
	return &ScanError{Line: s.line, Msg: msg}
}

// advance moves pos to p, counting lines.
func (s *Scanner) advance(p int) {
	s.line += bytes.Count(s.data[s.pos:p], []byte{'\n'})
	s.pos = p
}

// Next reads the next token.
func (s *Scanner) Next() (TokenKind, error) {
	s.cdata = false
	s.text = nil
	if s.pendingEnd {
		s.pendingEnd = false
		s.kind = TokEnd
		s.start, s.end = s.pos, s.pos
		return TokEnd, nil
	}
	s.start = s.pos
	s.tokLine = s.line
	if s.pos >= len(s.data) {
		s.kind = TokEOF
		s.end = s.pos
		return TokEOF, nil
	}
	first := !s.sawAnything
	s.sawAnything = true
	var err error
	if s.data[s.pos] != '<' {
		s.kind = TokText
		err = s.scanText()
	} else if s.pos+1 >= len(s.data) {
		return 0, s.errf("unexpected end of input after <")
	} else {
		switch s.data[s.pos+1] {
		case '/':
			s.kind = TokEnd
			err = s.scanEnd()
		case '?':
			s.kind = TokPI
			err = s.scanPI(first)
		case '!':
			err = s.scanBang()
		default:
			s.kind = TokStart
			err = s.scanStart()
		}
	}
	s.end = s.pos
	if err != nil {
		return 0, err
	}
	return s.kind, nil
}

func (s *Scanner) internBytes(b []byte) string {
	if v, ok := s.intern[string(b)]; ok {
		return v
	}
	return string(b)
}

func isNameStartByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= 0x80
}

func isNameByte(c byte) bool {
	return isNameStartByte(c) || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// scanName reads an XML Name at pos and returns its byte range.
func (s *Scanner) scanName() (int, int, error) {
	start := s.pos
	p := s.pos
	for p < len(s.data) {
		c := s.data[p]
		if c < 0x80 {
			if !isNameByte(c) || (p == start && !isNameStartByte(c)) {
				break
			}
			p++
			continue
		}
		r, n := utf8.DecodeRune(s.data[p:])
		if r == utf8.RuneError && n <= 1 {
			return 0, 0, s.errf("invalid UTF-8")
		}
		if p == start && !isNameStart(r) || p > start && !isNameChar(r) {
			break
		}
		p += n
	}
	if p == start {
		return 0, 0, s.errf("expected a name")
	}
	s.pos = p
	return start, p, nil
}

// splitQName splits a name into prefix and local part (namespace
// well-formedness: at most one colon, neither part empty).
func (s *Scanner) splitQName(a, b int) (string, string, error) {
	name := s.data[a:b]
	i := bytes.IndexByte(name, ':')
	if i < 0 {
		return "", s.internBytes(name), nil
	}
	if i == 0 || i == len(name)-1 || bytes.IndexByte(name[i+1:], ':') >= 0 {
		return "", "", s.errf("malformed qualified name " + strconv.Quote(string(name)))
	}
	return s.internBytes(name[:i]), s.internBytes(name[i+1:]), nil
}

func (s *Scanner) skipSpace() bool {
	p := s.pos
	for p < len(s.data) && isWS(s.data[p]) {
		p++
	}
	moved := p > s.pos
	s.advance(p)
	return moved
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *Scanner) scanStart() error {
	s.pos++ // <
	a, b, err := s.scanName()
	if err != nil {
		return err
	}
	if s.prefix, s.local, err = s.splitQName(a, b); err != nil {
		return err
	}
	s.attrs = s.attrs[:0]
	s.abuf = s.abuf[:0]
	for {
		sp := s.skipSpace()
		if s.pos >= len(s.data) {
			return s.errf("unexpected end of input in a start tag")
		}
		switch s.data[s.pos] {
		case '>':
			s.pos++
			return nil
		case '/':
			if s.pos+1 >= len(s.data) || s.data[s.pos+1] != '>' {
				return s.errf("expected /> ")
			}
			s.pos += 2
			s.pendingEnd = true
			return nil
		}
		if !sp {
			return s.errf("expected whitespace before an attribute")
		}
		a, b, err := s.scanName()
		if err != nil {
			return err
		}
		prefix, local, err := s.splitQName(a, b)
		if err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '=' {
			return s.errf("expected = after attribute " + strconv.Quote(string(s.data[a:b])))
		}
		s.pos++
		s.skipSpace()
		val, err := s.scanAttrValue()
		if err != nil {
			return err
		}
		if prefix == "" && local == "xmlns" {
			prefix, local = "", "xmlns"
		}
		s.attrs = append(s.attrs, xml.Attr{Name: xml.Name{Space: prefix, Local: local}, Value: val})
	}
}

func (s *Scanner) scanAttrValue() (string, error) {
	if s.pos >= len(s.data) || (s.data[s.pos] != '"' && s.data[s.pos] != '\'') {
		return "", s.errf("expected a quoted attribute value")
	}
	q := s.data[s.pos]
	s.pos++
	start := s.pos
	end := bytes.IndexByte(s.data[start:], q)
	if end < 0 {
		return "", s.errf("unterminated attribute value")
	}
	end += start
	raw := s.data[start:end]
	simple := true
	for _, c := range raw {
		if c == '&' || c == '<' || c < 0x20 || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		s.pos = end + 1
		return s.internBytes(raw), nil
	}
	s.abuf = s.abuf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '<':
			s.advance(start + i)
			return "", s.errf("< in an attribute value")
		case c == '&':
			r, n, err := s.reference(raw[i:])
			if err != nil {
				s.advance(start + i)
				return "", err
			}
			s.abuf = utf8.AppendRune(s.abuf, r)
			i += n
		case c == '\r':
			s.abuf = append(s.abuf, ' ')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			i++
		case c == '\t' || c == '\n':
			s.abuf = append(s.abuf, ' ')
			i++
		case c < 0x20:
			s.advance(start + i)
			return "", s.errf("illegal character " + strconv.QuoteRune(rune(c)))
		case c >= 0x80:
			r, n := utf8.DecodeRune(raw[i:])
			if !isXMLChar(r) || (r == utf8.RuneError && n <= 1) {
				s.advance(start + i)
				return "", s.errf("illegal character")
			}
			s.abuf = append(s.abuf, raw[i:i+n]...)
			i += n
		default:
			s.abuf = append(s.abuf, c)
			i++
		}
	}
	s.advance(end + 1)
	return string(s.abuf), nil
}

func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// reference decodes the reference at the start of b ("&...;").
func (s *Scanner) reference(b []byte) (rune, int, error) {
	end := bytes.IndexByte(b, ';')
	if end < 2 {
		return 0, 0, s.errf("malformed reference")
	}
	name := b[1:end]
	switch string(name) {
	case "lt":
		return '<', end + 1, nil
	case "gt":
		return '>', end + 1, nil
	case "amp":
		return '&', end + 1, nil
	case "apos":
		return '\'', end + 1, nil
	case "quot":
		return '"', end + 1, nil
	}
	if name[0] != '#' {
		return 0, 0, s.errf("undefined entity &" + string(name) + "; (only the predefined entities are allowed)")
	}
	var v uint64
	var err error
	if len(name) > 1 && name[1] == 'x' {
		if len(name) == 2 {
			return 0, 0, s.errf("malformed character reference")
		}
		v, err = strconv.ParseUint(string(name[2:]), 16, 32)
	} else {
		if len(name) == 1 {
			return 0, 0, s.errf("malformed character reference")
		}
		for _, c := range name[1:] {
			if c < '0' || c > '9' {
				return 0, 0, s.errf("malformed character reference")
			}
		}
		v, err = strconv.ParseUint(string(name[1:]), 10, 32)
	}
	if err != nil || v > 0x10FFFF || !isXMLChar(rune(v)) {
		return 0, 0, s.errf("character reference &" + string(name) + "; is not an XML character")
	}
	return rune(v), end + 1, nil
}

func (s *Scanner) scanEnd() error {
	s.pos += 2 // </
	a, b, err := s.scanName()
	if err != nil {
		return err
	}
	if s.prefix, s.local, err = s.splitQName(a, b); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '>' {
		return s.errf("expected > in an end tag")
	}
	s.pos++
	return nil
}

func (s *Scanner) scanPI(first bool) error {
	s.pos += 2 // <?
	a, b, err := s.scanName()
	if err != nil {
		return err
	}
	target := s.data[a:b]
	end := bytes.Index(s.data[s.pos:], []byte("?>"))
	if end < 0 {
		return s.errf("unterminated processing instruction")
	}
	body := s.data[s.pos : s.pos+end]
	if len(body) > 0 && !isWS(body[0]) {
		return s.errf("expected whitespace after the processing instruction target")
	}
	if err := s.checkChars(body); err != nil {
		return err
	}
	if len(target) == 3 && (target[0]|0x20) == 'x' && (target[1]|0x20) == 'm' && (target[2]|0x20) == 'l' {
		if string(target) != "xml" || !first || s.sawDecl || (s.start != 0 && s.start != 3) {
			return s.errf("XML declaration allowed only at the start of the document")
		}
		s.sawDecl = true
		if err := s.checkDecl(body); err != nil {
			return err
		}
	}
	s.advance(s.pos + end + 2)
	return nil
}

// checkDecl checks version (1.0), encoding and standalone of the XML
// declaration, in that order.
func (s *Scanner) checkDecl(body []byte) error {
	type pa struct{ name, value []byte }
	var pasBuf [4]pa
	pas := pasBuf[:0]
	for {
		body = bytes.TrimLeft(body, " \t\r\n")
		if len(body) == 0 {
			break
		}
		eq := bytes.IndexByte(body, '=')
		if eq < 0 {
			return s.errf("malformed XML declaration")
		}
		name := bytes.TrimRight(body[:eq], " \t\r\n")
		rest := bytes.TrimLeft(body[eq+1:], " \t\r\n")
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			return s.errf("malformed XML declaration")
		}
		end := bytes.IndexByte(rest[1:], rest[0])
		if end < 0 {
			return s.errf("malformed XML declaration")
		}
		pas = append(pas, pa{name, rest[1 : 1+end]})
		body = rest[2+end:]
		if len(body) > 0 && !isWS(body[0]) {
			return s.errf("malformed XML declaration")
		}
	}
	i := 0
	if i >= len(pas) || string(pas[i].name) != "version" || string(pas[i].value) != "1.0" {
		return s.errf("XML declaration: version 1.0 required")
	}
	i++
	if i < len(pas) && string(pas[i].name) == "encoding" {
		if !bytes.EqualFold(pas[i].value, []byte("UTF-8")) {
			return s.errf("XML declaration: encoding " + strconv.Quote(string(pas[i].value)) + " is not supported (UTF-8 only)")
		}
		i++
	}
	if i < len(pas) && string(pas[i].name) == "standalone" {
		if v := pas[i].value; string(v) != "yes" && string(v) != "no" {
			return s.errf("XML declaration: bad standalone value")
		}
		i++
	}
	if i != len(pas) {
		return s.errf("XML declaration: unexpected " + strconv.Quote(string(pas[i].name)))
	}
	return nil
}

func (s *Scanner) scanBang() error {
	rest := s.data[s.pos:]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		s.kind = TokComment
		end := bytes.Index(rest[4:], []byte("--"))
		if end < 0 {
			return s.errf("unterminated comment")
		}
		if 4+end+2 >= len(rest) || rest[4+end+2] != '>' {
			s.advance(s.pos + 4 + end)
			return s.errf(`"--" not allowed in a comment`)
		}
		if err := s.checkChars(rest[4 : 4+end]); err != nil {
			return err
		}
		s.advance(s.pos + 4 + end + 3)
		return nil
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		s.kind = TokText
		s.cdata = true
		end := bytes.Index(rest[9:], []byte("]]>"))
		if end < 0 {
			return s.errf("unterminated CDATA section")
		}
		body := rest[9 : 9+end]
		if err := s.checkChars(body); err != nil {
			return err
		}
		s.text = s.normalizeEOL(body)
		s.advance(s.pos + 9 + end + 3)
		return nil
	}
	return s.errf("DOCTYPE and other declarations are not allowed")
}

// checkChars refuses characters outside XML's Char production.
func (s *Scanner) checkChars(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return s.errf("illegal character " + strconv.QuoteRune(rune(c)))
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if (r == utf8.RuneError && n <= 1) || !isXMLChar(r) {
			return s.errf("illegal character")
		}
		i += n
	}
	return nil
}

func (s *Scanner) normalizeEOL(b []byte) []byte {
	if bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	s.buf = s.buf[:0]
	for i := 0; i < len(b); i++ {
		if b[i] == '\r' {
			s.buf = append(s.buf, '\n')
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			continue
		}
		s.buf = append(s.buf, b[i])
	}
	return s.buf
}

func (s *Scanner) scanText() error {
	start := s.pos
	end := bytes.IndexByte(s.data[start:], '<')
	if end < 0 {
		end = len(s.data)
	} else {
		end += start
	}
	raw := s.data[start:end]
	plain := true
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '&' || c == '\r' || c == ']' || c < 0x20 && c != '\t' && c != '\n' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		s.text = raw
		s.advance(end)
		return nil
	}
	if i := bytes.Index(raw, []byte("]]>")); i >= 0 {
		s.advance(start + i)
		return s.errf(`"]]>" not allowed in text`)
	}
	s.buf = s.buf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '&':
			r, n, err := s.reference(raw[i:])
			if err != nil {
				s.advance(start + i)
				return err
			}
			s.buf = utf8.AppendRune(s.buf, r)
			i += n
		case c == '\r':
			s.buf = append(s.buf, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			i++
		case c < 0x20 && c != '\t' && c != '\n':
			s.advance(start + i)
			return s.errf("illegal character " + strconv.QuoteRune(rune(c)))
		case c >= 0x80:
			r, n := utf8.DecodeRune(raw[i:])
			if (r == utf8.RuneError && n <= 1) || !isXMLChar(r) {
				s.advance(start + i)
				return s.errf("illegal character")
			}
			s.buf = append(s.buf, raw[i:i+n]...)
			i += n
		default:
			s.buf = append(s.buf, c)
			i++
		}
	}
	s.text = s.buf
	s.advance(end)
	return nil
}
