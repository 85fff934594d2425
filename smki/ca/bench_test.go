package ca

import (
	"testing"

	"github.com/opendcc/opendcc/smki"
)

// BenchmarkCAIssueDevice is one `opendcc smki issue device` without the
// process start: lock, index read, key decryption (KEK), signing, the
// certificate file and the index rewrite. The index is JSON rewritten in
// full, so the cost grows with the number of certificates issued; the
// figure is for an index of about benchIndexSize entries.
//
//	go test ./smki/ca -run '^$' -bench . -benchmem
func BenchmarkCAIssueDevice(b *testing.B) {
	c := newCA(b)
	issue := func() {
		if _, err := c.Issue(Request{Kind: smki.KindDevice, EUI: device, Usage: smki.KeyUsageKeyAgreement, PublicKey: &newKey(b).PublicKey}, testKEK); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < benchIndexSize; i++ {
		issue()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		issue()
	}
}

// benchIndexSize is the number of certificates issued before timing.
var benchIndexSize = 1000
