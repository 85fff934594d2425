package dcc

import (
	"fmt"
	"testing"
	"time"

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

// BenchmarkSignerResponse is the DCC's response work for one 4.1.1 request:
// the I99 acknowledgement and the I0 response with the device's GBCS
// payload, each encoded and signed (one ECDSA sign each).
func BenchmarkSignerResponse(b *testing.B) {
	t := &testing.T{}
	_, dcc := signer(t, acb)
	rid := fmt.Sprintf("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:%d", 1000)
	payload := make([]byte, 120)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 123e6, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dcc.Response(ResponseParts{RequestID: rid, Code: "I99", SR: "4.1", SRV: "4.1.1", Time: now}); err != nil {
			b.Fatal(err)
		}
		if _, err := dcc.Response(ResponseParts{RequestID: rid, ResponseID: "00-DB-12-34-56-78-90-A0:90-B3-D5-1F-30-01-00-00:1000",
			Code: "I0", SR: "4.1", SRV: "4.1.1", Time: now, GBCSPayload: payload}); err != nil {
			b.Fatal(err)
		}
	}
}
