package xmldsig

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"testing"
)

var signatureValue = regexp.MustCompile(`<ds:SignatureValue>[^<]*</ds:SignatureValue>`)

// TestSignFastAgrees: wherever the fast path of Sign applies, its output is
// the general path's, byte for byte but for the (random) signature value,
// and verifies; mutants of the documents exercise where it does not apply.
func TestSignFastAgrees(t *testing.T) {
	store := zaz1(t)
	tps := templates(t)
	key, cert, err := store.XMLSigningKey(originator(t, tps[0].doc))
	if err != nil {
		t.Fatal(err)
	}
	resp := XMLDeclaration + `<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" xmlns:ns3="http://www.w3.org/2000/09/xmldsig#" xmlns:ra="http://www.dccinterface.co.uk/ResponseAndAlert" schemaVersion="5.4"><sr:Header><sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1000</sr:RequestID><sr:ResponseCode>I99</sr:ResponseCode><sr:ResponseDateTime>2026-11-28T19:59:41.952Z</sr:ResponseDateTime></sr:Header><sr:Body><sr:ResponseMessage><sr:ServiceReference>4.1</sr:ServiceReference><sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant><sr:GBCSPayload>AAEC+/==</sr:GBCSPayload></sr:ResponseMessage></sr:Body></sr:Response>`
	docs := []string{
		resp,
		XMLDeclaration + `<a:R xmlns:a="urn:a" xmlns:z="urn:z" xmlns:b="urn:b" z="1" b="2"><a:X>1 &amp; 2 &lt; 3 &gt; 0</a:X><a:Y><a:Z>t</a:Z></a:Y></a:R>`,
		XMLDeclaration + `<R><X>x</X></R>`,
		XMLDeclaration + `<R><X></X></R>`,
		XMLDeclaration + `<R> <X>x</X></R>`,
		XMLDeclaration + `<R><X>x</X><!--c--></R>`,
		XMLDeclaration + `<R xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><X>x</X></R>`,
		XMLDeclaration + `<R xmlns="urn:d"><X>x</X></R>`,
		XMLDeclaration + `<R><X>"q'</X></R>`,
		XMLDeclaration + `<R><X>a&#65;b</X></R>`,
		XMLDeclaration + `<R><X>x</X>y</R>`,
		XMLDeclaration + `<R><X>x</X></R> `,
		XMLDeclaration + `<R a="1" a="2"><X>x</X></R>`,
		XMLDeclaration + `<R x:a="1" xmlns:x="urn:x"><X>x</X></R>`,
		XMLDeclaration + `<R><X>é</X></R>`,
		`<R><X>x</X></R>`,
	}
	for _, tp := range tps {
		docs = append(docs, string(tp.doc))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`<>/&;"' =:aXRxmlns0-._#` + "\t\n\r\x00\xc3")
	base := []string{resp, docs[1], docs[2]}
	for range 5000 {
		d := []byte(base[rng.IntN(len(base))])
		for range 1 + rng.IntN(2) {
			i := len(XMLDeclaration) + rng.IntN(len(d)-len(XMLDeclaration))
			switch rng.IntN(3) {
			case 0:
				d = append(d[:i:i], d[i+1:]...)
			case 1:
				d = append(d[:i:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, d[i:]...)...)
			default:
				d[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		docs = append(docs, string(d))
	}
	fast := 0
	for _, doc := range docs {
		got, ok, ferr := signFast([]byte(doc), key, cert)
		want, gerr := signGeneral([]byte(doc), key, cert)
		if !ok {
			continue
		}
		fast++
		if ferr != nil || gerr != nil {
			t.Errorf("%q: fast path error %v, general path error %v", doc, ferr, gerr)
			continue
		}
		g := signatureValue.ReplaceAll(got, []byte("<ds:SignatureValue/>"))
		w := signatureValue.ReplaceAll(want, []byte("<ds:SignatureValue/>"))
		if !bytes.Equal(g, w) {
			t.Errorf("%q:\nfast    %s\ngeneral %s", doc, g, w)
			continue
		}
		if _, err := Verify(got, VerifyOptions{Certificates: store}); err != nil {
			t.Errorf("%q: the fast path's output does not verify: %v", doc, err)
		}
	}
	if fast < 20 {
		t.Errorf("the fast path applied to %d documents only", fast)
	}
	t.Logf("fast path: %d of %d documents", fast, len(docs))
}
