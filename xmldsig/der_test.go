package xmldsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	mrand "math/rand"
	"testing"
)

// TestDERSignature: derSignature writes the DER that ecdsa.Verify hands to
// ecdsa.VerifyASN1 (encoding/asn1 writes the same SEQUENCE of INTEGERs),
// refuses zero r or s as ecdsa.Verify does, and verifies exactly when
// ecdsa.Verify does.
func TestDERSignature(t *testing.T) {
	rng := mrand.New(mrand.NewSource(1))
	var cases [][]byte
	for _, r := range [][]byte{{0}, {1}, {0x7f}, {0x80}, {0xff}, {0, 0x80}, {0, 0, 1}} {
		for _, s := range [][]byte{{0}, {1}, {0x80}, {0x7f, 0xff}} {
			rs := make([]byte, 64)
			copy(rs[32-len(r):32], r)
			copy(rs[64-len(s):], s)
			cases = append(cases, rs)
		}
	}
	for i := 0; i < 2000; i++ {
		rs := make([]byte, 64)
		rng.Read(rs)
		for j := 0; j < rng.Intn(3); j++ {
			rs[rng.Intn(2)*32+j] = 0
		}
		cases = append(cases, rs)
	}
	for _, rs := range cases {
		r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])
		var buf [derSignatureMax]byte
		got := derSignature(buf[:0], rs)
		if r.Sign() == 0 || s.Sign() == 0 {
			if got != nil {
				t.Fatalf("%x: %x, want nil", rs, got)
			}
			continue
		}
		want, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%x:\n got  %x\n want %x", rs, got, want)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		h := sha256.Sum256([]byte{byte(i)})
		r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
		if err != nil {
			t.Fatal(err)
		}
		rs := make([]byte, 64)
		r.FillBytes(rs[:32])
		s.FillBytes(rs[32:])
		if i%2 == 1 {
			rs[i%64] ^= 1
		}
		var buf [derSignatureMax]byte
		der := derSignature(buf[:0], rs)
		got := der != nil && ecdsa.VerifyASN1(&key.PublicKey, h[:], der)
		want := ecdsa.Verify(&key.PublicKey, h[:], new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:]))
		if got != want || got != (i%2 == 0) {
			t.Fatalf("signature %d: %v, ecdsa.Verify %v", i, got, want)
		}
	}
}
