package dcc

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBody: readBody returns what io.ReadAll returns, whatever the
// declared Content-Length, for readers that return little at a time, and
// with the MaxBytesReader's error past the limit.
func TestReadBody(t *testing.T) {
	body := []byte(strings.Repeat("<a>0123456789</a>", 150))
	for _, n := range []int{0, 1, 100, len(body)} {
		data := body[:n]
		for _, cl := range []int64{-1, 0, 1, int64(n) - 1, int64(n), int64(n) + 1, int64(n) * 3, MaxRequestBytes, MaxRequestBytes + 1} {
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader,
			} {
				got, err := readBody(wrap(bytes.NewReader(data)), cl)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("n=%d cl=%d: %d bytes, %v", n, cl, len(got), err)
				}
			}
		}
	}
	// A failing reader: the same error and bytes as io.ReadAll.
	failing := func() io.Reader {
		return io.MultiReader(bytes.NewReader(body[:50]), iotest.ErrReader(errors.New("boom")))
	}
	want, werr := io.ReadAll(failing())
	for _, cl := range []int64{-1, 10, 50, 51, 1000} {
		got, err := readBody(failing(), cl)
		if !bytes.Equal(got, want) || err == nil || err.Error() != werr.Error() {
			t.Fatalf("cl=%d: %q %v, want %q %v", cl, got, err, want, werr)
		}
	}
	// Past the limit: the MaxBytesReader's error.
	big := bytes.Repeat([]byte{'x'}, 1000)
	for _, cl := range []int64{-1, 100, 1000} {
		rec := httptest.NewRecorder()
		_, err := readBody(http.MaxBytesReader(rec, io.NopCloser(bytes.NewReader(big)), 999), cl)
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			t.Fatalf("cl=%d: %v, want a MaxBytesError", cl, err)
		}
	}
}
