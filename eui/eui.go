// Package eui is the EUI-64 identifier that names every DCC User, the DCC
// itself and every smart metering device. It is shared by the DUIS, GBCS and
// SMKI packages, so it lives on its own with no dependencies.
package eui

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// EUI64 is an IEEE EUI-64 in network order.
type EUI64 [8]byte

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("eui: invalid EUI-64")

// Parse accepts the DUIS form (eight hex pairs joined by '-', either case)
// and the bare form of 16 hex digits used in certificates and file names.
func Parse(s string) (EUI64, error) {
	var e EUI64
	var h string
	switch len(s) {
	case 23:
		for i := 2; i < 23; i += 3 {
			if s[i] != '-' {
				return e, fmt.Errorf("%w: %q: expected '-' at offset %d", ErrSyntax, s, i)
			}
		}
		h = strings.ReplaceAll(s, "-", "")
	case 16:
		h = s
	default:
		return e, fmt.Errorf("%w: %q: want 8 hex pairs", ErrSyntax, s)
	}
	if _, err := hex.Decode(e[:], []byte(h)); err != nil {
		return EUI64{}, fmt.Errorf("%w: %q: %v", ErrSyntax, s, err)
	}
	return e, nil
}

// MustParse is Parse for constants; it panics on bad input.
func MustParse(s string) EUI64 {
	e, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return e
}

// String gives the DUIS form in upper case: 90-B3-D5-1F-30-01-00-00.
func (e EUI64) String() string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, 23)
	for i, c := range e {
		if i > 0 {
			b = append(b, '-')
		}
		b = append(b, digits[c>>4], digits[c&15])
	}
	return string(b)
}

// Hex gives the bare upper-case form: 90B3D51F30010000.
func (e EUI64) Hex() string { return strings.ToUpper(hex.EncodeToString(e[:])) }

// IsZero reports whether e is all zeros (unset).
func (e EUI64) IsZero() bool { return e == EUI64{} }
