package correlate

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/internal/refdata"
)

// pair loads a template and its RTDS Pre-Command by scenario stem.
func pair(t *testing.T, srvDir, stem string) ([]byte, []byte) {
	t.Helper()
	req, err := os.ReadFile(refdata.Path(t, "duis", "templates", stem+"_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := os.ReadFile(refdata.Path(t, "gbcs", "rtds", "RTDS-4.5.0", srvDir, stem+"_PRECOMMAND_GBCS.HEX"))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := DecodePreCommand(h)
	if err != nil {
		t.Fatal(err)
	}
	return req, pc
}

func mustCheck(t *testing.T, req, pc []byte) *Report {
	t.Helper()
	r, err := Check(req, pc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func edit(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if !strings.Contains(string(b), old) {
		t.Fatalf("template does not contain %q", old)
	}
	return []byte(strings.Replace(string(b), old, new, 1))
}

// findDiff returns the first difference whose field contains sub.
func findDiff(r *Report, sub string) *Difference {
	for i, d := range r.Differences {
		if strings.Contains(d.Field, sub) {
			return &r.Differences[i]
		}
	}
	return nil
}

// TestNegative alters one value of a request that correlates and expects
// exactly the matching difference.
func TestNegative(t *testing.T) {
	cases := []struct {
		name, dir, stem, old, new, field, wantReq, wantCmd string
	}{
		{"counter", "1.1.1_ECS01a", "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS",
			":1008</sr:RequestID>", ":1000</sr:RequestID>", "RequestID counter vs originator counter", "1000", "1008"},
		{"target EUI", "1.1.1_ECS01a", "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS",
			"00-DB-12-34-56-78-90-A0:1008", "00-DB-12-34-56-78-90-A1:1008", "RequestID target", "00-DB-12-34-56-78-90-A1", "00-DB-12-34-56-78-90-A0"},
		{"originator EUI", "7.2_ECS43", "ECS43_7.2_SUCCESS",
			"90-B3-D5-1F-30-01-00-00:", "90-B3-D5-1F-30-03-00-00:", "RequestID originator", "90-B3-D5-1F-30-03-00-00", "90-B3-D5-1F-30-01-00-00"},
		{"TOU price", "1.1.1_ECS01a", "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS",
			`<sr:TOUPrice index="1">2121</sr:TOUPrice>`, `<sr:TOUPrice index="1">2122</sr:TOUPrice>`, "HybridTariff/TOUPrice[1]", "2122", "2121"},
		{"block price", "1.2.1_ECS01b", "ECS01b_1.2.1_FUTURE_DATED_TOU_BLOCK_SUCCESS",
			`<sr:BlockPrice index="2">7969</sr:BlockPrice>`, `<sr:BlockPrice index="2">7968</sr:BlockPrice>`, "BlockPrices[2]/BlockPrice[2]", "7968", "7969"},
		{"standing charge", "1.1.1_GCS01a", "GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS",
			"<sr:StandingCharge>54794</sr:StandingCharge>", "<sr:StandingCharge>54795</sr:StandingCharge>", "StandingCharge", "54795", "54794"},
		{"block threshold", "1.1.1_ECS01a", "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS",
			`<sr:BlockThreshold index="1">40000</sr:BlockThreshold>`, `<sr:BlockThreshold index="1">40001</sr:BlockThreshold>`, "Thresholds[2]", "40001, 4294967295", "40000, 4294967295"},
		{"execution time", "1.1.1_ECS01a", "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS",
			"2030-01-15T09:00:00.00Z", "2030-01-16T09:00:00.00Z", "activation time", "2030-01-16T09:00:00Z", "2030-01-15T09:00:00Z"},
		{"execution time removed", "1.6_GCS02", "GCS02_1.6_FUTURE_DATED_SUCCESS",
			"<sr:ExecutionDateTime>2030-01-15T09:00:00.00Z</sr:ExecutionDateTime>", "", "implementation-date-time", renderNow, "2030-01-15T09:00:00Z"},
		{"meter balance", "1.5_ECS04a", "ECS04a_1.5_SUCCESS",
			"1200000", "1200001", "AdjustMeterBalance", "1200001", "1200000"},
		{"tamper state", "6.7_GCS24", "GCS24_6.7_SUCCESS",
			"<sr:SupplyTamperState>Unchanged</sr:SupplyTamperState>", "<sr:SupplyTamperState>Locked</sr:SupplyTamperState>", "SupplyTamperState", "0", "3"},
		{"payment mode", "1.6_ECS02", "ECS02_1.6_IMMEDIATE_SINGLE_SUCCESS",
			"<sr:Credit/>", "<sr:Prepayment><sr:SuspendDebtDisabled>true</sr:SuspendDebtDisabled><sr:SuspendDebtEmergency>true</sr:SuspendDebtEmergency><sr:DisablementThreshold>0</sr:DisablementThreshold></sr:Prepayment>", "payment_mode", "2", "1"},
		{"load limit", "6.4.1_ECS28a", "ECS28a_6.4.1_FUTURE_DATED_SUCCESS",
			"<sr:LoadLimitPowerThreshold>6900</sr:LoadLimitPowerThreshold>", "<sr:LoadLimitPowerThreshold>9600</sr:LoadLimitPowerThreshold>", "LoadLimitPowerThreshold", "9600", "6900"},
		{"clock", "6.11_ECS70", "ECS70_6.11_SUCCESS",
			"<sr:TolerancePeriod>60</sr:TolerancePeriod>", "<sr:TolerancePeriod>61</sr:TolerancePeriod>", "validity_interval_end", "2015-01-01T00:00:11Z", "2015-01-01T00:00:10Z"},
		{"firmware hash", "11.3_CS06", "CS06_11.3_IMMEDIATE_SUCCESS",
			"AA758690730934FF0685AA758690730934FF0685657788990011223344556677", "AA758690730934FF0685AA758690730934FF0685657788990011223344556678", "FirmwareHash",
			"aa758690730934ff0685aa758690730934ff0685657788990011223344556678", "aa758690730934ff0685aa758690730934ff0685657788990011223344556677"},
		{"other device", "8.8.1_CS04ACCritical", "CS04ACCritical_8.8.1_SUCCESS",
			"00-DB-12-34-56-78-90-99", "00-DB-12-34-56-78-90-98", "OtherDeviceID", "00-DB-12-34-56-78-90-98", "00-DB-12-34-56-78-90-99"},
		{"aux controller level", "7.13_ECS47a", "ECS47a_7.13_APC_OUTPUT_SUCCESS",
			"<sr:CommandedStateLevel>100</sr:CommandedStateLevel>", "<sr:CommandedStateLevel>90</sr:CommandedStateLevel>", "CommandedStateLevel", "90", "100"},
		{"credential type", "6.24.2_CS02e", "CS02e_6.24.2_SUCCESS",
			"Digital Signature", "Key Agreement", "CredentialType", "Key Agreement", "Digital Signature"},
		{"billing calendar", "6.8_GCS25", "GCS25_6.8_SUCCESS",
			"<sr:Periodicity>Monthly</sr:Periodicity>", "<sr:Periodicity>Quarterly</sr:Periodicity>", "Publish Billing Period duration", "3", "1"},
		{"special day", "2.1_ECS08a", "ECS08a_2.1_IMMEDIATE_SUCCESS",
			"<sr:SpecifiedDayOfMonth>29</sr:SpecifiedDayOfMonth>", "<sr:SpecifiedDayOfMonth>28</sr:SpecifiedDayOfMonth>", "ElectricitySpecialDays", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, pc := pair(t, tc.dir, tc.stem)
			if r := mustCheck(t, req, pc); !r.OK() {
				t.Fatalf("unaltered pair does not correlate:\n%s", r)
			}
			r := mustCheck(t, edit(t, req, tc.old, tc.new), pc)
			if r.OK() {
				t.Fatalf("altered request still correlates:\n%s", r)
			}
			d := findDiff(r, tc.field)
			if d == nil {
				t.Fatalf("no difference on %q:\n%s", tc.field, r)
			}
			if tc.wantReq != "" && (d.Request != tc.wantReq || d.Command != tc.wantCmd) {
				t.Errorf("difference %q: request %q command %q, want %q / %q", d.Field, d.Request, d.Command, tc.wantReq, tc.wantCmd)
			}
		})
	}
}

// TestCertificateSubstituted: a different device certificate is reported
// with its serial.
func TestCertificateSubstituted(t *testing.T) {
	req, pc := pair(t, "6.15.2_CS02d", "CS02d_6.15.2_SUCCESS")
	other, _ := pair(t, "6.15.1_CS02bNOByNO", "CS02bNOByNO_6.15.1_SUCCESS")
	cert := between(string(other), "<sr:DigitalSigningCertificate>", "</sr:DigitalSigningCertificate>")
	orig := between(string(req), "<sr:DeviceCertificate>", "</sr:DeviceCertificate>")
	r := mustCheck(t, edit(t, req, orig, cert), pc)
	d := findDiff(r, "DeviceCertificate serial")
	if d == nil || d.Command != "30398236744D9DA0E57F8D74AE041FCD" {
		t.Fatalf("want a serial difference:\n%s", r)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	j := strings.Index(s, b)
	if i < 0 || j < i {
		return ""
	}
	return s[i+len(a) : j]
}

// TestMessageCodeOfOtherSRV: a Pre-Command of another use case is reported.
func TestMessageCodeOfOtherSRV(t *testing.T) {
	req, _ := pair(t, "7.3_ECS44", "ECS44_7.3_SUCCESS")
	_, pc := pair(t, "7.2_ECS43", "ECS43_7.2_SUCCESS")
	r := mustCheck(t, req, pc)
	if findDiff(r, "message code") == nil || findDiff(r, "SupplyState script") == nil {
		t.Fatalf("want message code and script differences:\n%s", r)
	}
}

func TestErrors(t *testing.T) {
	req, pc := pair(t, "7.2_ECS43", "ECS43_7.2_SUCCESS")
	nonCritical, err := os.ReadFile(refdata.Path(t, "duis", "templates", "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	cmdHex, err := os.ReadFile(refdata.Path(t, "gbcs", "rtds", "RTDS-4.5.0", "7.2_ECS43", "ECS43_7.2_SUCCESS_COMMAND_GBCS.HEX"))
	if err != nil {
		t.Fatal(err)
	}
	command, _ := DecodePreCommand(cmdHex)
	signed := []byte(strings.Replace(string(req), "<sr:DisableSupply/>", "<sr:SignedPreCommand><sr:GBCSPayload>"+base64.StdEncoding.EncodeToString(pc)+"</sr:GBCSPayload></sr:SignedPreCommand>", 1))
	for _, tc := range []struct {
		name    string
		req, pc []byte
		want    error
	}{
		{"non-critical SRV", nonCritical, pc, ErrNotCritical},
		{"garbage request", []byte("\x00\x01garbage"), pc, ErrNotRequest},
		{"response instead of request", []byte(`<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:ResponseCode>I0</sr:ResponseCode><sr:ResponseDateTime>2020-01-01T00:00:00Z</sr:ResponseDateTime></sr:Header><sr:Body><sr:ResponseMessage><sr:ServiceReference>7.2</sr:ServiceReference><sr:ServiceReferenceVariant>7.2</sr:ServiceReferenceVariant></sr:ResponseMessage></sr:Body></sr:Response>`), pc, ErrNotRequest},
		{"signed pre-command body", signed, pc, ErrNotRequest},
		{"garbage pre-command", req, []byte{0xDF, 0x09, 0x01, 0x02}, ErrNotPreCommand},
		{"empty pre-command", req, nil, ErrNotPreCommand},
		{"command, not a pre-command", req, command, ErrNotPreCommand},
		{"payload undecodable", req, append(append([]byte{}, pc[:len(pc)-3]...), 0xFF, 0xFF, 0xFF), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Check(tc.req, tc.pc)
			if err == nil {
				t.Fatalf("no error; report:\n%s", r)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestCheckText accepts hex, base64 and the DUIS response carrying the
// Pre-Command.
func TestCheckText(t *testing.T) {
	req, pc := pair(t, "1.5_GCS40a", "GCS40a_1.5_SUCCESS")
	resp := `<?xml version="1.0"?><sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>x</sr:RequestID><sr:ResponseCode>I0</sr:ResponseCode><sr:ResponseDateTime>2026-01-01T00:00:00Z</sr:ResponseDateTime></sr:Header><sr:Body><sr:ResponseMessage><sr:ServiceReference>1.5</sr:ServiceReference><sr:ServiceReferenceVariant>1.5</sr:ServiceReferenceVariant><sr:PreCommand><sr:GBCSVersion>4.0</sr:GBCSVersion><sr:GBCSPayload>` + base64.StdEncoding.EncodeToString(pc) + `</sr:GBCSPayload></sr:PreCommand></sr:ResponseMessage></sr:Body></sr:Response>`
	for name, in := range map[string][]byte{
		"raw":                   pc,
		"hex":                   []byte(strings.ToUpper(hex.EncodeToString(pc)) + "\n"),
		"hex lower with spaces": []byte(hex.EncodeToString(pc[:10]) + " \n " + hex.EncodeToString(pc[10:])),
		"base64":                []byte(base64.StdEncoding.EncodeToString(pc)),
		"response":              []byte(resp),
	} {
		r, err := CheckText(req, in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !r.OK() {
			t.Errorf("%s:\n%s", name, r)
		}
	}
	if _, err := CheckText(req, []byte("zz not hex or base64 !!")); !errors.Is(err, ErrNotPreCommand) {
		t.Errorf("bad text: %v", err)
	}
}

// TestEveryCriticalSRVMapped: every critical SRV of the catalogue has a
// payload mapping.
func TestEveryCriticalSRVMapped(t *testing.T) {
	n := 0
	for _, s := range criticalSRVs() {
		n++
		if _, ok := srvChecks[s]; !ok {
			t.Errorf("critical SRV %s has no payload check", s)
		}
	}
	if n != 37 {
		t.Errorf("%d critical SRVs in the catalogue, expected 37", n)
	}
}

// seedPairs feeds the fuzzer a few real pairs when the reference data is there.
func seedPairs(f *testing.F) {
	d, ok := refdata.Find()
	if !ok {
		f.Add([]byte("<x/>"), []byte{0xDF, 0x09, 0x01})
		return
	}
	for _, s := range []struct{ dir, stem string }{
		{"1.1.1_ECS01a", "ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS"},
		{"1.1.1_GCS01a", "GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS"},
		{"6.15.2_CS02d", "CS02d_6.15.2_SUCCESS"},
		{"2.1_ECS08a", "ECS08a_2.1_IMMEDIATE_SUCCESS"},
		{"7.13_ECS47a", "ECS47a_7.13_APC_INPUT_SUCCESS"},
	} {
		req, err1 := os.ReadFile(filepath.Join(d, "duis", "templates", s.stem+"_REQUEST_DUIS.XML"))
		h, err2 := os.ReadFile(filepath.Join(d, "gbcs", "rtds", "RTDS-4.5.0", s.dir, s.stem+"_PRECOMMAND_GBCS.HEX"))
		if err1 != nil || err2 != nil {
			continue
		}
		pc, err := DecodePreCommand(h)
		if err != nil {
			continue
		}
		f.Add(req, pc)
	}
}

// FuzzCheck: hostile inputs give an error or a report, never a panic.
func FuzzCheck(f *testing.F) {
	seedPairs(f)
	f.Fuzz(func(t *testing.T, req, pc []byte) {
		r, err := Check(req, pc)
		if err == nil {
			_ = r.String()
		} else if strings.Contains(err.Error(), "unexpected payload structure") {
			t.Fatalf("Check recovered from a panic: %v", err)
		}
		if r2, err := CheckText(req, pc); err == nil {
			_ = r2.OK()
		}
	})
}
