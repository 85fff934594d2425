package gbcs

import "fmt"

// MaxLength is the largest length the BER-style encoding below reads or
// writes (three length octets, 0x83 LL LL LL).
const MaxLength = 1<<24 - 1

// AppendLength appends GBCS "Encoding(X)" of n: the DER definite length form.
// n < 0x80 is one byte; otherwise 0x81 LL, 0x82 LLLL or 0x83 LLLLLL, always
// the shortest. It panics on n < 0 or n > MaxLength (a programming error);
// Marshal checks lengths before calling it.
func AppendLength(b []byte, n int) []byte {
	switch {
	case n < 0 || n > MaxLength:
		panic(fmt.Sprintf("gbcs: length %d out of range", n))
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xFF:
		return append(b, 0x81, byte(n))
	case n <= 0xFFFF:
		return append(b, 0x82, byte(n>>8), byte(n))
	default:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
}

// LengthSize is the number of bytes AppendLength writes for n.
func LengthSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xFF:
		return 2
	case n <= 0xFFFF:
		return 3
	default:
		return 4
	}
}

// ParseLength reads an Encoding(X) length at the start of b and returns the
// value and the number of bytes it occupied. Only the shortest form is
// accepted (0x81 05 is an error), so that every parsed message marshals back
// to the same bytes. Errors are *ParseError with offsets relative to b.
func ParseLength(b []byte) (n, size int, err error) {
	if len(b) == 0 {
		return 0, 0, &ParseError{Offset: 0, Msg: "length: unexpected end of input"}
	}
	first := b[0]
	if first < 0x80 {
		return int(first), 1, nil
	}
	k := int(first & 0x7F)
	if k == 0 || k > 3 {
		return 0, 0, &ParseError{Offset: 0, Msg: fmt.Sprintf("length: unsupported form 0x%02X", first)}
	}
	if len(b) < 1+k {
		return 0, 0, &ParseError{Offset: len(b), Msg: "length: unexpected end of input"}
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	if LengthSize(n) != 1+k {
		return 0, 0, &ParseError{Offset: 0, Msg: fmt.Sprintf("length: non-minimal encoding of %d", n)}
	}
	return n, 1 + k, nil
}
