package gbcs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/opendcc/opendcc/eui"
)

// UTRN (Unique Transaction Reference Number): the 20-digit prepayment top-up
// code (GBCS §14), carried by CS01a (DLMS) and CS01b/PCS01 (GBZ).
//
//	PTUT (64 bits)  = high dword ‖ low dword
//	high dword      = 0000000 ‖ counter bits 32-41 (10) ‖ value class (2) ‖ value (13)
//	low dword       = bytes 12-15 of a 16-byte GMAC: key = KDF(CRA 01, counter,
//	                  supplier, meter) from the supplier's prepayment KA key and
//	                  the meter's KA key; IV = supplier ‖ 00000000; AAD =
//	                  11 00 00 00 00 00 ‖ supplier ‖ meter ‖ 01 ‖ counter (8) ‖ high dword
//	UTRN            = decimal(7394156990786306048 + PTUT) (19 digits) ‖ check digit
//
// The counter's low 32 bits are zero by construction.

// UTRNBase is added to the PTUT to make the 19-digit PPTD.
const UTRNBase uint64 = 7394156990786306048

// ValueClass is the unit of a top-up value.
type ValueClass uint8

// Value classes.
const (
	ValuePennies ValueClass = 0
	ValuePounds  ValueClass = 1
)

func (c ValueClass) String() string {
	switch c {
	case ValuePennies:
		return "pennies"
	case ValuePounds:
		return "pounds"
	}
	return fmt.Sprintf("ValueClass(%d)", uint8(c))
}

// MaxTopUpValue is the largest value a UTRN carries (13 bits).
const MaxTopUpValue = 1<<13 - 1

// TopUp is what a UTRN authorises.
type TopUp struct {
	Counter uint64 // UTRN counter; low 32 bits zero
	Value   uint16 // 0-8191
	Class   ValueClass
}

// UTRN errors.
var (
	ErrUTRNSyntax  = errors.New("gbcs: UTRN is not 20 digits with a valid check digit")
	ErrUTRNMAC     = errors.New("gbcs: UTRN authentication failed")
	ErrUTRNCounter = errors.New("gbcs: UTRN counter already used or too old")
)

func (t TopUp) check() error {
	if t.Counter&0xFFFFFFFF != 0 {
		return fmt.Errorf("gbcs: UTRN counter %#x has non-zero low 32 bits", t.Counter)
	}
	if t.Value > MaxTopUpValue {
		return fmt.Errorf("gbcs: top-up value %d > %d", t.Value, MaxTopUpValue)
	}
	if t.Class > 3 {
		return fmt.Errorf("gbcs: value class %d does not fit 2 bits", t.Class)
	}
	return nil
}

func (t TopUp) highDword() uint32 {
	return uint32((t.Counter>>32)&0x3FF)<<15 | uint32(t.Class)<<13 | uint32(t.Value)
}

// utrnMAC is the low dword: bytes 12-15 of the 16-byte GMAC.
func utrnMAC(z []byte, supplier, meter eui.EUI64, counter uint64, high uint32) (uint32, error) {
	key := DeriveKey(z, CRACommand, counter, supplier, meter)
	aad := make([]byte, 0, 6+8+8+1+8+4)
	aad = append(aad, macAADPrefix[:]...)
	aad = append(aad, supplier[:]...)
	aad = append(aad, meter[:]...)
	aad = append(aad, byte(CRACommand))
	aad = binary.BigEndian.AppendUint64(aad, counter)
	aad = binary.BigEndian.AppendUint32(aad, high)
	tag, err := GMAC(key[:], supplier, aad, 16)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(tag[12:16]), nil
}

// GenerateUTRN computes the UTRN for t. z is the ECDH shared secret of the
// supplier's prepayment KA key and the meter's KA key (see
// Security.UTRNSecret).
func GenerateUTRN(z []byte, supplier, meter eui.EUI64, t TopUp) (string, error) {
	if err := t.check(); err != nil {
		return "", err
	}
	high := t.highDword()
	low, err := utrnMAC(z, supplier, meter, t.Counter, high)
	if err != nil {
		return "", err
	}
	ptut := uint64(high)<<32 | uint64(low)
	pptd := strconv.FormatUint(UTRNBase+ptut, 10)
	if len(pptd) != 19 {
		return "", fmt.Errorf("gbcs: PPTD %s is not 19 digits", pptd) // unreachable: PTUT < 2^57
	}
	return pptd + string(rune('0'+utrnCheckDigit(pptd))), nil
}

// Verhoeff tables (GBCS tables 14.8a/b/c): the standard dihedral
// multiplication and permutation tables, and GBCS's own inverse table.
var (
	verhoeffD = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
	utrnInv = [10]byte{1, 2, 6, 7, 5, 8, 3, 0, 9, 4}
)

// utrnCheckDigit computes the GBCS check digit of a digit string: start
// with k = 4, c = 0; for each digit left to right c = D[c][P[k][digit]],
// k = (k+1) mod 8; the digit is Inv[c].
func utrnCheckDigit(digits string) byte {
	k, c := 4, byte(0)
	for i := 0; i < len(digits); i++ {
		c = verhoeffD[c][verhoeffP[k][digits[i]-'0']]
		k = (k + 1) % 8
	}
	return utrnInv[c]
}

// ParseUTRN checks the form of a UTRN (20 digits, check digit, range) and
// returns its PTUT.
func ParseUTRN(utrn string) (ptut uint64, err error) {
	if len(utrn) != 20 {
		return 0, ErrUTRNSyntax
	}
	for i := 0; i < 20; i++ {
		if utrn[i] < '0' || utrn[i] > '9' {
			return 0, ErrUTRNSyntax
		}
	}
	if utrnCheckDigit(utrn[:19]) != utrn[19]-'0' {
		return 0, fmt.Errorf("%w: check digit", ErrUTRNSyntax)
	}
	pptd, err := strconv.ParseUint(utrn[:19], 10, 64)
	if err != nil || pptd < UTRNBase || (pptd-UTRNBase)>>57 != 0 {
		return 0, fmt.Errorf("%w: out of range", ErrUTRNSyntax)
	}
	return pptd - UTRNBase, nil
}

// UTRNCounterCache is a meter's record of UTRN counters it accepted: the
// Size highest ones. A UTRN is accepted only if its counter is not in the
// cache and, once the cache is full, greater than the smallest counter in
// it; so recent UTRNs may be applied out of order, old ones never, and none
// twice.
//
// This follows the project's notes (§5: "reject duplicates/old counters");
// the GBCS §14 text with the exact cache size was not available, so Size is
// configurable (DefaultUTRNCacheSize otherwise).
type UTRNCounterCache struct {
	Size     int
	Counters []uint64 // ascending
}

// DefaultUTRNCacheSize is used when UTRNCounterCache.Size is 0.
const DefaultUTRNCacheSize = 10

func (c *UTRNCounterCache) size() int {
	if c.Size > 0 {
		return c.Size
	}
	return DefaultUTRNCacheSize
}

// Acceptable reports whether counter may still be used.
func (c *UTRNCounterCache) Acceptable(counter uint64) bool {
	if _, found := slices.BinarySearch(c.Counters, counter); found {
		return false
	}
	return len(c.Counters) < c.size() || counter > c.Counters[0]
}

// Record adds an accepted counter, dropping the smallest beyond Size.
func (c *UTRNCounterCache) Record(counter uint64) {
	i, found := slices.BinarySearch(c.Counters, counter)
	if found {
		return
	}
	c.Counters = slices.Insert(c.Counters, i, counter)
	if n := c.size(); len(c.Counters) > n {
		c.Counters = append(c.Counters[:0], c.Counters[len(c.Counters)-n:]...)
	}
}

// highest is the largest recorded counter (0 when empty).
func (c *UTRNCounterCache) highest() uint64 {
	if len(c.Counters) == 0 {
		return 0
	}
	return c.Counters[len(c.Counters)-1]
}

// ValidateUTRN is the meter's check of a UTRN: form and check digit, then
// the full counter is rebuilt from its 10 bits and the cache (the candidate
// in the 2^42 epoch of the highest recorded counter, or the next epoch),
// then the MAC, then the counter rules. On success the counter is recorded
// in cache (when cache is not nil) and the top-up returned.
func ValidateUTRN(z []byte, supplier, meter eui.EUI64, utrn string, cache *UTRNCounterCache) (TopUp, error) {
	ptut, err := ParseUTRN(utrn)
	if err != nil {
		return TopUp{}, err
	}
	high, low := uint32(ptut>>32), uint32(ptut)
	if high>>25 != 0 {
		return TopUp{}, fmt.Errorf("%w: reserved bits set", ErrUTRNSyntax)
	}
	bits := uint64(high>>15) & 0x3FF
	t := TopUp{Class: ValueClass((high >> 13) & 3), Value: uint16(high & 0x1FFF)}
	if cache == nil {
		cache = &UTRNCounterCache{}
	}
	epoch := cache.highest() >> 42
	sawValidMAC := false
	for _, e := range []uint64{epoch, epoch + 1} {
		if e >= 1<<22 {
			continue
		}
		counter := e<<42 | bits<<32
		mac, err := utrnMAC(z, supplier, meter, counter, high)
		if err != nil {
			return TopUp{}, err
		}
		if mac != low {
			continue
		}
		sawValidMAC = true
		if !cache.Acceptable(counter) {
			continue
		}
		t.Counter = counter
		cache.Record(counter)
		return t, nil
	}
	if sawValidMAC {
		return TopUp{}, ErrUTRNCounter
	}
	return TopUp{}, ErrUTRNMAC
}

// UTRNSecret is the ECDH shared secret for UTRNs between supplier and
// meter: the supplier's prepayment KA key and the meter's KA key, from
// whichever side's private key the key store holds.
func (s *Security) UTRNSecret(supplier, meter eui.EUI64) ([]byte, error) {
	if s.Keys == nil {
		return nil, fmt.Errorf("%w: no key store", ErrNoKey)
	}
	if pk := s.Keys.PrivateKeys(supplier, UsagePrepayment); len(pk) > 0 {
		if certs := s.Keys.Certificates(meter, UsageKeyAgreement); len(certs) > 0 {
			return s.SharedSecret(pk[0], certs[0].PublicKey)
		}
	}
	if pk := s.Keys.PrivateKeys(meter, UsageKeyAgreement); len(pk) > 0 {
		if certs := s.Keys.Certificates(supplier, UsagePrepayment); len(certs) > 0 {
			return s.SharedSecret(pk[0], certs[0].PublicKey)
		}
	}
	return nil, fmt.Errorf("%w: need %s's prepayment KA private key and %s's KA certificate, or the reverse", ErrNoKey, supplier, meter)
}

// GenerateUTRN generates a UTRN with keys from the key store.
func (s *Security) GenerateUTRN(supplier, meter eui.EUI64, t TopUp) (string, error) {
	z, err := s.UTRNSecret(supplier, meter)
	if err != nil {
		return "", err
	}
	return GenerateUTRN(z, supplier, meter, t)
}

// ValidateUTRN validates a UTRN with keys from the key store (see the
// package function).
func (s *Security) ValidateUTRN(supplier, meter eui.EUI64, utrn string, cache *UTRNCounterCache) (TopUp, error) {
	z, err := s.UTRNSecret(supplier, meter)
	if err != nil {
		return TopUp{}, err
	}
	return ValidateUTRN(z, supplier, meter, utrn, cache)
}
