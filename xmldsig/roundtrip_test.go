package xmldsig

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/smki"
)

var requestIDRe = regexp.MustCompile(`<(?:\w+:)?RequestID>\s*([0-9A-Fa-f-]{23}):`)

// originator reads the RequestID originator EUI of a DUIS request.
func originator(tb testing.TB, doc []byte) eui.EUI64 {
	tb.Helper()
	m := requestIDRe.FindSubmatch(doc)
	if m == nil {
		tb.Fatalf("no RequestID")
	}
	e, err := eui.Parse(string(m[1]))
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

type template struct {
	name string
	doc  []byte
}

func templates(tb testing.TB) []template {
	tb.Helper()
	dir := refdata.Path(tb, "duis", "templates")
	fs, err := filepath.Glob(filepath.Join(dir, "*.XML"))
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(fs)
	var out []template
	for _, f := range fs {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, template{filepath.Base(f), b})
	}
	if len(out) == 0 {
		tb.Fatal("no templates")
	}
	return out
}

// signedTemplate signs a template with the originator's key.
type signedTemplate struct {
	name   string
	signed []byte
	cert   *smki.Certificate
	signer eui.EUI64
}

func signTemplates(tb testing.TB, store *smki.Store) []signedTemplate {
	tb.Helper()
	var out []signedTemplate
	for _, tp := range templates(tb) {
		who := originator(tb, tp.doc)
		key, cert, err := store.XMLSigningKey(who)
		if err != nil {
			tb.Fatalf("%s: %v", tp.name, err)
		}
		signed, err := Sign(tp.doc, key, cert)
		if err != nil {
			tb.Fatalf("%s: Sign: %v", tp.name, err)
		}
		out = append(out, signedTemplate{tp.name, signed, cert, who})
	}
	return out
}

var interElementSpace = regexp.MustCompile(`>\s+<`)

func TestTemplatesRoundTrip(t *testing.T) {
	store := zaz1(t)
	signers := map[string]int{}
	for _, st := range signTemplates(t, store) {
		if !bytes.HasPrefix(st.signed, []byte(XMLDeclaration+"<")) {
			t.Errorf("%s: output does not start with the declaration and the root", st.name)
		}
		if interElementSpace.Match(st.signed) || bytes.Contains(st.signed, []byte("<!--")) {
			t.Errorf("%s: output is not compact", st.name)
		}
		if bytes.Count(st.signed, []byte("Signature>")) != 2 || bytes.Contains(st.signed, []byte(">1234567890</ds:X509SerialNumber>")) {
			t.Errorf("%s: placeholder signature not replaced", st.name)
		}
		if !bytes.HasSuffix(st.signed, []byte("</ds:X509SerialNumber></ds:X509IssuerSerial></ds:X509Data></ds:KeyInfo></ds:Signature></sr:Request>")) {
			t.Errorf("%s: Signature is not the last child", st.name)
		}
		res, err := Verify(st.signed, VerifyOptions{Certificates: store, ExpectedSigner: &st.signer})
		if err != nil {
			t.Errorf("%s: Verify: %v", st.name, err)
			continue
		}
		if res.Compat || res.Certificate != st.cert || res.Signer != st.signer {
			t.Errorf("%s: result %+v", st.name, res)
		}
		signers[st.cert.String()]++
		// Signing a signed document replaces the signature.
		key, _ := store.Key(st.cert)
		again, err := Sign(st.signed, key, st.cert)
		if err != nil {
			t.Fatalf("%s: re-Sign: %v", st.name, err)
		}
		if _, err := Verify(again, VerifyOptions{Certificates: store}); err != nil {
			t.Errorf("%s: re-signed: %v", st.name, err)
		}
		// Everything before the Signature is stable.
		cut := func(b []byte) []byte { return b[:bytes.Index(b, []byte("<ds:Signature"))] }
		if !bytes.Equal(cut(st.signed), cut(again)) {
			t.Errorf("%s: re-signing changed the content", st.name)
		}
	}
	var lines []string
	for k, n := range signers {
		lines = append(lines, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(lines)
	t.Logf("signed and verified %d templates; signers:\n  %s", len(templates(t)), strings.Join(lines, "\n  "))
}
