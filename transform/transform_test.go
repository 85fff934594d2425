package transform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/internal/refdata"
)

const reqHeader = `<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:4242</sr:RequestID>
    <sr:CommandVariant>%CV%</sr:CommandVariant>
    <sr:ServiceReference>%SR%</sr:ServiceReference>
    <sr:ServiceReferenceVariant>%SRV%</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body>%BODY%</sr:Body>
</sr:Request>`

func request(t *testing.T, cv, sr, srv, body string) *duis.Request {
	t.Helper()
	r := []byte(reqHeader)
	for k, v := range map[string]string{"%CV%": cv, "%SRV%": srv, "%SR%": sr, "%BODY%": body} {
		r = []byte(strings.ReplaceAll(string(r), k, v))
	}
	m, err := duis.Decode(r)
	if err != nil || m.Request == nil {
		t.Fatalf("decode: %v", err)
	}
	return m.Request
}

func TestBuildRead(t *testing.T) {
	req := request(t, "1", "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>")
	m, err := Build(req, DeviceInfo{Type: ESME}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageCode != 0x0027 || m.OriginatorCounter != 4242 || m.CRA != gbcs.CRACommand || !m.SignatureField || len(m.Signature) != 0 || m.MACHeader {
		t.Fatalf("header %+v", m)
	}
	if _, err := payload.Decode(m.MessageCode, m.Content, payload.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Marshal(); err != nil {
		t.Fatal(err)
	}
}

func TestBuildCriticalIsPreCommand(t *testing.T) {
	req := request(t, "4", "7.3", "7.3", "<sr:ArmSupply/>")
	m, err := Build(req, DeviceInfo{Type: ESME}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.SignatureField || m.MACHeader || m.Kind() != gbcs.KindPreCommand {
		t.Fatalf("not a Pre-Command: %+v", m)
	}
}

func TestBuildErrors(t *testing.T) {
	// wrong device type
	req := request(t, "1", "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>")
	if _, err := Build(req, DeviceInfo{Type: CHF}, Options{}); !errors.Is(err, ErrDeviceType) {
		t.Errorf("4.1.1 on a CHF: %v", err)
	}
	req = request(t, "4", "7.3", "7.3", "<sr:ArmSupply/>")
	if _, err := Build(req, DeviceInfo{Type: PPMID}, Options{}); !errors.Is(err, ErrDeviceType) {
		t.Errorf("7.3 on a PPMID: %v", err)
	}
	// non-device SRV
	req = request(t, "2", "8.2", "8.2", "<sr:ReadInventory><sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID></sr:ReadInventory>")
	if _, err := Build(req, DeviceInfo{Type: ESME}, Options{}); !errors.Is(err, ErrNonDevice) {
		t.Errorf("8.2: %v", err)
	}
	// device ID must be the target
	req = request(t, "1", "4.1", "4.1.1", "<sr:ReadInstantaneousImportRegisters/>")
	if _, err := Build(req, DeviceInfo{Type: ESME, ID: [8]byte{1}}, Options{}); !errors.Is(err, ErrRequest) {
		t.Errorf("other device: %v", err)
	}
	// ambiguous version without inventory
	req = request(t, "1", "6.2", "6.2.3", "<sr:ReadDeviceConfigurationBillingCalendar/>")
	if _, err := Build(req, DeviceInfo{Type: ESME}, Options{}); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("6.2.3: %v", err)
	}
	// unsupported names SRV and use case
	req = request(t, "1", "6.21", "6.21", "<sr:RequestHandoverOfDCCControlledDevice><sr:RemotePartyRole>Root</sr:RemotePartyRole>"+
		"<sr:ReplacementCertificates/><sr:CertificationPathCertificates/><sr:ApplyTimeBasedCPVChecks>true</sr:ApplyTimeBasedCPVChecks></sr:RequestHandoverOfDCCControlledDevice>")
	_, err := Build(req, DeviceInfo{Type: ESME}, Options{ACB: [8]byte{9}})
	var ue *UnsupportedError
	if !errors.As(err, &ue) || ue.SRV != "6.21" || ue.UseCase != "CS02b" {
		t.Errorf("6.21 Root: %v", err)
	}
	// a request value whose encoding the sources do not show
	req = request(t, "1", "6.26", "6.26", "<sr:UpdateDeviceConfigurationDailyResettingOfTariffBlockCounterMatrix><sr:DailyTariffBlockCounterMatrixReset>false</sr:DailyTariffBlockCounterMatrixReset></sr:UpdateDeviceConfigurationDailyResettingOfTariffBlockCounterMatrix>")
	if _, err := Build(req, DeviceInfo{Type: ESME}, Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("6.26 false: %v", err)
	}
	if _, err := Build(nil, DeviceInfo{}, Options{}); !errors.Is(err, ErrRequest) {
		t.Errorf("nil: %v", err)
	}
}

// TestEveryDeviceSRV builds every device SRV for every device type with an
// empty body: Build must answer (a message or a typed error), never panic.
func TestEveryDeviceSRV(t *testing.T) {
	for _, srv := range duis.SRVs() {
		if srv.NonDevice {
			continue
		}
		for _, dt := range []DeviceType{ESME, GSME, GPF, CHF, PPMID, HCALCS} {
			req := &duis.Request{Header: duis.RequestHeader{RequestID: "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1",
				ServiceReferenceVariant: srv.Variant}}
			_, err := Build(req, DeviceInfo{Type: dt}, Options{ACB: [8]byte{9}})
			if err != nil && !errors.Is(err, ErrRequest) && !errors.Is(err, ErrDeviceType) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrAmbiguous) {
				t.Errorf("%s on %s: untyped error %v", srv.Variant, dt, err)
			}
		}
	}
}

func FuzzBuild(f *testing.F) {
	for _, n := range []string{"ECS17b_4.1.1_SINGLE_SUCCESS", "ECS44_7.3_SUCCESS", "ECS20a_4.4.4_SUCCESS", "ECS21b_4.14_URP_SUCCESS", "ECS57_6.18.2_SOME_OPTIONALS_SUCCESS"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "shared", "data", "duis", "templates", n+"_REQUEST_DUIS.XML")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(reqHeader))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := duis.Decode(b)
		if err != nil || m.Request == nil {
			return
		}
		for _, dt := range []DeviceType{ESME, GSME, CHF} {
			msg, err := Build(m.Request, DeviceInfo{Type: dt}, Options{ACB: [8]byte{9}, CustomerIdentificationNumber: "1234"})
			if err == nil {
				if _, err := msg.Marshal(); err != nil {
					t.Fatalf("built message does not marshal: %v", err)
				}
			}
		}
	})
}

// TestURPCredentials: the KA credentials an unknown remote party sends
// (4.14, 4.17 URP) go into the command for the device to encrypt its answer
// to; anything but an SMKI certificate with keyAgreement usage is refused
// at build time (ErrRequest), not sent to a device that cannot answer it.
func TestURPCredentials(t *testing.T) {
	const name = "ECS21b_4.14_URP_SUCCESS_REQUEST_DUIS.XML"
	const open, close = "<sr:KAPublicSecurityCredentials>", "</sr:KAPublicSecurityCredentials>"
	tpl, err := os.ReadFile(refdata.Path(t, "duis", "templates", name))
	if err != nil {
		t.Fatal(err)
	}
	raw := between(t, string(tpl), open, close)
	cs02b, err := os.ReadFile(refdata.Path(t, "duis", "templates", "CS02bNOByNO_6.15.1_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	dsOnly := between(t, string(cs02b), "<sr:DigitalSigningCertificate>", "</sr:DigitalSigningCertificate>")
	for _, c := range []struct {
		name, creds string
		ok          bool
	}{
		{"the template's KA certificate", raw, true},
		{"base64 of no certificate", "MTg0NDY3NDQwNzM3MDk1NTE2MTU=", false},
		{"a digital-signing certificate", dsOnly, false},
	} {
		req := templateRequest(t, name, open+raw+close, open+c.creds+close)
		_, err := Build(req, DeviceInfo{Type: ESME}, Options{ACB: [8]byte{9}})
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrRequest) {
			t.Errorf("%s: %v, want ErrRequest", c.name, err)
		}
	}
}

// between is the text of s between open and the next close.
func between(t *testing.T, s, open, close string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, open)
	if !ok {
		t.Fatalf("no %s", open)
	}
	v, _, ok := strings.Cut(rest, close)
	if !ok {
		t.Fatalf("no %s", close)
	}
	return v
}

// TestCurrencyUnits: the DUIS schema's currencies are GBP and ECB (the
// euro). Both build, into different commands (the ESME's currency flag,
// the GSME's ISO 4217 code); "EUR", which the schema does not have, was
// taken for the euro and ECB refused.
func TestCurrencyUnits(t *testing.T) {
	for _, c := range []struct {
		name string
		dev  DeviceInfo
	}{
		{"ECS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML", DeviceInfo{Type: ESME, UseCases: []string{"ECS01a"}}},
		{"GCS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML", DeviceInfo{Type: GSME, UseCases: []string{"GCS01a"}}},
	} {
		opts := Options{ACB: rtdsACB, ACBCounter: 1, Now: rtdsNow}
		built := map[string][]byte{}
		for _, cur := range []string{"GBP", "ECB"} {
			req := templateRequest(t, c.name, "<sr:CurrencyUnits>GBP</sr:CurrencyUnits>", "<sr:CurrencyUnits>"+cur+"</sr:CurrencyUnits>")
			r, err := BuildResult(req, c.dev, opts)
			if err != nil {
				t.Fatalf("%s with %s: %v", c.name, cur, err)
			}
			if built[cur], err = r.Message.Marshal(); err != nil {
				t.Fatal(err)
			}
		}
		if string(built["GBP"]) == string(built["ECB"]) {
			t.Errorf("%s: the same command for GBP and ECB", c.name)
		}
	}
}
