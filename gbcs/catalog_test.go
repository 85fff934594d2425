package gbcs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/internal/tools/gbcsgen/gen"
)

// TestCatalogFresh regenerates catalog_gen.go in memory and fails when the
// committed file differs (run `go generate ./gbcs`).
func TestCatalogFresh(t *testing.T) {
	tsv := refdata.Path(t, "tables", "gbcs-usecases.tsv")
	want, err := gen.Generate(tsv, filepath.Join("catalogdata", "alert-codes.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("catalog_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Fatal("catalog_gen.go is stale: run go generate ./gbcs")
	}
}

func TestCatalogLookup(t *testing.T) {
	if n := len(UseCases()); n != 240 {
		t.Errorf("%d message codes, want 240", n)
	}
	uc, ok := LookupMessageCode(0x0027)
	if !ok || uc.Name != "ECS17b" || uc.PayloadFormat != "DLMS" || uc.Critical != FlagNo || uc.Alert() ||
		len(uc.DUISSRVs) != 1 || uc.DUISSRVs[0] != "4.1.1" {
		t.Errorf("0x0027: %+v", uc)
	}
	uc, ok = LookupMessageCode(0x0019)
	if !ok || uc.Name != "ECS01a" || uc.Critical != FlagYes || uc.FutureDatedCapable != FlagYes || uc.ReplayProtection != FlagYes {
		t.Errorf("0x0019: %+v", uc)
	}
	if uc, ok = LookupMessageCode(0x1000); !ok || !uc.Alert() {
		t.Errorf("0x1000: %+v", uc)
	}
	if _, ok = LookupMessageCode(0x0005); ok {
		t.Error("0x0005 should be unknown")
	}
	d2d := 0
	for _, u := range UseCases() {
		if u.DeviceToDevice {
			d2d++
		}
	}
	if d2d != 2 {
		t.Errorf("%d device-to-device codes, want 2 (PCS01, PCS02)", d2d)
	}
	if got := LookupUseCase("CS02b"); len(got) < 2 {
		t.Errorf("CS02b: %d codes", len(got))
	}
	a, ok := LookupAlert(0x8F66)
	if !ok || a.Name == "" || len(a.MessageCodes) == 0 {
		t.Errorf("8F66: %+v", a)
	}
	if _, ok := LookupAlert(0x1234); ok {
		t.Error("0x1234 should be unknown")
	}
	for _, a := range AlertCodes() {
		for _, mc := range a.MessageCodes {
			if u, ok := LookupMessageCode(mc); !ok || !u.Alert() {
				t.Errorf("alert 0x%04X lists message code 0x%04X, which is not an alert use case", a.Code, mc)
			}
		}
	}
}

// TestRTDSMessageCodesCatalogued checks every RTDS message code is in the
// catalogue, and that alert codes found in RTDS alert payloads are known.
func TestRTDSMessageCodesCatalogued(t *testing.T) {
	for _, f := range loadRTDS(t) {
		m, err := Parse(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		uc, ok := LookupMessageCode(m.MessageCode)
		if !ok {
			t.Errorf("%s: message code 0x%04X not catalogued", f.Name, m.MessageCode)
			continue
		}
		if (f.Kind == KindAlert) != uc.Alert() {
			t.Errorf("%s: catalogue says alert=%v for 0x%04X", f.Name, uc.Alert(), m.MessageCode)
		}
	}
}

// LookupUseCase finds, in code order, every entry of the name.
func TestLookupUseCaseIndex(t *testing.T) {
	for _, uc := range UseCases() {
		var want []*UseCase
		for _, u := range UseCases() {
			if u.Name == uc.Name {
				want = append(want, u)
			}
		}
		got := LookupUseCase(uc.Name)
		if len(got) != len(want) {
			t.Fatalf("%s: %d entries, want %d", uc.Name, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: entry %d differs", uc.Name, i)
			}
		}
	}
	if LookupUseCase("nope") != nil {
		t.Error("unknown name found")
	}
}
