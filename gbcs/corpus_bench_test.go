package gbcs_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/internal/refdata"
)

// The RTDS benchmarks measure GBCS work on real messages, each next to the
// bare cost of the cryptography it must do (BenchmarkCryptoFloor), so the
// ratio shows the overhead of the code around the crypto. Reproduce with
// scripts/bench-gbcs.

func rtdsSecurity(b *testing.B) *gbcs.Security {
	b.Helper()
	keys := gbcs.NewKeyring()
	if _, err := keys.LoadRTDSDir(refdata.Path(b, "gbcs", "rtds", "keystore")); err != nil {
		b.Fatal(err)
	}
	return gbcs.NewSecurity(keys, 0)
}

func rtdsFile(b *testing.B, dir, name string) []byte {
	b.Helper()
	p := refdata.Path(b, "gbcs", "rtds", "RTDS-4.5.0", dir, name)
	raw, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	return decodeHexFile(b, raw)
}

func decodeHexFile(b testing.TB, raw []byte) []byte {
	d, err := hexDecode(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkRTDSParseVerifyMAC: parse + MAC check of a non-critical command
// (ECS17b, read import registers), shared secret cached as in a running DCC.
func BenchmarkRTDSParseVerifyMAC(b *testing.B) {
	sec := rtdsSecurity(b)
	msg := rtdsFile(b, "4.1.1_ECS17b", "ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX")
	b.ReportAllocs()
	for b.Loop() {
		m, err := gbcs.Parse(msg)
		if err != nil {
			b.Fatal(err)
		}
		if err := sec.VerifyMAC(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRTDSParseVerifySigned: parse + signature check of a critical
// command (ECS01a tariff, signed by the supplier).
func BenchmarkRTDSParseVerifySigned(b *testing.B) {
	sec := rtdsSecurity(b)
	msg := rtdsFile(b, "1.1.1_ECS01a", "ECS01a_1.1.1_IMMEDIATE_BLOCK_SUCCESS_COMMAND_GBCS.HEX")
	b.ReportAllocs()
	for b.Loop() {
		m, err := gbcs.Parse(msg)
		if err != nil {
			b.Fatal(err)
		}
		if err := sec.VerifySignature(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRTDSBuildMAC: build a non-critical command from its header and
// content, MAC it with the ACB key and marshal it (what the DCC does per
// non-critical request).
func BenchmarkRTDSBuildMAC(b *testing.B) {
	sec := rtdsSecurity(b)
	cm, err := gbcs.Parse(rtdsFile(b, "4.1.1_ECS17b", "ECS17b_4.1.1_SINGLE_SUCCESS_COMMAND_GBCS.HEX"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m := &gbcs.Message{CRA: cm.CRA, OriginatorCounter: cm.OriginatorCounter, Originator: cm.Originator,
			Recipient: cm.Recipient, MessageCode: cm.MessageCode, Content: cm.Content, SignatureField: true}
		if err := sec.WrapMAC(m); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRTDSUTRN: generate the CS01a UTRN (supplier prepayment key and
// the ESME's key-agreement certificate; the shared secret cached).
func BenchmarkRTDSUTRN(b *testing.B) {
	sec := rtdsSecurity(b)
	sup, esme := eui.MustParse("90B3D51F30010000"), eui.MustParse("00DB1234567890A0")
	t := gbcs.TopUp{Counter: 3 << 32, Value: 10, Class: gbcs.ValuePounds}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sec.GenerateUTRN(sup, esme, t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRTDSCorpus: every RTDS message: parse, check the MAC or
// signature, decode the payload (decrypting sensitive parts). Reports
// messages per second and the crypto operations the pass needs.
func BenchmarkRTDSCorpus(b *testing.B) {
	sec := rtdsSecurity(b)
	files, _ := filepath.Glob(filepath.Join(refdata.Path(b, "gbcs", "rtds", "RTDS-4.5.0"), "*", "*.HEX"))
	sort.Strings(files)
	var msgs [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, decodeHexFile(b, raw))
	}
	var macs, sigs int
	pass := func(count bool) {
		for _, d := range msgs {
			m, err := gbcs.Parse(d)
			if err != nil {
				b.Fatal(err)
			}
			if m.MACHeader {
				if err := sec.VerifyMAC(m); err == nil && count {
					macs++
				} else if err != nil && !errors.Is(err, gbcs.ErrNoKey) {
					b.Fatal(err)
				}
			}
			if m.Signed() {
				if err := sec.VerifySignature(m); err == nil && count {
					sigs++
				} else if err != nil && !errors.Is(err, gbcs.ErrNoKey) {
					b.Fatal(err)
				}
			}
			opts := payload.Options{Alert: m.CRA == gbcs.CRAAlert, Decrypt: func(ct []byte) ([]byte, error) { return sec.DecryptPayload(m, ct) }}
			if _, err := payload.Decode(m.MessageCode, m.Content, opts); err != nil {
				b.Fatal(err)
			}
		}
	}
	pass(true) // warm the shared-secret cache, count the checks
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pass(false)
	}
	b.ReportMetric(float64(len(msgs))*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(len(msgs)), "msgs/pass")
	b.ReportMetric(float64(macs), "macs/pass")
	b.ReportMetric(float64(sigs), "sigs/pass")
}

// BenchmarkCryptoFloor times the bare primitives with the standard library:
// ECDSA P-256 verify and sign, ECDH, and a MAC (SHA-256 KDF + AES-128-GCM
// tag over ~150 bytes, what a cached-secret MAC check must compute).
func BenchmarkCryptoFloor(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	h := sha256.Sum256([]byte("grouping header"))
	sig, _ := ecdsa.SignASN1(rand.Reader, k, h[:])
	b.Run("ecdsa-verify", func(b *testing.B) {
		for b.Loop() {
			if !ecdsa.VerifyASN1(&k.PublicKey, h[:], sig) {
				b.Fatal("verify")
			}
		}
	})
	b.Run("ecdsa-sign", func(b *testing.B) {
		for b.Loop() {
			if _, err := ecdsa.SignASN1(rand.Reader, k, h[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
	e1, _ := ecdh.P256().GenerateKey(rand.Reader)
	e2, _ := ecdh.P256().GenerateKey(rand.Reader)
	b.Run("ecdh", func(b *testing.B) {
		for b.Loop() {
			if _, err := e1.ECDH(e2.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
	aad := make([]byte, 150)
	b.Run("kdf+gmac", func(b *testing.B) {
		for b.Loop() {
			key := sha256.Sum256(aad[:64])
			blk, _ := aes.NewCipher(key[:16])
			g, _ := cipher.NewGCMWithTagSize(blk, 12)
			g.Seal(nil, aad[:12], nil, aad)
		}
	})
}
