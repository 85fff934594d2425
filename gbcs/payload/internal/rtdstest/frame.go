// Package rtdstest is TEST SCAFFOLDING for the payload decoders: it reads
// the RTDS 4.5.0 reference messages, strips their GBCS framing (a minimal
// reading of the MAC header and grouping header, project notes §1.3–1.4) to
// reach the payload, decrypts sensitive parts with the RTDS keystore, and
// converts the use-case annex to text. It is not a GBCS frame parser — that
// is package gbcs — and nothing outside tests may use it.
package rtdstest

import (
	"errors"
	"fmt"
)

// Header holds the grouping-header fields the payload tests need.
type Header struct {
	MAC           bool // a DD general-ciphering MAC header was present
	CRA           byte // 01 command, 02 response, 03 alert
	Counter       uint64
	Originator    [8]byte
	Recipient     [8]byte
	DateTime      []byte
	OtherInfo     []byte
	MessageCode   uint16
	ContentOffset int // offset of the content in the frame
}

// SupplementaryRemoteParty returns the Supplementary Remote Party ID when
// other-information carries one.
func (h Header) SupplementaryRemoteParty() ([8]byte, bool) {
	var id [8]byte
	if len(h.OtherInfo) < 10 {
		return id, false
	}
	copy(id[:], h.OtherInfo[2:10])
	return id, true
}

// SupplementaryOriginatorCounter returns the counter that ends a 26-byte
// other-information (responses to unknown-remote-party commands).
func (h Header) SupplementaryOriginatorCounter() (uint64, bool) {
	if len(h.OtherInfo) != 26 {
		return 0, false
	}
	return be(h.OtherInfo[18:26]), true
}

func be(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

type cursor struct {
	b   []byte
	pos int
}

var errShort = errors.New("frame truncated")

func (c *cursor) byte() (byte, error) {
	if c.pos >= len(c.b) {
		return 0, errShort
	}
	v := c.b[c.pos]
	c.pos++
	return v, nil
}

func (c *cursor) take(n int) ([]byte, error) {
	if n < 0 || c.pos+n > len(c.b) {
		return nil, errShort
	}
	v := c.b[c.pos : c.pos+n]
	c.pos += n
	return v, nil
}

// length reads a GBCS length (§1.2): one byte, or 0x81/0x82/0x83 + bytes.
func (c *cursor) length() (int, error) {
	first, err := c.byte()
	if err != nil {
		return 0, err
	}
	if first < 0x80 {
		return int(first), nil
	}
	k := int(first & 0x7f)
	if k < 1 || k > 3 {
		return 0, fmt.Errorf("length form 0x%02x", first)
	}
	b, err := c.take(k)
	if err != nil {
		return 0, err
	}
	return int(be(b)), nil
}

// Strip returns the grouping-header fields and the content (payload) of a
// GBCS message: an optional DD general-ciphering MAC header with its empty
// fields and security header, then the DF general-signing grouping header.
func Strip(frame []byte) (Header, []byte, error) {
	var h Header
	c := &cursor{b: frame}
	tag, err := c.byte()
	if err != nil {
		return h, nil, err
	}
	if tag == 0xdd {
		h.MAC = true
		hdr, err := c.take(6) // transaction-id, originator/recipient titles, date-time, other-info: all empty; key-info absent
		if err != nil {
			return h, nil, err
		}
		for _, v := range hdr {
			if v != 0 {
				return h, nil, fmt.Errorf("general-ciphering header field 0x%02x not empty (GBT block?)", v)
			}
		}
		if _, err := c.length(); err != nil { // ciphered-service length
			return h, nil, err
		}
		if _, err := c.take(5); err != nil { // security control, invocation counter
			return h, nil, err
		}
		if tag, err = c.byte(); err != nil {
			return h, nil, err
		}
	}
	if tag != 0xdf {
		return h, nil, fmt.Errorf("grouping header tag 0x%02x, want DF", tag)
	}
	if l, err := c.byte(); err != nil || l != 9 {
		return h, nil, fmt.Errorf("transaction-id length %d, want 9", l)
	}
	if h.CRA, err = c.byte(); err != nil {
		return h, nil, err
	}
	ctr, err := c.take(8)
	if err != nil {
		return h, nil, err
	}
	h.Counter = be(ctr)
	for _, st := range []*[8]byte{&h.Originator, &h.Recipient} {
		if l, err := c.byte(); err != nil || l != 8 {
			return h, nil, fmt.Errorf("system title length %d, want 8", l)
		}
		b, err := c.take(8)
		if err != nil {
			return h, nil, err
		}
		copy(st[:], b)
	}
	dl, err := c.byte()
	if err != nil {
		return h, nil, err
	}
	if h.DateTime, err = c.take(int(dl)); err != nil {
		return h, nil, err
	}
	ol, err := c.length()
	if err != nil {
		return h, nil, err
	}
	if h.OtherInfo, err = c.take(ol); err != nil {
		return h, nil, err
	}
	if len(h.OtherInfo) < 2 {
		return h, nil, fmt.Errorf("other-information of %d bytes has no message code", len(h.OtherInfo))
	}
	h.MessageCode = uint16(be(h.OtherInfo[:2]))
	cl, err := c.length()
	if err != nil {
		return h, nil, err
	}
	h.ContentOffset = c.pos
	content, err := c.take(cl)
	if err != nil {
		return h, nil, err
	}
	return h, content, nil
}
