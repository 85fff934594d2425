package xmldsig

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"
	"github.com/opendcc/opendcc/internal/interop"
	"github.com/opendcc/opendcc/smki"
)

// certFiles writes certificates as PEM files for the external tools.
type certFiles struct {
	mu    sync.Mutex
	dir   string
	paths map[string]string
}

func newCertFiles(t *testing.T) *certFiles {
	return &certFiles{dir: t.TempDir(), paths: map[string]string{}}
}

func (c *certFiles) path(t *testing.T, cert *smki.Certificate) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cert.SerialHex()
	if p, ok := c.paths[k]; ok {
		return p
	}
	p := filepath.Join(c.dir, k+".pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c.paths[k] = p
	return p
}

// TestOracleXMLSec1 has xmlsec1, an independent XML-DSig implementation,
// verify every template we sign (a sample of 40 with -short).
func TestOracleXMLSec1(t *testing.T) {
	store := zaz1(t)
	all := signTemplates(t, store)
	certs := newCertFiles(t)
	step := 1
	if testing.Short() {
		step = len(all)/40 + 1
	}
	checked := 0
	for i := 0; i < len(all); i += step {
		st := all[i]
		if err := interop.XMLSec1Verify(t, certs.path(t, st.cert), st.signed); err != nil {
			t.Errorf("%s: xmlsec1 rejects our signature: %v", st.name, err)
		}
		checked++
	}
	t.Logf("xmlsec1 verified %d/%d of our signed templates", checked, len(all))

	// The compat case seen from a conformant verifier: pretty-printing
	// breaks the signature for xmlsec1 too, and for our strict mode.
	d := etree.NewDocument()
	if err := d.ReadFromBytes(all[0].signed); err != nil {
		t.Fatal(err)
	}
	d.Indent(2)
	pretty, _ := d.WriteToBytes()
	if err := interop.XMLSec1Verify(t, certs.path(t, all[0].cert), pretty); err == nil {
		t.Error("xmlsec1 accepted a pretty-printed signed document")
	}
}

// TestOracleXMLSec1Signs checks the other direction: documents signed by
// xmlsec1, which keeps their indentation, pass our strict Verify.
func TestOracleXMLSec1Signs(t *testing.T) {
	store := zaz1(t)
	certs := newCertFiles(t)
	n := 0
	for _, tp := range templates(t) {
		if !strings.HasPrefix(tp.name, "8.2_") && !strings.HasPrefix(tp.name, "ECS01a_1.1.1_") && !strings.HasPrefix(tp.name, "ECS17b_") && !strings.HasPrefix(tp.name, "CS11_") {
			continue
		}
		key, cert, err := store.XMLSigningKey(originator(t, tp.doc))
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(t.TempDir(), "key.pem")
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		skeleton := withSkeleton(t, tp.doc)
		signed, err := interop.XMLSec1Sign(t, keyFile, certs.path(t, cert), skeleton)
		if err != nil {
			t.Fatalf("%s: xmlsec1 sign: %v", tp.name, err)
		}
		if !interElementSpace.Match(signed) {
			t.Fatalf("%s: expected xmlsec1 to keep the indentation", tp.name)
		}
		want := originator(t, tp.doc)
		res, err := Verify(signed, VerifyOptions{Certificates: store, ExpectedSigner: &want})
		if err != nil {
			t.Errorf("%s: our strict Verify rejects xmlsec1's signature: %v", tp.name, err)
			continue
		}
		if res.Compat {
			t.Errorf("%s: needed compat", tp.name)
		}
		n++
	}
	t.Logf("%d xmlsec1-signed (indented) templates pass strict Verify", n)
	if n == 0 {
		t.Error("no template tried")
	}
}

// withSkeleton replaces the template's placeholder signature by the empty
// skeleton xmlsec1 fills in.
func withSkeleton(t *testing.T, doc []byte) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	root := d.Root()
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" {
			root.RemoveChild(c)
		}
	}
	sig := root.CreateElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", Namespace)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", AlgExcC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", AlgECDSASHA256)
	ref := si.CreateElement("ds:Reference")
	ref.CreateAttr("URI", "")
	ref.CreateElement("ds:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", AlgEnvelopedSig)
	ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", AlgSHA256)
	ref.CreateElement("ds:DigestValue")
	sig.CreateElement("ds:SignatureValue")
	sig.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509IssuerSerial")
	d.IndentWithSettings(etree.NewIndentSettings())
	b, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOracleJavaValidate runs every template we sign through the DCC Boxed
// tool's Validate in one JVM. Templates that its bundled DUIS 5.1 schema
// rejects (cvc-… messages) are counted, not failures: the schema check runs
// before the signature check there.
func TestOracleJavaValidate(t *testing.T) {
	store := zaz1(t)
	all := signTemplates(t, store)
	j := interop.NewJavaTool(t)
	dir := t.TempDir()
	files := make([]string, len(all))
	for i, st := range all {
		files[i] = filepath.Join(dir, st.name)
		if err := os.WriteFile(files[i], st.signed, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	certs := newCertFiles(t)
	var ok, xsd, withCert int
	var xsdNames []string
	for i, r := range j.ValidateFiles(files) {
		if r.RC == interop.RCMissingKey {
			// Not in the tool's library (the load controller): pass the cert.
			r = j.ValidateWithCert(all[i].signed, certs.path(t, all[i].cert))
			withCert++
		}
		switch {
		case r.RC == interop.RCOK:
			ok++
		case r.RC == interop.RCInvalid && strings.Contains(r.Message, "cvc-"):
			xsd++
			xsdNames = append(xsdNames, all[i].name)
		default:
			t.Errorf("%s: Java Validate rc=%d: %s", all[i].name, r.RC, r.Message)
		}
	}
	t.Logf("Java Validate of our %d signed templates: %d pass (%d with the certificate passed explicitly), %d refused by its DUIS 5.1 schema before the signature check: %s",
		len(all), ok, withCert, xsd, strings.Join(xsdNames, " "))
	if ok == 0 {
		t.Error("Java accepted none")
	}
	// And it does check them: a changed body is refused.
	tampered := bytes.Replace(all[0].signed, []byte("</sr:RequestID>"), []byte("1</sr:RequestID>"), 1)
	if r := j.Validate(tampered); r.RC != interop.RCInvalid || !strings.Contains(r.Message, "ignature") {
		t.Errorf("tampered %s: Java Validate rc=%d: %s", all[0].name, r.RC, r.Message)
	}

	// Responses signed with the DCC's key, as our DCC will send them.
	key, cert, err := store.XMLSigningKey(smki.DCCEUI)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"acknowledgement-error.xml", "readfw-response-no-signature.xml", "readfw-response.xml"} {
		signed, err := Sign(sample(t, name), key, cert)
		if err != nil {
			t.Fatal(err)
		}
		if r := j.Validate(signed); r.RC != interop.RCOK {
			t.Errorf("%s re-signed by the DCC key: Java Validate rc=%d: %s", name, r.RC, r.Message)
		}
		bad := bytes.Replace(signed, []byte("<sr:ResponseCode>"), []byte("<sr:ResponseCode>E"), 1)
		bad = bytes.Replace(bad, []byte("<sr:ResponseCode>EI0<"), []byte("<sr:ResponseCode>I99<"), 1)
		bad = bytes.Replace(bad, []byte("<sr:ResponseCode>EE65<"), []byte("<sr:ResponseCode>E66<"), 1)
		if r := j.Validate(bad); r.RC != interop.RCInvalid {
			t.Errorf("%s tampered: Java Validate rc=%d: %s", name, r.RC, r.Message)
		}
	}
}

// TestOracleJavaSign: every template the DCC Boxed tool can sign verifies
// with our strict Verify, and the tool chose the certificate we choose.
func TestOracleJavaSign(t *testing.T) {
	store := zaz1(t)
	tps := templates(t)
	j := interop.NewJavaTool(t)
	dir := t.TempDir()
	jobs := make([]interop.SignJob, len(tps))
	for i, tp := range tps {
		in := filepath.Join(dir, "in-"+tp.name)
		if err := os.WriteFile(in, tp.doc, 0o600); err != nil {
			t.Fatal(err)
		}
		jobs[i] = interop.SignJob{In: in, PreserveCounter: true}
	}
	counts := map[int]int{}
	verified := 0
	for i, r := range j.SignFiles(jobs) {
		counts[r.RC]++
		if r.RC != interop.RCOK {
			continue
		}
		who := originator(t, tps[i].doc)
		res, err := Verify(r.Output, VerifyOptions{Certificates: store, ExpectedSigner: &who})
		if err != nil {
			t.Errorf("%s: Java-signed document fails our Verify: %v", tps[i].name, err)
			continue
		}
		if res.Compat {
			t.Errorf("%s: Java output needed compat", tps[i].name)
		}
		_, ours, _ := store.XMLSigningKey(who)
		if ours != res.Certificate {
			t.Errorf("%s: Java signed with %s, XMLSigningKey picks %s", tps[i].name, res.Certificate, ours)
		}
		verified++
	}
	t.Logf("Java Sign of %d templates: %d signed (all %d verify with our strict Verify, same certificate as XMLSigningKey), %d rc=3 (no key in the tool), %d rc=10 (its DUIS 5.1 schema)",
		len(tps), counts[interop.RCOK], verified, counts[interop.RCMissingKey], counts[interop.RCInvalid])
	if verified == 0 {
		t.Error("nothing verified")
	}
}
