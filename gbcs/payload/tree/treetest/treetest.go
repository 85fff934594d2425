// Package treetest holds the test helpers the payload decoders share: hex
// input and the decode → encode → JSON → encode round trip every decoder
// must survive byte for byte.
package treetest

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs/payload/tree"
)

// Unhex decodes hex written with optional spaces, failing the test on error.
func Unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RoundTrip decodes in, checks that encoding the tree, and the tree read
// back from its JSON, both give in again, and returns the tree.
func RoundTrip(t testing.TB, in []byte, decode func([]byte) (*tree.Node, error), encode func(*tree.Node) ([]byte, error)) *tree.Node {
	t.Helper()
	n, err := decode(in)
	if err != nil {
		t.Fatalf("decode %x: %v", in, err)
	}
	out, err := encode(n)
	if err != nil {
		t.Fatalf("encode: %v\n%s", err, n)
	}
	if !bytes.Equal(out, in) {
		t.Fatalf("re-encoding differs\n got %x\nwant %x\n%s", out, in, n)
	}
	js, err := n.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := tree.ParseJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := encode(back); err != nil || !bytes.Equal(out, in) {
		t.Fatalf("JSON round trip: %v\n got %x\nwant %x", err, out, in)
	}
	return n
}
