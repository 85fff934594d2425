package gbcs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/internal/refdata"
)

var (
	euiACB       = eui.MustParse("90B3D51F30000002")
	euiSupplier  = eui.MustParse("90B3D51F30010000")
	euiSupplier2 = eui.MustParse("90B3D51F30030000")
	euiESME      = eui.MustParse("00DB1234567890A0")
	euiGSME      = eui.MustParse("00DB1234567890A1")
)

var (
	rtdsKeysOnce  sync.Once
	rtdsKeys      *Keyring
	rtdsKeysNotes []string
	rtdsKeysErr   error
)

// rtdsKeyring loads the RTDS keystore folder.
func rtdsKeyring(tb testing.TB) *Keyring {
	tb.Helper()
	dir := refdata.Path(tb, "gbcs", "rtds", "keystore")
	rtdsKeysOnce.Do(func() {
		rtdsKeys = NewKeyring()
		rtdsKeysNotes, rtdsKeysErr = rtdsKeys.LoadRTDSDir(dir)
	})
	if rtdsKeysErr != nil {
		tb.Fatal(rtdsKeysErr)
	}
	return rtdsKeys
}

func TestLoadRTDSKeystore(t *testing.T) {
	k := rtdsKeyring(t)
	certs, keys := k.Len()
	t.Logf("RTDS keystore: %d certificates, %d private keys", certs, keys)
	for _, n := range rtdsKeysNotes {
		t.Logf("note: %s", n)
	}
	for _, c := range []struct {
		id eui.EUI64
		u  Usage
	}{
		{euiACB, UsageKeyAgreement}, {euiACB, UsageDigitalSignature}, {euiSupplier, UsageKeyAgreement},
		{euiSupplier, UsageDigitalSignature}, {euiSupplier, UsagePrepayment}, {euiSupplier2, UsagePrepayment},
	} {
		if len(k.Certificates(c.id, c.u)) == 0 || len(k.PrivateKeys(c.id, c.u)) == 0 {
			t.Errorf("%s %v: missing certificate or key", c.id, c.u)
		}
	}
	for _, u := range []Usage{UsageKeyAgreement, UsageDigitalSignature} {
		if len(k.Certificates(euiESME, u)) != 1 || len(k.PrivateKeys(euiESME, u)) != 0 {
			t.Errorf("ESME %v: want one certificate and no key", u)
		}
	}
	// The key-only unit-test keys are filed under their file names.
	if len(k.PrivateKeys(eui.MustParse("123456789ABCDEF0"), UsageKeyAgreement)) != 1 {
		t.Error("123456789abcdef0-ka.key not loaded")
	}
	// Loading the folder again adds nothing.
	if _, err := k.LoadRTDSDir(refdata.Path(t, "gbcs", "rtds", "keystore")); err != nil {
		t.Fatal(err)
	}
	if c2, k2 := k.Len(); c2 != certs || k2 != keys {
		t.Errorf("reload changed counts: %d/%d -> %d/%d", certs, keys, c2, k2)
	}
}

func TestLoadKeystoreJSON(t *testing.T) {
	k := NewKeyring()
	if err := k.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	certs, keys := k.Len()
	t.Logf("DCC Boxed keystore: %d certificates, %d private keys (XML-signing certificates left out)", certs, keys)
	if len(k.PrivateKeys(euiSupplier, UsagePrepayment)) != 2 || len(k.PrivateKeys(euiSupplier, UsageKeyAgreement)) != 2 {
		t.Errorf("supplier: %d PP keys, %d KA keys; want 2 and 2 (Z1, Z1b)",
			len(k.PrivateKeys(euiSupplier, UsagePrepayment)), len(k.PrivateKeys(euiSupplier, UsageKeyAgreement)))
	}
	for _, c := range k.Certificates(euiACB, UsageDigitalSignature) {
		if c.Role.IsXMLSigning() {
			t.Errorf("XML-signing certificate %s kept", c.SerialHex())
		}
	}
	// Merged with the shared file copy, nothing is duplicated.
	data := readRefFile(t, "zaz1", "dccboxed-keystore.json")
	if err := k.LoadKeystoreJSON(data); err != nil {
		t.Fatal(err)
	}
	if c2, k2 := k.Len(); c2 != certs || k2 != keys {
		t.Errorf("merging the same keystore changed counts: %d/%d -> %d/%d", certs, keys, c2, k2)
	}
}

func hexKey(tb testing.TB, s string) [KeySize]byte {
	var k [KeySize]byte
	copy(k[:], mustHex(tb, s))
	return k
}

// TestKDFVectors reproduces the key-derivation vectors of the notes (§2.6).
// Each pair is computed from whichever side's private key RTDS holds.
func TestKDFVectors(t *testing.T) {
	sec := NewSecurity(rtdsKeyring(t), 0)
	cases := []struct {
		name       string
		a, b       eui.EUI64 // ECDH parties
		cra        CRA
		counter    uint64
		orig, recp eui.EUI64
		want       string
	}{
		{"command", euiACB, euiESME, CRACommand, 0x0000000100000000, euiSupplier, euiESME, "6A93E360717394015DF93E031218C9A6"},
		{"response", euiESME, euiSupplier, CRAResponse, 0x0000000100000000, euiESME, euiSupplier, "03FD30815577C49EB7E3834B63EF8302"},
		{"alert", euiESME, euiSupplier, CRAAlert, 0x00000000000007D1, euiESME, euiSupplier, "558FB1FA6660AF0D9E8365C47804B8FA"},
	}
	for _, c := range cases {
		keys, err := sec.derive(c.a, UsageKeyAgreement, c.b, UsageKeyAgreement, kdfInput{c.cra, c.counter, c.orig, c.recp}, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if keys[0] != hexKey(t, c.want) {
			t.Errorf("%s: key %X, want %s", c.name, keys[0], c.want)
		}
	}
	// The same vectors through the message-level API.
	m := &Message{CRA: CRACommand, OriginatorCounter: 0x0000000100000000, Originator: euiSupplier, Recipient: euiESME}
	keys, err := sec.MACKeys(m)
	if err != nil || keys[0] != hexKey(t, cases[0].want) {
		t.Errorf("MACKeys(command) = %X, %v", keys, err)
	}
	m = &Message{CRA: CRAAlert, OriginatorCounter: 0x7D1, Originator: euiESME, Recipient: euiSupplier}
	keys, err = sec.MACKeys(m)
	if err != nil || keys[0] != hexKey(t, cases[2].want) {
		t.Errorf("MACKeys(alert) = %X, %v", keys, err)
	}
}

// TestKDFOtherInfo checks the OtherInfo layout byte by byte.
func TestKDFOtherInfo(t *testing.T) {
	got := KDFOtherInfo(CRAResponse, 0x0102030405060708, euiESME, euiSupplier)
	want := mustHex(t, "60857406080300 00DB1234567890A0 09 02 0102030405060708 90B3D51F30010000")
	if !bytes.Equal(got[:], want) {
		t.Errorf("got %X", got)
	}
}

func TestGMACVector(t *testing.T) {
	key := mustHex(t, "000102030405060708090a0b0c0d0e0f")
	tag, err := GMAC(key, eui.MustParse("90b3d51f30030000"), []byte("helloworld"), MACSize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tag, mustHex(t, "fb3afed43b78508864f00da3")) {
		t.Errorf("tag %x", tag)
	}
	if _, err := GMAC(key[:15], euiESME, nil, MACSize); err == nil {
		t.Error("short key accepted")
	}
}

// TestRTDSCrypto verifies every MAC and signature of the corpus with the
// RTDS keystore. Every check whose keys exist must pass.
func TestRTDSCrypto(t *testing.T) {
	sec := NewSecurity(rtdsKeyring(t), 0)
	type tally struct{ valid, invalid, unknown int }
	macs := map[Kind]*tally{}
	sigs := map[Kind]*tally{}
	var unknownMAC, unknownSig []string
	for _, f := range loadRTDS(t) {
		m, err := Parse(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		count := func(tm map[Kind]*tally, err error, what string, unknown *[]string) {
			if tm[m.Kind()] == nil {
				tm[m.Kind()] = &tally{}
			}
			c := tm[m.Kind()]
			switch {
			case err == nil:
				c.valid++
			case errors.Is(err, ErrNoKey):
				c.unknown++
				*unknown = append(*unknown, f.Name)
			default:
				c.invalid++
				t.Errorf("%s: %s: %v", f.Name, what, err)
			}
		}
		if m.MACHeader {
			count(macs, sec.VerifyMAC(m), "MAC", &unknownMAC)
		}
		if m.Signed() {
			count(sigs, sec.VerifySignature(m), "signature", &unknownSig)
		}
	}
	report := func(what string, tm map[Kind]*tally) {
		var total tally
		for _, k := range []Kind{KindPreCommand, KindCommand, KindResponse, KindAlert} {
			if c := tm[k]; c != nil {
				t.Logf("%-9s %-10v valid %4d  invalid %d  unknown key %d", what, k, c.valid, c.invalid, c.unknown)
				total.valid += c.valid
				total.invalid += c.invalid
				total.unknown += c.unknown
			}
		}
		t.Logf("%-9s total      valid %4d  invalid %d  unknown key %d", what, total.valid, total.invalid, total.unknown)
	}
	report("MAC", macs)
	report("signature", sigs)
	for _, n := range unknownMAC {
		t.Logf("MAC unknown key: %s", n)
	}
	for _, n := range unknownSig {
		t.Logf("signature unknown key: %s", n)
	}
	// Only the HAN-only PPMID→GSME commands (no PPMID/GSME private keys)
	// may lack keys.
	for _, n := range unknownMAC {
		if !strings.HasPrefix(n, "PCS0") {
			t.Errorf("unexpected unknown MAC key: %s", n)
		}
	}
	if len(unknownSig) > 0 {
		t.Errorf("%d signatures without a certificate", len(unknownSig))
	}
}

// TestRTDSCryptoDCCBoxedKeys verifies with the embedded DCC Boxed keystore
// (org keys) plus the RTDS device certificates only: what the simulator and
// the DCC would hold. The ZAZ1 load controller differs from RTDS's, so its
// signed commands are expected to fail.
func TestRTDSCryptoDCCBoxedKeys(t *testing.T) {
	boxed := NewKeyring()
	if err := boxed.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		t.Fatal(err)
	}
	rk := rtdsKeyring(t)
	devices := NewKeyring()
	for _, f := range loadRTDS(t) {
		m, _ := Parse(f.Data)
		for _, id := range []eui.EUI64{m.Originator, m.Recipient} {
			if id[0] != 0x00 || id[1] != 0xDB {
				continue
			}
			for _, u := range []Usage{UsageKeyAgreement, UsageDigitalSignature} {
				for _, c := range rk.Certificates(id, u) {
					if err := devices.AddCertificate(id, u, c); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	sec := NewSecurity(MultiKeyStore{boxed, devices}, 0)
	var macOK, macBad, macUnknown, sigOK, sigBad, sigUnknown int
	for _, f := range loadRTDS(t) {
		m, _ := Parse(f.Data)
		if m.MACHeader {
			switch err := sec.VerifyMAC(m); {
			case err == nil:
				macOK++
			case errors.Is(err, ErrNoKey):
				macUnknown++
			default:
				macBad++
				t.Errorf("%s: MAC: %v", f.Name, err)
			}
		}
		if m.Signed() {
			switch err := sec.VerifySignature(m); {
			case err == nil:
				sigOK++
			case errors.Is(err, ErrNoKey):
				sigUnknown++
			default:
				sigBad++
				if m.Originator != eui.MustParse("90B3D51F30010008") {
					t.Errorf("%s: signature: %v", f.Name, err)
				}
			}
		}
	}
	t.Logf("DCC Boxed org keys + RTDS device certificates: MAC valid %d invalid %d unknown %d; signatures valid %d invalid %d (load controller) unknown %d",
		macOK, macBad, macUnknown, sigOK, sigBad, sigUnknown)
}

// protectedSpans finds encrypted payloads in content: 31 00000000 preceded
// by a DLMS octet-string header (09 ‖ length) or a GBZ 2-byte length, whose
// length fits.
func protectedSpans(content []byte) [][]byte {
	var out [][]byte
	for i := 1; i+5+MACSize <= len(content); i++ {
		if !bytes.Equal(content[i:i+5], protectedPrefix[:]) {
			continue
		}
		// DLMS octet-string: 09 ‖ Encoding(L) ‖ data
		for ls := 1; ls <= 3 && i-ls-1 >= 0; ls++ {
			if content[i-ls-1] != 0x09 {
				continue
			}
			n, size, err := ParseLength(content[i-ls : i])
			if err == nil && size == ls && i+n <= len(content) {
				out = append(out, content[i:i+n])
				goto next
			}
		}
		// GBZ encrypted component: ciphered length (2, BE) ‖ data
		if i >= 2 {
			n := int(binary.BigEndian.Uint16(content[i-2:]))
			if i+n <= len(content) {
				out = append(out, content[i:i+n])
			}
		}
	next:
	}
	return out
}

// TestRTDSDecrypt decrypts every encrypted payload of the corpus (the GCM
// tag proves the key), and checks the ECS17b response's plaintext.
func TestRTDSDecrypt(t *testing.T) {
	sec := NewSecurity(rtdsKeyring(t), 0)
	files, spans, ok := 0, 0, 0
	byUseCase := map[string]int{}
	for _, f := range loadRTDS(t) {
		m, _ := Parse(f.Data)
		ps := protectedSpans(m.Content)
		if len(ps) == 0 {
			continue
		}
		files++
		for _, p := range ps {
			spans++
			pt, err := sec.DecryptPayload(m, p)
			if err != nil {
				t.Errorf("%s: %v", f.Name, err)
				continue
			}
			ok++
			uc, _ := LookupMessageCode(m.MessageCode)
			byUseCase[uc.Name]++
			// Re-encrypting gives the same bytes (deterministic IV and key).
			again, err := sec.EncryptPayload(m, pt)
			if err != nil || !bytes.Equal(again, p) {
				t.Errorf("%s: re-encryption differs", f.Name)
			}
		}
	}
	var names []string
	for n := range byUseCase {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("encrypted payloads: %d in %d files, %d decrypted; use cases %v", spans, files, ok, names)
	if spans == 0 || ok != spans {
		t.Errorf("decrypted %d of %d", ok, spans)
	}

	// ECS17b (4.1.1) response: import energy registers.
	f := rtdsByName(t, "ECS17b_4.1.1_SINGLE_SUCCESS_RESPONSE_GBCS.HEX")
	m, _ := Parse(f.Data)
	ps := protectedSpans(m.Content)
	if len(ps) != 1 {
		t.Fatalf("ECS17b response: %d protected spans", len(ps))
	}
	pt, err := sec.DecryptPayload(m, ps[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ECS17b response plaintext: %X", pt)
	// A-XDR: structure(1){ structure(4){ double-long-unsigned active
	// import, structure{ integer scaler, enum unit 30 (Wh) },
	// double-long-unsigned reactive import, structure{ scaler, enum 32
	// (varh) } } }
	if len(pt) != 26 || !bytes.Equal(pt[:5], mustHex(t, "0201020406")) ||
		!bytes.Equal(pt[9:16], mustHex(t, "02020F00161E06")) || !bytes.Equal(pt[20:], mustHex(t, "02020F001620")) {
		t.Fatalf("plaintext is not the ECS17b register structure: %X", pt)
	}
	t.Logf("ECS17b: active import %d Wh, reactive import %d varh",
		binary.BigEndian.Uint32(pt[5:9]), binary.BigEndian.Uint32(pt[16:20]))
}

// TestSignVerify signs a Pre-Command as the supplier, wraps it as the ACB
// would, and checks signature and MAC with the device-side view.
func TestSignVerify(t *testing.T) {
	rk := rtdsKeyring(t)
	sec := NewSecurity(rk, 0)
	pre, err := Parse(rtdsByName(t, "ECS43_7.2_SUCCESS_PRECOMMAND_GBCS.HEX").Data)
	if err != nil {
		t.Fatal(err)
	}
	if pre.Kind() != KindPreCommand {
		t.Fatal("not a Pre-Command")
	}
	if err := sec.Sign(pre, rand.Reader); err != nil {
		t.Fatal(err)
	}
	if err := sec.VerifySignature(pre); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	if err := sec.WrapMAC(pre); err != nil {
		t.Fatal(err)
	}
	if err := sec.VerifyMAC(pre); err != nil {
		t.Fatalf("own MAC: %v", err)
	}
	// The RTDS command is the same bytes except signature and MAC.
	cmd, _ := Parse(rtdsByName(t, "ECS43_7.2_SUCCESS_COMMAND_GBCS.HEX").Data)
	got, _ := pre.Marshal()
	if len(got) != len(cmd.Raw) || !bytes.Equal(got[:len(got)-MACSize-SignatureSize], cmd.Raw[:len(got)-MACSize-SignatureSize]) {
		t.Errorf("signed+wrapped Pre-Command differs from the RTDS command outside signature and MAC")
	}
	// Tampering is caught.
	pre.Content[len(pre.Content)-1] ^= 1
	if err := sec.VerifyMAC(pre); !errors.Is(err, ErrMACInvalid) {
		t.Errorf("tampered MAC: %v", err)
	}
	if err := sec.VerifySignature(pre); !errors.Is(err, ErrSignatureInvalid) {
		t.Errorf("tampered signature: %v", err)
	}
	// A non-P256-signer path: a crypto.Signer that is not *ecdsa.PrivateKey.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sk, _ := NewSoftwareKey(k)
	sig, err := SignData(sk, nil, []byte("data"))
	if err != nil || !VerifyData(&k.PublicKey, []byte("data"), sig) {
		t.Errorf("SignData via interface: %v", err)
	}
	if VerifyData(&k.PublicKey, []byte("datb"), sig) {
		t.Error("wrong data verified")
	}
}

// TestDeviceSide: a simulated device with its own keys MACs a response and
// signs an alert; the DCC side verifies with the device certificates only.
func TestDeviceSide(t *testing.T) {
	dev := eui.MustParse("00DB000000000001")
	dsKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kaKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	devDS, _ := NewSoftwareKey(dsKey)
	devKA, _ := NewSoftwareKey(kaKey)
	rk := rtdsKeyring(t)
	supplierKA := rk.PrivateKeys(euiSupplier, UsageKeyAgreement)[0]
	supplierCert := rk.Certificates(euiSupplier, UsageKeyAgreement)[0]

	// Device view: own keys, the supplier's certificate.
	devRing := NewKeyring()
	_ = devRing.AddPrivateKey(dev, UsageKeyAgreement, devKA)
	_ = devRing.AddPrivateKey(dev, UsageDigitalSignature, devDS)
	_ = devRing.AddCertificate(euiSupplier, UsageKeyAgreement, supplierCert)
	devSec := NewSecurity(devRing, 0)
	resp := &Message{CRA: CRAResponse, OriginatorCounter: 42, Originator: dev, Recipient: euiSupplier,
		MessageCode: 0x0027, Content: []byte{0xDA, 0x20, 0x00, 0x00, 0x2A}, SignatureField: true, Signature: []byte{}}
	if err := devSec.WrapMAC(resp); err != nil {
		t.Fatal(err)
	}
	enc, err := devSec.EncryptPayload(resp, []byte("secret registers"))
	if err != nil {
		t.Fatal(err)
	}
	// Supplier view: its private key; the device's public key via the ECDH
	// of the raw keys (no certificate needed for the primitive).
	pe, _ := kaKey.PublicKey.ECDH()
	z, err := supplierKA.ECDH(pe)
	if err != nil {
		t.Fatal(err)
	}
	key := DeriveKey(z, CRAResponse, 42, dev, euiSupplier)
	if err := CheckMAC(key[:], resp); err != nil {
		t.Errorf("supplier-side MAC check: %v", err)
	}
	pk := DeriveKey(z, CRAEncryption, 42, dev, euiSupplier)
	pt, err := DecryptPayload(pk[:], dev, enc)
	if err != nil || string(pt) != "secret registers" {
		t.Errorf("supplier-side decrypt: %q %v", pt, err)
	}
	wire, _ := resp.Marshal()
	back, err := Parse(wire)
	if err != nil || back.Kind() != KindResponse {
		t.Fatalf("parse own response: %v", err)
	}
	alert := &Message{CRA: CRAAlert, OriginatorCounter: 7, Originator: dev, Recipient: euiSupplier, MessageCode: 0x1000,
		Content: []byte{0x0F}}
	if err := devSec.Sign(alert, nil); err != nil {
		t.Fatal(err)
	}
	if err := CheckSignature(alert, &dsKey.PublicKey); err != nil {
		t.Errorf("alert signature: %v", err)
	}
	// No keys: ErrNoKey.
	if err := NewSecurity(NewKeyring(), 0).VerifyMAC(resp); !errors.Is(err, ErrNoKey) {
		t.Errorf("empty keyring: %v", err)
	}
}

func TestSecretCache(t *testing.T) {
	c := newSecretCache(2)
	c.put("a", []byte{1})
	c.put("b", []byte{2})
	c.get("a")
	c.put("c", []byte{3})
	if _, ok := c.get("b"); ok {
		t.Error("b should have been evicted")
	}
	if _, ok := c.get("a"); !ok {
		t.Error("a evicted despite recent use")
	}
	if c.Len() != 2 {
		t.Errorf("len %d", c.Len())
	}
}

func readRefFile(tb testing.TB, elem ...string) []byte {
	tb.Helper()
	p := refdata.Path(tb, elem...)
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestNilKeyStore(t *testing.T) {
	s := NewSecurity(nil, 0)
	m := &Message{CRA: CRAAlert, MACHeader: true, MAC: make([]byte, 12), SignatureField: true, Signature: make([]byte, 64)}
	for name, err := range map[string]error{
		"VerifyMAC":       s.VerifyMAC(m),
		"VerifySignature": s.VerifySignature(m),
		"Sign":            s.Sign(m, nil),
		"WrapMAC":         s.WrapMAC(m),
	} {
		if !errors.Is(err, ErrNoKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := s.UTRNSecret(euiSupplier, euiESME); !errors.Is(err, ErrNoKey) {
		t.Errorf("UTRNSecret: %v", err)
	}
}
