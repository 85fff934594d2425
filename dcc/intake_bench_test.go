package dcc

import (
	"fmt"
	"testing"

	"github.com/opendcc/opendcc/xmldsig"
)

// BenchmarkIntakeParse is the XML work of the intake for one request: the
// input gate, schema validation, decoding, the signature check (one ECDSA
// verify included) and the header/body extraction.
func BenchmarkIntakeParse(b *testing.B) {
	t := &testing.T{}
	store, sup := signer(t, supplier)
	in := &Intake{Certificates: store}
	signed, err := xmldsig.Sign([]byte(fmt.Sprintf(readRegisters, 1000)), sup.Key, sup.Cert)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(signed)))
	for b.Loop() {
		if _, err := in.Parse(signed, EndpointSend); err != nil {
			b.Fatal(err)
		}
	}
}
