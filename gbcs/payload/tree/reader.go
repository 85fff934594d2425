package tree

import "fmt"

// DecodeError reports malformed input: truncation, a wrong length, an
// unknown tag, a limit exceeded. Offset is the byte offset in the decoded
// input (in the plaintext, for errors inside a decrypted part).
type DecodeError struct {
	Offset int
	Msg    string
}

func (e *DecodeError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// Errorf builds a DecodeError.
func Errorf(offset int, format string, args ...any) *DecodeError {
	return &DecodeError{Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

// Limits bound the work a decoder does on hostile input.
type Limits struct {
	MaxDepth int // nesting of containers (arrays, structures, constructed TLVs)
	MaxNodes int // nodes in the whole tree
}

// DefaultLimits are used when a Limits field is zero. RTDS payloads nest at
// most 8 deep and the largest has about 3,000 nodes.
var DefaultLimits = Limits{MaxDepth: 48, MaxNodes: 1 << 20}

type budget struct {
	maxDepth, maxNodes int
	depth, nodes       int
}

// Reader is a bounds-checked cursor over a byte slice. Every read that would
// pass the end returns a *DecodeError naming the offset; nothing panics.
// Readers made by Sub and Fork share the limits of their parent.
type Reader struct {
	buf  []byte
	pos  int
	base int // offset of buf[0] in the input the offsets refer to
	b    *budget
}

// NewReader starts reading buf, whose first byte has offset base.
func NewReader(buf []byte, base int, l Limits) *Reader {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultLimits.MaxNodes
	}
	return &Reader{buf: buf, base: base, b: &budget{maxDepth: l.MaxDepth, maxNodes: l.MaxNodes}}
}

// Fork reads another buffer (a decrypted plaintext) under the same limits,
// with offsets counted from its own start.
func (r *Reader) Fork(buf []byte) *Reader {
	return &Reader{buf: buf, b: r.b}
}

// Pos is the offset of the next byte.
func (r *Reader) Pos() int { return r.base + r.pos }

// Seek moves back (or forward) to an absolute offset within the buffer.
func (r *Reader) Seek(offset int) error {
	if offset < r.base || offset > r.base+len(r.buf) {
		return Errorf(offset, "seek outside the buffer")
	}
	r.pos = offset - r.base
	return nil
}

// Len is the number of unread bytes.
func (r *Reader) Len() int { return len(r.buf) - r.pos }

// Done reports whether every byte has been read.
func (r *Reader) Done() bool { return r.pos >= len(r.buf) }

// Rest returns the unread bytes without consuming them.
func (r *Reader) Rest() []byte { return r.buf[r.pos:] }

// Errorf builds a DecodeError at the current offset.
func (r *Reader) Errorf(format string, args ...any) *DecodeError {
	return Errorf(r.Pos(), format, args...)
}

func (r *Reader) need(n int, what string) error {
	if n < 0 || r.Len() < n {
		return r.Errorf("truncated %s: need %d bytes, %d left", what, n, r.Len())
	}
	return nil
}

// Peek returns the next byte without consuming it.
func (r *Reader) Peek(what string) (byte, error) {
	if err := r.need(1, what); err != nil {
		return 0, err
	}
	return r.buf[r.pos], nil
}

// Bytes consumes n bytes; the result aliases the input.
func (r *Reader) Bytes(n int, what string) ([]byte, error) {
	if err := r.need(n, what); err != nil {
		return nil, err
	}
	b := r.buf[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

// U8 consumes one byte.
func (r *Reader) U8(what string) (uint8, error) {
	if err := r.need(1, what); err != nil {
		return 0, err
	}
	v := r.buf[r.pos]
	r.pos++
	return v, nil
}

// UintBE consumes an n-byte big-endian unsigned integer (n ≤ 8).
func (r *Reader) UintBE(n int, what string) (uint64, error) {
	b, err := r.Bytes(n, what)
	if err != nil {
		return 0, err
	}
	return BE(b), nil
}

// UintLE consumes an n-byte little-endian unsigned integer (n ≤ 8).
func (r *Reader) UintLE(n int, what string) (uint64, error) {
	b, err := r.Bytes(n, what)
	if err != nil {
		return 0, err
	}
	return LE(b), nil
}

// Sub consumes the next n bytes and returns a reader over them alone.
func (r *Reader) Sub(n int, what string) (*Reader, error) {
	start := r.Pos()
	b, err := r.Bytes(n, what)
	if err != nil {
		return nil, err
	}
	return &Reader{buf: b, base: start, b: r.b}, nil
}

// BERLength consumes a definite length in the BER/A-XDR form shared by DLMS,
// GBCS and DER: one byte below 0x80, or 0x80|k followed by k big-endian bytes
// (k 1..4). It returns the length and the byte count of the field when that
// is longer than the minimal form (0 when minimal), for byte-exact re-encoding.
func (r *Reader) BERLength(what string) (n int, nonMinimal int, err error) {
	start := r.Pos()
	first, err := r.U8(what)
	if err != nil {
		return 0, 0, err
	}
	if first < 0x80 {
		return int(first), 0, nil
	}
	k := int(first & 0x7f)
	if k == 0 {
		return 0, 0, Errorf(start, "%s: indefinite length (0x80) not allowed", what)
	}
	if k > 4 {
		return 0, 0, Errorf(start, "%s: length of %d bytes not supported", what, k)
	}
	v, err := r.UintBE(k, what)
	if err != nil {
		return 0, 0, err
	}
	if v > 1<<31-1 {
		return 0, 0, Errorf(start, "%s: length %d too large", what, v)
	}
	if LengthSize(int(v)) != 1+k {
		return int(v), 1 + k, nil
	}
	return int(v), 0, nil
}

// Enter records one more level of nesting; callers pair it with Leave.
func (r *Reader) Enter() error {
	r.b.depth++
	if r.b.depth > r.b.maxDepth {
		return r.Errorf("nesting deeper than %d", r.b.maxDepth)
	}
	return nil
}

// Leave undoes Enter.
func (r *Reader) Leave() { r.b.depth-- }

// Depth returns the current nesting; a decoder that recovers from a failed
// attempt (keeping bytes raw instead) restores it with SetDepth, since the
// failed attempt returned without its Leave calls.
func (r *Reader) Depth() int { return r.b.depth }

// SetDepth restores a nesting level saved with Depth.
func (r *Reader) SetDepth(d int) { r.b.depth = d }

// Node creates a node starting at offset start and counts it against the
// node limit. Its Len is set by End.
func (r *Reader) Node(name, typ string, start int) (*Node, error) {
	r.b.nodes++
	if r.b.nodes > r.b.maxNodes {
		return nil, Errorf(start, "more than %d nodes", r.b.maxNodes)
	}
	return &Node{Name: name, Type: typ, Offset: start}, nil
}

// End sets n.Len to the bytes read since n.Offset.
func (r *Reader) End(n *Node) *Node {
	n.Len = r.Pos() - n.Offset
	return n
}

// CheckCount rejects a declared element count that cannot fit in the bytes
// left when each element takes at least minSize bytes (an oversize array);
// the error names offset at, where the count was read.
func (r *Reader) CheckCount(count, minSize int, what string, at int) error {
	if count < 0 {
		return Errorf(at, "%s: negative count", what)
	}
	if minSize > 0 && count > r.Len()/minSize {
		return Errorf(at, "%s: %d elements cannot fit in %d bytes", what, count, r.Len())
	}
	if count > r.b.maxNodes {
		return Errorf(at, "%s: %d elements exceed the node limit", what, count)
	}
	return nil
}

// BE decodes a big-endian unsigned integer of up to 8 bytes.
func BE(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// LE decodes a little-endian unsigned integer of up to 8 bytes.
func LE(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// PutBE appends v as n big-endian bytes.
func PutBE(dst []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*uint(i))))
	}
	return dst
}

// PutLE appends v as n little-endian bytes.
func PutLE(dst []byte, v uint64, n int) []byte {
	for i := 0; i < n; i++ {
		dst = append(dst, byte(v>>(8*uint(i))))
	}
	return dst
}

// LengthSize is the byte count of the minimal BER/A-XDR length field for n.
func LengthSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffff:
		return 4
	default:
		return 5
	}
}

// AppendLength appends n as a BER/A-XDR length field; size > 0 forces that
// many bytes in total (the non-minimal form recorded by BERLength).
func AppendLength(dst []byte, n int, size int) ([]byte, error) {
	min := LengthSize(n)
	if size == 0 {
		size = min
	}
	if size < min || size > 5 {
		return dst, fmt.Errorf("length %d cannot be written in %d bytes", n, size)
	}
	if size == 1 {
		return append(dst, byte(n)), nil
	}
	dst = append(dst, 0x80|byte(size-1))
	return PutBE(dst, uint64(n), size-1), nil
}
