package gbcs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
)

// benchSetup builds, without reference data, an ACB and a device with fresh
// keys (the ACB side holds its private key and the device's certificate)
// and a non-critical command like the ECS17b example (97 bytes of content).
func benchSetup(b *testing.B, cacheSize int) (*Security, *Message, PrivateKey, *ecdsa.PublicKey) {
	b.Helper()
	ring := NewKeyring()
	add := func(id eui.EUI64, u Usage, withKey bool) (PrivateKey, *ecdsa.PublicKey) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		pub, _ := k.PublicKey.Bytes()
		if err := ring.AddCertificate(id, u, &smki.Certificate{Raw: pub, PublicKey: &k.PublicKey}); err != nil {
			b.Fatal(err)
		}
		sk, _ := NewSoftwareKey(k)
		if withKey {
			if err := ring.AddPrivateKey(id, u, sk); err != nil {
				b.Fatal(err)
			}
		}
		return sk, &k.PublicKey
	}
	device := eui.MustParse("00DB1234567890A0")
	add(smki.DCCEUI, UsageKeyAgreement, true)
	add(device, UsageKeyAgreement, false)
	signer, pub := add(euiSupplier, UsageDigitalSignature, true)
	content := make([]byte, 97)
	content[0] = 0xD9
	m := &Message{CRA: CRACommand, OriginatorCounter: 1000, Originator: euiSupplier, Recipient: device,
		MessageCode: 0x0027, Content: content, SignatureField: true, Signature: []byte{}}
	sec := NewSecurity(ring, cacheSize)
	if err := sec.WrapMAC(m); err != nil {
		b.Fatal(err)
	}
	return sec, m, signer, pub
}

func BenchmarkParse(b *testing.B) {
	_, m, _, _ := benchSetup(b, 0)
	wire, _ := m.Marshal()
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if _, err := Parse(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	_, m, _, _ := benchSetup(b, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyMAC: key lookup, ECDH (cached or not), KDF and GMAC.
func BenchmarkVerifyMAC(b *testing.B) {
	for _, c := range []struct {
		name string
		size int
	}{{"cached", 0}, {"nocache", -1}} {
		b.Run(c.name, func(b *testing.B) {
			sec, m, _, _ := benchSetup(b, c.size)
			b.ReportAllocs()
			for b.Loop() {
				if err := sec.VerifyMAC(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckMAC: GMAC only, with the key known.
func BenchmarkCheckMAC(b *testing.B) {
	sec, m, _, _ := benchSetup(b, 0)
	keys, _ := sec.MACKeys(m)
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckMAC(keys[0][:], m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKDF: the key for a message, with and without the shared-secret
// cache (without: one P-256 ECDH per call).
func BenchmarkKDF(b *testing.B) {
	for _, c := range []struct {
		name string
		size int
	}{{"cached", 0}, {"nocache", -1}} {
		b.Run(c.name, func(b *testing.B) {
			sec, m, _, _ := benchSetup(b, c.size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := sec.MACKeys(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("derive-only", func(b *testing.B) {
		z := make([]byte, 32)
		b.ReportAllocs()
		for b.Loop() {
			_ = DeriveKey(z, CRACommand, 1000, euiSupplier, euiESME)
		}
	})
}

func BenchmarkSignGroupingHeader(b *testing.B) {
	_, m, signer, _ := benchSetup(b, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := SignMessage(m, signer, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyGroupingHeader(b *testing.B) {
	_, m, signer, pub := benchSetup(b, 0)
	if err := SignMessage(m, signer, rand.Reader); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckSignature(m, pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptPayload(b *testing.B) {
	key := make([]byte, 16)
	ct, _ := EncryptPayload(key, euiESME, make([]byte, 64))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecryptPayload(key, euiESME, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateUTRN(b *testing.B) {
	z := make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := GenerateUTRN(z, euiSupplier, euiESME, TopUp{Counter: 3 << 32, Value: 10, Class: ValuePounds}); err != nil {
			b.Fatal(err)
		}
	}
}
