package transform

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/refdata"
)

// templateUseCase finds the use case a template's file-name prefix names:
// the longest prefix that is a catalogue use case ("CS02bSupplierByTransCoS"
// → CS02b, "ECS47Activate" → ECS47, "CCS05CCS04" → "CCS05/CCS04").
func templateUseCase(prefix string) *gbcs.UseCase {
	for n := len(prefix); n > 0; n-- {
		if ucs := gbcs.LookupUseCase(prefix[:n]); len(ucs) > 0 {
			return ucs[0]
		}
	}
	for _, uc := range gbcs.UseCases() {
		if strings.Contains(uc.Name, "/") && strings.ReplaceAll(uc.Name, "/", "") == prefix {
			return uc
		}
	}
	return nil
}

// TestTemplates builds the GBCS command of every device-service request
// template (the DCC core's acceptance test sends them all). The device comes
// from the use case in the file name, as the inventory would give it.
func TestTemplates(t *testing.T) {
	dir := refdata.Path(t, "duis", "templates")
	files, _ := filepath.Glob(filepath.Join(dir, "*_REQUEST_DUIS.XML"))
	if len(files) == 0 {
		t.Fatal("no request templates found")
	}
	kaCert := rtdsKACertificate(t)
	var built, unsupported, other, nondevice int
	var failures []string
	reasons := map[string]int{}
	for _, f := range files {
		stem := strings.TrimSuffix(filepath.Base(f), "_REQUEST_DUIS.XML")
		parts := strings.SplitN(stem, "_", 3)
		if len(parts) < 2 {
			continue
		}
		srv, ok := duis.LookupSRV(parts[1])
		if !ok {
			srv, ok = duis.LookupSRV(parts[0])
		}
		if ok && srv.NonDevice {
			nondevice++
			continue
		}
		fail := func(kind *int, format string, a ...any) {
			*kind++
			failures = append(failures, stem+": "+fmt.Sprintf(format, a...))
		}
		if !ok {
			fail(&other, "no SRV in the file name")
			continue
		}
		uc := templateUseCase(parts[0])
		if uc == nil {
			fail(&other, "no use case %q in the catalogue", parts[0])
			continue
		}
		xml, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := duis.Decode(xml)
		if err != nil || msg.Request == nil {
			fail(&other, "decode: %v", err)
			continue
		}
		dev := deviceFor(uc, stem)
		if rid, err := duis.ParseRequestID(msg.Request.Header.RequestID); err == nil {
			dev.Type = rtdsTargetType(uc, dev.Type, rid.Target)
		}
		dev.UseCases = []string{uc.Name}
		opts := Options{ACB: rtdsACB, ACBCounter: 1, Now: rtdsNow, CustomerIdentificationNumber: "1234",
			OtherDeviceType: rtdsInventory, OtherDeviceCertificate: kaCert,
			TransCoS: rtdsTransCoS, TransCoSCounter: 1, HANBackup: rtdsHANBackup, GPFDeviceLog: rtdsGPFDeviceLog}
		if srv.Variant == "6.2.10" {
			opts.UserRole = map[string]duis.Role{"ECS25r1": "IS", "ECS25r2": "ED"}[uc.Name]
		}
		r, err := BuildResult(msg.Request, dev, opts)
		var ue *UnsupportedError
		switch {
		case errors.As(err, &ue):
			fail(&unsupported, "%v", err)
			reasons[ue.UseCase+": "+ue.Reason]++
		case err != nil:
			fail(&other, "%v", err)
		case r.Message == nil:
			fail(&other, "no message")
		default:
			built++
			if r.UseCase.Name != uc.Name {
				t.Logf("%s: built use case %s (file names %s)", stem, r.UseCase.Name, uc.Name)
			}
		}
	}
	t.Logf("device templates %d (non-device skipped %d): built %d, unsupported %d, other errors %d",
		built+unsupported+other, nondevice, built, unsupported, other)
	sort.Strings(failures)
	for _, f := range failures {
		t.Log("failure: " + f)
	}
}
