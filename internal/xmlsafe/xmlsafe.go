// Package xmlsafe is the gate every untrusted XML document passes before any
// parser sees it. DUIS documents come from the network; DCC Boxed refuses any
// DTD (disallow-doctype-decl), and so do we, which rules out XXE and entity
// expansion attacks (billion laughs) whatever parser runs next.
package xmlsafe

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// DefaultMaxSize bounds a DUIS document. The largest RTDS template is a few
// tens of KiB; firmware images travel by reference, not inline, so 4 MiB is
// generous while keeping a hostile upload cheap to refuse.
const DefaultMaxSize = 4 << 20

// Errors returned by Check; each is wrapped with detail.
var (
	ErrTooLarge = errors.New("document too large")
	ErrDoctype  = errors.New("DOCTYPE or entity declaration not allowed")
	ErrNotUTF8  = errors.New("document is not valid UTF-8")
	ErrEmpty    = errors.New("empty document")
)

// Check refuses a document that is empty, larger than maxSize (<=0 means
// DefaultMaxSize), not UTF-8 (with or without a BOM; a declared non-UTF-8
// encoding is refused too), or that carries a DOCTYPE or ENTITY declaration.
func Check(data []byte, maxSize int) error {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if len(data) > maxSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), maxSize)
	}
	body := bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	if len(bytes.TrimSpace(body)) == 0 {
		return ErrEmpty
	}
	if !utf8.Valid(body) {
		off := 0
		for off < len(body) {
			r, n := utf8.DecodeRune(body[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return fmt.Errorf("%w: invalid byte at offset %d", ErrNotUTF8, off)
	}
	if i := bytes.Index(body, []byte("<!DOCTYPE")); i >= 0 {
		return fmt.Errorf("%w: at offset %d", ErrDoctype, i)
	}
	if i := bytes.Index(body, []byte("<!ENTITY")); i >= 0 {
		return fmt.Errorf("%w: at offset %d", ErrDoctype, i)
	}
	if decl, ok := declaredEncoding(body); ok && !isUTF8Name(decl) {
		return fmt.Errorf("%w: declared encoding %q", ErrNotUTF8, decl)
	}
	return nil
}

// declaredEncoding reads encoding="..." from a leading XML declaration.
func declaredEncoding(b []byte) (string, bool) {
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return "", false
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return "", false
	}
	decl := b[:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return "", false
	}
	rest := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return "", false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) < 2 || (rest[0] != '"' && rest[0] != '\'') {
		return "", false
	}
	q := rest[0]
	j := bytes.IndexByte(rest[1:], q)
	if j < 0 {
		return "", false
	}
	return string(rest[1 : 1+j]), true
}

func isUTF8Name(s string) bool {
	switch string(bytes.ToLower([]byte(s))) {
	case "utf-8", "utf8":
		return true
	}
	return false
}
