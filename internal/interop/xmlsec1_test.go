package interop

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// TestXMLSec1VerifySamples pins xmlsec1's verdict on the signed samples with
// the certificate that signed them (duis.md §3.2), and checks the wrapper
// against a direct `xmlsec1 --verify` run on the original file.
func TestXMLSec1VerifySamples(t *testing.T) {
	xmlsec1 := refdata.Tool(t, "xmlsec1")
	const (
		pre141 = "dsp-xml-sign-90B3D51F30000002-ds-pre-1.4.1.pem"
		dsp    = "dsp-xml-sign-90B3D51F30000002-ds.pem"
		dspACB = "Z1-accessControlBroker-dSPXmlSign.pem"
		acb    = "Z1-accessControlBroker-ds.pem"
	)
	tests := []struct {
		sample, cert string
		ok           bool
	}{
		{"readfw-response.xml", pre141, true},
		{"readfw-response.xml", acb, false}, // wrong key
		{"readfw-response-badsignature.xml", pre141, false},
		{"readfw-response-resigned.xml", dspACB, true},
		{"read-inventory-response-4g.xml", dsp, true},
		{"read-inventory-response-5.4.xml", dspACB, true},
		{"message.xml", acb, true},
		{"ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML", acb, true},
		// KeyInfo is not signed: a bogus serial does not matter to xmlsec1.
		{"readfw-response-nonexist-serial.xml", acb, true},
		// The content was edited after signing, so the digest no longer matches.
		{"readfw-response-invalid.xml", acb, false},
		{"readfw-response-no-serial.xml", acb, false},
	}
	for _, tt := range tests {
		t.Run(tt.sample+"/"+tt.cert, func(t *testing.T) {
			f := sample(t, tt.sample)
			cert := zaz1(t, tt.cert)
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			err = XMLSec1Verify(t, cert, doc)
			if (err == nil) != tt.ok {
				t.Errorf("XMLSec1Verify = %v, want ok=%v", err, tt.ok)
			}
			cliErr := exec.Command(xmlsec1, "--verify", "--pubkey-cert-pem", cert, f).Run()
			if (cliErr == nil) != (err == nil) {
				t.Errorf("wrapper says %v, CLI says %v", err, cliErr)
			}
		})
	}
}

// signatureSkeleton is the DUIS signature profile (duis.md §3) as an xmlsec1
// template: xmlsec1 fills DigestValue, SignatureValue and X509IssuerSerial.
const signatureSkeleton = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
	`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
	`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>` +
	`<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms>` +
	`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>` +
	`<ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509IssuerSerial/></ds:X509Data></ds:KeyInfo></ds:Signature>`

// TestXMLSec1SignRoundTrip signs an unsigned (compact) response with xmlsec1
// and the DSP key in DER form, then checks it with xmlsec1, the fixed schema
// and the Java tool: three implementations agreeing on one document.
func TestXMLSec1SignRoundTrip(t *testing.T) {
	unsigned, err := os.ReadFile(sample(t, "readfw-response-no-signature.xml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl := bytes.Replace(unsigned, []byte("</sr:Response>"), []byte(signatureSkeleton+"</sr:Response>"), 1)
	key := zaz1(t, "dsp-xml-sign-90B3D51F30000002-ds.key") // DER PKCS#8
	cert := zaz1(t, "dsp-xml-sign-90B3D51F30000002-ds.pem")
	signed, err := XMLSec1Sign(t, key, cert, tpl)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(signed, []byte("<ds:SignatureValue/>")) {
		t.Fatal("SignatureValue not filled in")
	}
	if err := XMLSec1Verify(t, cert, signed); err != nil {
		t.Errorf("xmlsec1 rejects its own signature: %v", err)
	}
	if err := XMLSec1Verify(t, zaz1(t, "Z1-accessControlBroker-ds.pem"), signed); err == nil {
		t.Error("xmlsec1 accepted the signature with an unrelated certificate")
	}
	tampered := bytes.Replace(signed, []byte("<sr:ResponseCode>I0<"), []byte("<sr:ResponseCode>E0<"), 1)
	if bytes.Equal(tampered, signed) {
		t.Fatal("tamper target not found")
	}
	if err := XMLSec1Verify(t, cert, tampered); err == nil {
		t.Error("xmlsec1 accepted a tampered document")
	}

	f := t.TempDir() + "/signed.xml"
	if err := os.WriteFile(f, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	if v := XMLLintValidate(t, []string{f})[f]; !v.Valid {
		t.Errorf("xmllint: %s", v.Message)
	}
	if r := NewJavaTool(t).Validate(signed); r.RC != RCOK {
		t.Errorf("Java Validate rc=%d: %s", r.RC, r.Message)
	}
}
