package duis

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/internal/tools/catalogen/gen"
)

func TestCatalogueCounts(t *testing.T) {
	var crit, nonDev, sched int
	fd := map[FutureDatedPattern]int{}
	for _, s := range SRVs() {
		if s.Critical {
			crit++
		}
		if s.NonDevice {
			nonDev++
		}
		if s.DCCSchedulable {
			sched++
		}
		fd[s.FutureDated]++
		if len(s.AllowedCV) == 0 {
			t.Errorf("%s: no command variants", s.Variant)
		}
		if got, ok := LookupSRVByBody(s.BodyElement); !ok || got.Variant != s.Variant {
			t.Errorf("%s: body element %s does not map back", s.Variant, s.BodyElement)
		}
	}
	// Totals stated in duis.md §2 and sec-rules.md §2.1.
	if n := len(SRVs()); n != 129 {
		t.Errorf("SRVs = %d, want 129", n)
	}
	if crit != 37 || nonDev != 16 || sched != 13 {
		t.Errorf("critical=%d non-device=%d schedulable=%d, want 37/16/13", crit, nonDev, sched)
	}
	if fd[FutureDatedDSP] != 45 || fd[FutureDatedDevice] != 11 || fd[FutureDatedDSPAndDevice] != 1 || fd[FutureDatedNone] != 72 {
		t.Errorf("future-dated patterns = %v", fd)
	}
	if n := len(ResponseCodes()); n != 194 {
		t.Errorf("response codes = %d, want 194", n)
	}
}

func TestCatalogueLookups(t *testing.T) {
	tests := []struct {
		srv      string
		body     string
		critical bool
		cv       CommandVariant
		cvOK     bool
		role     Role
		roleOK   bool
	}{
		{"8.2", "ReadInventory", false, CVNonDevice, true, RoleOU, true},
		{"4.1.1", "ReadInstantaneousImportRegisters", false, CVSendToDevice, true, RoleRSA, false},
		{"1.1.1", "UpdateImportTariffPrimaryElement", true, CVTransform, true, RoleGS, true},
		{"1.1.1", "UpdateImportTariffPrimaryElement", true, CVSendToDevice, false, RoleED, false},
		{"8.1.1", "CommissionDeviceSynchroniseClock", true, CVSignedLocalDelivery, false, RoleIS, true},
		{"8.5", "ServiceOptOut", false, CVSendToDevice, true, RoleIS, false},
	}
	for _, tt := range tests {
		s, ok := LookupSRV(tt.srv)
		if !ok {
			t.Fatalf("LookupSRV(%s) missing", tt.srv)
		}
		if s.BodyElement != tt.body || s.Critical != tt.critical || s.AllowsCV(tt.cv) != tt.cvOK || s.Eligible(tt.role) != tt.roleOK {
			t.Errorf("%s: %+v", tt.srv, s)
		}
	}
	if _, ok := LookupSRV("99.9"); ok {
		t.Error("LookupSRV(99.9) found")
	}
	for code, pub := range map[string]bool{"I0": true, "I99": true, "E19": true, "E65": false, "E050101": false, "W110101": false} {
		rc, ok := LookupResponseCode(code)
		if !ok || rc.Published != pub || rc.Meaning == "" {
			t.Errorf("LookupResponseCode(%s) = %+v, %v", code, rc, ok)
		}
	}
	if rc, _ := LookupResponseCode("E050101"); rc.Meaning != "Error 01 specific to Service Reference 5.1 (meaning not published)" {
		t.Errorf("E050101 meaning = %q", rc.Meaning)
	}
	if CVLocalDelivery.WebService() != "D" || CVTransform.WebService() != "T" || CVNonDevice.WebService() != "D" || CVSignedSendToDevice.WebService() != "S" || CVInternal.WebService() != "" {
		t.Error("command variant web services wrong")
	}
}

// TestCatalogueUpToDate regenerates the catalogues from the reference data
// and fails when the committed files differ (run `go generate ./duis`).
func TestCatalogueUpToDate(t *testing.T) {
	dir := refdata.Dir(t)
	files, err := gen.Generate(dir, filepath.Join("catalogdata", "response-code-meanings.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./duis", name)
		}
	}
}
