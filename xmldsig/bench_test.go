package xmldsig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// benchInputs are the 8.2 Read Inventory request (small) and the largest
// ECS01a 1.1.1 template (large), the same pair internal/interop times the
// DCC Boxed Java tool on.
func benchInputs(b *testing.B) []template {
	b.Helper()
	dir := refdata.Path(b, "duis", "templates")
	small, err := os.ReadFile(filepath.Join(dir, "8.2_READ_INVENTORY_REQUEST_DUIS.XML"))
	if err != nil {
		b.Fatal(err)
	}
	fs, _ := filepath.Glob(filepath.Join(dir, "ECS01a_1.1.1_*"))
	sort.Strings(fs)
	var large []byte
	for _, f := range fs {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if len(d) > len(large) {
			large = d
		}
	}
	return []template{{"8.2", small}, {"1.1.1", large}}
}

func BenchmarkSign(b *testing.B) {
	store := zaz1(b)
	for _, in := range benchInputs(b) {
		key, cert, err := store.XMLSigningKey(originator(b, in.doc))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in.doc)))
			for b.Loop() {
				if _, err := Sign(in.doc, key, cert); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	store := zaz1(b)
	for _, in := range benchInputs(b) {
		key, cert, err := store.XMLSigningKey(originator(b, in.doc))
		if err != nil {
			b.Fatal(err)
		}
		signed, err := Sign(in.doc, key, cert)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(signed)))
			opts := VerifyOptions{Certificates: store}
			for b.Loop() {
				if _, err := Verify(signed, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkECDSAFloor is the cryptographic floor under Sign and Verify: one
// P-256 ECDSA operation over a SHA-256 digest.
func BenchmarkECDSAFloor(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.Sum256([]byte("<ds:SignedInfo/>"))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := ecdsa.Sign(rand.Reader, key, h[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !ecdsa.Verify(&key.PublicKey, h[:], r, s) {
				b.Fatal("verify failed")
			}
		}
	})
}
