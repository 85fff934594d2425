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

// TestRSFromDER: rsFromDER gives the bytes ecdsa.Sign's r and s fill, for
// signatures from ecdsa.SignASN1 and for hand-made DER.
func TestRSFromDER(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	check := func(der []byte) {
		t.Helper()
		var want struct{ R, S *big.Int }
		rest, err := asn1.Unmarshal(der, &want)
		var rs [64]byte
		ok := rsFromDER(rs[:], der)
		wantOK := err == nil && len(rest) == 0 && want.R.Sign() >= 0 && want.S.Sign() >= 0 && want.R.BitLen() <= 256 && want.S.BitLen() <= 256
		if ok != wantOK {
			t.Fatalf("%x: ok %v, want %v", der, ok, wantOK)
		}
		if ok {
			var w [64]byte
			want.R.FillBytes(w[:32])
			want.S.FillBytes(w[32:])
			if rs != w {
				t.Fatalf("%x: %x, want %x", der, rs, w)
			}
		}
	}
	for i := 0; i < 300; i++ {
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		der, err := ecdsa.SignASN1(rand.Reader, key, h[:])
		if err != nil {
			t.Fatal(err)
		}
		check(der)
	}
	for _, r := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(0x80), new(big.Int).Lsh(big.NewInt(1), 255), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))} {
		der, err := asn1.Marshal(struct{ R, S *big.Int }{r, big.NewInt(5)})
		if err != nil {
			t.Fatal(err)
		}
		check(der)
	}
	for _, der := range [][]byte{{}, {0x30}, {0x30, 0}, {0x30, 3, 2, 1, 1}, {0x30, 6, 2, 1, 1, 2, 1, 1, 0}, {0x31, 6, 2, 1, 1, 2, 1, 1}, {0x30, 6, 2, 1, 1, 2, 2, 1}} {
		var rs [64]byte
		if rsFromDER(rs[:], der) {
			t.Fatalf("%x accepted", der)
		}
	}
}
