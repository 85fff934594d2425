package cli

import (
	"crypto/ecdsa"
	"os"
	"path/filepath"
	"testing"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/xmldsig"
)

// The whole-path benchmarks do what `opendcc duis sign|verify` do per
// document, minus file I/O: schema validation plus the signature. They are
// the Go side of the comparison with the DCC Boxed tool's warm sign/verify
// (internal/interop BenchmarkJavaToolSign/Verify), which also validate the
// schema. Same documents: the 8.2 template and the largest ECS01a 1.1.1.
var pathDocs = []struct{ name, file string }{
	{"8.2", "8.2_READ_INVENTORY_REQUEST_DUIS.XML"},
	{"1.1.1", "ECS01a_1.1.1_CANCELLATION_TOU_BLOCK_SUCCESS_REQUEST_DUIS.XML"},
}

// pathDoc is one benchmark document with its signer's key.
type pathDoc struct {
	name  string
	doc   []byte
	who   eui.EUI64
	key   *ecdsa.PrivateKey
	cert  *smki.Certificate
	store *smki.Store
}

func loadPathDocs(b *testing.B) []pathDoc {
	b.Helper()
	store, err := loadStore("dccboxed")
	if err != nil {
		b.Fatal(err)
	}
	dir := refdata.Path(b, "duis", "templates")
	var out []pathDoc
	for _, d := range pathDocs {
		doc, err := os.ReadFile(filepath.Join(dir, d.file))
		if err != nil {
			b.Fatal(err)
		}
		who, err := signerEUI(doc, "")
		if err != nil {
			b.Fatal(err)
		}
		key, cert, err := store.XMLSigningKey(who)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, pathDoc{d.name, doc, who, key, cert, store})
	}
	return out
}

func BenchmarkSignPath(b *testing.B) {
	for _, d := range loadPathDocs(b) {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := duis.Validate(d.doc); err != nil {
					b.Fatal(err)
				}
				if _, err := xmldsig.Sign(d.doc, d.key, d.cert); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyPath(b *testing.B) {
	for _, d := range loadPathDocs(b) {
		signed, err := xmldsig.Sign(d.doc, d.key, d.cert)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := duis.Validate(signed); err != nil {
					b.Fatal(err)
				}
				if _, err := xmldsig.Verify(signed, xmldsig.VerifyOptions{Certificates: d.store, ExpectedSigner: &d.who}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
