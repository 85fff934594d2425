package transform

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/sim"
)

// No RTDS CCS01 command exists: these tests check the command against the
// annex's DLMS table of CCS01 field by field (decoded with gbcs/payload)
// and against the simulated CHF.

const (
	ccs01User    = "90-B3-D5-1F-30-01-00-00"
	ccs01CHF     = "00-DB-12-34-56-78-90-A2"
	ccs01Device  = "00-DB-12-34-56-78-90-A0"
	ccs01Install = "83FED3407A939723A5C639B26916D505"
)

var ccs01ACB = eui.MustParse("90-B3-D5-1F-30-00-00-02")

// ccs01Request is an 8.11 request to the CHF; body is the content of
// sr:UpdateHANDeviceLog.
func ccs01Request(t *testing.T, counter, body string) *duis.Request {
	t.Helper()
	x := `<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>` + ccs01User + `:` + ccs01CHF + `:` + counter + `</sr:RequestID>
    <sr:CommandVariant>1</sr:CommandVariant>
    <sr:ServiceReference>8.11</sr:ServiceReference>
    <sr:ServiceReferenceVariant>8.11</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body><sr:UpdateHANDeviceLog>` + body + `</sr:UpdateHANDeviceLog></sr:Body>
</sr:Request>`
	m, err := duis.Decode([]byte(x))
	if err != nil || m.Request == nil {
		t.Fatalf("decode: %v", err)
	}
	return m.Request
}

func ccs01Add(device, join, install string) string {
	return `<sr:DeviceID>` + device + `</sr:DeviceID><sr:RequestType>Add</sr:RequestType>` +
		`<sr:AddDeviceToCHFWhitelist><sr:JoinTimePeriod>` + join + `</sr:JoinTimePeriod><sr:InstallCode>` + install +
		`</sr:InstallCode><sr:ImportMPxN>1234567890123</sr:ImportMPxN></sr:AddDeviceToCHFWhitelist>`
}

func inventory(types map[string]DeviceType) func(eui.EUI64) (DeviceType, bool) {
	return func(id eui.EUI64) (DeviceType, bool) {
		for s, t := range types {
			if eui.MustParse(s) == id {
				return t, true
			}
		}
		return "", false
	}
}

func TestCCS01(t *testing.T) {
	for _, tc := range []struct {
		typ  DeviceType
		code uint64 // annex CCS01 row 1001 (+ 254 GPF)
	}{
		{ESME, 0}, {GSME, 1}, {HCALCS, 13}, {IHD, 128}, {CAD, 130}, {PPMID, 132}, {GPF, 254},
	} {
		t.Run(string(tc.typ), func(t *testing.T) {
			req := ccs01Request(t, "1002", ccs01Add(ccs01Device, "3600", strings.ToLower(ccs01Install)))
			opts := Options{ACB: ccs01ACB, ACBCounter: 1<<32 + 7, OtherDeviceType: inventory(map[string]DeviceType{ccs01Device: tc.typ})}
			r, err := BuildResult(req, DeviceInfo{Type: CHF}, opts)
			if err != nil {
				t.Fatal(err)
			}
			m := r.Message
			// Grouping header: non-critical, sent by the ACB on the User's behalf.
			if r.UseCase.Name != "CCS01" || m.MessageCode != 0x0001 || m.CRA != gbcs.CRACommand {
				t.Fatalf("use case %s, message code %04X", r.UseCase.Name, m.MessageCode)
			}
			if m.Originator != ccs01ACB || m.OriginatorCounter != 1<<32+7 || m.Recipient != eui.MustParse(ccs01CHF) {
				t.Errorf("originator %s counter %d recipient %s", m.Originator, m.OriginatorCounter, m.Recipient)
			}
			if !m.HasSupplementaryRemoteParty || m.SupplementaryRemoteParty != eui.MustParse(ccs01User) ||
				!m.HasSupplementaryRemotePartyCounter || m.SupplementaryRemotePartyCounter != 1002 {
				t.Errorf("supplementary remote party %v %s %v %d", m.HasSupplementaryRemoteParty, m.SupplementaryRemoteParty,
					m.HasSupplementaryRemotePartyCounter, m.SupplementaryRemotePartyCounter)
			}
			if !m.SignatureField || len(m.Signature) != 0 {
				t.Errorf("signature field %v %x: want present and empty", m.SignatureField, m.Signature)
			}
			if _, err := m.Marshal(); err != nil {
				t.Fatal(err)
			}

			n, err := payload.Decode(m.MessageCode, m.Content, payload.Options{})
			if err != nil {
				t.Fatal(err)
			}
			specs, data := n.Child("request-specs"), n.Child("data")
			if specs == nil || data == nil || len(specs.Children) != 3 || len(data.Children) != 3 {
				t.Fatalf("want 3 request-specs and 3 data:\n%s", n)
			}
			// rows 1004 (m1 register_device), 985 (a3 join_timeout), 984 (a2 enable_disable_joining)
			for i, want := range []struct {
				choice uint64
				idName string
				id     uint64
			}{{3, "method-id", 1}, {2, "attribute-id", 3}, {2, "attribute-id", 2}} {
				s := specs.Children[i]
				choice, _ := s.Uint()
				class, _ := s.Child("class-id").Uint()
				o, _ := s.Child("instance-id").Octets()
				var id uint64
				if c := s.Child(want.idName); c != nil {
					id, _ = c.Uint()
				}
				if choice != want.choice || class != 104 || !bytes.Equal(o, []byte{0, 0, 30, 3, 0, 255}) || id != want.id {
					t.Errorf("spec %d: choice %d class %d OBIS %x %s %d, want %d 104 00001E0300FF %d", i, choice, class, o, want.idName, id, want.choice, want.id)
				}
			}
			// register_device: structure {ieee_address, key_type, key, device_type}
			reg := data.Children[0]
			if reg.Type != "structure" || len(reg.Children) != 4 {
				t.Fatalf("register_device parameter: %s", reg)
			}
			f := reg.Children
			if b, err := f[0].Octets(); f[0].Type != "octet-string" || err != nil || !bytes.Equal(b, func() []byte { e := eui.MustParse(ccs01Device); return e[:] }()) {
				t.Errorf("ieee_address (row 1002): %s", f[0])
			}
			if v, err := f[1].Uint(); f[1].Type != "enum" || err != nil || v != 1 {
				t.Errorf("key_type (row 1000): %s, want enum 1 install code", f[1])
			}
			ic, _ := hex.DecodeString(ccs01Install)
			if b, err := f[2].Octets(); f[2].Type != "octet-string" || err != nil || !bytes.Equal(b, ic) || len(b) != 16 {
				t.Errorf("key (row 1003): %s", f[2])
			}
			if v, err := f[3].Uint(); f[3].Type != "enum" || err != nil || v != tc.code {
				t.Errorf("device_type (row 1001): %s, want enum %d", f[3], tc.code)
			}
			if v, err := data.Children[1].Uint(); data.Children[1].Type != "long-unsigned" || err != nil || v != 3600 {
				t.Errorf("join_timeout (row 985): %s", data.Children[1])
			}
			if v, err := data.Children[2].Bool(); data.Children[2].Type != "boolean" || err != nil || !v {
				t.Errorf("enable_disable_joining (row 984): %s", data.Children[2])
			}
			if tc.typ == GPF {
				want := "D9" + "20000007" + "00" + "03" +
					"03" + "0068" + "00001E0300FF" + "01" +
					"02" + "0068" + "00001E0300FF" + "03" +
					"02" + "0068" + "00001E0300FF" + "02" +
					"03" +
					"0204" + "0908" + "00DB1234567890A0" + "1601" + "0910" + ccs01Install + "16FE" +
					"120E10" +
					"03FF"
				if got := strings.ToUpper(hex.EncodeToString(m.Content)); got != want {
					t.Errorf("content\n got %s\nwant %s", got, want)
				}
			}
		})
	}
}

func TestCCS01Errors(t *testing.T) {
	inv := inventory(map[string]DeviceType{ccs01Device: ESME, "00-DB-12-34-56-78-90-A3": CHF})
	for _, tc := range []struct {
		name string
		body string
		opts Options
		want error
	}{
		{"48-bit install code", ccs01Add(ccs01Device, "60", "0102030405060708"[:12]), Options{ACB: ccs01ACB, OtherDeviceType: inv}, ErrUnsupported},
		{"64-bit install code", ccs01Add(ccs01Device, "60", "0102030405060708"), Options{ACB: ccs01ACB, OtherDeviceType: inv}, ErrUnsupported},
		{"CHF has no deviceType", ccs01Add("00-DB-12-34-56-78-90-A3", "60", ccs01Install), Options{ACB: ccs01ACB, OtherDeviceType: inv}, ErrUnsupported},
		{"no inventory lookup", ccs01Add(ccs01Device, "60", ccs01Install), Options{ACB: ccs01ACB}, ErrRequest},
		{"device not in inventory", ccs01Add("00-DB-12-34-56-78-90-A9", "60", ccs01Install), Options{ACB: ccs01ACB, OtherDeviceType: inv}, ErrRequest},
		{"no AddDeviceToCHFWhitelist", `<sr:DeviceID>` + ccs01Device + `</sr:DeviceID><sr:RequestType>Add</sr:RequestType>`, Options{ACB: ccs01ACB, OtherDeviceType: inv}, ErrRequest},
		{"no ACB", ccs01Add(ccs01Device, "60", ccs01Install), Options{OtherDeviceType: inv}, ErrRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(ccs01Request(t, "5", tc.body), DeviceInfo{Type: CHF}, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			var ue *UnsupportedError
			if errors.As(err, &ue) && (ue.UseCase != "CCS01" || ue.SRV != "8.11") {
				t.Errorf("unsupported names %s / %s", ue.SRV, ue.UseCase)
			}
			t.Log(err)
		})
	}
	// CCS02 still answers Remove.
	r, err := BuildResult(ccs01Request(t, "6", `<sr:DeviceID>`+ccs01Device+`</sr:DeviceID><sr:RequestType>Remove</sr:RequestType>`), DeviceInfo{Type: CHF}, Options{ACB: ccs01ACB})
	if err != nil || r.UseCase.Name != "CCS02" {
		t.Fatalf("Remove: %v", err)
	}
}

// TestCCS01Sim: the simulated CHF accepts the command (MACed with the ACB
// key as the DCC does) and puts the device on its device log.
func TestCCS01Sim(t *testing.T) {
	clock := sim.NewManualClock(time.Date(2030, 1, 15, 0, 0, 0, 0, time.UTC))
	f, err := sim.NewFleet(sim.Options{Seed: 7, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	chf, err := f.AddWithEUI(eui.MustParse(ccs01CHF), sim.CHF)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		id   string
		st   sim.Type
		typ  DeviceType
		code byte
	}{
		{ccs01Device, sim.ESME, ESME, 0},
		{"00-DB-12-34-56-78-90-A1", sim.GPF, GPF, 254},
		{"00-DB-12-34-56-78-90-A4", sim.PPMID, PPMID, 132},
	} {
		id := eui.MustParse(tc.id)
		if _, err := f.AddWithEUI(id, tc.st); err != nil {
			t.Fatal(err)
		}
		for _, j := range chf.Joined() {
			if j == id {
				t.Fatalf("%s on the CHF's device log before CCS01", id)
			}
		}
		req := ccs01Request(t, "1002", ccs01Add(tc.id, "60", ccs01Install))
		m, err := Build(req, DeviceInfo{Type: CHF}, Options{ACB: sim.EUIACB, ACBCounter: 1<<32 + uint64(i)<<8,
			OtherDeviceType: inventory(map[string]DeviceType{tc.id: tc.typ})})
		if err != nil {
			t.Fatal(err)
		}
		if m.Content[70] != 0x16 || m.Content[71] != tc.code { // register_device.device_type
			t.Fatalf("device_type %x", m.Content[70:72])
		}
		sec := gbcs.NewSecurity(f.KeyStore(), 0)
		resp, n := deliverToSim(t, f, sec, m, "CHF: CCS01")
		if err := sec.VerifyMAC(resp); err != nil {
			t.Fatalf("response MAC: %v", err)
		}
		var res []uint64
		for _, s := range n.Child("response-specs").Children {
			v, _ := s.Child("result").Uint()
			res = append(res, v)
		}
		if resp.MessageCode != 0x0001 || len(res) != 3 || res[0] != 0 || res[1] != 0 || res[2] != 0 {
			t.Fatalf("response %04X results %v:\n%s", resp.MessageCode, res, n)
		}
		found := false
		for _, j := range chf.Joined() {
			found = found || j == id
		}
		if !found {
			t.Fatalf("%s not on the CHF's device log after CCS01 (%v)", id, chf.Joined())
		}
		t.Logf("%s %s: results %v, CHF device log %v", tc.typ, id, res, chf.Joined())
	}
}
