package gbcs

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/opendcc/opendcc/eui"
)

// APDU tags of the frames.
const (
	TagGeneralCiphering     = 0xDD // MAC Header
	TagGeneralSigning       = 0xDF // Grouping Header
	TagGeneralBlockTransfer = 0xE0 // GBT block header inside a DD frame
)

// SecurityControlAuthOnly is the security control byte of every MAC Header:
// authentication only, security suite 1.
const SecurityControlAuthOnly = 0x11

// MACSize is the length of the GMAC trailer of the MAC Header.
const MACSize = 12

// SignatureSize is the length of a raw r‖s ECDSA P-256 signature.
const SignatureSize = 64

// DateTimeSize is the length of a DLMS date-time in the Grouping Header.
const DateTimeSize = 12

// CRA is the first byte of the transaction-id: who sent the message. The KDF
// also uses 0x04 for payload encryption.
type CRA byte

// CRA flag values.
const (
	CRACommand    CRA = 0x01
	CRAResponse   CRA = 0x02
	CRAAlert      CRA = 0x03
	CRAEncryption CRA = 0x04 // KDF only, never on the wire
)

func (c CRA) String() string {
	switch c {
	case CRACommand:
		return "command"
	case CRAResponse:
		return "response"
	case CRAAlert:
		return "alert"
	case CRAEncryption:
		return "encryption"
	}
	return fmt.Sprintf("CRA(0x%02X)", byte(c))
}

// Kind classifies a message the way the RTDS corpus names its files.
type Kind int

// Message kinds.
const (
	KindPreCommand Kind = iota + 1 // Grouping Header without a signature field
	KindCommand
	KindResponse
	KindAlert
)

func (k Kind) String() string {
	switch k {
	case KindPreCommand:
		return "PRECOMMAND"
	case KindCommand:
		return "COMMAND"
	case KindResponse:
		return "RESPONSE"
	case KindAlert:
		return "ALERT"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseError is returned by every parser of this package. Offset is the
// position in the input where the problem was found.
type ParseError struct {
	Offset int
	Msg    string
}

func (e *ParseError) Error() string { return fmt.Sprintf("gbcs: offset %d: %s", e.Offset, e.Msg) }

// ErrBlock is wrapped (via errors.Is) by Parse when the input is a General
// Block Transfer block rather than a whole message; use ParseBlock and
// Reassemble.
var ErrBlock = errors.New("gbcs: General Block Transfer block")

type blockError struct{ ParseError }

func (e *blockError) Unwrap() error { return ErrBlock }

// Message is one GBCS message: an optional MAC Header (General-Ciphering,
// DD) around a Grouping Header (General-Signing, DF) that carries the
// payload. Parse fills every field; Marshal writes them back byte for byte.
//
// The four RTDS kinds map onto the fields as follows:
//
//	Pre-Command         MACHeader=false, SignatureField=false
//	non-critical        MACHeader=true,  SignatureField=true, Signature empty (length 00)
//	critical command    MACHeader=true,  SignatureField=true, Signature 64 bytes
//	critical response /
//	alert, CS02x        MACHeader=false, SignatureField=true, Signature 64 bytes
type Message struct {
	// MAC Header. When MACHeader is false the message is a bare Grouping
	// Header and the three fields below are unused.
	MACHeader         bool
	SecurityControl   byte   // 0x11 in every GBCS message
	InvocationCounter uint32 // always 0 in GBCS
	MAC               []byte // 12-byte GMAC tag

	// Grouping Header. The transaction-id is CRA ‖ OriginatorCounter.
	CRA               CRA
	OriginatorCounter uint64
	Originator        eui.EUI64 // Business Originator ID (originator-system-title)
	Recipient         eui.EUI64 // Business Target ID (recipient-system-title)
	DateTime          []byte    // nil (absent) or 12-byte DLMS date-time

	// other-information: Message Code ‖ [Supplementary Remote Party ID
	// [‖ Supplementary Remote Party Counter [‖ Supplementary Originator
	// Counter | Supplementary Remote Party KA certificate]]].
	MessageCode                         uint16
	HasSupplementaryRemoteParty         bool
	SupplementaryRemoteParty            eui.EUI64
	HasSupplementaryRemotePartyCounter  bool
	SupplementaryRemotePartyCounter     uint64
	HasSupplementaryOriginatorCounter   bool
	SupplementaryOriginatorCounter      uint64
	SupplementaryRemotePartyCertificate []byte // DER, the unknown remote party's KA certificate

	Content []byte // DLMS, GBZ or ASN.1 payload

	// SignatureField is false only for Pre-Commands, which end after the
	// content. Signature is empty (length byte 00) or 64 bytes r‖s.
	SignatureField bool
	Signature      []byte

	// Raw is the input Parse read (nil for messages built in code).
	Raw []byte
}

// Kind reports whether m is a Pre-Command, command, response or alert.
func (m *Message) Kind() Kind {
	if !m.SignatureField {
		return KindPreCommand
	}
	switch m.CRA {
	case CRACommand:
		return KindCommand
	case CRAResponse:
		return KindResponse
	case CRAAlert:
		return KindAlert
	}
	return 0
}

// Signed reports whether m carries a 64-byte signature.
func (m *Message) Signed() bool { return len(m.Signature) == SignatureSize }

// TransactionID is the 9-byte transaction-id: CRA ‖ originator counter.
func (m *Message) TransactionID() [9]byte {
	var t [9]byte
	t[0] = byte(m.CRA)
	binary.BigEndian.PutUint64(t[1:], m.OriginatorCounter)
	return t
}

// OtherInformation is the encoded other-information field (without its
// length).
func (m *Message) OtherInformation() ([]byte, error) {
	return m.appendOtherInfo(nil)
}

func (m *Message) appendOtherInfo(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, m.MessageCode)
	hasTail := m.HasSupplementaryOriginatorCounter || len(m.SupplementaryRemotePartyCertificate) > 0
	if m.HasSupplementaryOriginatorCounter && len(m.SupplementaryRemotePartyCertificate) > 0 {
		return nil, errors.New("gbcs: other-information holds either a supplementary originator counter or a certificate, not both")
	}
	if (m.HasSupplementaryRemotePartyCounter || hasTail) && !m.HasSupplementaryRemoteParty {
		return nil, errors.New("gbcs: supplementary fields need a Supplementary Remote Party ID")
	}
	if hasTail && !m.HasSupplementaryRemotePartyCounter {
		return nil, errors.New("gbcs: supplementary originator counter / certificate need a Supplementary Remote Party Counter")
	}
	if m.HasSupplementaryRemoteParty {
		b = append(b, m.SupplementaryRemoteParty[:]...)
	}
	if m.HasSupplementaryRemotePartyCounter {
		b = binary.BigEndian.AppendUint64(b, m.SupplementaryRemotePartyCounter)
	}
	if m.HasSupplementaryOriginatorCounter {
		b = binary.BigEndian.AppendUint64(b, m.SupplementaryOriginatorCounter)
	}
	if c := m.SupplementaryRemotePartyCertificate; len(c) > 0 {
		if len(c) == 8 {
			return nil, errors.New("gbcs: an 8-byte certificate would read back as a supplementary originator counter")
		}
		b = append(b, c...)
	}
	return b, nil
}

func (m *Message) check() error {
	if m.CRA < CRACommand || m.CRA > CRAAlert {
		return fmt.Errorf("gbcs: CRA flag %v is not 01, 02 or 03", m.CRA)
	}
	if n := len(m.DateTime); n != 0 && n != DateTimeSize {
		return fmt.Errorf("gbcs: date-time must be absent or %d bytes, have %d", DateTimeSize, n)
	}
	if n := len(m.Signature); n != 0 && n != SignatureSize {
		return fmt.Errorf("gbcs: signature must be empty or %d bytes, have %d", SignatureSize, n)
	}
	if len(m.Signature) > 0 && !m.SignatureField {
		return errors.New("gbcs: signature given but SignatureField is false")
	}
	if m.MACHeader && !m.SignatureField {
		return errors.New("gbcs: a MAC Header cannot wrap a Pre-Command (no signature field)")
	}
	if m.MACHeader && len(m.MAC) != MACSize {
		return fmt.Errorf("gbcs: MAC must be %d bytes, have %d", MACSize, len(m.MAC))
	}
	if len(m.Content) > MaxLength {
		return errors.New("gbcs: content too long")
	}
	return nil
}

// AppendGeneralSigning appends the Grouping Header (General-Signing APDU, from
// the DF tag through the signature field or, for a Pre-Command, through the
// content).
func (m *Message) AppendGeneralSigning(b []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	b = append(b, TagGeneralSigning, 0x09, byte(m.CRA))
	b = binary.BigEndian.AppendUint64(b, m.OriginatorCounter)
	b = append(b, 0x08)
	b = append(b, m.Originator[:]...)
	b = append(b, 0x08)
	b = append(b, m.Recipient[:]...)
	b = append(b, byte(len(m.DateTime)))
	b = append(b, m.DateTime...)
	oi, err := m.appendOtherInfo(make([]byte, 0, 26+len(m.SupplementaryRemotePartyCertificate)))
	if err != nil {
		return nil, err
	}
	if len(oi) > MaxLength {
		return nil, errors.New("gbcs: other-information too long")
	}
	b = AppendLength(b, len(oi))
	b = append(b, oi...)
	b = AppendLength(b, len(m.Content))
	b = append(b, m.Content...)
	if m.SignatureField {
		b = append(b, byte(len(m.Signature)))
		b = append(b, m.Signature...)
	}
	return b, nil
}

// GeneralSigning returns the Grouping Header bytes (see AppendGeneralSigning).
// With the MAC Header's 6-byte prefix they are the GMAC's additional data.
func (m *Message) GeneralSigning() ([]byte, error) { return m.AppendGeneralSigning(nil) }

// SignedBytes returns what an ECDSA signature covers: the Grouping Header
// from the byte after the DF tag through the end of the content, i.e.
// without the tag and without the signature field.
func (m *Message) SignedBytes() ([]byte, error) {
	c := *m
	c.SignatureField = false
	c.Signature = nil
	c.MACHeader = false
	gs, err := c.AppendGeneralSigning(nil)
	if err != nil {
		return nil, err
	}
	return gs[1:], nil
}

// Marshal encodes m: the MAC Header around the Grouping Header when
// MACHeader is set, else the Grouping Header alone.
func (m *Message) Marshal() ([]byte, error) {
	if !m.MACHeader {
		return m.AppendGeneralSigning(nil)
	}
	gs, err := m.AppendGeneralSigning(nil)
	if err != nil {
		return nil, err
	}
	return m.appendMACHeader(make([]byte, 0, len(gs)+7+4+5+MACSize), gs)
}

func (m *Message) appendMACHeader(b, gs []byte) ([]byte, error) {
	n := 5 + len(gs) + MACSize
	if n > MaxLength {
		return nil, errors.New("gbcs: message too long")
	}
	b = append(b, TagGeneralCiphering, 0, 0, 0, 0, 0, 0)
	b = AppendLength(b, n)
	b = append(b, m.SecurityControl)
	b = binary.BigEndian.AppendUint32(b, m.InvocationCounter)
	b = append(b, gs...)
	return append(b, m.MAC...), nil
}

// reader walks an input buffer, reporting absolute offsets in errors.
type reader struct {
	b   []byte
	off int
	end int
}

func (r *reader) fail(format string, a ...any) error {
	return &ParseError{Offset: r.off, Msg: fmt.Sprintf(format, a...)}
}

func (r *reader) left() int { return r.end - r.off }

func (r *reader) u8(what string) (byte, error) {
	if r.off >= r.end {
		return 0, r.fail("%s: unexpected end of input", what)
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) take(n int, what string) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, r.fail("%s: need %d bytes, %d left", what, n, r.left())
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s, nil
}

func (r *reader) length(what string) (int, error) {
	n, size, err := ParseLength(r.b[r.off:r.end])
	if err != nil {
		pe := err.(*ParseError)
		return 0, &ParseError{Offset: r.off + pe.Offset, Msg: what + " " + pe.Msg}
	}
	r.off += size
	return n, nil
}

func (r *reader) expect(v byte, what string) error {
	at := r.off
	c, err := r.u8(what)
	if err != nil {
		return err
	}
	if c != v {
		return &ParseError{Offset: at, Msg: fmt.Sprintf("%s: want 0x%02X, have 0x%02X", what, v, c)}
	}
	return nil
}

// Parse decodes one GBCS message: a MAC Header (DD 00…) around a Grouping
// Header, or a bare Grouping Header (DF…). Byte slices in the result alias
// b. A General Block Transfer block (DD 09…) is refused with an error that
// wraps ErrBlock. Parse never panics.
func Parse(b []byte) (*Message, error) {
	if len(b) == 0 {
		return nil, &ParseError{Offset: 0, Msg: "empty input"}
	}
	m := &Message{Raw: b}
	r := &reader{b: b, end: len(b)}
	switch b[0] {
	case TagGeneralSigning:
		if err := parseGeneralSigning(r, m, true); err != nil {
			return nil, err
		}
		return m, nil
	case TagGeneralCiphering:
	default:
		return nil, &ParseError{Offset: 0, Msg: fmt.Sprintf("unknown APDU tag 0x%02X (want DD or DF)", b[0])}
	}
	r.off = 1
	if len(b) > 1 && b[1] == 0x09 {
		return nil, &blockError{ParseError{Offset: 1, Msg: "General Block Transfer block (transaction-id present); use ParseBlock"}}
	}
	for _, what := range []string{"MAC Header transaction-id length", "MAC Header originator-system-title length",
		"MAC Header recipient-system-title length", "MAC Header date-time length",
		"MAC Header other-information length", "MAC Header key-info"} {
		if err := r.expect(0, what); err != nil {
			return nil, err
		}
	}
	n, err := r.length("ciphered-service length")
	if err != nil {
		return nil, err
	}
	if n != r.left() {
		return nil, r.fail("ciphered-service length %d but %d bytes follow", n, r.left())
	}
	if n < 5+MACSize+1 {
		return nil, r.fail("ciphered-service length %d too short", n)
	}
	m.MACHeader = true
	m.SecurityControl = b[r.off]
	m.InvocationCounter = binary.BigEndian.Uint32(b[r.off+1:])
	r.off += 5
	r.end = len(b) - MACSize
	if r.b[r.off] != TagGeneralSigning {
		return nil, r.fail("want General-Signing tag DF inside the MAC Header, have 0x%02X", r.b[r.off])
	}
	if err := parseGeneralSigning(r, m, false); err != nil {
		return nil, err
	}
	m.MAC = b[len(b)-MACSize:]
	return m, nil
}

// parseGeneralSigning reads a Grouping Header that must fill r up to r.end.
func parseGeneralSigning(r *reader, m *Message, allowPreCommand bool) error {
	if err := r.expect(TagGeneralSigning, "General-Signing tag"); err != nil {
		return err
	}
	if err := r.expect(0x09, "transaction-id length"); err != nil {
		return err
	}
	at := r.off
	c, err := r.u8("CRA flag")
	if err != nil {
		return err
	}
	if c < byte(CRACommand) || c > byte(CRAAlert) {
		return &ParseError{Offset: at, Msg: fmt.Sprintf("CRA flag 0x%02X is not 01, 02 or 03", c)}
	}
	m.CRA = CRA(c)
	v, err := r.take(8, "originator counter")
	if err != nil {
		return err
	}
	m.OriginatorCounter = binary.BigEndian.Uint64(v)
	if err := r.expect(0x08, "originator-system-title length"); err != nil {
		return err
	}
	if v, err = r.take(8, "originator-system-title"); err != nil {
		return err
	}
	copy(m.Originator[:], v)
	if err := r.expect(0x08, "recipient-system-title length"); err != nil {
		return err
	}
	if v, err = r.take(8, "recipient-system-title"); err != nil {
		return err
	}
	copy(m.Recipient[:], v)
	at = r.off
	dl, err := r.u8("date-time length")
	if err != nil {
		return err
	}
	switch dl {
	case 0:
	case DateTimeSize:
		if m.DateTime, err = r.take(DateTimeSize, "date-time"); err != nil {
			return err
		}
	default:
		return &ParseError{Offset: at, Msg: fmt.Sprintf("date-time length %d (want 0 or 12)", dl)}
	}
	at = r.off
	n, err := r.length("other-information length")
	if err != nil {
		return err
	}
	oiStart := r.off
	oi, err := r.take(n, "other-information")
	if err != nil {
		return err
	}
	if err := parseOtherInfo(oi, oiStart, at, m); err != nil {
		return err
	}
	if n, err = r.length("content length"); err != nil {
		return err
	}
	if m.Content, err = r.take(n, "content"); err != nil {
		return err
	}
	if r.left() == 0 {
		if !allowPreCommand {
			return r.fail("signature length: missing inside a MAC Header")
		}
		return nil // Pre-Command
	}
	m.SignatureField = true
	at = r.off
	sl, _ := r.u8("signature length")
	switch sl {
	case 0:
		m.Signature = m.Content[len(m.Content):] // empty, non-nil
	case SignatureSize:
		if m.Signature, err = r.take(SignatureSize, "signature"); err != nil {
			return err
		}
	default:
		return &ParseError{Offset: at, Msg: fmt.Sprintf("signature length 0x%02X (want 00 or 40)", sl)}
	}
	if r.left() != 0 {
		return r.fail("%d unexpected bytes after the signature", r.left())
	}
	return nil
}

func parseOtherInfo(oi []byte, start, lenAt int, m *Message) error {
	n := len(oi)
	if n < 2 {
		return &ParseError{Offset: lenAt, Msg: fmt.Sprintf("other-information length %d: no message code", n)}
	}
	m.MessageCode = binary.BigEndian.Uint16(oi)
	switch {
	case n == 2:
		return nil
	case n == 10, n == 18, n == 26:
	case n > 26:
		cert := oi[18:]
		if cert[0] != 0x30 {
			return &ParseError{Offset: start + 18, Msg: "other-information: supplementary remote party certificate is not a DER SEQUENCE"}
		}
		l, size, err := ParseLength(cert[1:])
		if err != nil || 1+size+l != len(cert) {
			return &ParseError{Offset: start + 18, Msg: "other-information: certificate length does not match the field"}
		}
		m.SupplementaryRemotePartyCertificate = cert
	default:
		return &ParseError{Offset: lenAt, Msg: fmt.Sprintf("other-information length %d not understood (2, 10, 18, 26 or a certificate)", n)}
	}
	m.HasSupplementaryRemoteParty = true
	copy(m.SupplementaryRemoteParty[:], oi[2:10])
	if n >= 18 {
		m.HasSupplementaryRemotePartyCounter = true
		m.SupplementaryRemotePartyCounter = binary.BigEndian.Uint64(oi[10:18])
	}
	if n == 26 {
		m.HasSupplementaryOriginatorCounter = true
		m.SupplementaryOriginatorCounter = binary.BigEndian.Uint64(oi[18:26])
	}
	return nil
}
