package transform

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/gbcs/payload"
	"github.com/opendcc/opendcc/sim"
)

// The RTDS join commands are checked byte for byte by TestRTDS; these
// tests check the join rule and the code table on the pairs RTDS does not
// show, and the simulator's answer.

const joinUser = "90-B3-D5-1F-30-01-00-00"

func joinRequest(t *testing.T, srv, target, other, counter string) *duis.Request {
	t.Helper()
	body := "JoinServiceNonCritical"
	if srv == "8.7.1" {
		body = "JoinServiceCritical"
	}
	x := `<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>` + joinUser + `:` + target + `:` + counter + `</sr:RequestID>
    <sr:CommandVariant>1</sr:CommandVariant>
    <sr:ServiceReference>8.7</sr:ServiceReference>
    <sr:ServiceReferenceVariant>` + srv + `</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body><sr:` + body + `><sr:OtherDeviceID>` + other + `</sr:OtherDeviceID></sr:` + body + `></sr:Body>
</sr:Request>`
	m, err := duis.Decode([]byte(x))
	if err != nil || m.Request == nil {
		t.Fatalf("decode: %v", err)
	}
	return m.Request
}

func TestJoinRule(t *testing.T) {
	const target, other = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-9A"
	for _, tc := range []struct {
		srv          string
		t, o         DeviceType
		uc           string
		method, code int64
		want         error
	}{
		{"8.7.1", ESME, HCALCS, "CS03A1", 0, 4, nil},
		{"8.7.1", ESME, PPMID, "CS03A1", 0, 5, nil},
		{"8.7.1", HCALCS, ESME, "CS03A2", 1, 1, nil},
		{"8.7.1", PPMID, ESME, "CS03A2", 1, 1, nil},
		{"8.7.2", PPMID, ESME, "CS03A2", 1, 1, nil},
		{"8.7.2", GSME, GPF, "CS03B", 2, 3, nil},
		{"8.7.2", ESME, HCALCS, "", 0, 0, ErrDeviceType}, // CS03A1 is 8.7.1 only
		{"8.7.1", GSME, GPF, "", 0, 0, ErrDeviceType},    // CS03B is 8.7.2 only
		{"8.7.2", GSME, PPMID, "", 0, 0, ErrUnsupported}, // the GSME side of Method C
		{"8.7.1", ESME, GSME, "", 0, 0, ErrUnsupported},  // no method for the pair
		{"8.7.1", ESME, IHD, "", 0, 0, ErrUnsupported},   // no type value
		{"8.7.2", GSME, CAD, "", 0, 0, ErrUnsupported},
		{"8.7.1", ESME, CHF, "", 0, 0, ErrUnsupported},
	} {
		req := joinRequest(t, tc.srv, target, other, "1000")
		r, err := BuildResult(req, DeviceInfo{Type: tc.t}, Options{ACB: ccs01ACB,
			OtherDeviceType: inventory(map[string]DeviceType{other: tc.o})})
		if tc.want != nil {
			if !errors.Is(err, tc.want) {
				t.Fatalf("%s %s–%s: err %v, want %v", tc.srv, tc.t, tc.o, err, tc.want)
			}
			t.Logf("%s %s–%s: %v", tc.srv, tc.t, tc.o, err)
			continue
		}
		if err != nil {
			t.Fatalf("%s %s–%s: %v", tc.srv, tc.t, tc.o, err)
		}
		if r.UseCase.Name != tc.uc {
			t.Fatalf("%s %s–%s: use case %s, want %s", tc.srv, tc.t, tc.o, r.UseCase.Name, tc.uc)
		}
		n, err := payload.Decode(r.Message.MessageCode, r.Message.Content, payload.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ints []int64
		n.Walk(func(c *payload.Node) bool {
			if c.Type == "INTEGER" {
				v, _ := c.Int()
				ints = append(ints, v)
			}
			return true
		})
		if len(ints) != 2 || ints[0] != tc.method || ints[1] != tc.code {
			t.Fatalf("%s %s–%s: integers %v, want method %d type %d", tc.srv, tc.t, tc.o, ints, tc.method, tc.code)
		}
	}
	// the inventory must know the other device; CS03C needs its certificate
	req := joinRequest(t, "8.7.1", target, other, "1")
	if _, err := Build(req, DeviceInfo{Type: ESME}, Options{ACB: ccs01ACB}); !errors.Is(err, ErrRequest) {
		t.Fatalf("no inventory: %v", err)
	}
	if _, err := Build(req, DeviceInfo{Type: ESME}, Options{ACB: ccs01ACB, OtherDeviceType: inventory(nil)}); !errors.Is(err, ErrRequest) {
		t.Fatalf("not in the inventory: %v", err)
	}
	c := joinRequest(t, "8.7.2", "00-DB-12-34-56-78-90-A4", "00-DB-12-34-56-78-90-94", "2")
	inv := inventory(map[string]DeviceType{"00-DB-12-34-56-78-90-94": GSME})
	if _, err := Build(c, DeviceInfo{Type: PPMID}, Options{ACB: ccs01ACB, OtherDeviceType: inv}); !errors.Is(err, ErrRequest) {
		t.Fatalf("CS03C without certificates: %v", err)
	}
	ka := rtdsKACertificate(t)
	wrong := func(eui.EUI64) ([]byte, bool) { return ka(eui.MustParse("00-DB-12-34-56-78-90-A1")) }
	if _, err := Build(c, DeviceInfo{Type: PPMID}, Options{ACB: ccs01ACB, OtherDeviceType: inv, OtherDeviceCertificate: wrong}); !errors.Is(err, ErrRequest) {
		t.Fatalf("CS03C with another device's certificate: %v", err)
	}
	if _, err := Build(c, DeviceInfo{Type: PPMID}, Options{ACB: ccs01ACB, OtherDeviceType: inv, OtherDeviceCertificate: ka}); err != nil {
		t.Fatalf("CS03C: %v", err)
	}
}

// TestJoinSim: the simulated GSME accepts CS03B (MACed with the ACB key as
// the DCC does), joins the GPF and lists it with type 3 in CS07.
func TestJoinSim(t *testing.T) {
	f, err := sim.NewFleet(sim.Options{Seed: 7, Clock: sim.NewManualClock(time.Date(2030, 1, 15, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	const gsmeID, gpfID = "00-DB-12-34-56-78-90-A1", "00-DB-12-34-56-78-90-A3"
	gsme, err := f.AddWithEUI(eui.MustParse(gsmeID), sim.GSME)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.AddWithEUI(eui.MustParse(gpfID), sim.GPF); err != nil {
		t.Fatal(err)
	}
	sec := gbcs.NewSecurity(f.KeyStore(), 0)
	send := func(m *gbcs.Message) *payload.Node {
		t.Helper()
		_, n := deliverToSim(t, f, sec, m, fmt.Sprintf("GSME (%04X)", m.MessageCode))
		return n
	}
	opts := Options{ACB: sim.EUIACB, ACBCounter: 1 << 32, OtherDeviceType: inventory(map[string]DeviceType{gpfID: GPF})}
	m, err := Build(joinRequest(t, "8.7.2", gsmeID, gpfID, "4294967296"), DeviceInfo{Type: GSME}, opts)
	if err != nil {
		t.Fatal(err)
	}
	n := send(m)
	if v, _ := n.Children[0].Int(); v != 0 {
		t.Fatalf("CS03B response %s", n)
	}
	joined := false
	for _, j := range gsme.Joined() {
		joined = joined || j == eui.MustParse(gpfID)
	}
	if !joined {
		t.Fatalf("GPF not joined: %v", gsme.Joined())
	}
	x := `<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>` + joinUser + `:` + gsmeID + `:4294967297</sr:RequestID>
    <sr:CommandVariant>1</sr:CommandVariant>
    <sr:ServiceReference>8.9</sr:ServiceReference>
    <sr:ServiceReferenceVariant>8.9</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body><sr:ReadDeviceLog/></sr:Body>
</sr:Request>`
	dm, err := duis.Decode([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	m, err = Build(dm.Request, DeviceInfo{Type: GSME}, opts)
	if err != nil {
		t.Fatal(err)
	}
	n = send(m)
	found := false
	n.Walk(func(c *payload.Node) bool {
		if c.Type == "SEQUENCE" && len(c.Children) == 2 && c.Children[0].Type == "OCTET STRING" {
			b, _ := c.Children[0].Octets()
			v, _ := c.Children[1].Int()
			if len(b) == 8 && eui.EUI64(b) == eui.MustParse(gpfID) {
				found = true
				if v != joinDeviceType[GPF] {
					t.Fatalf("CS07 lists the GPF with type %d, want %d", v, joinDeviceType[GPF])
				}
			}
		}
		return true
	})
	if !found {
		t.Fatalf("CS07 does not list the GPF:\n%s", n)
	}
}
