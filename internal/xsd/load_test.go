package xsd

import (
	"os"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

const mainXSD = "DUIS Schema V5.4.xsd"

func loadDUIS(tb testing.TB) *Schema {
	tb.Helper()
	dir := refdata.Path(tb, "duis", "schema")
	s, err := Load(os.DirFS(dir), mainXSD)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestLoadDUIS(t *testing.T) {
	s := loadDUIS(t)
	named := 0
	for _, c := range s.ComplexList {
		if c.Name != (QName{}) {
			named++
		}
	}
	t.Logf("files %v; %d global elements, %d complex types (%d named), %d simple types; prefixes %v",
		s.Files, len(s.ElementList), len(s.ComplexList), named, len(s.SimpleList), s.Prefixes)
	for _, q := range []QName{{NSSR, "Request"}, {NSSR, "Response"}, {NSSR, "SMETS1SignedResponse"}, {NSSR, "S1SPAlert"}, {NSDS, "Signature"}} {
		if s.Elements[q] == nil {
			t.Errorf("missing global element %s", q)
		}
	}
}

const (
	NSSR = "http://www.dccinterface.co.uk/ServiceUserGateway"
	NSDS = "http://www.w3.org/2000/09/xmldsig#"
)

func TestCompileDUIS(t *testing.T) {
	s := loadDUIS(t)
	tb, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	maxStates, total := 0, 0
	var big string
	for _, c := range tb.Complex {
		total += len(c.States)
		if len(c.States) > maxStates {
			maxStates, big = len(c.States), c.Name
		}
	}
	t.Logf("%d simple, %d complex, %d elems, %d wildcards, %d patterns, %d states (max %d in %q)",
		len(tb.Simple), len(tb.Complex), len(tb.Elems), len(tb.Wild), len(tb.Patterns), total, maxStates, big)
	for _, p := range tb.Patterns {
		t.Log(p)
	}
}
