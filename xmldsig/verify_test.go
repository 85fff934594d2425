package xmldsig

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
)

// signed82 is the 8.2 template signed by the ZAZ1 supplier's XML key.
func signed82(t *testing.T) ([]byte, *smki.Store) {
	t.Helper()
	store := zaz1(t)
	for _, tp := range templates(t) {
		if tp.name != "8.2_READ_INVENTORY_REQUEST_DUIS.XML" {
			continue
		}
		key, cert, err := store.XMLSigningKey(originator(t, tp.doc))
		if err != nil {
			t.Fatal(err)
		}
		out, err := Sign(tp.doc, key, cert)
		if err != nil {
			t.Fatal(err)
		}
		return out, store
	}
	t.Fatal("8.2 template missing")
	return nil, nil
}

// edit parses doc, applies f to the tree and serialises it compactly.
func edit(t *testing.T, doc []byte, f func(root, sig *etree.Element)) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	var sig *etree.Element
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" {
			sig = c
		}
	}
	f(root, sig)
	d.WriteSettings = outputSettings
	b, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func find(el *etree.Element, tag string) *etree.Element {
	if el.Tag == tag {
		return el
	}
	for _, c := range el.ChildElements() {
		if f := find(c, tag); f != nil {
			return f
		}
	}
	return nil
}

func TestVerifyRejects(t *testing.T) {
	signed, store := signed82(t)
	opts := VerifyOptions{Certificates: store}
	if _, err := Verify(signed, opts); err != nil {
		t.Fatal(err)
	}
	setAlg := func(tag, alg string) func(root, sig *etree.Element) {
		return func(root, sig *etree.Element) { find(sig, tag).SelectAttr("Algorithm").Value = alg }
	}
	cases := []struct {
		name string
		doc  []byte
		want error
	}{
		{"second signature in the body", edit(t, signed, func(root, sig *etree.Element) {
			find(root, "Body").AddChild(sig.Copy())
		}), ErrMultipleSignatures},
		{"second signature at the root", edit(t, signed, func(root, sig *etree.Element) {
			root.InsertChildAt(0, sig.Copy())
		}), ErrMultipleSignatures},
		{"signature before the body", edit(t, signed, func(root, sig *etree.Element) {
			root.RemoveChild(sig)
			root.InsertChildAt(find(root, "Body").Index(), sig)
		}), ErrSignatureNotLast},
		{"signature inside the body", edit(t, signed, func(root, sig *etree.Element) {
			root.RemoveChild(sig)
			find(root, "Body").AddChild(sig)
		}), ErrSignatureNotLast},
		{"element after the signature", edit(t, signed, func(root, sig *etree.Element) {
			root.CreateElement("sr:Extra")
		}), ErrSignatureNotLast},
		{"body changed", bytes.Replace(signed, []byte("00-DB-12-34-56-78-90-A2"), []byte("00-DB-12-34-56-78-90-A3"), 1), ErrDigestMismatch},
		{"namespace declaration changed", bytes.Replace(signed, []byte(`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`), []byte(`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instancE"`), 1), ErrDigestMismatch},
		{"digest value changed", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "DigestValue").SetText(strings.Repeat("A", 43) + "=")
		}), ErrDigestMismatch},
		{"signature value changed", edit(t, signed, func(root, sig *etree.Element) {
			// Swap one character for another base64 character (flipping a bit
			// could turn '+' or '/' into a non-base64 byte and make the test
			// depend on the random signature).
			v := []byte(find(sig, "SignatureValue").Text())
			if v[10] == 'A' {
				v[10] = 'B'
			} else {
				v[10] = 'A'
			}
			find(sig, "SignatureValue").SetText(string(v))
		}), ErrBadSignature},
		{"RSA signature method", edit(t, signed, setAlg("SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")), ErrUnsupportedAlgorithm},
		{"ecdsa-sha1", edit(t, signed, setAlg("SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1")), ErrUnsupportedAlgorithm},
		{"inclusive SignedInfo c14n", edit(t, signed, setAlg("CanonicalizationMethod", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315")), ErrUnsupportedAlgorithm},
		{"exc-c14n with comments", edit(t, signed, setAlg("CanonicalizationMethod", "http://www.w3.org/2001/10/xml-exc-c14n#WithComments")), ErrUnsupportedAlgorithm},
		{"sha1 digest", edit(t, signed, setAlg("DigestMethod", "http://www.w3.org/2000/09/xmldsig#sha1")), ErrUnsupportedAlgorithm},
		{"other transform", edit(t, signed, setAlg("Transform", "http://www.w3.org/TR/1999/REC-xpath-19991116")), ErrUnsupportedAlgorithm},
		{"extra c14n transform", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", AlgExcC14N)
		}), ErrUnsupportedAlgorithm},
		{"InclusiveNamespaces", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "CanonicalizationMethod").CreateElement("ec:InclusiveNamespaces").CreateAttr("xmlns:ec", AlgExcC14N)
		}), ErrUnsupportedAlgorithm},
		{"reference to an ID", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "Reference").SelectAttr("URI").Value = "#body"
		}), ErrUnsupportedAlgorithm},
		{"reference without URI", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "Reference").RemoveAttr("URI")
		}), ErrUnsupportedAlgorithm},
		{"two references", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "SignedInfo").AddChild(find(sig, "Reference").Copy())
		}), ErrMalformedSignature},
		{"no KeyInfo", edit(t, signed, func(root, sig *etree.Element) {
			sig.RemoveChild(find(sig, "KeyInfo"))
		}), ErrMalformedSignature},
		{"no serial", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "X509IssuerSerial").RemoveChild(find(sig, "X509SerialNumber"))
		}), ErrMalformedSignature},
		{"hex serial", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "X509SerialNumber").SetText("14BE4AD2EA1D0E4EC7F7156BD24624A7")
		}), ErrMalformedSignature},
		{"short signature value", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "SignatureValue").SetText("AAAA")
		}), ErrMalformedSignature},
		{"DER signature value", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "SignatureValue").SetText(strings.Repeat("MEUC", 24))
		}), ErrMalformedSignature},
		{"not base64", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "SignatureValue").SetText("!!!!")
		}), ErrMalformedSignature},
		{"X509Certificate added", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "X509Data").CreateElement("ds:X509Certificate").SetText("AAAA")
		}), ErrMalformedSignature},
		{"Object added", edit(t, signed, func(root, sig *etree.Element) {
			sig.CreateElement("ds:Object")
		}), ErrMalformedSignature},
		{"unknown serial", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "X509SerialNumber").SetText("1234567890")
		}), ErrUnknownCertificate},
		{"placeholder issuer", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "X509IssuerName").SetText("CN=U1, OU=07")
		}), ErrUnknownCertificate},
		{"key-agreement serial", edit(t, signed, func(root, sig *etree.Element) {
			find(sig, "X509SerialNumber").SetText("78705613441713544701898588866012598037") // Z1-supplier-ka
		}), ErrBadSignature},
		{"DOCTYPE", append([]byte("<!DOCTYPE r>"), signed[len(XMLDeclaration):]...), ErrInvalidDocument},
		{"undeclared prefix", []byte(`<a:r><ds:Signature xmlns:ds="` + Namespace + `"/></a:r>`), ErrInvalidDocument},
		{"duplicate attribute", bytes.Replace(signed, []byte(`schemaVersion="5.4"`), []byte(`schemaVersion="5.4" schemaVersion="5.1"`), 1), ErrInvalidDocument},
		{"two roots", append(append([]byte(nil), signed...), []byte("<x/>")...), ErrInvalidDocument},
		{"not XML", []byte("hello"), ErrInvalidDocument},
		{"unsigned", []byte(`<r/>`), ErrUnsigned},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.doc, opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			t.Log(err)
			// Compat never turns these into successes.
			if _, err := Verify(tc.doc, VerifyOptions{Certificates: store, Compat: true}); err == nil {
				t.Fatal("accepted in compat mode")
			}
		})
	}
}

// fakeSource serves one certificate for any issuer/serial.
type fakeSource struct{ c *smki.Certificate }

func (f fakeSource) ByIssuerSerial(string, *big.Int) (*smki.Certificate, bool) { return f.c, true }

func TestVerifyCertificatePolicy(t *testing.T) {
	signed, store := signed82(t)
	res, err := Verify(signed, VerifyOptions{Certificates: store})
	if err != nil {
		t.Fatal(err)
	}
	cert := res.Certificate
	supplier := eui.MustParse("90-B3-D5-1F-30-01-00-00")
	dcc := smki.DCCEUI
	if res.Signer != supplier || res.Role != smki.RoleXMLSign || res.Serial.Cmp(cert.SerialNumber) != 0 || res.IssuerName != "CN=Z1,OU=07" {
		t.Errorf("result %+v", res)
	}
	if _, err := Verify(signed, VerifyOptions{Certificates: store, ExpectedSigner: &supplier}); err != nil {
		t.Errorf("expected signer: %v", err)
	}
	if _, err := Verify(signed, VerifyOptions{Certificates: store, ExpectedSigner: &dcc}); !errors.Is(err, ErrWrongSigner) {
		t.Errorf("other signer: %v", err)
	}
	ka := *cert
	ka.KeyUsage = smki.KeyUsageKeyAgreement
	if _, err := Verify(signed, VerifyOptions{Certificates: fakeSource{&ka}}); !errors.Is(err, ErrKeyUsage) {
		t.Errorf("key agreement cert: %v", err)
	}
	dev := *cert
	dev.Kind = smki.KindDevice
	if _, err := Verify(signed, VerifyOptions{Certificates: fakeSource{&dev}}); !errors.Is(err, ErrWrongSigner) {
		t.Errorf("device cert: %v", err)
	}
	if _, err := Verify(signed, VerifyOptions{}); !errors.Is(err, ErrUnknownCertificate) {
		t.Errorf("no source: %v", err)
	}

	// Validity: xml-sign certs run 2018-01-01 .. 2118-01-01.
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	for _, tc := range []struct {
		now       string
		allowance time.Duration
		want      error
	}{
		{"2026-11-28T12:00:00Z", 0, nil},
		{"2017-12-31T23:00:00Z", 0, ErrCertificateNotYetValid},
		{"2017-12-31T23:00:00Z", 2 * time.Hour, nil},
		{"2118-01-01T00:00:01Z", 0, ErrCertificateExpired},
		{"2118-01-01T00:00:01Z", time.Second, nil},
	} {
		_, err := Verify(signed, VerifyOptions{Certificates: store, Now: at(tc.now), Allowance: tc.allowance})
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("now %s allowance %v: err = %v, want %v", tc.now, tc.allowance, err, tc.want)
		}
	}

	// An expired role certificate: Z1-supplier-ds ended 2025-10-29.
	var z1 *smki.Certificate
	for _, e := range store.Entries() {
		if e.Name == "Z1-supplier-ds" {
			z1 = e.Certificate
		}
	}
	key, _ := store.Key(z1)
	doc, err := Sign([]byte(`<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:Header/></sr:Request>`), key, z1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(doc, VerifyOptions{Certificates: store}); err != nil {
		t.Errorf("no clock: %v", err)
	}
	if _, err := Verify(doc, VerifyOptions{Certificates: store, Now: at("2026-11-28T12:00:00Z")}); !errors.Is(err, ErrCertificateExpired) {
		t.Errorf("expired: %v", err)
	}
}

func TestCompat(t *testing.T) {
	signed, store := signed82(t)
	// Pretty-printing a compact signed document adds whitespace everywhere,
	// SignedInfo included.
	pretty := func(doc []byte) []byte {
		d := etree.NewDocument()
		if err := d.ReadFromBytes(doc); err != nil {
			t.Fatal(err)
		}
		d.Indent(2)
		d.WriteSettings = outputSettings
		b, _ := d.WriteToBytes()
		return b
	}
	p := pretty(signed)
	if _, err := Verify(p, VerifyOptions{Certificates: store}); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("strict on pretty-printed: %v", err)
	}
	res, err := Verify(p, VerifyOptions{Certificates: store, Compat: true})
	if err != nil || !res.Compat {
		t.Errorf("compat on pretty-printed: %v %+v", err, res)
	}
	// Whitespace only inside SignedInfo: digest fine, signature needs compat.
	si := edit(t, signed, func(root, sig *etree.Element) {
		s := find(sig, "SignedInfo")
		s.InsertChildAt(1, etree.NewText("\n  "))
	})
	if _, err := Verify(si, VerifyOptions{Certificates: store}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("strict, SignedInfo whitespace: %v", err)
	}
	if res, err := Verify(si, VerifyOptions{Certificates: store, Compat: true}); err != nil || !res.Compat {
		t.Errorf("compat, SignedInfo whitespace: %v", err)
	}
	// Compat does not forgive a changed text value or added text.
	for _, doc := range [][]byte{
		bytes.Replace(p, []byte(">90-B3-D5-1F-30-01-00-00:"), []byte("> 90-B3-D5-1F-30-01-00-00:"), 1),
		bytes.Replace(p, []byte("00-DB-12-34-56-78-90-A2"), []byte("00-DB-12-34-56-78-90-A2 "), 1),
	} {
		if _, err := Verify(doc, VerifyOptions{Certificates: store, Compat: true}); !errors.Is(err, ErrDigestMismatch) {
			t.Errorf("compat accepted a changed value: %v", err)
		}
	}
	// A compact document never needs compat.
	if res, err := Verify(signed, VerifyOptions{Certificates: store, Compat: true}); err != nil || res.Compat {
		t.Errorf("compact doc in compat mode: %v %+v", err, res)
	}
}

func TestSignShapes(t *testing.T) {
	store := zaz1(t)
	key, cert, err := store.XMLSigningKey(smki.DCCEUI)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in string
		declares bool // Signature carries xmlns:ds
	}{
		{"no ds on root", `<sr:Response xmlns:sr="urn:sr"><sr:A>1</sr:A></sr:Response>`, true},
		{"ds on root", `<sr:Response xmlns:ds="` + Namespace + `" xmlns:sr="urn:sr"><sr:A>1</sr:A></sr:Response>`, false},
		{"ds bound elsewhere", `<sr:Response xmlns:ds="urn:other" xmlns:sr="urn:sr"><ds:A>1</ds:A></sr:Response>`, true},
		{"default namespace", `<Response xmlns="urn:sr"><A>1</A></Response>`, true},
		{"escapes and CR", "<?xml version=\"1.0\"?>\n<!-- c --><r a=\"x&#10;y&#9;z&#13;&quot;\">\n  <t>a &amp; b &lt; c &#13;\r\n d</t><!-- c2 -->\n  <u><![CDATA[<x>]]></u>\n</r>\n<!-- after -->", true},
		{"processing instruction inside", `<r><?pi data?><a/></r>`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Sign([]byte(tc.in), key, cert)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Contains(out, []byte(`<ds:Signature xmlns:ds="`+Namespace+`">`)); got != tc.declares {
				t.Errorf("Signature declares ds: %v, want %v\n%s", got, tc.declares, out)
			}
			if bytes.Contains(out, []byte("<!--")) || interElementSpace.Match(out) {
				t.Errorf("not compact:\n%s", out)
			}
			res, err := Verify(out, VerifyOptions{Certificates: store})
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if res.Signer != smki.DCCEUI || res.Certificate.SerialHex() != "7DAC7283AAD29BDD23C9EFBFDDB52A41" {
				t.Errorf("signer %v", res.Certificate)
			}
		})
	}
	// Sign refuses keys that do not fit.
	other, otherCert, _ := store.XMLSigningKey(eui.MustParse("90-B3-D5-1F-30-01-00-00"))
	if _, err := Sign([]byte("<r/>"), other, cert); !errors.Is(err, smki.ErrKeyMismatch) {
		t.Errorf("mismatched key: %v", err)
	}
	ka := *otherCert
	ka.KeyUsage = smki.KeyUsageKeyAgreement
	if _, err := Sign([]byte("<r/>"), other, &ka); !errors.Is(err, ErrKeyUsage) {
		t.Errorf("ka cert: %v", err)
	}
	if _, err := Sign([]byte("<!DOCTYPE r><r/>"), key, cert); !errors.Is(err, ErrInvalidDocument) {
		t.Errorf("DOCTYPE: %v", err)
	}
}
