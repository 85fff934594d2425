package e2e

import (
	"regexp"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/client"
)

// TestFirmwareDistribution sends the 11.1 and 11.4 templates: each is
// accepted (I99) and the device answers the distributed image with its
// Firmware Distribution Receipt alert (8F72), forwarded to the supplier; a
// list with an unknown device and a device of the other service gets I0
// with the warning lists, and a list with no usable device E110101.
func TestFirmwareDistribution(t *testing.T) {
	h := newHarness(t, nil)
	listRE := regexp.MustCompile(`<sr:DeviceIDList>[^<]*</sr:DeviceIDList>`)
	for _, tc := range []struct{ file, device string }{
		{"11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML", "00-DB-12-34-56-78-90-A0"},
		{"11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML", "00-DB-12-34-56-78-90-A4"},
	} {
		if res := h.send(h.template(tc.file)); res.Ack.Code != "I99" || !res.Ack.SignatureValid {
			t.Fatalf("%s: %+v", tc.file, res.Ack)
		}
		r := h.waitFor("8F72 receipt alert from "+tc.device, func(r *client.Response) bool {
			return r.Kind == "DeviceAlertMessage" && r.AlertCode == "8F72" && strings.HasPrefix(r.ResponseID, tc.device+":")
		})
		if !r.SignatureValid || len(r.GBCS) != 1 || r.GBCS[0].Error != "" {
			t.Fatalf("%s: receipt alert signature %v gbcs %+v", tc.file, r.SignatureValid, r.GBCS)
		}
		t.Logf("%s: I99, then alert %s from %s (%s)", tc.file, r.AlertCode, tc.device, r.GBCS[0].UseCase)
	}

	doc := h.template("11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML")
	mixed := listRE.ReplaceAll(doc, []byte("<sr:DeviceIDList>00-DB-12-34-56-78-90-A0,00-DB-12-34-56-78-90-FF,00-DB-12-34-56-78-90-A4</sr:DeviceIDList>"))
	res := h.send(mixed)
	if res.Ack.Code != "I0" || res.Ack.Content != "DSPUpdateFirmwareWarning" {
		t.Fatalf("mixed list: %+v", res.Ack)
	}
	raw := string(res.Ack.Raw)
	if !strings.Contains(raw, "<sr:InvalidDeviceIDList>00-DB-12-34-56-78-90-FF<") || !strings.Contains(raw, "<sr:NotApplicableFirmwareDeviceIDList>00-DB-12-34-56-78-90-A4<") {
		t.Fatalf("mixed list: warnings %s", raw)
	}
	none := listRE.ReplaceAll(doc, []byte("<sr:DeviceIDList>00-DB-12-34-56-78-90-FF</sr:DeviceIDList>"))
	if res := h.send(none); res.Ack.Code != "E110101" {
		t.Fatalf("no usable device: %+v, want E110101", res.Ack)
	}
	t.Log("mixed list: I0 DSPUpdateFirmwareWarning (invalid …FF, not applicable …A4); unknown only: E110101")
}
