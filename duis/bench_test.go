package duis

import (
	"fmt"
	"os"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

var benchDocs = []struct{ name, file string }{
	{"8.2", "8.2_READ_INVENTORY_REQUEST_DUIS.XML"},
	{"1.1.1", "ECS01a_1.1.1_CANCELLATION_TOU_BLOCK_SUCCESS_REQUEST_DUIS.XML"}, // the largest ECS01a 1.1.1 template (first by name of two equal)
}

func benchDoc(b *testing.B, file string) []byte {
	b.Helper()
	data, err := os.ReadFile(refdata.Path(b, "duis", "templates", file))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkValidate(b *testing.B) {
	for _, d := range benchDocs {
		b.Run(d.name, func(b *testing.B) {
			data := benchDoc(b, d.file)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Validate(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateDecode is the intake's one-scan path: what Validate
// followed by Decode costs when done together.
func BenchmarkValidateDecode(b *testing.B) {
	for _, d := range benchDocs {
		b.Run(d.name, func(b *testing.B) {
			data := benchDoc(b, d.file)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, verr, derr := ValidateDecode(data); verr != nil || derr != nil {
					b.Fatal(verr, derr)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, d := range benchDocs {
		b.Run(d.name, func(b *testing.B) {
			data := benchDoc(b, d.file)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, d := range benchDocs {
		b.Run(d.name, func(b *testing.B) {
			m, err := Decode(benchDoc(b, d.file))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompact(b *testing.B) {
	for _, d := range benchDocs {
		b.Run(d.name, func(b *testing.B) {
			data := benchDoc(b, d.file)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compact(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestValidateConcurrent runs Validate from several goroutines (run with
// -race): the validator and its pooled streams are shared.
func TestValidateConcurrent(t *testing.T) {
	files := corpus(t)
	var docs [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	want := make([]bool, len(docs))
	for i, d := range docs {
		want[i] = Validate(d) == nil
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for k := 0; k < len(docs); k++ {
				i := (k + g*31) % len(docs)
				if (Validate(docs[i]) == nil) != want[i] {
					errs <- fmt.Errorf("%s: verdict changed under concurrency", files[i])
					return
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
