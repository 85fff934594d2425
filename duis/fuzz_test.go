package duis

import (
	"bytes"
	"os"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// seedCorpus adds every template and sample (when the reference data is
// present) and a few small documents.
func seedCorpus(f *testing.F) {
	f.Add([]byte(inventory))
	f.Add([]byte(`<a/>`))
	f.Add([]byte(`<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"/>`))
	if d, ok := refdata.Find(); ok {
		for _, sub := range []string{"templates", "samples"} {
			ents, _ := os.ReadDir(d + "/duis/" + sub)
			for _, e := range ents {
				if b, err := os.ReadFile(d + "/duis/" + sub + "/" + e.Name()); err == nil {
					f.Add(b)
				}
			}
		}
	}
}

// FuzzValidate: Validate and Compact never panic, and compacting never
// changes a verdict.
func FuzzValidate(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Validate(data)
		c, cerr := Compact(data)
		if cerr != nil {
			return
		}
		if err2 := Validate(c); (err == nil) != (err2 == nil) {
			t.Fatalf("Compact changed the verdict: %v / %v\n%q\n%q", err, err2, data, c)
		}
	})
}

// FuzzDecode: Decode never panics; whatever decodes re-encodes byte-stably;
// a valid document stays valid through Decode and Encode.
func FuzzDecode(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		out, err := Encode(m)
		if err != nil {
			return // e.g. characters XML cannot carry
		}
		m2, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode(Encode(m)): %v\n%s", err, out)
		}
		out2, err := Encode(m2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("Encode not byte-stable (%v):\n%s\n%s", err, out, out2)
		}
		if Validate(data) == nil {
			if err := Validate(out); err != nil {
				t.Fatalf("valid input, invalid re-encoding: %v\n%s", err, out)
			}
		}
	})
}
